// A small reader of the Prometheus text exposition format (version 0.0.4),
// written here rather than taken from prom-client so the tests read /metrics
// the way a Prometheus server would, not the way the code under test writes it.

export interface PromSample {
  readonly name: string;
  readonly labels: Readonly<Record<string, string>>;
  readonly value: number;
}

export interface PromText {
  readonly samples: readonly PromSample[];
  /** Metric family -> counter | gauge | histogram | summary | untyped. */
  readonly types: ReadonlyMap<string, string>;
  readonly help: ReadonlyMap<string, string>;
}

/** As Prometheus reads values (Go's ParseFloat): Inf and NaN in any case (prom-client writes "Nan"). */
function parseValue(s: string, line: string): number {
  const lower = s.toLowerCase();
  if (lower === '+inf' || lower === 'inf') return Infinity;
  if (lower === '-inf') return -Infinity;
  if (lower === 'nan') return NaN;
  const v = Number(s);
  if (s === '' || Number.isNaN(v)) throw new Error(`bad sample value "${s}" in: ${line}`);
  return v;
}

/** Parses `{a="x",b="y\"z"}` starting at `i` (the "{"); returns the labels and the index after "}". */
function parseLabels(line: string, i: number): { labels: Record<string, string>; end: number } {
  const labels: Record<string, string> = {};
  i++; // {
  for (;;) {
    while (line[i] === ' ' || line[i] === ',') i++;
    if (line[i] === '}') return { labels, end: i + 1 };
    const m = /^[A-Za-z_][A-Za-z0-9_]*/.exec(line.slice(i));
    if (!m) throw new Error(`bad label name at ${i} in: ${line}`);
    const name = m[0];
    i += name.length;
    if (line[i] !== '=' || line[i + 1] !== '"') throw new Error(`expected ="...": ${line}`);
    i += 2;
    let value = '';
    for (;;) {
      const c = line[i];
      if (c === undefined) throw new Error(`unterminated label value: ${line}`);
      if (c === '"') break;
      if (c === '\\') {
        const n = line[i + 1];
        value += n === 'n' ? '\n' : n === '\\' ? '\\' : n === '"' ? '"' : `\\${n}`;
        i += 2;
        continue;
      }
      value += c;
      i++;
    }
    i++; // closing quote
    if (name in labels) throw new Error(`label ${name} twice: ${line}`);
    labels[name] = value;
  }
}

export function parsePromText(text: string): PromText {
  const samples: PromSample[] = [];
  const types = new Map<string, string>();
  const help = new Map<string, string>();
  for (const raw of text.split('\n')) {
    const line = raw.trim();
    if (line === '') continue;
    if (line.startsWith('#')) {
      const m = /^#\s+(TYPE|HELP)\s+(\S+)\s*(.*)$/.exec(line);
      if (m?.[1] === 'TYPE') types.set(m[2]!, m[3]!);
      else if (m?.[1] === 'HELP') help.set(m[2]!, m[3]!);
      continue;
    }
    const nm = /^[A-Za-z_:][A-Za-z0-9_:]*/.exec(line);
    if (!nm) throw new Error(`bad sample line: ${line}`);
    let i = nm[0].length;
    let labels: Record<string, string> = {};
    if (line[i] === '{') ({ labels, end: i } = parseLabels(line, i));
    const rest = line.slice(i).trim().split(/\s+/);
    samples.push({ name: nm[0], labels, value: parseValue(rest[0] ?? '', line) });
  }
  return { samples, types, help };
}

function matches(s: PromSample, name: string, labels: Readonly<Record<string, string>>): boolean {
  return s.name === name && Object.entries(labels).every(([k, v]) => s.labels[k] === v);
}

/** Every sample of `name` whose labels include `labels`. */
export function samplesOf(p: PromText, name: string, labels: Readonly<Record<string, string>> = {}): PromSample[] {
  return p.samples.filter((s) => matches(s, name, labels));
}

/** The one sample of `name` with these labels, undefined when there is none; throws when several match. */
export function valueOf(p: PromText, name: string, labels: Readonly<Record<string, string>> = {}): number | undefined {
  const found = samplesOf(p, name, labels);
  if (found.length > 1) throw new Error(`${found.length} samples of ${name} match ${JSON.stringify(labels)}: ${JSON.stringify(found)}`);
  return found[0]?.value;
}

/** Sum over the samples of `name` whose labels include `labels` (0 when none). */
export function sumOf(p: PromText, name: string, labels: Readonly<Record<string, string>> = {}): number {
  return samplesOf(p, name, labels).reduce((a, s) => a + s.value, 0);
}
