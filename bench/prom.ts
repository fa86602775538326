// Reading the collector's /metrics (Prometheus text format) in the bench.

export interface Sample {
  readonly name: string;
  readonly labels: Record<string, string>;
  readonly value: number;
}

export function parseProm(text: string): Sample[] {
  const out: Sample[] = [];
  for (const line of text.split('\n')) {
    if (line === '' || line.startsWith('#')) continue;
    const m = /^([A-Za-z_:][\w:]*)(?:\{(.*)\})?\s+(\S+)/.exec(line);
    if (!m) continue;
    const labels: Record<string, string> = {};
    for (const l of (m[2] ?? '').matchAll(/(\w+)="((?:[^"\\]|\\.)*)"/g)) labels[l[1]!] = l[2]!;
    out.push({ name: m[1]!, labels, value: Number(m[3]) });
  }
  return out;
}

export const sum = (s: readonly Sample[], name: string, pred: (l: Record<string, string>) => boolean = () => true): number =>
  s.filter((x) => x.name === name && pred(x.labels)).reduce((a, x) => a + x.value, 0);

/** The value of a gauge without labels (summed over its series), or undefined when the collector does not export it. */
export function gauge(s: readonly Sample[], name: string): number | undefined {
  const xs = s.filter((x) => x.name === name);
  return xs.length === 0 ? undefined : xs.reduce((a, x) => a + x.value, 0);
}

/** How much a counter (summed over the series `pred` picks) rose from `before` to `after`. */
export const increase = (before: readonly Sample[], after: readonly Sample[], name: string, pred?: (l: Record<string, string>) => boolean): number =>
  sum(after, name, pred) - sum(before, name, pred);

/** histogram_quantile over the difference of two scrapes of a histogram. */
export function quantile(before: readonly Sample[], after: readonly Sample[], name: string, q: number): number {
  const buckets = (s: readonly Sample[]) => new Map(s.filter((x) => x.name === `${name}_bucket`).map((x) => [x.labels.le!, x.value]));
  const b0 = buckets(before);
  const b1 = buckets(after);
  const les = [...b1.keys()].sort((a, b) => (a === '+Inf' ? 1 : b === '+Inf' ? -1 : Number(a) - Number(b)));
  const counts = les.map((le) => (b1.get(le) ?? 0) - (b0.get(le) ?? 0));
  const total = counts[counts.length - 1] ?? 0;
  if (total === 0) return NaN;
  const rank = q * total;
  for (let i = 0; i < les.length; i++) {
    if (counts[i]! >= rank) {
      if (les[i] === '+Inf') return Number(les[i - 1] ?? 0);
      const hi = Number(les[i]);
      const lo = i === 0 ? 0 : Number(les[i - 1]);
      const below = i === 0 ? 0 : counts[i - 1]!;
      const inBucket = counts[i]! - below;
      return inBucket === 0 ? hi : lo + ((hi - lo) * (rank - below)) / inBucket;
    }
  }
  return NaN;
}
