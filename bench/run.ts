// npm run bench [-- --targets 100,500,1000 --seconds 40 --typical 1000]
//
// Runs the real collector (a child process, file output) against a farm of
// fake Go targets serving recorded profiles, at interval 10s, and prints for
// each farm size: collector CPU (% of one core), peak RSS, profiles per
// second, p50/p99 lateness of scrape starts against their slots, and the
// per-profile delta cost next to its floor (gunzip + gzip of the same bytes).
// Prints figures; asserts nothing.

import { spawn } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import { Farm, loadFarmProfiles } from './farm.js';
import { measureProfileStage } from './profile-stage.js';

const ROOT = join(dirname(fileURLToPath(import.meta.url)), '..');
const PROFILES = join(ROOT, 'fixtures', 'profiles');
const CLK_TCK = 100; // Linux user HZ for /proc/<pid>/stat
const WARMUP_MS = 15_000;

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

interface Sample {
  readonly name: string;
  readonly labels: Record<string, string>;
  readonly value: number;
}

function parseProm(text: string): Sample[] {
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

const sum = (s: Sample[], name: string, pred: (l: Record<string, string>) => boolean = () => true) =>
  s.filter((x) => x.name === name && pred(x.labels)).reduce((a, x) => a + x.value, 0);

/** histogram_quantile over the difference of two scrapes of a histogram. */
function quantile(before: Sample[], after: Sample[], name: string, q: number): number {
  const buckets = (s: Sample[]) => new Map(s.filter((x) => x.name === `${name}_bucket`).map((x) => [x.labels.le!, x.value]));
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

function cpuTicks(pid: number): number {
  const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
  const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
  return Number(fields[11]) + Number(fields[12]); // utime + stime
}

function rssKb(pid: number, field: 'VmRSS' | 'VmHWM'): number {
  const m = new RegExp(`^${field}:\\s+(\\d+) kB`, 'm').exec(readFileSync(`/proc/${pid}/status`, 'utf8'));
  return m ? Number(m[1]) : 0;
}

interface RunFigures {
  readonly targets: number;
  readonly cpuPercent: number;
  readonly peakRssMb: number;
  readonly profilesPerSecond: number;
  readonly lateP50Ms: number;
  readonly lateP99Ms: number;
  readonly failedScrapes: number;
  readonly heapDeltaMsAvg: number;
}

async function runOnce(n: number, seconds: number, profiles: ReturnType<typeof loadFarmProfiles>): Promise<RunFigures> {
  const farm = await Farm.start(n, profiles);
  const dir = mkdtempSync(join(tmpdir(), 'pprof-bench-'));
  const cfg = join(dir, 'bench.conf');
  const lines = ['[agent]', 'listen = "127.0.0.1:0"', `data_dir = ${JSON.stringify(join(dir, 'data'))}`, 'log_level = "info"', ''];
  farm.urls.forEach((url, i) => lines.push('[[inputs.profile.go]]', `url = "${url}"`, 'interval = "10s"', `service = "svc-${i % 50}"`, `env = "bench"`, `version = "1.0.${i}"`, ''));
  lines.push('[[outputs.file]]', `dir = ${JSON.stringify(join(dir, 'profiles'))}`, '');
  writeFileSync(cfg, lines.join('\n'));

  // BENCH_NODE_ARGS="--cpu-prof --cpu-prof-dir=/tmp/prof" profiles the collector.
  const nodeArgs = (process.env.BENCH_NODE_ARGS ?? '').split(' ').filter(Boolean);
  const child = spawn(process.execPath, [...nodeArgs, join(ROOT, 'bin', 'collector.js'), '-c', cfg, '--log-format', 'json'], {
    cwd: ROOT,
    stdio: ['ignore', 'pipe', 'inherit'],
  });
  let out = '';
  let statusUrl = '';
  child.stdout!.on('data', (d: Buffer) => {
    out += d.toString();
    if (!statusUrl) statusUrl = /"url":"(http:\/\/127\.0\.0\.1:\d+)"/.exec(out)?.[1] ?? '';
    if (out.length > 1 << 20) out = out.slice(-4096);
  });
  const exited = new Promise<void>((r) => child.once('exit', () => r()));
  try {
    for (let i = 0; i < 200 && !statusUrl; i++) await sleep(50);
    if (!statusUrl) throw new Error('the collector did not start its status server');
    const metrics = async () => parseProm(await (await fetch(`${statusUrl}/metrics`)).text());
    await sleep(WARMUP_MS);
    const pid = child.pid!;
    const m0 = await metrics();
    const c0 = cpuTicks(pid);
    const t0 = Date.now();
    let peak = rssKb(pid, 'VmRSS');
    const end = t0 + seconds * 1000;
    while (Date.now() < end) {
      await sleep(1000);
      peak = Math.max(peak, rssKb(pid, 'VmRSS'));
    }
    const c1 = cpuTicks(pid);
    const t1 = Date.now();
    const m1 = await metrics();
    peak = Math.max(peak, rssKb(pid, 'VmHWM'));
    const window = (t1 - t0) / 1000;
    const sent = sum(m1, 'collector_output_sent_total') - sum(m0, 'collector_output_sent_total');
    const failed = sum(m1, 'collector_scrapes_total', (l) => l.result === 'failed') - sum(m0, 'collector_scrapes_total', (l) => l.result === 'failed');
    const heapSum = (s: Sample[]) => sum(s, 'collector_scrape_duration_seconds_sum', (l) => l.type === 'heap');
    const heapCount = (s: Sample[]) => sum(s, 'collector_scrape_duration_seconds_count', (l) => l.type === 'heap');
    const heapAvg = (heapSum(m1) - heapSum(m0)) / Math.max(1, heapCount(m1) - heapCount(m0));
    return {
      targets: n,
      cpuPercent: ((c1 - c0) / CLK_TCK / window) * 100,
      peakRssMb: peak / 1024,
      profilesPerSecond: sent / window,
      lateP50Ms: quantile(m0, m1, 'collector_schedule_lateness_seconds', 0.5) * 1000,
      lateP99Ms: quantile(m0, m1, 'collector_schedule_lateness_seconds', 0.99) * 1000,
      failedScrapes: failed,
      heapDeltaMsAvg: heapAvg * 1000,
    };
  } finally {
    child.kill('SIGTERM');
    await Promise.race([exited, sleep(30_000)]);
    if (child.exitCode === null) child.kill('SIGKILL');
    await farm.close();
    rmSync(dir, { recursive: true, force: true });
  }
}

function table(rows: string[][]): string {
  const w = rows[0]!.map((_, i) => Math.max(...rows.map((r) => r[i]!.length)));
  return rows.map((r) => `  ${r.map((c, i) => c.padEnd(w[i]!)).join('  ')}`).join('\n');
}

async function main(): Promise<void> {
  const { values } = parseArgs({
    options: { targets: { type: 'string', default: '100,500,1000' }, seconds: { type: 'string', default: '40' }, typical: { type: 'string', default: '1000' } },
  });
  const sizes = values.targets.split(',').filter(Boolean).map(Number);
  const typicalSizes = values.typical.split(',').filter(Boolean).map(Number);
  const seconds = Number(values.seconds);

  process.stdout.write('profile stage: heap delta per profile vs the floor (gunzip + gzip of the same bytes, level 6), medians\n');
  const profiles = loadFarmProfiles(PROFILES);
  const dir = mkdtempSync(join(tmpdir(), 'pprof-bench-stage-'));
  writeFileSync(join(dir, 'farm-heap-0.pb.gz'), profiles.heap[0]!);
  writeFileSync(join(dir, 'farm-heap-1.pb.gz'), profiles.heap[1]!);
  const typical = loadFarmProfiles(PROFILES, 'heap-typical.pb.gz');
  writeFileSync(join(dir, 'typical-heap-0.pb.gz'), typical.heap[0]!);
  writeFileSync(join(dir, 'typical-heap-1.pb.gz'), typical.heap[1]!);
  const stage = await measureProfileStage(PROFILES, [['heap (fixture, 22 samples)', 'heap-5.pb.gz', 'heap-6.pb.gz']]);
  stage.push(
    ...(await measureProfileStage(dir, [
      ['heap (typical, 3k stacks x 32 frames)', 'typical-heap-0.pb.gz', 'typical-heap-1.pb.gz'],
      ['heap (bench, 10k stacks x 32 frames)', 'farm-heap-0.pb.gz', 'farm-heap-1.pb.gz'],
    ])),
  );
  rmSync(dir, { recursive: true, force: true });
  const stageRows = [['profile', 'gz bytes', 'samples', 'floor ms', 'delta ms', 'delta/floor', 'pprof-format decode+encode ms']];
  for (const f of stage) {
    stageRows.push([f.name, String(f.bytes), String(f.samples), f.floorMs.toFixed(2), f.deltaMs.toFixed(2), (f.deltaMs / f.floorMs).toFixed(2), f.decodeEncodeMs.toFixed(2)]);
  }
  process.stdout.write(`${table(stageRows)}\n\n`);

  process.stdout.write(
    `collector against a farm of fake targets (5 types each, interval 10s, file output; ${WARMUP_MS / 1000}s warm-up, then ${seconds}s measured)\n`,
  );
  const rows = [['heap', 'targets', 'CPU % of one core', 'peak RSS MB', 'profiles/s', 'lateness p50 ms', 'lateness p99 ms', 'heap scrape+delta avg ms', 'failed scrapes']];
  // The typical heap first: later runs share the machine with a farm that
  // has served far more bytes.
  const runs: Array<[string, number, ReturnType<typeof loadFarmProfiles>]> = [
    ...typicalSizes.map((n): [string, number, ReturnType<typeof loadFarmProfiles>] => ['~60 KB (3k stacks)', n, typical]),
    ...sizes.map((n): [string, number, ReturnType<typeof loadFarmProfiles>] => ['~200 KB (10k stacks)', n, profiles]),
  ];
  for (const [heapName, n, farmProfiles] of runs) {
    const f = await runOnce(n, seconds, farmProfiles);
    rows.push([
      heapName,
      String(f.targets),
      f.cpuPercent.toFixed(1),
      f.peakRssMb.toFixed(0),
      f.profilesPerSecond.toFixed(1),
      f.lateP50Ms.toFixed(1),
      f.lateP99Ms.toFixed(1),
      f.heapDeltaMsAvg.toFixed(1),
      String(f.failedScrapes),
    ]);
    process.stdout.write(`${table(rows)}\n\n`);
  }
}

await main();
