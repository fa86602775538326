// Sharding by rendezvous (highest random weight) hashing: each target goes
// to the shard whose hash with the target's key is highest. Changing the
// number of shards moves only the targets that must move.

import { createHash } from 'node:crypto';
import type { ShardConfig } from '../config/types.js';

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
