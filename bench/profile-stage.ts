// Cost of the profile stage per profile, next to the floor every delta pays
// anyway (gunzip the scraped bytes + gzip the result), on real recorded
// profiles of the Go fixture.

import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { gunzip, gzip } from 'node:zlib';
import { Profile } from 'pprof-format';
import { buildTarget } from '../src/discovery/static.js';
import type { GoTargetConfig } from '../src/config/types.js';
import { BaselineStore } from '../src/profile/baselines.js';
import { ProfileProcessor } from '../src/profile/processor.js';

const gunzipAsync = promisify(gunzip);
const gzipAsync = promisify(gzip);

export interface StageFigures {
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

async function time(n: number, fn: () => Promise<unknown> | unknown): Promise<number> {
  for (let i = 0; i < 3; i++) await fn(); // warm up
  const xs: number[] = [];
  for (let i = 0; i < n; i++) {
    const t = process.hrtime.bigint();
    await fn();
    xs.push(Number(process.hrtime.bigint() - t) / 1e6);
  }
  return median(xs);
}

const targetConfig: GoTargetConfig = {
  source: { file: 'bench', line: 1 },
  baseUrl: 'http://127.0.0.1:6060/debug/pprof',
  intervalMs: 10_000,
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

export async function measureProfileStage(dir: string, pairs: Array<[string, string, string]>, iterations = 30): Promise<StageFigures[]> {
  const target = buildTarget(targetConfig, 'bench-host');
  const out: StageFigures[] = [];
  for (const [name, prevFile, curFile] of pairs) {
    const prev = readFileSync(join(dir, prevFile));
    const cur = readFileSync(join(dir, curFile));
    const store = new BaselineStore();
    const processor = new ProfileProcessor({ baselines: store });
    const scraped = (body: Buffer) => ({ target, type: 'heap' as const, body, startedAtMs: Date.now(), finishedAtMs: Date.now() });
    await processor.process(scraped(prev));
    const baseline = store.get(target.id, 'heap')!;
    const raw = await gunzipAsync(cur);
    const samples = Profile.decode(raw).sample.length;

    const floorMs = await time(iterations, async () => gzipAsync(await gunzipAsync(cur)));
    const deltaMs = await time(iterations, async () => {
      store.set(target.id, 'heap', baseline);
      const r = await processor.process(scraped(cur));
      if (r.kind !== 'shipped') throw new Error(`expected a delta, got ${r.kind}`);
    });
    const decodeEncodeMs = await time(iterations, () => Profile.decode(raw).encode());
    out.push({ name, bytes: cur.length, samples, floorMs, deltaMs, decodeEncodeMs });
  }
  return out;
}
