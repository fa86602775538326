// The memory budget and the workers' backlog in the pipeline ([agent]
// memory_limit; src/scrape/admission.ts): a scrape that does not fit is
// skipped BEFORE it is fetched (the target sees no request), counted as
// collector_scrapes_total{result="skipped",reason=...}, shown on /targets as
// "skipped: memory budget", and the next heap delta covers the longer window
// from where the last shipped one ended, so no allocation is lost.
//
// The real ProfilePipeline, processor and HTTP scrape against a local
// node:http server serving recorded heap profiles of one process; the test
// says which recorded step the process is at (a slot), a fake clock moves
// one interval per slot.
//
//   node --import tsx --test test/pipeline/memory-budget.test.ts

import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { LIMITS } from '../../src/core/limits.js';
import { MemoryBudget } from '../../src/core/memory-budget.js';
import { silentLogger } from '../../src/core/log.js';
import { ProfilePipeline } from '../../src/pipeline.js';
import { BaselineStore } from '../../src/profile/baselines.js';
import { ProfileProcessor } from '../../src/profile/processor.js';
import type { ProfileRecord } from '../../src/profile/record.js';
import { typeSpec } from '../../src/profile/types.js';
import { ScrapeAdmission, type WorkerBacklog } from '../../src/scrape/admission.js';
import { CpuProfileGate, CpuWindows } from '../../src/scrape/cpu-gate.js';
import { DeltaSources } from '../../src/scrape/delta-source.js';
import { DispatcherPool } from '../../src/scrape/dispatchers.js';
import { HealthStore, type CollectOutcome } from '../../src/server/health.js';
import { LastProfiles } from '../../src/server/last-profiles.js';
import { CollectorMetrics } from '../../src/server/metrics.js';
import { targetStatusPage } from '../../src/server/target-status.js';
import { FakeClock } from '../helpers/fake-clock.js';
import { ROOT } from '../helpers/processes.js';
import { parsePromText, valueOf } from '../helpers/prom-text.js';
import { testTarget } from '../helpers/targets.js';

const PROFILES = join(ROOT, 'fixtures', 'profiles');
const HEAP = [1, 2, 3, 4, 5, 6].map((n) => readFileSync(join(PROFILES, `heap-${n}.pb.gz`)));
const GOROUTINE = readFileSync(join(PROFILES, 'goroutine.pb.gz'));
const INTERVAL_MS = 10_000;
const MiB = 1024 * 1024;

/** The recorded step the target process is at: heap-<slot+1>. */
let slot = 0;
/** Every request the target saw, by path. */
const requests: string[] = [];
let server: Server;
let port = 0;
const pool = new DispatcherPool();

before(async () => {
  server = createServer((req, res) => {
    req.resume();
    const path = (req.url ?? '').split('?')[0]!;
    requests.push(path);
    if (path.endsWith('/heap')) res.writeHead(200, { 'content-type': 'application/octet-stream' }).end(HEAP[slot]);
    else if (path.endsWith('/goroutine')) res.writeHead(200, { 'content-type': 'application/octet-stream' }).end(GOROUTINE);
    else res.writeHead(404, { 'content-type': 'text/plain; charset=utf-8', 'x-go-pprof': '1' }).end('Unknown profile\n');
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  port = (server.address() as AddressInfo).port;
});

after(async () => {
  await pool.close();
  server.closeAllConnections();
  await new Promise<void>((resolve) => server.close(() => resolve()));
});

function setup(opts: { budget?: MemoryBudget; backlog?: (id: string) => WorkerBacklog; deltaSources?: DeltaSources; types?: Array<'heap' | 'goroutine'> } = {}) {
  const clock = new FakeClock();
  const metrics = new CollectorMetrics({ defaultMetrics: false });
  if (opts.budget) metrics.memoryBudget = opts.budget;
  const outcomes: CollectOutcome[] = [];
  const emitted: ProfileRecord[] = [];
  const target = testTarget({ baseUrl: `http://127.0.0.1:${port}/debug/pprof`, enabledTypes: opts.types ?? ['heap'], intervalMs: INTERVAL_MS, generateMetrics: true });
  const health = new HealthStore();
  const admission = new ScrapeAdmission({ clock, maxWaitMs: 0, ...(opts.budget ? { budget: opts.budget } : {}), ...(opts.backlog ? { backlog: opts.backlog } : {}) });
  const pipeline = new ProfilePipeline({
    clock,
    logger: silentLogger(),
    dispatchers: pool,
    processor: new ProfileProcessor({ baselines: new BaselineStore(), now: () => clock.now() }),
    cpuGate: new CpuProfileGate(clock),
    cpuWindows: new CpuWindows(() => clock.now()),
    ...(opts.deltaSources ? { deltaSources: opts.deltaSources } : {}),
    health,
    admission,
    emit: async (r) => void emitted.push(r),
    observe: (o, t) => {
      outcomes.push(o);
      metrics.observeOutcome(o, t);
    },
  });
  /** One scrape with the process at recorded step `at`, then one interval on. */
  const scrape = async (at: number, type: 'heap' | 'goroutine' = 'heap') => {
    slot = at;
    const o = await pipeline.collect(target, type);
    clock.stall(INTERVAL_MS);
    return o;
  };
  const prom = async () => parsePromText(await metrics.registry.metrics());
  const row = (type = 'heap') => targetStatusPage([target], { health, lastProfiles: new LastProfiles(), nextRun: () => undefined }, { page: 1, perPage: Infinity }).targets[0]!.types.find((s) => s.type === type)!;
  return { target, scrape, outcomes, emitted, prom, row, admission };
}

const allocSpace = (o: CollectOutcome) => o.stats?.delta?.alloc_space ?? NaN;

describe('memory budget in the pipeline', () => {
  it('a scrape that does not fit is skipped before it is fetched; the next delta starts where the last shipped one ended and loses no allocation', async () => {
    // Control: the same process scraped at every step, no budget.
    requests.length = 0;
    const control = setup();
    assert.equal((await control.scrape(0)).result, 'baseline');
    const c1 = await control.scrape(1);
    const c2 = await control.scrape(2);
    const c3 = await control.scrape(3);
    assert.deepEqual([c1.result, c2.result, c3.result], ['shipped', 'shipped', 'shipped']);

    const budget = new MemoryBudget(8 * MiB);
    requests.length = 0;
    const s = setup({ budget });
    assert.equal((await s.scrape(0)).result, 'baseline');
    const first = await s.scrape(1);
    assert.equal(first.result, 'shipped');
    assert.equal(requests.length, 2);
    assert.equal(budget.inUse, 0, 'every reservation is released once the profile is handed on');
    assert.ok(budget.peak >= 4 * MiB, `a first scrape reserves the default estimate before it is fetched (peak ${budget.peak})`);
    assert.equal(s.admission.estimate(s.target, typeSpec('heap', undefined)), HEAP[1]!.length * 8, 'the next estimate is the last body times the factor');

    // Something else holds the whole budget: the scrape at step 2 is skipped unfetched.
    const hold = budget.reserve(8 * MiB)!;
    const skipped = await s.scrape(2);
    hold.release();
    assert.equal(skipped.result, 'skipped');
    assert.equal(skipped.reason, 'memory_budget');
    assert.equal(skipped.error?.code, 'memory_budget');
    assert.match(skipped.error!.message, /^memory budget: .*skipped before it is fetched/);
    assert.equal(requests.length, 2, 'the target saw no request for the skipped scrape');

    // On /targets: the row says what happened.
    const row = s.row();
    assert.equal(row.health, 'skipped');
    assert.equal(row.outcome, 'skipped: memory budget');
    assert.match(row.hint ?? '', /raise \[agent\] memory_limit/);

    // The metric, with the reason; other results carry reason="" (one label set per metric).
    let m = await s.prom();
    assert.equal(valueOf(m, 'collector_scrapes_total', { result: 'skipped', reason: 'memory_budget' }), 1);
    assert.equal(valueOf(m, 'collector_scrapes_total', { result: 'shipped', reason: '' }), 1);
    assert.equal(valueOf(m, 'collector_scrapes_total', { result: 'baseline', reason: '' }), 1);
    assert.equal(valueOf(m, 'collector_memory_budget_bytes'), 8 * MiB);
    assert.equal(valueOf(m, 'collector_memory_budget_in_use_bytes'), 0);
    assert.equal(valueOf(m, 'collector_memory_budget_in_use_peak_bytes'), 8 * MiB, 'the held 8 MiB was the peak');

    // Step 3: room again. The delta spans steps 1 -> 3: it starts where the
    // last shipped one ended, twice as long, and holds both windows' allocations.
    const next = await s.scrape(3);
    assert.equal(next.result, 'shipped');
    assert.equal(requests.length, 3);
    const [r1, r2] = s.emitted;
    assert.equal(s.emitted.length, 2);
    assert.equal(r2!.startNs, r1!.endNs, 'the window after a skip starts where the last shipped one ended');
    assert.ok(r2!.endNs - r2!.startNs > r1!.endNs - r1!.startNs, 'and is longer');
    assert.equal(r2!.endNs, control.emitted[2]!.endNs, 'it ends at the process state of step 3');
    assert.equal(allocSpace(next), allocSpace(c2) + allocSpace(c3), 'the allocations of both windows, none lost');
    assert.ok(allocSpace(next) > 0);
    m = await s.prom();
    assert.equal(valueOf(m, 'collector_scrapes_total', { result: 'shipped', reason: '' }), 2);
    assert.equal(s.row().outcome, 'shipped');
    assert.equal(budget.inUse, 0);
  });

  it('auto delta_source: a skipped heap scrape reads neither godeltaprof nor the plain path', async () => {
    requests.length = 0;
    const budget = new MemoryBudget(2 * MiB);
    const hold = budget.reserve(2 * MiB)!;
    const sources = new DeltaSources();
    const s = setup({ budget, deltaSources: sources });
    const o = await s.scrape(0);
    assert.equal(o.result, 'skipped');
    assert.equal(o.reason, 'memory_budget');
    assert.deepEqual(requests, [], 'nothing was read, so nothing read is dropped');
    hold.release();
    // Room again: auto asks godeltaprof (404 here), falls back to /heap, and takes a baseline.
    const b = await s.scrape(1);
    assert.equal(b.result, 'baseline', JSON.stringify(b.error));
    assert.deepEqual(requests, ['/debug/pprof/delta_heap', '/debug/pprof/heap']);
  });

  it('workers behind: cumulative types are skipped before they are fetched, snapshot types still run', async () => {
    requests.length = 0;
    let backlog: WorkerBacklog = { jobs: 0, oldestWaitMs: 0 };
    const s = setup({ backlog: () => backlog, types: ['heap', 'goroutine'] });
    assert.equal((await s.scrape(0)).result, 'baseline');
    // The oldest job on the target's worker has waited more than half the interval.
    backlog = { jobs: 3, oldestWaitMs: INTERVAL_MS * 0.5 + 1 };
    const skipped = await s.scrape(1);
    assert.equal(skipped.result, 'skipped');
    assert.equal(skipped.reason, 'workers_behind');
    assert.equal(requests.length, 1, 'the skipped heap scrape was not fetched');
    assert.equal((await s.scrape(1, 'goroutine')).result, 'shipped', 'a goroutine snapshot is not skipped for the backlog');
    assert.equal(s.row().outcome, 'skipped: workers behind');
    // Too many jobs queued, however young.
    backlog = { jobs: LIMITS.workersBehindJobs + 1, oldestWaitMs: 0 };
    assert.equal((await s.scrape(2)).reason, 'workers_behind');
    backlog = { jobs: LIMITS.workersBehindJobs, oldestWaitMs: INTERVAL_MS * LIMITS.workersBehindFraction };
    const shipped = await s.scrape(3);
    assert.equal(shipped.result, 'shipped', 'at the thresholds, not past them: it runs');
    assert.equal(s.emitted.at(-1)!.startNs > 0n, true);
    const m = await s.prom();
    assert.equal(valueOf(m, 'collector_scrapes_total', { type: 'heap', result: 'skipped', reason: 'workers_behind' }), 2);
  });
});
