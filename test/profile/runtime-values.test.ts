// The values a trigger watches are the collector_go_* gauges' values: the
// same outcome fed to CollectorMetrics and to runtimeValues gives the same
// numbers, for every type and result (so the two formulas cannot drift).

import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { TRIGGER_METRICS, type TriggerMetric } from '../../src/config/types.js';
import { runtimeValues } from '../../src/profile/runtime-values.js';
import type { ProfileStats } from '../../src/profile/stats.js';
import { DEFAULT_TYPE_NAMES } from '../../src/profile/types.js';
import { COLLECT_RESULTS } from '../../src/server/health.js';
import { CollectorMetrics } from '../../src/server/metrics.js';
import { testTarget } from '../helpers/targets.js';

const GAUGE: Record<TriggerMetric, string> = {
  cpu_cores: 'collector_go_cpu_cores',
  heap_live_bytes: 'collector_go_heap_live_bytes',
  goroutines: 'collector_go_goroutines',
  mutex_wait_seconds_per_second: 'collector_go_mutex_wait_seconds_per_second',
};

const STATS: ProfileStats[] = [
  { scraped: { cpu: 3.3e9, samples: 330, inuse_space: 7_340_032, goroutine: 57, delay: 8e9, contentions: 4 }, delta: { delay: 2.5e9, contentions: 3, alloc_space: 1e6 }, windowSeconds: 2.5 },
  { scraped: { cpu: 1e9, inuse_space: 1, goroutine: 20_001 }, windowSeconds: 10 },
  { scraped: {}, delta: {}, windowSeconds: 0 },
];

describe('runtimeValues', () => {
  it('equals the collector_go_* gauges for every type, result and stats', async () => {
    const target = testTarget({ generateMetrics: true });
    const labels = { service: target.service, env: target.env, version: target.version, target: target.instance };
    let checked = 0;
    for (const type of DEFAULT_TYPE_NAMES) {
      for (const result of COLLECT_RESULTS.filter((r) => r !== 'failed')) {
        for (const stats of STATS) {
          const m = new CollectorMetrics({ defaultMetrics: false });
          m.observeOutcome({ targetId: target.id, type, result, startedAtMs: 0, durationMs: 1, bytes: 1, samples: 1, stats }, target);
          const values = runtimeValues(type, result, stats);
          for (const metric of Object.keys(TRIGGER_METRICS) as TriggerMetric[]) {
            const series = (await m.registry.getSingleMetric(GAUGE[metric])!.get()).values.find((v) => Object.entries(labels).every(([k, val]) => v.labels[k] === val));
            assert.equal(values[metric], series?.value, `${type} ${result} ${JSON.stringify(stats)}: ${metric}`);
            if (series) checked++;
          }
        }
      }
    }
    assert.ok(checked >= 8, `compared ${checked} values that the gauges have`);
  });

  it('each metric comes from the type TRIGGER_METRICS names', () => {
    for (const [metric, type] of Object.entries(TRIGGER_METRICS)) assert.ok(metric in runtimeValues(type, 'shipped', STATS[0]), `${metric} from ${type}`);
    assert.deepEqual(runtimeValues('cpu', 'shipped', undefined), {});
  });
});
