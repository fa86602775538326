// /metrics as Prometheus takes it: the Go target a series is about is the
// `target` label, never `instance` (Prometheus sets `instance` to the address
// it scraped and would rename ours to `exported_instance`), and promtool's
// lint finds nothing in the collector's own metric families.
// test/integration/prometheus.test.ts has a real Prometheus scrape it.
//
//   node --import tsx --test test/server/metrics-prometheus.test.ts

import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { describe, it } from 'node:test';
import type { CollectOutcome } from '../../src/server/health.js';
import { CollectorMetrics } from '../../src/server/metrics.js';
import { DEFAULT_TYPE_NAMES, type ProfileTypeName } from '../../src/profile/types.js';
import { parsePromText } from '../helpers/prom-text.js';
import { testTarget } from '../helpers/targets.js';

const PROMTOOL = '/usr/bin/promtool';

function outcome(targetId: string, type: ProfileTypeName, over: Partial<CollectOutcome>): CollectOutcome {
  return { targetId, type, result: 'shipped', startedAtMs: 0, durationMs: 120, bytes: 2_000, samples: 12, ...over };
}

const STATS = {
  scraped: { cpu: 2e9, inuse_space: 5_000, inuse_objects: 50, goroutine: 17 },
  delta: { alloc_space: 10_000, alloc_objects: 100, delay: 1e9 },
  windowSeconds: 10,
};

/** A registry in which every per-target family has series for `t`. */
function filled(defaultMetrics: boolean) {
  const m = new CollectorMetrics({ defaultMetrics });
  const t = testTarget({ baseUrl: 'http://10.0.0.7:6060/debug/pprof', service: 'api', generateMetrics: true });
  m.initOutput('file');
  for (const type of DEFAULT_TYPE_NAMES) {
    m.observeOutcome(outcome(t.id, type, { result: 'baseline' }), t);
    m.observeOutcome(outcome(t.id, type, { result: 'reset' }), t);
    m.observeOutcome(outcome(t.id, type, { result: 'failed', error: { code: 'timeout', message: 'x' } }), t);
    m.observeOutcome(outcome(t.id, type, { result: 'shipped', stats: STATS }), t);
  }
  m.scheduleLateness.observe(0.01);
  return { m, t };
}

describe('/metrics and Prometheus', () => {
  it('names the Go target `target` (host:port) in every per-target series, and no series has an `instance` label', async () => {
    const { m, t } = filled(false);
    const text = parsePromText(await m.registry.metrics());
    const perTarget = text.samples.filter((s) => s.labels.service === 'api');
    const families = new Set(perTarget.map((s) => s.name.replace(/_(bucket|sum|count)$/, '')));
    // The premise: every per-target family, the runtime ones included, has series.
    for (const name of ['collector_target_up', 'collector_scrapes_total', 'collector_scrape_failures_total', 'collector_scrape_duration_seconds', 'collector_go_goroutines', 'collector_go_cpu_cores']) {
      assert.ok(families.has(name), `${name} has series for the target`);
    }
    for (const s of perTarget) assert.equal(s.labels.target, t.instance, `${s.name}${JSON.stringify(s.labels)}`);
    assert.deepEqual(
      text.samples.filter((s) => 'instance' in s.labels).map((s) => s.name),
      [],
      'series with an instance label (Prometheus would store it as exported_instance)',
    );
  });

  it('promtool check metrics finds nothing in the collector_* families (only prom-client default gauges named *_total)', async () => {
    assert.ok(spawnSync(PROMTOOL, ['--version']).status === 0, `${PROMTOOL} is missing: apt-get install -y prometheus (this test is not skipped)`);
    const { m } = filled(true);
    const lint = spawnSync(PROMTOOL, ['check', 'metrics'], { input: await m.registry.metrics(), encoding: 'utf8', timeout: 30_000 });
    const problems = `${lint.stdout}${lint.stderr}`.split('\n').filter((l) => l.trim() !== '');
    // prom-client's default metrics name three gauges *_total; they are not ours to rename.
    const promClient = /^nodejs_active_(handles|requests|resources)_total non-counter metrics should not have "_total" suffix$/;
    assert.deepEqual(problems.filter((l) => !promClient.test(l)), [], 'promtool check metrics');
    assert.ok(problems.every((l) => !l.startsWith('collector_')));
  });
});
