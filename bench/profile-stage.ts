// node --import tsx bench/profile-stage.ts   (npm run bench runs it first)
//
// Cost of the profile stage per profile, next to the floor every delta pays
// anyway (gunzip the scraped bytes + gzip the result), on the heaps the
// bench uses: a recorded fixture, the farm's typical and large heaps, and a
// big service's (bench/big-heap.ts). Each pair is two successive versions
// of the farm's growing heap, so every stack has a delta.

import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { gunzip, gzip } from 'node:zlib';
import { Profile } from 'pprof-format';
import { buildTarget } from '../src/discovery/static.js';
import type { GoTargetConfig } from '../src/config/types.js';
import { BaselineStore } from '../src/profile/baselines.js';
import { ProfileProcessor } from '../src/profile/processor.js';
import { HEAPS, INTERVAL_MS } from './options.js';
import { table } from './report.js';
import { ProfileVersions } from './versions.js';

const gunzipAsync = promisify(gunzip);
const gzipAsync = promisify(gzip);
const PROFILES = join(fileURLToPath(new URL('..', import.meta.url)), 'fixtures', 'profiles');
/** The floor's gzip level: zlib's default, what the collector writes unless told otherwise. */
export const FLOOR_GZIP_LEVEL = 6;

export interface StagePair {
  /** One word, for the BENCH_STAGE line. */
  readonly slug: string;
  readonly name: string;
  readonly prev: Buffer;
  readonly cur: Buffer;
}

export interface StageFigures {
  readonly slug: string;
  readonly name: string;
  readonly bytes: number;
  readonly samples: number;
  readonly floorMs: number;
  readonly deltaMs: number;
  readonly decodeEncodeMs: number;
}

function median(xs: number[]): number {
  const s = [...xs].sort((a, b) => a - b);
  return s[Math.floor(s.length / 2)]!;
}

/**
 * Medians of up to `max` timed runs of each function after two to warm up,
 * fewer when they are slow (about `budgetMs` in all). The functions take
 * turns, so on a shared machine both see the same load and their ratio holds.
 */
async function timeEach(fns: ReadonlyArray<() => Promise<unknown> | unknown>, max = 30, budgetMs = 6000): Promise<number[]> {
  const xs: number[][] = fns.map(() => []);
  for (let i = 0; i < 2; i++) for (const fn of fns) await fn();
  let spent = 0;
  for (let i = 0; i < max && (i < 5 || spent < budgetMs); i++) {
    for (const [j, fn] of fns.entries()) {
      const t = process.hrtime.bigint();
      await fn();
      const ms = Number(process.hrtime.bigint() - t) / 1e6;
      xs[j]!.push(ms);
      spent += ms;
    }
  }
  return xs.map(median);
}

const targetConfig: GoTargetConfig = {
  source: { file: 'bench', line: 1 },
  baseUrl: 'http://127.0.0.1:6060/debug/pprof',
  intervalMs: INTERVAL_MS,
  profileDurationMs: 9_000,
  httpTimeoutMs: 15_000,
  service: 'bench',
  env: '',
  version: '',
  enabledTypes: ['heap'],
  inputTags: {},
  goTags: {},
  bodySizeLimitBytes: 32 << 20,
  generateMetrics: false,
};

/** The bench's heap pairs: the recorded fixture's last two scrapes, and versions 0 and 1 of each farm heap. */
export function stagePairs(dir = PROFILES): StagePair[] {
  const read = (f: string) => readFileSync(join(dir, f));
  const pairs: StagePair[] = [{ slug: 'fixture', name: 'fixture heap, 22 samples (heap-5 -> heap-6)', prev: read('heap-5.pb.gz'), cur: read('heap-6.pb.gz') }];
  for (const [slug, heap] of Object.entries(HEAPS)) {
    const v = new ProfileVersions(read(heap.file), { type: 'heap', startNanos: BigInt(Date.now()) * 1_000_000n, intervalNs: BigInt(INTERVAL_MS) * 1_000_000n });
    pairs.push({ slug, name: `${slug} heap, ${heap.label}`, prev: v.build(0), cur: v.build(1) });
  }
  return pairs;
}

export async function measureProfileStage(pairs: readonly StagePair[]): Promise<StageFigures[]> {
  const target = buildTarget(targetConfig, 'bench-host');
  const out: StageFigures[] = [];
  for (const { slug, name, prev, cur } of pairs) {
    const store = new BaselineStore();
    const processor = new ProfileProcessor({ baselines: store });
    const scraped = (body: Buffer) => ({ target, type: 'heap' as const, body, startedAtMs: Date.now(), finishedAtMs: Date.now() });
    await processor.process(scraped(prev));
    const baseline = store.get(target.id, 'heap')!;
    const raw = await gunzipAsync(cur);
    const samples = Profile.decode(raw).sample.length;

    const [floorMs, deltaMs] = await timeEach([
      async () => gzipAsync(await gunzipAsync(cur), { level: FLOOR_GZIP_LEVEL }),
      async () => {
        store.set(target.id, 'heap', baseline);
        const r = await processor.process(scraped(cur));
        if (r.kind !== 'shipped') throw new Error(`${name}: expected a delta, got ${r.kind}`);
      },
    ]);
    const [decodeEncodeMs] = await timeEach([() => Profile.decode(raw).encode()], 10, 3000);
    out.push({ slug, name, bytes: cur.length, samples, floorMs: floorMs!, deltaMs: deltaMs!, decodeEncodeMs: decodeEncodeMs! });
  }
  return out;
}

export function stageLine(f: StageFigures): string {
  return `BENCH_STAGE profile=${f.slug} kb=${Math.round(f.bytes / 1000)} delta_ms=${f.deltaMs.toFixed(2)} floor_ms=${f.floorMs.toFixed(2)} ratio=${(f.deltaMs / f.floorMs).toFixed(2)}`;
}

export function formatStage(figures: readonly StageFigures[]): string {
  const rows = [['profile', 'gz bytes', 'samples', 'floor ms', 'delta ms', 'delta/floor', 'pprof-format decode+encode ms']];
  for (const f of figures) {
    rows.push([f.name, String(f.bytes), String(f.samples), f.floorMs.toFixed(2), f.deltaMs.toFixed(2), (f.deltaMs / f.floorMs).toFixed(2), f.decodeEncodeMs.toFixed(2)]);
  }
  return [
    `profile stage: heap delta per profile vs the floor (gunzip + gzip level ${FLOOR_GZIP_LEVEL} of the same bytes), medians`,
    table(rows),
    ...figures.map(stageLine),
  ].join('\n');
}

async function main(): Promise<void> {
  process.stdout.write(`${formatStage(await measureProfileStage(stagePairs()))}\n`);
}

if (process.argv[1] && fileURLToPath(import.meta.url) === process.argv[1]) await main();
