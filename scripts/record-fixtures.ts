// Records real profiles of the Go fixture into fixtures/profiles/, for fast
// unit tests and for the demo's replay server when Go is not installed.
//   npm run record-fixtures
// Cumulative types are recorded as a sequence (scrape k of the same process),
// so consecutive files make real deltas.

import { mkdirSync, rmSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { BIG_HEAP_FILE, bigHeapFixture } from '../bench/big-heap.js';
import { startGoTarget } from '../fixtures/go-target/harness.js';

const OUT = join(dirname(fileURLToPath(import.meta.url)), '..', 'fixtures', 'profiles');
const STEPS = 6;
const GAP_MS = 2000;
const PARKED = 42;

async function get(url: string): Promise<Buffer> {
  const res = await fetch(url);
  if (res.status !== 200) throw new Error(`${url}: ${res.status}`);
  return Buffer.from(await res.arrayBuffer());
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

async function main(): Promise<void> {
  rmSync(OUT, { recursive: true, force: true });
  mkdirSync(OUT, { recursive: true });
  const files: Record<string, string> = {};
  const save = (name: string, body: Buffer, what: string) => {
    writeFileSync(join(OUT, name), body);
    files[name] = what;
  };

  const target = await startGoTarget({ parked: PARKED });
  try {
    const base = `${target.url}/debug/pprof`;
    await sleep(1500); // let the workload run a little before the first scrape
    const cpu = get(`${base}/profile?seconds=2`);
    for (let i = 1; i <= STEPS; i++) {
      for (const type of ['heap', 'mutex', 'block'] as const) {
        save(`${type}-${i}.pb.gz`, await get(`${base}/${type}`), `${type}, cumulative, scrape ${i} of one process, ${GAP_MS / 1000}s apart`);
      }
      if (i === 1) save('goroutine.pb.gz', await get(`${base}/goroutine`), `goroutine, ${PARKED} goroutines parked in main.parkedGoroutine`);
      if (i < STEPS) await sleep(GAP_MS);
    }
    save('cpu.pb.gz', await cpu, 'cpu, 2s window, main.cpuBurner busy');
  } finally {
    await target.stop();
  }

  // A second process with mutex and block profiling off: valid but empty.
  const off = await startGoTarget({ mutexFraction: 0, blockRate: 0 });
  try {
    await sleep(500);
    save('mutex-off.pb.gz', await get(`${off.url}/debug/pprof/mutex`), 'mutex with SetMutexProfileFraction(0): no samples');
    save('block-off.pb.gz', await get(`${off.url}/debug/pprof/block`), 'block with SetBlockProfileRate(0): no samples');
    save('heap-other-process.pb.gz', await get(`${off.url}/debug/pprof/heap`), 'heap of a second process (a restart, seen from a baseline of the first)');
  } finally {
    await off.stop();
  }

  // A large heap profile pair (thousands of stacks), for the benchmark.
  const big = await startGoTarget({ allocStacks: 3000, memRate: 4096 });
  try {
    await sleep(3000);
    save('heap-large-1.pb.gz', await get(`${big.url}/debug/pprof/heap`), 'heap with ~3000 allocation stacks (main.manyStacks), scrape 1');
    await sleep(2000);
    save('heap-large-2.pb.gz', await get(`${big.url}/debug/pprof/heap`), 'heap with ~3000 allocation stacks (main.manyStacks), scrape 2');
  } finally {
    await big.stop();
  }

  // A typical heap (3,000 stacks, 32 frames, ~60 KB).
  const typical = await startGoTarget({ allocStacks: 3000, allocDepth: 40, memRate: 4096 });
  try {
    await sleep(7000);
    save('heap-typical.pb.gz', await get(`${typical.url}/debug/pprof/heap`), 'heap, ~3,000 allocation stacks 32 frames deep (main.manyStacks): a typical service heap (~60 KB)');
  } finally {
    await typical.stop();
  }

  // The benchmark's ~200 KB heap (10,000 stacks, 32 frames) and a full 9 s CPU window.
  const bench = await startGoTarget({ allocStacks: 10_000, allocDepth: 32, memRate: 4096 });
  try {
    await sleep(8000);
    save('heap-bench.pb.gz', await get(`${bench.url}/debug/pprof/heap`), 'heap, ~10,000 allocation stacks 32 frames deep (main.manyStacks): the ~200 KB heap of the benchmark');
    save('cpu-9s.pb.gz', await get(`${bench.url}/debug/pprof/profile?seconds=9`), 'cpu, a full 9 s window, as the collector scrapes it by default');
  } finally {
    await bench.stop();
  }

  // The big service's heap is generated, not recorded (bench/big-heap.ts).
  const bigHeap = bigHeapFixture();
  save(BIG_HEAP_FILE, bigHeap.gz, bigHeap.note);

  writeFileSync(
    join(OUT, 'manifest.json'),
    `${JSON.stringify({ recorded: new Date().toISOString(), go_target: 'fixtures/go-target', parked_goroutines: PARKED, gap_ms: GAP_MS, steps: STEPS, files }, null, 2)}\n`,
  );
  process.stdout.write(`recorded ${Object.keys(files).length} profiles into ${OUT}\n`);
}

await main();
