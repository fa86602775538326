// What `npm run bench -- ...` runs: its options, the default set of runs,
// and how long they take.

import { parseArgs } from 'node:util';

export const HEAPS = {
  typical: { file: 'heap-typical.pb.gz', label: '~60 KB (3k stacks x 32 frames)' },
  large: { file: 'heap-bench.pb.gz', label: '~200 KB (10k stacks x 32 frames)' },
  service: { file: 'heap-big-service.pb.gz', label: '~1.8 MB (big service: 30k stacks, up to 128 frames)' },
} as const;
export type HeapName = keyof typeof HEAPS;
const HEAP_NAMES = Object.keys(HEAPS) as HeapName[];

/** The table: the typical heap at 1,000 targets, the large one at 500 and 1,000. */
export const DEFAULT_RUNS: readonly Run[] = [
  { heap: 'typical', targets: 1000 },
  { heap: 'large', targets: 500 },
  { heap: 'large', targets: 1000 },
];
export const SOAK_DEFAULT_TARGETS = 200;

export const INTERVAL_MS = 10_000;
/** Before the measured window: every target scraped, baselines taken. */
export const WARMUP_S = 15;
/** The soak's slope leaves out its first minutes. */
export const SOAK_WARMUP_S = 120;

export interface Run {
  readonly heap: HeapName;
  readonly targets: number;
}

export interface BenchPlan {
  /** Time the profile stage first. */
  readonly stage: boolean;
  readonly runs: readonly Run[];
  /** Measured seconds of each run (after WARMUP_S). */
  readonly seconds: number;
  /** A soak: one run of this many seconds in all (the runs list holds it). */
  readonly soakSeconds?: number;
  /** Rows of the CPU profile summaries when --cpu-prof is on. */
  readonly top: number;
}

export class BenchUsageError extends Error {}

const USAGE = `usage: npm run bench -- [--targets N[,N...]] [--heap ${HEAP_NAMES.join('|')}[,...]] [--seconds S] [--no-stage] [--top N]
       npm run bench -- --soak DURATION [--targets N] [--heap NAME]     (DURATION like 30m, 90s, 1h)`;

/** "30m", "90s", "1h", "1h30m" in seconds. */
export function parseDuration(s: string): number {
  const m = /^(?:(\d+)h)?(?:(\d+)m)?(?:(\d+)s)?$/.exec(s.trim());
  if (!m || s.trim() === '' || (!m[1] && !m[2] && !m[3])) throw new BenchUsageError(`--soak: "${s}" is not a duration; use a number with h, m or s (30m, 90s, 1h30m)`);
  const seconds = Number(m[1] ?? 0) * 3600 + Number(m[2] ?? 0) * 60 + Number(m[3] ?? 0);
  if (seconds < 60) throw new BenchUsageError(`--soak: ${s} is too short; a soak reports once a minute, so give at least 1m`);
  return seconds;
}

function positiveInts(flag: string, s: string): number[] {
  const xs = s.split(',').map((x) => x.trim());
  for (const x of xs) if (!/^[1-9]\d*$/.test(x)) throw new BenchUsageError(`${flag}: "${x}" is not a whole number above 0\n${USAGE}`);
  return xs.map(Number);
}

function heapNames(s: string): HeapName[] {
  const xs = s.split(',').map((x) => x.trim());
  for (const x of xs) if (!(HEAP_NAMES as string[]).includes(x)) throw new BenchUsageError(`--heap: "${x}" is not a heap of the bench; use ${HEAP_NAMES.join(', ')}\n${USAGE}`);
  return xs as HeapName[];
}

export function planBench(args: readonly string[]): BenchPlan {
  let values;
  try {
    values = parseArgs({
      args: [...args],
      allowNegative: true,
      options: {
        targets: { type: 'string' },
        heap: { type: 'string' },
        seconds: { type: 'string' },
        soak: { type: 'string' },
        stage: { type: 'boolean', default: true },
        top: { type: 'string', default: '15' },
      },
    }).values;
  } catch (err) {
    throw new BenchUsageError(`${(err as Error).message}\n${USAGE}`);
  }
  const targets = values.targets === undefined ? undefined : positiveInts('--targets', values.targets);
  const heaps = values.heap === undefined ? undefined : heapNames(values.heap);
  const top = positiveInts('--top', values.top)[0]!;

  if (values.soak !== undefined) {
    const soakSeconds = parseDuration(values.soak);
    if (values.seconds !== undefined) throw new BenchUsageError('--seconds and --soak: a soak runs for its own duration; give one of them');
    if ((targets?.length ?? 1) > 1 || (heaps?.length ?? 1) > 1) throw new BenchUsageError('--soak runs once: give one --targets and at most one --heap');
    return { stage: false, runs: [{ heap: heaps?.[0] ?? 'typical', targets: targets?.[0] ?? SOAK_DEFAULT_TARGETS }], seconds: soakSeconds - WARMUP_S, soakSeconds, top };
  }

  const seconds = values.seconds === undefined ? 40 : positiveInts('--seconds', values.seconds)[0]!;
  let runs: Run[];
  if (targets) runs = (heaps ?? (['typical', 'large'] as HeapName[])).flatMap((heap) => targets.map((n) => ({ heap, targets: n })));
  else if (heaps) {
    runs = DEFAULT_RUNS.filter((r) => heaps.includes(r.heap));
    const missing = heaps.filter((h) => !runs.some((r) => r.heap === h));
    if (missing.length > 0) throw new BenchUsageError(`--heap ${missing.join(',')}: not in the default runs; say how many targets with --targets`);
  } else runs = [...DEFAULT_RUNS];
  return { stage: values.stage, runs, seconds, top };
}

/** Seconds to start a farm and a collector of n targets, and to stop them (measured: ~6 s at 1,000). */
const overheadSeconds = (targets: number) => 4 + Math.ceil(targets / 500);
/** The profile stage: ~30 timed rounds of floor, delta and decode+encode per profile, the big heap dominating. */
export const STAGE_SECONDS = 45;

export function estimateSeconds(plan: BenchPlan): number {
  const runs = plan.runs.reduce((a, r) => a + overheadSeconds(r.targets) + WARMUP_S + plan.seconds, 0);
  return runs + (plan.stage ? STAGE_SECONDS : 0);
}

export function formatDuration(seconds: number): string {
  const m = Math.floor(seconds / 60);
  const s = Math.round(seconds % 60);
  return m === 0 ? `${s} s` : s === 0 ? `${m} min` : `${m} min ${s} s`;
}
