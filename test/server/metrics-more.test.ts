// Two metrics README "Status page, metrics and hints" promises:
//  - collector_schedule_lateness_seconds, a histogram of how long after its
//    slot a scrape started (src/server/metrics.ts, fed by the scheduler's onStart in
//    src/collector.ts);
//  - the collector_go_* runtime metrics derived from profiles, which DataKit's
//    generate_metrics = false turns off for the targets of that input.
//
//   node --import tsx --test test/server/metrics-more.test.ts

import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { Collector } from '../../src/collector.js';
import type { CollectOutcome } from '../../src/server/health.js';
import { silentLogger } from '../../src/core/log.js';
import { CollectorMetrics } from '../../src/server/metrics.js';
import { DEFAULT_TYPE_NAMES, type ProfileTypeName } from '../../src/profile/types.js';
import { fakePprofServers, rigConfig, stepSeconds } from '../helpers/collector-rig.js';
import { FakeClock } from '../helpers/fake-clock.js';
import type { FakePprofServer } from '../helpers/fake-pprof.js';
import { cleanupAfterEach, waitFor } from '../helpers/processes.js';
import { parsePromText, type PromText } from '../helpers/prom-text.js';
import { testTarget } from '../helpers/targets.js';

const cleanup = cleanupAfterEach();

const LATENESS = 'collector_schedule_lateness_seconds';

/** The collector_go_* runtime metrics, all eight. */
const RUNTIME_METRICS = [
  'collector_go_cpu_cores',
  'collector_go_heap_live_bytes',
  'collector_go_heap_live_objects',
  'collector_go_alloc_bytes_per_second',
  'collector_go_alloc_objects_per_second',
  'collector_go_goroutines',
  'collector_go_mutex_wait_seconds_per_second',
  'collector_go_block_wait_seconds_per_second',
];

function outcome(targetId: string, type: ProfileTypeName, over: Partial<CollectOutcome>): CollectOutcome {
  return { targetId, type, result: 'shipped', startedAtMs: 0, durationMs: 120, bytes: 2_000, samples: 12, ...over };
}

/** Stats that give every runtime metric of its type a value. */
const STATS = {
  scraped: { cpu: 2e9, inuse_space: 5_000, inuse_objects: 50, goroutine: 17 },
  delta: { alloc_space: 10_000, alloc_objects: 100, delay: 1e9 },
  windowSeconds: 10,
};

const runtimeSeries = (text: PromText, labels: Record<string, string>) =>
  text.samples.filter((s) => s.name.startsWith('collector_go_') && Object.entries(labels).every(([k, v]) => s.labels[k] === v));

describe('collector_schedule_lateness_seconds', () => {
  it('is registered as a histogram', async () => {
    const m = new CollectorMetrics({ defaultMetrics: false });
    const text = parsePromText(await m.registry.metrics());
    assert.equal(text.types.get(LATENESS), 'histogram');
    assert.match(text.help.get(LATENESS) ?? '', /after its slot/);
    m.scheduleLateness.observe(0.3);
    const after = parsePromText(await m.registry.metrics());
    assert.equal(after.samples.find((s) => s.name === `${LATENESS}_count`)?.value, 1);
  });
});

describe('a Collector on a FakeClock feeds the lateness histogram and honours generate_metrics', () => {
  it('a scrape that starts 250 ms after its slot is observed as 0.25 s; on-time ones as 0; go_* series only where generate_metrics is on', async () => {
    const clock = new FakeClock(1_700_000_000_000);
    const [off, on] = (await fakePprofServers(2, clock, cleanup)) as [FakePprofServer, FakePprofServer];
    const config = rigConfig(cleanup.tempDir('metrics-more-'), [
      '[[inputs.profile]]',
      'generate_metrics = false',
      '[[inputs.profile.go]]',
      `url = "${off.url}"`,
      'service = "metrics-off"',
      'interval = "10s"',
      'enabled_types = ["goroutine"]',
      '[[inputs.profile]]',
      '[[inputs.profile.go]]',
      `url = "${on.url}"`,
      'service = "metrics-on"',
      'interval = "10s"',
      'enabled_types = ["goroutine"]',
    ]);
    assert.deepEqual(
      config.targets.map((t) => [t.service, t.generateMetrics]),
      [
        ['metrics-off', false],
        ['metrics-on', true],
      ],
    );
    const metrics = new CollectorMetrics({ defaultMetrics: false });
    const outcomes: Array<{ o: CollectOutcome; service: string }> = [];
    const collector = new Collector(config, { clock, logger: silentLogger(), metrics, onOutcome: (o, t) => outcomes.push({ o, service: t.service }) });
    await collector.start();
    cleanup.add(() => collector.stop(0));
    const histogram = async () => {
      const text = parsePromText(await metrics.registry.metrics());
      const get = (name: string, le?: string) => text.samples.find((s) => s.name === name && (le === undefined || s.labels.le === le))?.value;
      return { count: get(`${LATENESS}_count`), sum: get(`${LATENESS}_sum`), le01: get(`${LATENESS}_bucket`, '0.1'), le025: get(`${LATENESS}_bucket`, '0.25') };
    };
    assert.deepEqual(await histogram(), { count: 0, sum: 0, le01: 0, le025: 0 }, 'nothing scraped yet');

    // The process stalls across the first slot: that scrape starts 250 ms (or more) late.
    const slots = collector.status().map((t) => t.types[0]!.nextScrapeAtMs!);
    assert.equal(slots.length, 2);
    const first = Math.min(...slots);
    await clock.advance(Math.max(0, first - 1 - clock.now()));
    assert.equal(off.requests.length + on.requests.length, 0, 'not started before its slot');
    clock.stall(251);
    await clock.advance(0);
    const startedAt = clock.now();
    const late = slots.filter((s) => s <= startedAt).map((s) => startedAt - s);
    assert.ok(late.length >= 1 && Math.max(...late) >= 250, `late by ${late.join(', ')} ms`);
    const h1 = await histogram();
    assert.equal(h1.count, late.length, 'one observation per scrape started');
    assert.ok(Math.abs(h1.sum! - late.reduce((a, b) => a + b, 0) / 1000) < 1e-9, `sum ${h1.sum} s for lateness ${late.join(', ')} ms (seconds, not ms)`);
    assert.equal(h1.le01, late.filter((l) => l <= 100).length);

    // Then on time: a second at a time (each step lets the real HTTP finish)
    // until both targets have shipped a goroutine profile.
    const shipped = (service: string) => outcomes.some((x) => x.service === service && x.o.result === 'shipped');
    await stepSeconds(clock, 30, { until: () => shipped('metrics-off') && shipped('metrics-on'), settleMs: 20 });
    assert.ok(shipped('metrics-off') && shipped('metrics-on'), `outcomes: ${JSON.stringify(outcomes.map((x) => [x.service, x.o.result, x.o.error?.code]))}`);
    const requests = () => off.requests.length + on.requests.length;
    await waitFor(() => outcomes.length === requests(), 5_000, 'every started scrape to finish');

    const h2 = await histogram();
    assert.equal(h2.count, requests(), 'every scrape start is observed');
    assert.ok(Math.abs(h2.sum! - h1.sum!) < 1e-9, 'the on-time starts add 0 s');

    // generate_metrics: the goroutine count of "metrics-on" is a series; "metrics-off" has none.
    const text = parsePromText(await metrics.registry.metrics());
    assert.ok(
      text.samples.some((s) => s.name === 'collector_scrapes_total' && s.labels.service === 'metrics-off' && s.labels.result === 'shipped'),
      'the metrics-off target was scraped and counted',
    );
    assert.deepEqual(runtimeSeries(text, { service: 'metrics-off' }), [], 'no collector_go_* series for generate_metrics = false');
    const goroutines = runtimeSeries(text, { service: 'metrics-on' }).filter((s) => s.name === 'collector_go_goroutines');
    assert.equal(goroutines.length, 1, 'collector_go_goroutines for generate_metrics = true (the default)');
    assert.ok(goroutines[0]!.value > 0);

    await collector.stop(0);
  });
});

describe('generate_metrics in CollectorMetrics.observeOutcome', () => {
  it('false: no collector_go_* series for that target; true: every runtime metric its stats give', async () => {
    const m = new CollectorMetrics({ defaultMetrics: false });
    const silent = testTarget({ baseUrl: 'http://10.0.0.1:6060/debug/pprof', service: 'api', generateMetrics: false });
    const loud = testTarget({ baseUrl: 'http://10.0.0.2:6060/debug/pprof', service: 'api', generateMetrics: true });
    for (const t of [silent, loud]) {
      for (const type of DEFAULT_TYPE_NAMES) m.observeOutcome(outcome(t.id, type, { stats: STATS }), t);
    }
    const text = parsePromText(await m.registry.metrics());
    // The premise: both targets' outcomes were observed.
    for (const t of [silent, loud]) {
      assert.equal(text.samples.filter((s) => s.name === 'collector_scrapes_total' && s.labels.target === t.instance).length, DEFAULT_TYPE_NAMES.length);
    }
    assert.deepEqual(runtimeSeries(text, { target: silent.instance }), [], 'generate_metrics = false');
    assert.deepEqual(
      runtimeSeries(text, { target: loud.instance })
        .map((s) => s.name)
        .sort(),
      [...RUNTIME_METRICS].sort(),
      'generate_metrics = true',
    );
    const value = (name: string) => runtimeSeries(text, { target: loud.instance }).find((s) => s.name === name)?.value;
    assert.equal(value('collector_go_cpu_cores'), 0.2);
    assert.equal(value('collector_go_goroutines'), 17);
    assert.equal(value('collector_go_alloc_bytes_per_second'), 1_000);
  });
});
