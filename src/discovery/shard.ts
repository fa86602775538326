// Sharding by rendezvous (highest random weight) hashing: each target goes
// to the shard whose hash with the target's key is highest. Changing the
// number of shards moves only the targets that must move.
//
// The key is the target's URL, except for a target with a budget
// (cpu_budget, <type>_budget): budgets are kept per service inside one
// process, so every replica of a budgeted service is keyed by the service
// and lands on the same shard, and the budget holds across the fleet.

import { createHash } from 'node:crypto';
import type { GoTargetConfig, ShardConfig } from '../config/types.js';
import type { Target } from '../core/target.js';

function weight(key: string, shard: number): bigint {
  return createHash('sha256').update(`${shard}\u0000${key}`).digest().readBigUInt64BE(0);
}

/** The shard (0..count-1) that owns `key`. */
export function shardOf(key: string, count: number): number {
  let best = 0;
  let bestW = -1n;
  for (let i = 0; i < count; i++) {
    const w = weight(key, i);
    if (w > bestW) {
      best = i;
      bestW = w;
    }
  }
  return best;
}

export function inShard(key: string, shard: ShardConfig | undefined): boolean {
  return !shard || shard.count <= 1 || shardOf(key, shard.count) === shard.index;
}

/** Whether a budget applies to one of the target's types (a budget on a type it does not scrape does not). */
export function hasBudget(c: GoTargetConfig): boolean {
  return c.enabledTypes.some((type) => (type === 'cpu' ? c.cpuBudget !== undefined : c.scrapeBudgets?.[type] !== undefined));
}

/** What a target is sharded by: its service when it has a budget, else its URL. */
export function shardKey(t: Target): string {
  // "service:" cannot begin a URL key (those begin http: or https:).
  return hasBudget(t.config) ? `service:${t.service}` : t.baseUrl;
}

export function targetInShard(t: Target, shard: ShardConfig | undefined): boolean {
  return inShard(shardKey(t), shard);
}
