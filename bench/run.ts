// npm run bench [-- --targets 1000 --heap typical --seconds 40 --no-stage]
// npm run bench -- --soak 30m --targets 200
//
// Runs the real collector (a child process, file output) against a farm of
// fake Go targets serving recorded profiles, at interval 10s, and prints for
// each run: collector CPU (% of one core), peak RSS, profiles shipped per
// second against those due, p50/p99 lateness of scrape starts against their
// slots, skipped and failed scrapes, the memory budget against RSS, and one
// BENCH line for scripts. First it times the profile stage alone
// (bench/profile-stage.ts). A soak is one long run that reports memory every
// minute and fits its slope. Prints figures; asserts nothing.

import { join } from 'node:path';
import { CollectorRun, cpuSeconds, ROOT, rssMb, TYPES_PER_TARGET } from './collector-run.js';
import { Farm, loadFarmProfiles } from './farm.js';
import { BenchUsageError, estimateSeconds, formatDuration, HEAPS, INTERVAL_MS, planBench, SOAK_WARMUP_S, WARMUP_S, type BenchPlan, type Run } from './options.js';
import { formatStage, measureProfileStage, stagePairs } from './profile-stage.js';
import { increase, quantile, sum, type Sample } from './prom.js';
import { benchLine, BudgetWatch, memoryLine, RUN_HEADER, runRow, table, type RunFigures } from './report.js';
import { analyseSoak, benchSoakLine, soakSample, soakVerdict, type SoakSample } from './soak.js';
import { summarizeFile } from './top-frames.js';

const PROFILES = join(ROOT, 'fixtures', 'profiles');
/** How often a run reads the memory budget gauges off /metrics (a big /metrics costs the collector CPU). */
const BUDGET_POLL_S = 10;
const SOAK_SAMPLE_S = 15;

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

interface Snapshot {
  readonly atMs: number;
  readonly cpuS: number;
  readonly metrics: Sample[];
}

async function snapshot(c: CollectorRun): Promise<Snapshot> {
  const metrics = await c.metrics();
  return { atMs: Date.now(), cpuS: cpuSeconds(c.pid), metrics };
}

function figures(run: Run, heapKb: number, s0: Snapshot, s1: Snapshot, peakRssMb: number, memory: RunFigures['memory']): RunFigures {
  const window = (s1.atMs - s0.atMs) / 1000;
  const scrapes = (result: string) => increase(s0.metrics, s1.metrics, 'collector_scrapes_total', (l) => l.result === result);
  const heap = (m: Sample[], what: 'sum' | 'count') => sum(m, `collector_scrape_duration_seconds_${what}`, (l) => l.type === 'heap');
  const heapAvgS = (heap(s1.metrics, 'sum') - heap(s0.metrics, 'sum')) / Math.max(1, heap(s1.metrics, 'count') - heap(s0.metrics, 'count'));
  return {
    heapLabel: HEAPS[run.heap].label,
    targets: run.targets,
    heapKb,
    cpuPercent: ((s1.cpuS - s0.cpuS) / window) * 100,
    peakRssMb,
    profilesPerSecond: increase(s0.metrics, s1.metrics, 'collector_output_sent_total') / window,
    expectedPerSecond: (run.targets * TYPES_PER_TARGET) / (INTERVAL_MS / 1000),
    lateP50Ms: quantile(s0.metrics, s1.metrics, 'collector_schedule_lateness_seconds', 0.5) * 1000,
    lateP99Ms: quantile(s0.metrics, s1.metrics, 'collector_schedule_lateness_seconds', 0.99) * 1000,
    heapScrapeMsAvg: heapAvgS * 1000,
    skipped: scrapes('skipped'),
    failed: scrapes('failed'),
    memory,
  };
}

/** The measured window's skips by their reason label (memory_budget, workers_behind, ...), when there were any. */
function skipLine(s0: Snapshot, s1: Snapshot): string {
  const skipped = (l: Record<string, string>) => l.result === 'skipped';
  const reasons = [...new Set(s1.metrics.filter((m) => m.name === 'collector_scrapes_total' && skipped(m.labels)).map((m) => m.labels.reason ?? ''))].sort();
  const counts = reasons
    .map((r) => [r || '(none)', increase(s0.metrics, s1.metrics, 'collector_scrapes_total', (l) => skipped(l) && (l.reason ?? '') === r)] as const)
    .filter(([, n]) => n > 0);
  return counts.length ? `skipped by reason: ${counts.map(([r, n]) => `${r}=${n}`).join(' ')}\n` : '';
}

/**
 * The farm and the collector for one run; `body` measures and returns the
 * run's closing lines, printed last (after the CPU profile summaries, so the
 * BENCH line ends the run). Both are stopped whatever happens.
 */
async function withCollector(run: Run, top: number, body: (c: CollectorRun, heapKb: number) => Promise<string>): Promise<void> {
  const profiles = loadFarmProfiles(PROFILES, { heapFile: HEAPS[run.heap].file, intervalMs: INTERVAL_MS });
  const heapKb = profiles.cumulative.heap.build(0).length / 1000;
  const farm = await Farm.start(run.targets, profiles);
  let c: CollectorRun | undefined;
  let closing = '';
  try {
    c = await CollectorRun.start(farm.urls, { intervalMs: INTERVAL_MS, nodeArgs: (process.env.BENCH_NODE_ARGS ?? '').split(' ').filter(Boolean) });
    closing = await body(c, heapKb);
  } finally {
    const cpuProfiles = c ? await c.stop() : [];
    await farm.close();
    if (c?.cpuProfileDir) {
      process.stdout.write(`CPU profiles of this run (node --cpu-prof, one per thread) in ${c.cpuProfileDir}:\n`);
      if (cpuProfiles.length === 0) process.stdout.write('  none written (did the collector exit on SIGTERM?)\n');
      for (const f of cpuProfiles) {
        try {
          process.stdout.write(`${summarizeFile(f, top)}\n`);
        } catch (err) {
          process.stdout.write(`${f}: cannot summarise: ${(err as Error).message}\n`);
        }
      }
    }
  }
  process.stdout.write(closing);
}

async function measuredRun(run: Run, plan: BenchPlan, rows: string[][]): Promise<void> {
  await withCollector(run, plan.top, async (c, heapKb) => {
    await sleep(WARMUP_S * 1000);
    const budget = new BudgetWatch();
    const s0 = await snapshot(c);
    budget.see(s0.metrics);
    let peak = rssMb(c.pid);
    const end = s0.atMs + plan.seconds * 1000;
    for (let tick = 1; Date.now() < end; tick++) {
      await sleep(Math.min(1000, Math.max(0, end - Date.now())));
      peak = Math.max(peak, rssMb(c.pid));
      if (budget.present && tick % BUDGET_POLL_S === 0) budget.see(await c.metrics());
    }
    const s1 = await snapshot(c);
    budget.see(s1.metrics);
    peak = Math.max(peak, rssMb(c.pid, 'VmHWM'));
    const f = figures(run, heapKb, s0, s1, peak, budget.figures(peak));
    rows.push(runRow(f));
    return `${table(rows)}\n${memoryLine(f.memory)}\n${skipLine(s0, s1)}${benchLine(f)}\n\n`;
  });
}

async function soak(run: Run, soakSeconds: number, top: number): Promise<void> {
  await withCollector(run, top, async (c, heapKb) => {
    const t0 = Date.now();
    const budget = new BudgetWatch();
    const samples: SoakSample[] = [];
    const header = ['min', 'RSS MB', 'heap used MB', 'heap total MB', 'external MB', 'worker threads MB', 'budget in use MB', 'profiles/s (last min)'];
    const line = (cells: string[]) => `  ${cells.map((x, i) => x.padStart(header[i]!.length)).join('  ')}\n`;
    const mb = (x: number | undefined) => (x === undefined ? 'n/a' : x.toFixed(1));
    process.stdout.write(`memory of the collector, once a minute (samples every ${SOAK_SAMPLE_S} s):\n${line(header)}`);
    let s0: Snapshot | undefined;
    let peak = 0;
    let lastMinute = { t: 0, sent: 0 };
    for (let tick = 1; tick <= soakSeconds; tick++) {
      await sleep(Math.max(0, t0 + tick * 1000 - Date.now()));
      peak = Math.max(peak, rssMb(c.pid));
      if (tick === WARMUP_S) s0 = await snapshot(c);
      if (tick % SOAK_SAMPLE_S !== 0 && tick !== soakSeconds) continue;
      const m = await c.metrics();
      budget.see(m);
      const s = soakSample((Date.now() - t0) / 1000, rssMb(c.pid), m);
      samples.push(s);
      if (tick % 60 === 0) {
        const perS = (s.sent - lastMinute.sent) / (s.t - lastMinute.t);
        lastMinute = { t: s.t, sent: s.sent };
        process.stdout.write(line([String(tick / 60), mb(s.rssMb), mb(s.heapUsedMb), mb(s.heapTotalMb), mb(s.externalMb), mb(s.threadsMb), mb(s.inUseMb), perS.toFixed(1)]));
      }
    }
    const s1 = await snapshot(c);
    peak = Math.max(peak, rssMb(c.pid, 'VmHWM'));
    const a = analyseSoak(samples, SOAK_WARMUP_S);
    const f = figures(run, heapKb, s0!, s1, peak, budget.figures(peak));
    return [
      '',
      `heap used: the main thread's V8 heap; external: memory held outside it by JS objects (buffers); worker threads: their V8 heaps (reserved) and external memory; rest of RSS: RSS - heap total - external - worker threads (code, native memory, malloc's free lists)`,
      ...soakVerdict(a, SOAK_WARMUP_S),
      table([RUN_HEADER, runRow(f)]),
      memoryLine(f.memory),
      benchSoakLine(run.targets, heapKb, samples, a),
      benchLine(f),
      '',
    ].join('\n');
  });
}

async function main(): Promise<void> {
  let plan: BenchPlan;
  try {
    plan = planBench(process.argv.slice(2));
  } catch (err) {
    if (!(err instanceof BenchUsageError)) throw err;
    process.stderr.write(`bench: ${err.message}\n`);
    process.exit(2);
  }
  const what = plan.soakSeconds
    ? `a soak of ${formatDuration(plan.soakSeconds)} at ${plan.runs[0]!.targets} targets (${plan.runs[0]!.heap} heap)`
    : `${plan.stage ? 'the profile stage, then ' : ''}${plan.runs.map((r) => `${r.heap} heap x ${r.targets} targets`).join(', ')}; each ${WARMUP_S} s warm-up + ${plan.seconds} s measured`;
  process.stdout.write(`bench: ${what}. This takes about ${formatDuration(estimateSeconds(plan))}.\n\n`);

  if (plan.stage) process.stdout.write(`${formatStage(await measureProfileStage(stagePairs(PROFILES)))}\n\n`);

  if (plan.soakSeconds) {
    await soak(plan.runs[0]!, plan.soakSeconds, plan.top);
    return;
  }
  process.stdout.write(
    `collector against a farm of fake targets (${TYPES_PER_TARGET} types each, interval ${INTERVAL_MS / 1000}s, file output; ${WARMUP_S}s warm-up, then ${plan.seconds}s measured)\n`,
  );
  const rows = [RUN_HEADER];
  for (const run of plan.runs) await measuredRun(run, plan, rows);
}

await main();
