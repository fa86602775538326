// Sharding by rendezvous hashing (src/discovery/shard.ts), as properties:
// every key has exactly one owner, the shares are about even, and going
// from N to N+1 shards moves only the keys the new shard takes, about
// 1/(N+1) of them.
//
//   node --import tsx --test test/discovery/shard.test.ts

import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import fc from 'fast-check';
import { inShard, shardOf } from '../../src/discovery/shard.js';

/** Keys as the collector hashes them: a target's base URL. */
const urlKey = fc
  .tuple(fc.integer({ min: 0, max: 255 }), fc.integer({ min: 0, max: 255 }), fc.integer({ min: 1, max: 65535 }), fc.constantFrom('/debug/pprof', '/pprof', '/x/debug/pprof'))
  .map(([a, b, port, path]) => `http://10.${a}.${b}.1:${port}${path}`);

/** Any string at all, and URL-shaped ones. */
const anyKey = fc.oneof(fc.string({ maxLength: 60 }), fc.string({ unit: 'grapheme', maxLength: 20 }), urlKey);

/** 1,000 distinct keys. */
const thousandKeys = fc.uniqueArray(fc.oneof(urlKey, fc.string({ minLength: 1, maxLength: 40 })), { minLength: 1000, maxLength: 1000 });

function counts(keys: readonly string[], count: number): number[] {
  const c = new Array<number>(count).fill(0);
  for (const k of keys) c[shardOf(k, count)]!++;
  return c;
}

describe('shardOf / inShard', () => {
  test('every key belongs to exactly one of the INDEX/COUNT shards', () => {
    fc.assert(
      fc.property(anyKey, fc.integer({ min: 1, max: 16 }), (key, count) => {
        const owner = shardOf(key, count);
        assert.ok(Number.isInteger(owner) && owner >= 0 && owner < count, `shardOf(${JSON.stringify(key)}, ${count}) = ${owner}`);
        const members = Array.from({ length: count }, (_, index) => index).filter((index) => inShard(key, { index, count }));
        assert.deepEqual(members, [owner], `shards that claim ${JSON.stringify(key)} of ${count}`);
        // Deterministic: the same key, the same owner (two processes must agree).
        assert.equal(shardOf(key, count), owner);
      }),
      { numRuns: 500 },
    );
  });

  test('no shard, or a single one, takes everything', () => {
    fc.assert(
      fc.property(anyKey, (key) => {
        assert.equal(inShard(key, undefined), true);
        assert.equal(inShard(key, { index: 0, count: 1 }), true);
        assert.equal(shardOf(key, 1), 0);
      }),
    );
  });

  test('1,000 keys over COUNT 2..8: every shard within ±40% of the mean', () => {
    fc.assert(
      fc.property(thousandKeys, fc.integer({ min: 2, max: 8 }), (keys, count) => {
        const c = counts(keys, count);
        const mean = keys.length / count;
        for (let i = 0; i < count; i++) {
          assert.ok(Math.abs(c[i]! - mean) <= 0.4 * mean, `shard ${i} of ${count} has ${c[i]} of ${keys.length} keys (mean ${mean.toFixed(1)}); all: ${c.join(', ')}`);
        }
      }),
      { numRuns: 25 },
    );
  });

  test('N -> N+1 shards: a key either stays or moves to the new shard, and about 1/(N+1) of them move', () => {
    fc.assert(
      fc.property(thousandKeys, fc.integer({ min: 1, max: 8 }), (keys, n) => {
        let moved = 0;
        for (const k of keys) {
          const before = shardOf(k, n);
          const after = shardOf(k, n + 1);
          if (after !== before) {
            assert.equal(after, n, `${JSON.stringify(k)} moved from shard ${before} to old shard ${after} when COUNT went ${n} -> ${n + 1}`);
            moved++;
          }
        }
        const want = keys.length / (n + 1);
        assert.ok(Math.abs(moved - want) <= 0.4 * want, `COUNT ${n} -> ${n + 1}: ${moved} of ${keys.length} keys moved, want about ${want.toFixed(0)}`);
      }),
      { numRuns: 25 },
    );
  });

  test('N -> N-1 (a shard goes away): only the keys of the last shard move', () => {
    fc.assert(
      fc.property(fc.array(anyKey, { minLength: 1, maxLength: 200 }), fc.integer({ min: 2, max: 9 }), (keys, n) => {
        for (const k of keys) {
          const before = shardOf(k, n);
          if (before !== n - 1) assert.equal(shardOf(k, n - 1), before, `${JSON.stringify(k)} left shard ${before}, which still exists`);
        }
      }),
    );
  });
});
