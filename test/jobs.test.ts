// The collector's jobs (src/jobs.ts) on the fake clock, against a loopback
// server replaying recorded profiles of the Go fixture: a cumulative type on
// a cron schedule runs at the pattern's runs plus its phase and ships deltas
// whose windows run from the previous scrape; a trigger takes its types at
// once, tags and counts them, says so in one line, and fires once for a
// value that stays above its threshold. Patterns are read in UTC here.

process.env.TZ = 'UTC';

import assert from 'node:assert/strict';
import { readdirSync, readFileSync } from 'node:fs';
import { createServer } from 'node:http';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { Collector } from '../src/collector.js';
import { createLogger, silentLogger } from '../src/core/log.js';
import type { CollectOutcome } from '../src/server/health.js';
import { CollectorMetrics } from '../src/server/metrics.js';
import { rigConfig } from './helpers/collector-rig.js';
import { FakeClock } from './helpers/fake-clock.js';
import { cleanupAfterEach, ROOT, waitFor } from './helpers/processes.js';
import { closeServer, listenLocal } from './helpers/servers.js';

const cleanup = cleanupAfterEach();
const PROFILES = join(ROOT, 'fixtures', 'profiles');
const MIN = 60_000;
/** 2026-12-06T10:02:17Z */
const START = Date.UTC(2026, 11, 6, 10, 2, 17);

/**
 * heap-1..6 in turn (one process, 2 s apart), and the recorded goroutine
 * profile (60 goroutines). The configs say delta_source = "client": every
 * request here is a scrape with an outcome (no godeltaprof probe).
 */
async function replayServer(): Promise<{ url: string; requests: Array<{ path: string; at: number }> }> {
  const heaps = [1, 2, 3, 4, 5, 6].map((i) => readFileSync(join(PROFILES, `heap-${i}.pb.gz`)));
  const goroutine = readFileSync(join(PROFILES, 'goroutine.pb.gz'));
  const requests: Array<{ path: string; at: number }> = [];
  let heapsServed = 0;
  const server = createServer((req, res) => {
    const path = (req.url ?? '').split('?')[0]!;
    requests.push({ path, at: clock.now() });
    const body = path === '/debug/pprof/heap' ? heaps[Math.min(heapsServed++, heaps.length - 1)] : path === '/debug/pprof/goroutine' ? goroutine : undefined;
    if (!body) res.writeHead(404, { 'content-type': 'text/plain', 'x-go-pprof': '1' }).end('Unknown profile\n');
    else res.writeHead(200, { 'content-type': 'application/octet-stream' }).end(body);
  });
  const port = await listenLocal(server);
  cleanup.add(() => closeServer(server));
  return { url: `http://127.0.0.1:${port}`, requests };
}

let clock: FakeClock;

interface Sidecar {
  readonly type: string;
  readonly delta: boolean;
  readonly start_unix_nano: string;
  readonly end_unix_nano: string;
  readonly tags: Record<string, string>;
}

function sidecars(dir: string): Sidecar[] {
  const out: Sidecar[] = [];
  for (const service of readdirSync(dir)) {
    for (const f of readdirSync(join(dir, service))) if (f.endsWith('.json')) out.push(JSON.parse(readFileSync(join(dir, service, f), 'utf8')) as Sidecar);
  }
  return out.sort((a, b) => Number(BigInt(a.end_unix_nano) - BigInt(b.end_unix_nano)));
}

describe('CollectionJobs', () => {
  it('a heap on "0 */5 * * * *": scraped at each run plus its phase, deltas from the previous scrape to this one', async () => {
    clock = new FakeClock(START);
    const server = await replayServer();
    const dir = cleanup.tempDir('jobs-cron-');
    const config = rigConfig(dir, ['[[inputs.profile.go]]', `url = "${server.url}"`, 'service = "cron"', 'enabled_types = ["heap"]', 'delta_source = "client"', '[inputs.profile.go.schedule]', 'heap = "0 */5 * * * *"']);
    const outcomes: CollectOutcome[] = [];
    const collector = new Collector(config, { clock, logger: silentLogger(), onOutcome: (o) => outcomes.push(o) });
    await collector.start();
    cleanup.add(() => collector.stop(0));
    const first = collector.status()[0]!.types[0]!.nextScrapeAtMs!;
    const phase = first - Date.UTC(2026, 11, 6, 10, 5);
    assert.ok(phase >= 0 && phase < MIN, `fires within the minute after 10:05:00 (${phase} ms)`);
    for (let i = 0; i < 4; i++) {
      await clock.advance(first + i * 5 * MIN - clock.now());
      await waitFor(() => outcomes.length === i + 1, 5_000, `heap scrape ${i + 1}`);
    }
    assert.deepEqual(
      server.requests.map((r) => [r.path, r.at]),
      [0, 1, 2, 3].map((i) => ['/debug/pprof/heap', first + i * 5 * MIN]),
    );
    assert.deepEqual(outcomes.map((o) => o.result), ['baseline', 'shipped', 'shipped', 'shipped']);
    await collector.stop(5_000);
    const shipped = sidecars(join(dir, 'out'));
    assert.equal(shipped.length, 3);
    assert.ok(shipped.every((s) => s.type === 'heap' && s.delta && !('trigger' in s.tags)));
    for (let i = 1; i < shipped.length; i++) assert.equal(shipped[i]!.start_unix_nano, shipped[i - 1]!.end_unix_nano, `delta ${i} starts where ${i - 1} ended`);
  });

  it('goroutines_above: fires at the first value above, takes its types at once with trigger=goroutines, once while it stays above (past the cooldown)', async () => {
    clock = new FakeClock(START);
    const server = await replayServer();
    const dir = cleanup.tempDir('jobs-trigger-');
    const config = rigConfig(dir, [
      '[[inputs.profile.go]]',
      `url = "${server.url}"`,
      'service = "trig"',
      'interval = "10s"',
      'enabled_types = ["heap", "goroutine"]',
      'delta_source = "client"',
      '[inputs.profile.go.trigger]',
      'goroutines_above = 50',
      'types = ["goroutine", "heap"]',
      'cooldown = "10s"',
    ]);
    const logs: Array<Record<string, unknown>> = [];
    const logger = createLogger({ level: 'info', format: 'json', destination: { write: (s: string) => void logs.push(JSON.parse(s) as Record<string, unknown>) } });
    const metrics = new CollectorMetrics({ defaultMetrics: false });
    const outcomes: CollectOutcome[] = [];
    const collector = new Collector(config, { clock, logger, metrics, onOutcome: (o) => outcomes.push(o) });
    await collector.start();
    cleanup.add(() => collector.stop(0));
    // 45 s (four times the cooldown), a second at a time (the loopback HTTP of each scrape gets
    // to finish); the six recorded heaps last that long.
    for (let s = 0; s < 45; s++) {
      await clock.advance(1_000);
      await waitFor(() => server.requests.length === outcomes.length, 5_000, 'the scrapes of this second');
    }
    await collector.stop(5_000);

    const firings = logs.filter((l) => typeof l.msg === 'string' && (l.msg as string).startsWith('trigger '));
    assert.equal(firings.length, 1, 'the recorded 60 goroutines stay above 50: one firing');
    assert.match(firings[0]!.msg as string, /^trigger goroutines: 60 is above 50 on 127\.0\.0\.1:\d+ \(trig\): taking goroutine, heap now, tagged trigger=goroutines; no other firing for this target within 10s$/);
    // At once: the triggered goroutine and heap scrapes start at the fake moment the crossing
    // scrape's value was known (its end), by the collector's own clock (a request may reach the
    // replay server after the test moved the clock on).
    const crossing = outcomes.find((o) => o.type === 'goroutine')!;
    const crossedAt = crossing.startedAtMs + crossing.durationMs;
    const atOnce = outcomes.filter((o) => o !== crossing && o.startedAtMs === crossedAt);
    assert.equal(atOnce.filter((o) => o.type === 'goroutine').length, 1, 'the triggered goroutine scrape, right after the one that crossed');
    assert.ok(atOnce.some((o) => o.type === 'heap'), 'and the heap at once');
    const shipped = sidecars(join(dir, 'out'));
    const triggered = shipped.filter((s) => s.tags.trigger !== undefined);
    assert.ok(triggered.every((s) => s.tags.trigger === 'goroutines'));
    const goroutinesTriggered = triggered.filter((s) => s.type === 'goroutine').length;
    assert.equal(goroutinesTriggered, 1);
    const counted = (await metrics.registry.getSingleMetric('collector_triggered_profiles_total')!.get()).values.map((v) => [v.labels.metric, v.labels.type, v.value]);
    assert.deepEqual(counted.filter(([, t]) => t === 'goroutine'), [['goroutines', 'goroutine', 1]]);
    // The heap deltas tile across the triggered scrape (the triggered heap is the baseline or a delta in the sequence).
    const heaps = shipped.filter((s) => s.type === 'heap');
    for (let i = 1; i < heaps.length; i++) assert.equal(heaps[i]!.start_unix_nano, heaps[i - 1]!.end_unix_nano);
  });
});
