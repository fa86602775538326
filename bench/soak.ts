// The soak: one long run that samples the collector's memory, prints it
// once a minute, and at the end fits a line through the samples after the
// warm-up to say whether memory grows, and which part of it.

import { gauge, increase, type Sample } from './prom.js';

const MIB = 1024 * 1024;
/**
 * A part of memory "grows" when its fitted line rises at least this much
 * over the samples after the warm-up, and the rise is no accident of the
 * noise (slope at least MIN_T standard errors; RSS swings by tens of MB as
 * the threads collect garbage).
 */
export const GROWTH_MB = 5;
export const MIN_T = 3;

export interface SoakSample {
  /** Seconds since the collector started. */
  readonly t: number;
  readonly rssMb: number;
  /** The main thread's V8 heap (prom-client's nodejs_heap_size_*), when exported. */
  readonly heapUsedMb?: number;
  readonly heapTotalMb?: number;
  /** nodejs_external_memory_bytes: buffers and other memory outside the V8 heap held by JS objects. */
  readonly externalMb?: number;
  /** collector_memory_budget_in_use_bytes, when exported. */
  readonly inUseMb?: number;
  /** The worker threads' heaps reserved and their external memory, summed (collector_thread_*), when exported. */
  readonly threadsMb?: number;
  /** collector_output_sent_total so far. */
  readonly sent: number;
}

export function soakSample(t: number, rssMb: number, m: readonly Sample[]): SoakSample {
  const mb = (name: string) => {
    const v = gauge(m, name);
    return v === undefined ? undefined : v / MIB;
  };
  const s: { -readonly [K in keyof SoakSample]: SoakSample[K] } = { t, rssMb, sent: increase([], m, 'collector_output_sent_total') };
  const heapUsed = mb('nodejs_heap_size_used_bytes');
  const heapTotal = mb('nodejs_heap_size_total_bytes');
  const external = mb('nodejs_external_memory_bytes');
  const inUse = mb('collector_memory_budget_in_use_bytes');
  const threadsHeap = mb('collector_thread_heap_size_bytes');
  const threadsExternal = mb('collector_thread_external_memory_bytes');
  if (heapUsed !== undefined) s.heapUsedMb = heapUsed;
  if (heapTotal !== undefined) s.heapTotalMb = heapTotal;
  if (external !== undefined) s.externalMb = external;
  if (inUse !== undefined) s.inUseMb = inUse;
  if (threadsHeap !== undefined) s.threadsMb = threadsHeap + (threadsExternal ?? 0);
  return s;
}

/** Slope of the least-squares line through (x, y); undefined with fewer than two distinct x. */
export function leastSquaresSlope(xs: readonly number[], ys: readonly number[]): number | undefined {
  return fitLine(xs, ys)?.slope;
}

/** The least-squares line's slope and its standard error (Infinity with two points). */
export function fitLine(xs: readonly number[], ys: readonly number[]): { slope: number; stderr: number } | undefined {
  const n = xs.length;
  if (n < 2 || ys.length !== n) return undefined;
  const mx = xs.reduce((a, x) => a + x, 0) / n;
  const my = ys.reduce((a, y) => a + y, 0) / n;
  let sxy = 0;
  let sxx = 0;
  for (let i = 0; i < n; i++) {
    sxy += (xs[i]! - mx) * (ys[i]! - my);
    sxx += (xs[i]! - mx) ** 2;
  }
  if (sxx === 0) return undefined;
  const slope = sxy / sxx;
  if (n < 3) return { slope, stderr: Infinity };
  let ss = 0;
  for (let i = 0; i < n; i++) ss += (ys[i]! - (my + slope * (xs[i]! - mx))) ** 2;
  return { slope, stderr: Math.sqrt(ss / (n - 2) / sxx) };
}

export type Part = 'heap used' | 'external' | 'worker threads' | 'rest of RSS';

export interface SoakAnalysis {
  /** Samples the line is fitted through (those at or after the warm-up). */
  readonly samples: number;
  /** Minutes those samples span. */
  readonly spanMinutes: number;
  /** MB per hour, undefined where there is too little to fit. */
  readonly rssSlope?: number;
  readonly slopes: Partial<Record<Part, number>>;
  /** The parts whose line rises at least GROWTH_MB over the span, the steepest first; empty: flat. */
  readonly grows: readonly Part[];
  readonly rssGrows: boolean;
}

/**
 * Fits RSS and its parts (the main thread's heap used, external memory, the
 * worker threads' heaps and external memory when exported, and the rest: RSS
 * minus those, which holds code, native memory, and the worker threads when
 * they are not exported) against time, in MB per hour, over the samples at
 * or after `warmupS`.
 */
export function analyseSoak(all: readonly SoakSample[], warmupS: number): SoakAnalysis {
  const xs = all.filter((s) => s.t >= warmupS);
  const hours = xs.map((s) => s.t / 3600);
  const spanH = xs.length > 1 ? hours[hours.length - 1]! - hours[0]! : 0;
  const fits = new Map<string, { slope: number; stderr: number }>();
  const fit = (name: string, get: (s: SoakSample) => number | undefined): number | undefined => {
    const ys = xs.map(get);
    const line = ys.every((y) => y !== undefined) ? fitLine(hours, ys as number[]) : undefined;
    if (line) fits.set(name, line);
    return line?.slope;
  };
  const slopes: Partial<Record<Part, number>> = {};
  for (const [part, get] of [
    ['heap used', (s: SoakSample) => s.heapUsedMb],
    ['external', (s: SoakSample) => s.externalMb],
    ['worker threads', (s: SoakSample) => s.threadsMb],
    ['rest of RSS', (s: SoakSample) => (s.heapTotalMb === undefined || s.externalMb === undefined ? undefined : s.rssMb - s.heapTotalMb - s.externalMb - (s.threadsMb ?? 0))],
  ] as const) {
    const v = fit(part, get);
    if (v !== undefined) slopes[part] = v;
  }
  const rssSlope = fit('rss', (s) => s.rssMb);
  const rising = (name: string) => {
    const line = fits.get(name);
    return line !== undefined && line.slope * spanH >= GROWTH_MB && line.slope >= MIN_T * line.stderr;
  };
  const grows = (Object.entries(slopes) as [Part, number][])
    .filter(([p]) => rising(p))
    .sort((a, b) => b[1] - a[1])
    .map(([p]) => p);
  return { samples: xs.length, spanMinutes: spanH * 60, ...(rssSlope !== undefined ? { rssSlope } : {}), slopes, grows, rssGrows: rising('rss') };
}

const signed = (v: number | undefined) => (v === undefined ? 'n/a' : `${v >= 0 ? '+' : ''}${v.toFixed(1)} MB/h`);

/** The closing lines of a soak: the slopes, and what grows in plain words. */
export function soakVerdict(a: SoakAnalysis, warmupS: number): string[] {
  const lines = [
    `slope after the first ${warmupS / 60} min (least squares over ${a.samples} samples, ${a.spanMinutes.toFixed(1)} min): RSS ${signed(a.rssSlope)}; ` +
      `heap used ${signed(a.slopes['heap used'])}, external ${signed(a.slopes.external)}, ` +
      `${a.slopes['worker threads'] !== undefined ? `worker threads ${signed(a.slopes['worker threads'])}, ` : ''}rest of RSS ${signed(a.slopes['rest of RSS'])}`,
  ];
  if (a.rssSlope !== undefined && a.spanMinutes < 10) lines.push(`(over ${a.spanMinutes.toFixed(1)} min these slopes are mostly noise: soak 15 minutes or more to tell a trend)`);
  if (a.rssSlope === undefined) lines.push('grows: too few samples after the warm-up to tell (run the soak longer)');
  else if (a.grows.length === 0 && !a.rssGrows) lines.push(`grows: nothing (no line rises ${GROWTH_MB} MB over the span by more than the noise)`);
  else if (a.grows.length === 0) lines.push(`grows: RSS, and no single part of it by ${GROWTH_MB} MB`);
  else lines.push(`grows: ${a.grows.map((p) => `${p} (${signed(a.slopes[p])})`).join(', ')}`);
  return lines;
}

export function benchSoakLine(targets: number, heapKb: number, all: readonly SoakSample[], a: SoakAnalysis): string {
  const f = (v: number | undefined) => (v === undefined ? 'nan' : v.toFixed(1));
  const first = all.find((s) => s.t >= 0);
  const last = all[all.length - 1];
  return [
    'BENCH_SOAK',
    `targets=${targets}`,
    `heap_kb=${Math.round(heapKb)}`,
    `minutes=${((last?.t ?? 0) / 60).toFixed(1)}`,
    `rss_start_mb=${f(first?.rssMb)}`,
    `rss_end_mb=${f(last?.rssMb)}`,
    `rss_slope_mb_per_h=${f(a.rssSlope)}`,
    `heap_used_slope_mb_per_h=${f(a.slopes['heap used'])}`,
    `external_slope_mb_per_h=${f(a.slopes.external)}`,
    `threads_slope_mb_per_h=${f(a.slopes['worker threads'])}`,
    `rest_slope_mb_per_h=${f(a.slopes['rest of RSS'])}`,
    `grows=${a.grows.length > 0 ? a.grows.map((p) => p.replace(/ /g, '_')).join(',') : a.rssGrows ? 'rss' : 'none'}`,
  ].join(' ');
}
