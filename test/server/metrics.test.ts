// CollectorMetrics.forgetTarget: a target that is gone (reload, discovery)
// leaves no series behind in any per-target metric, and the targets that
// stay keep theirs. With pods coming and going, leftovers would pile up.
// initOutput: the series an output starts with.
//
//   node --import tsx --test test/server/metrics.test.ts

import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import type { CollectOutcome } from '../../src/server/health.js';
import { CollectorMetrics } from '../../src/server/metrics.js';
import { DEFAULT_TYPE_NAMES, type ProfileTypeName } from '../../src/profile/types.js';
import { parsePromText } from '../helpers/prom-text.js';
import { testTarget } from '../helpers/targets.js';

function outcome(targetId: string, type: ProfileTypeName, over: Partial<CollectOutcome>): CollectOutcome {
  return { targetId, type, result: 'shipped', startedAtMs: 0, durationMs: 120, bytes: 2_000, samples: 12, ...over };
}

describe('CollectorMetrics.forgetTarget', () => {
  it('drops every per-target series of a gone target and keeps the others', async () => {
    const m = new CollectorMetrics({ defaultMetrics: false });
    const gone = testTarget({ baseUrl: 'http://10.0.0.1:6060/debug/pprof', service: 'api', generateMetrics: true });
    const stays = testTarget({ baseUrl: 'http://10.0.0.2:6060/debug/pprof', service: 'api', generateMetrics: true });
    for (const t of [gone, stays]) {
      for (const type of DEFAULT_TYPE_NAMES) {
        // Every result and a couple of error codes, so every labelled series exists.
        m.observeOutcome(outcome(t.id, type, { result: 'baseline', stats: { scraped: { inuse_space: 1, goroutine: 3 } } }), t);
        m.observeOutcome(outcome(t.id, type, { result: 'reset' }), t);
        m.observeOutcome(outcome(t.id, type, { result: 'skipped', error: { code: 'cpu_in_use', message: 'x' } }), t);
        m.observeOutcome(outcome(t.id, type, { result: 'failed', bytes: 0, error: { code: 'timeout', message: 'y' } }), t);
        // Last, so the derived runtime gauges hold a value (a failure clears them).
        m.observeOutcome(outcome(t.id, type, { result: 'shipped', stats: { scraped: { cpu: 1e9, inuse_space: 5 }, delta: { alloc_space: 10, delay: 1e9 }, windowSeconds: 10 } }), t);
      }
    }
    const seriesOf = async (instance: string) =>
      parsePromText(await m.registry.metrics())
        .samples.filter((s) => s.labels.target === instance)
        .map((s) => `${s.name}${JSON.stringify(s.labels)}`);
    const goneBefore = await seriesOf(gone.instance);
    const staysBefore = await seriesOf(stays.instance);
    // The premise: each per-target metric has series for the gone target.
    for (const name of [
      'collector_target_up',
      'collector_scrape_duration_seconds_count',
      'collector_scrapes_total',
      'collector_scrape_failures_total',
      'collector_scrape_bytes_total',
      'collector_profile_samples',
      'collector_delta_resets_total',
      'collector_go_heap_live_bytes',
    ]) {
      assert.ok(goneBefore.some((s) => s.startsWith(`${name}{`)), `${name} has series for ${gone.instance}`);
    }

    m.forgetTarget(gone, gone.config.enabledTypes);

    assert.deepEqual(await seriesOf(gone.instance), [], 'nothing is left of the gone target');
    assert.deepEqual(await seriesOf(stays.instance), staysBefore, 'the other target keeps every series');
  });
});

describe('CollectorMetrics.initOutput', () => {
  it('an OTLP output starts with collector_output_partial_rejected_profiles_total at 0; other kinds have no such series', async () => {
    const m = new CollectorMetrics({ defaultMetrics: false });
    m.initOutput('otel', 'otlp');
    m.initOutput('dk', 'datakit');
    const partial = async () =>
      parsePromText(await m.registry.metrics())
        .samples.filter((s) => s.name === 'collector_output_partial_rejected_profiles_total')
        .map((s) => [s.labels.output, s.value]);
    assert.deepEqual(await partial(), [['otel', 0]]);
    m.outputPartialRejected.inc({ output: 'otel' }, 3);
    assert.deepEqual(await partial(), [['otel', 3]]);
  });
});

describe('CollectorMetrics.threadHeaps', () => {
  it("each worker thread's heap as its owner reports it, one series per thread; a thread that is gone leaves none", async () => {
    const m = new CollectorMetrics({ defaultMetrics: false });
    let heaps = [
      { thread: 'profile-worker-0', usedBytes: 30e6, totalBytes: 40e6, externalBytes: 2e6 },
      { thread: 'file-writer-files', usedBytes: 5e6, totalBytes: 8e6, externalBytes: 1e6 },
    ];
    m.threadHeaps = () => heaps;
    const read = async () =>
      parsePromText(await m.registry.metrics())
        .samples.filter((s) => s.name.startsWith('collector_thread_'))
        .map((s) => `${s.name}{${s.labels.thread}} ${s.value}`)
        .sort();
    assert.deepEqual(await read(), [
      'collector_thread_external_memory_bytes{file-writer-files} 1000000',
      'collector_thread_external_memory_bytes{profile-worker-0} 2000000',
      'collector_thread_heap_size_bytes{file-writer-files} 8000000',
      'collector_thread_heap_size_bytes{profile-worker-0} 40000000',
      'collector_thread_heap_used_bytes{file-writer-files} 5000000',
      'collector_thread_heap_used_bytes{profile-worker-0} 30000000',
    ]);
    heaps = heaps.slice(0, 1);
    assert.deepEqual(await read(), [
      'collector_thread_external_memory_bytes{profile-worker-0} 2000000',
      'collector_thread_heap_size_bytes{profile-worker-0} 40000000',
      'collector_thread_heap_used_bytes{profile-worker-0} 30000000',
    ]);
  });
});
