// node --import tsx bench/file-output.ts [--profiles 2000] [--concurrency 4,16] [--services 50] [--dir DIR]
//
// The main thread's cost of [[outputs.file]] per profile: the sender writes
// the bench's ~60 KB heap (and its JSON) this many times, `concurrency` sends
// at once as the output queue runs them, spread over `services` service
// directories, into a temp directory (or DIR: put it on the disk the
// collector writes to, fsync costs depend on it). Once with the file work
// on the main thread (DurableProfileWriter, as before the writer thread),
// once through the writer thread (the collector's default). Prints, per
// writer and concurrency, the file-system calls the main thread makes per
// profile (each a round trip through the libuv pool it issues and
// completes), the main thread's CPU time per profile
// (/proc/self/task/<pid>/stat: the JavaScript and the system calls issued
// from it, not the fsyncs the libuv pool waits on), the whole process's
// (every thread: the writer thread and libuv's pool too) and profiles per second.
// Prints figures; asserts nothing.

import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { performance } from 'node:perf_hooks';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import { fsOps, type FileOps } from '../src/core/files.js';
import { FileSender } from '../src/output/file.js';
import { ThreadProfileWriter } from '../src/output/file-writer.js';
import { DurableProfileWriter, type ProfileFileWriter } from '../src/output/file-writes.js';
import type { ProfileRecord } from '../src/profile/record.js';
import { HEAPS } from './options.js';
import { table } from './report.js';

const PROFILES = join(fileURLToPath(new URL('..', import.meta.url)), 'fixtures', 'profiles');

/** CPU ms (user + system) of this process's main thread so far (Linux, 10 ms ticks). */
function mainThreadCpuMs(): number {
  const stat = readFileSync(`/proc/self/task/${process.pid}/stat`, 'utf8');
  const f = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
  return (Number(f[11]) + Number(f[12])) * 10;
}

/** The i-th profile: five in a row from one target (its types, scraped together), targets spread over the services. */
function record(i: number, services: number, pprof: Buffer): ProfileRecord {
  const service = `svc-${Math.floor(i / 5) % services}`;
  const ns = BigInt(1_800_000_000_000 + i) * 1_000_000n;
  return {
    id: `bench-${i.toString(16).padStart(12, '0')}`,
    targetId: `t${i % 1000}`,
    type: 'heap',
    service,
    env: 'bench',
    version: '1.0.0',
    instance: `10.0.${Math.floor(i / 5) % 250}.1:6060`,
    startNs: ns - 10_000_000_000n,
    endNs: ns,
    isDelta: true,
    sampleCount: 3000,
    tags: { host: 'bench', service },
    customTags: {},
    pprof,
    datakitFileName: 'delta-heap.pprof',
    pyroscopeName: 'memory',
  };
}

/** The real file-system calls, counted. */
function countingOps(): { ops: FileOps; calls: () => number } {
  let n = 0;
  const ops = Object.fromEntries(
    Object.entries(fsOps).map(([k, f]) => [k, (...a: unknown[]) => (n++, (f as (...x: unknown[]) => unknown)(...a))]),
  ) as unknown as FileOps;
  return { ops, calls: () => n };
}

type WriterKind = 'main thread' | 'writer thread';

async function run(kind: WriterKind, dir: string, n: number, concurrency: number, services: number, pprof: Buffer): Promise<{ busyUsPerProfile: number; processUsPerProfile: number; perSecond: number; callsPerProfile: number }> {
  const { ops, calls } = countingOps();
  const writer: ProfileFileWriter = kind === 'main thread' ? new DurableProfileWriter(ops) : new ThreadProfileWriter();
  const sender = new FileSender({ kind: 'file', name: 'bench', source: { file: 'bench', line: 1 }, dir }, writer);
  if (kind === 'writer thread') await sender.send(record(n + 1, services, pprof)); // the thread started, outside the timing
  let next = 0;
  const cpu0 = mainThreadCpuMs();
  const all0 = process.cpuUsage();
  const t0 = performance.now();
  await Promise.all(
    Array.from({ length: concurrency }, async () => {
      while (next < n) await sender.send(record(next++, services, pprof));
    }),
  );
  const ms = performance.now() - t0;
  const cpu1 = mainThreadCpuMs();
  const all = process.cpuUsage(all0);
  await sender.close();
  return { busyUsPerProfile: ((cpu1 - cpu0) * 1000) / n, processUsPerProfile: (all.user + all.system) / n, perSecond: (n / ms) * 1000, callsPerProfile: calls() / n };
}

async function main(): Promise<void> {
  const { values } = parseArgs({
    options: { profiles: { type: 'string', default: '2000' }, concurrency: { type: 'string', default: '4,16' }, services: { type: 'string', default: '50' }, dir: { type: 'string' } },
  });
  const n = Number(values.profiles);
  const services = Number(values.services);
  const levels = values.concurrency.split(',').map(Number);
  const pprof = readFileSync(join(PROFILES, HEAPS.typical.file));
  const rows = [['writer', 'concurrent sends', 'profiles', 'main thread fs calls per profile', 'main thread CPU µs per profile', 'all threads CPU µs per profile', 'profiles/s']];
  for (const kind of ['main thread', 'writer thread'] as const) {
    for (const c of levels) {
      const dir = mkdtempSync(join(values.dir ?? tmpdir(), 'pprof-bench-file-'));
      try {
        await run(kind, dir, Math.min(200, n), c, services, pprof); // warm up: directories made, code compiled
        const r = await run(kind, dir, n, c, services, pprof);
        rows.push([kind, String(c), String(n), r.callsPerProfile.toFixed(2), r.busyUsPerProfile.toFixed(0), r.processUsPerProfile.toFixed(0), r.perSecond.toFixed(0)]);
        console.log(`BENCH_FILE writer="${kind}" concurrency=${c} profiles=${n} main_cpu_us=${r.busyUsPerProfile.toFixed(0)} all_cpu_us=${r.processUsPerProfile.toFixed(0)} per_s=${r.perSecond.toFixed(0)}`);
      } finally {
        rmSync(dir, { recursive: true, force: true });
      }
    }
  }
  console.log(`[[outputs.file]], the ~60 KB heap, ${services} service directories under ${values.dir ?? tmpdir()} (a loaded machine's figures vary):`);
  console.log(table(rows));
}

await main();
