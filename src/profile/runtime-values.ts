// The runtime values a trigger watches, from one collection's profile stats:
// the same formulas as the collector_go_* gauges (src/server/metrics.ts;
// test/profile/runtime-values.test.ts holds both to the same numbers), kept
// here so triggers work with generate_metrics off and without a registry.

import type { TriggerMetric } from '../config/types.js';
import type { ProfileStats } from './stats.js';
import type { ProfileTypeName } from './types.js';

/** The values one collection of `type` measured (none for a baseline of a delta type, a failure...). */
export function runtimeValues(type: ProfileTypeName, result: string, stats: ProfileStats | undefined): Partial<Record<TriggerMetric, number>> {
  if (!stats) return {};
  const { scraped, delta, windowSeconds } = stats;
  const perSecond = (v: number | undefined) => (v !== undefined && windowSeconds && windowSeconds > 0 ? v / windowSeconds : undefined);
  const out: Partial<Record<TriggerMetric, number>> = {};
  const put = (m: TriggerMetric, v: number | undefined) => {
    if (v !== undefined && Number.isFinite(v)) out[m] = v;
  };
  switch (type) {
    case 'cpu':
      if (result === 'shipped') put('cpu_cores', perSecond(scraped.cpu !== undefined ? scraped.cpu / 1e9 : undefined));
      break;
    case 'heap':
      put('heap_live_bytes', scraped.inuse_space);
      break;
    case 'goroutine':
      put('goroutines', scraped.goroutine);
      break;
    case 'mutex':
      if (delta) put('mutex_wait_seconds_per_second', perSecond(delta.delay !== undefined ? delta.delay / 1e9 : undefined));
      break;
  }
  return out;
}
