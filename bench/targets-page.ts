// node --import tsx bench/targets-page.ts [--targets 10,5000] [--views 200]
//
// What a view of the status page costs on the collector's main thread, at
// N targets of five types each: real Target objects, a health store in
// which every 7th target's heap fails (with an error and a hint) and every
// target has a kept CPU profile (the recorded Go fixture's,
// fixtures/profiles/cpu.pb.gz). Times the /targets route (the default page
// of 50, a health filter, a service filter), /api/targets (all, as JSON),
// and /api/flame (the first view draws the profile, later ones are cached).
// Prints medians and one BENCH_TARGETS_PAGE line per N.

import { readFileSync } from 'node:fs';
import type { IncomingMessage, ServerResponse } from 'node:http';
import { cpus } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import type { GoTargetConfig } from '../src/config/types.js';
import { buildTarget } from '../src/discovery/static.js';
import { freezeRecord, newRecordId } from '../src/profile/record.js';
import { DEFAULT_TYPE_NAMES, PROFILE_TYPES, shipNames } from '../src/profile/types.js';
import { FlameCache } from '../src/server/flame-cache.js';
import { HealthStore } from '../src/server/health.js';
import { LastProfiles } from '../src/server/last-profiles.js';
import { targetStatusPage } from '../src/server/target-status.js';
import { statusRoutes } from '../src/server/targets.js';

const { values } = parseArgs({ options: { targets: { type: 'string', default: '10,5000' }, views: { type: 'string', default: '200' } } });
const SIZES = values.targets.split(',').map(Number);
const VIEWS = Number(values.views);
const CPU = readFileSync(join(fileURLToPath(new URL('..', import.meta.url)), 'fixtures', 'profiles', 'cpu.pb.gz'));
const NOW = 1_800_000_000_000;

function setup(n: number) {
  const targets = Array.from({ length: n }, (_, i) => {
    const config: GoTargetConfig = {
      source: { file: 'bench.conf', line: 1 },
      baseUrl: `http://10.${(i >> 16) & 255}.${(i >> 8) & 255}.${i & 255}:6060/debug/pprof`,
      intervalMs: 10_000,
      profileDurationMs: 9_000,
      httpTimeoutMs: 15_000,
      service: `svc-${String(Math.floor(i / 10)).padStart(4, '0')}`,
      env: 'bench',
      version: '1',
      enabledTypes: DEFAULT_TYPE_NAMES,
      inputTags: {},
      goTags: { team: 'bench' },
      bodySizeLimitBytes: 32 << 20,
      generateMetrics: false,
    };
    return buildTarget(config, 'bench-host');
  });
  const health = new HealthStore();
  const lastProfiles = new LastProfiles(n * CPU.length * 2);
  targets.forEach((t, i) => {
    for (const type of DEFAULT_TYPE_NAMES) {
      const failed = type === 'heap' && i % 7 === 0;
      health.update({
        targetId: t.id,
        type,
        result: failed ? 'failed' : 'shipped',
        startedAtMs: NOW - 3_000,
        durationMs: 40,
        bytes: failed ? 0 : 20_000,
        samples: failed ? 0 : 120,
        ...(failed ? { error: { code: 'timeout', message: 'no answer within 15s' }, hint: 'the target is slow or overloaded' } : {}),
      });
    }
    lastProfiles.put(
      freezeRecord({
        id: newRecordId(NOW + i),
        targetId: t.id,
        type: 'cpu',
        service: t.service,
        env: t.env,
        version: t.version,
        instance: t.instance,
        startNs: BigInt(NOW - 9_000) * 1_000_000n,
        endNs: BigInt(NOW) * 1_000_000n,
        tags: t.tags,
        customTags: t.customTags,
        pprof: CPU,
        sampleCount: 100,
        isDelta: false,
        ...shipNames(PROFILE_TYPES.cpu),
      }),
    );
  });
  const flames = new FlameCache();
  const inputs = { health, lastProfiles, nextRun: () => NOW + 4_000 };
  const routes = statusRoutes(
    {
      page: (q) => targetStatusPage(targets, inputs, q),
      outputStats: () => ({ datakit: { sent: 10, retried: 0, dropped: 0, depth: 0, inFlight: 0 } }),
      lastProfiles,
      about: () => ({ configFile: 'bench.conf', version: 'bench', startedAtMs: NOW - 60_000 }),
      now: () => NOW,
    },
    flames,
  );
  return { targets, routes, flames };
}

/** Runs a route to the end; returns the response body's size. */
async function call(route: NonNullable<ReturnType<typeof statusRoutes>[string]>, path: string): Promise<number> {
  let bytes = 0;
  const res = {
    headersSent: false,
    writeHead: () => res,
    end: (b?: string | Uint8Array) => ((bytes = b === undefined ? 0 : typeof b === 'string' ? Buffer.byteLength(b) : b.length), res),
  };
  await route({} as IncomingMessage, res as unknown as ServerResponse, new URL(path, 'http://collector'));
  return bytes;
}

async function median(views: number, fn: () => Promise<unknown>): Promise<number> {
  for (let i = 0; i < Math.min(10, views); i++) await fn();
  const ms: number[] = [];
  for (let i = 0; i < views; i++) {
    const t = performance.now();
    await fn();
    ms.push(performance.now() - t);
  }
  ms.sort((a, b) => a - b);
  return ms[Math.floor(ms.length / 2)]!;
}

console.log(`targets page bench: ${cpus()[0]?.model ?? 'unknown CPU'} (${cpus().length} cores), node ${process.version}; ${VIEWS} views each, medians`);
for (const n of SIZES) {
  const { targets, routes, flames } = setup(n);
  const page = await median(VIEWS, () => call(routes['/targets']!, '/targets'));
  const pageBytes = await call(routes['/targets']!, '/targets');
  const down = await median(VIEWS, () => call(routes['/targets']!, '/targets?health=down'));
  const service = await median(VIEWS, () => call(routes['/targets']!, '/targets?service=svc-00'));
  const api = await median(Math.max(3, Math.floor(VIEWS / 20)), () => call(routes['/api/targets']!, '/api/targets'));
  const one = targets[Math.floor(n / 2)]!.id;
  const t0 = performance.now();
  await call(routes['/api/flame']!, `/api/flame?target=${one}`);
  const firstFlame = performance.now() - t0;
  const cachedFlame = await median(VIEWS, () => call(routes['/api/flame']!, `/api/flame?target=${one}`));
  const f = (x: number) => x.toFixed(2);
  console.log(
    `${n} targets: /targets ${f(page)} ms (${(pageBytes / 1024).toFixed(0)} KiB, 50 a page); ?health=down ${f(down)} ms; ?service=svc-00 ${f(service)} ms; ` +
      `/api/targets (all) ${f(api)} ms; /api/flame first view ${f(firstFlame)} ms, then ${f(cachedFlame)} ms; profiles drawn ${flames.builds}`,
  );
  console.log(`BENCH_TARGETS_PAGE ${JSON.stringify({ targets: n, pageMs: +f(page), downMs: +f(down), serviceMs: +f(service), apiAllMs: +f(api), flameFirstMs: +f(firstFlame), flameCachedMs: +f(cachedFlame), drawn: flames.builds })}`);
}
