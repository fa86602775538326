// Sharding by rendezvous hashing (src/discovery/shard.ts), as properties:
// every key has exactly one owner, the shares are about even, and going
// from N to N+1 shards moves only the keys the new shard takes, about
// 1/(N+1) of them. And budgets and shards agree: the replicas of a service
// with a budget all land on one shard, so the budget holds fleet-wide.
//
//   node --import tsx --test test/discovery/shard.test.ts

import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import fc from 'fast-check';
import { parseConfig } from '../../src/config/load.js';
import type { Config } from '../../src/config/types.js';
import { silentLogger } from '../../src/core/log.js';
import type { Target } from '../../src/core/target.js';
import { resolveTargets } from '../../src/discovery/resolve.js';
import { inShard, shardKey, shardOf } from '../../src/discovery/shard.js';
import { expandTemplate } from '../../src/discovery/template.js';
import { CpuBudgets, budgetKey, budgetOf, budgetReplicas } from '../../src/scrape/cpu-budget.js';
import { FakeClock } from '../helpers/fake-clock.js';

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

describe('budgets and shards agree', () => {
  const COUNT = 2;
  /** One discovery block per service: checkout has a cpu_budget and a heap_budget, search has none. */
  const config = (index: number): Config =>
    parseConfig(
      [
        '[agent]',
        `shard = "${index}/${COUNT}"`,
        '[[inputs.profile.go]]',
        'service = "checkout"',
        'interval = "10s"',
        'cpu_budget = "10s/1m"',
        'heap_budget = "2/1m"',
        '[inputs.profile.go.http_sd]',
        'url = "http://sd.invalid/checkout"',
        '[[inputs.profile.go]]',
        'service = "search"',
        'interval = "10s"',
        '[inputs.profile.go.http_sd]',
        'url = "http://sd.invalid/search"',
      ].join('\n'),
      'shards.conf',
      { env: {}, osHostname: 'collector-0' },
    );
  const REPLICAS = 12;
  const addrs = (block: number) => Array.from({ length: REPLICAS }, (_, i) => `10.${block + 1}.0.${i + 1}:6060`);
  /** What discovery hands both processes: the same list. */
  const discovered = (c: Config) => c.templates.flatMap((tpl, block) => addrs(block).map((a) => expandTemplate(tpl, { targets: [a], labels: {} }, a)));
  const shards = Array.from({ length: COUNT }, (_, index) => {
    const c = config(index);
    return resolveTargets(c, discovered(c), silentLogger());
  });
  const of = (targets: readonly Target[], service: string) => targets.filter((t) => t.service === service).map((t) => t.instance).sort();

  test("the premise: by URL, checkout's replicas would be split between both shards", () => {
    const byUrl = new Set(shards.flat().filter((t) => t.service === 'checkout').map((t) => shardOf(t.baseUrl, COUNT)));
    assert.equal(byUrl.size, COUNT, 'URL hashing spreads the 12 replicas over both shards');
  });

  test('every replica of the budgeted service is on one shard; the unbudgeted one is still spread by URL; each target on exactly one shard', () => {
    const withCheckout = shards.map((s, i) => ({ i, n: of(s, 'checkout').length })).filter((x) => x.n > 0);
    assert.equal(withCheckout.length, 1, `shards holding checkout: ${JSON.stringify(withCheckout)}`);
    assert.equal(withCheckout[0]!.n, REPLICAS);
    assert.equal(withCheckout[0]!.i, shardOf('service:checkout', COUNT), 'the owner is the shard of the service key');
    assert.ok(shards.every((s) => of(s, 'search').length > 0), 'search (no budget) is spread over both shards');
    for (const s of shards) for (const t of s.filter((x) => x.service === 'search')) assert.equal(shardKey(t), t.baseUrl);
    const all = shards.flat().map((t) => `${t.service}/${t.instance}`);
    assert.equal(all.length, 2 * REPLICAS);
    assert.equal(new Set(all).size, all.length, 'no target on two shards');
  });

  test('over ten minutes of both shards asking every 10 s, the service gets its budget once, not once per shard', () => {
    // On a minute boundary: ten minutes are ten budget periods.
    const clock = new FakeClock(1_700_000_040_000);
    // Each shard keeps its own budgets, as each collector process does.
    const perShard = shards.map((targets) => ({ targets, budgets: new CpuBudgets(clock), replicas: budgetReplicas(targets) }));
    const granted = { cpuMs: 0, heap: 0 };
    const minutes = 10;
    for (let step = 0; step < (minutes * 60) / 10; step++) {
      for (const s of perShard) {
        for (const t of s.targets.filter((x) => x.service === 'checkout')) {
          for (const type of ['cpu', 'heap'] as const) {
            const budget = budgetOf(t, type)!;
            const cost = type === 'cpu' ? t.config.profileDurationMs : 1;
            const d = s.budgets.tryTake(budgetKey(t, type), t.id, budget, cost, s.replicas.get(budgetKey(t, type)) ?? []);
            if (d.ok && type === 'cpu') granted.cpuMs += cost;
            if (d.ok && type === 'heap') granted.heap += 1;
          }
        }
      }
      clock.stall(10_000);
    }
    // 10 s of CPU profiling and 2 heap scrapes per minute, for the whole fleet.
    assert.ok(granted.cpuMs <= minutes * 10_000, `CPU profiling granted: ${granted.cpuMs} ms in ${minutes} min, budget ${minutes * 10_000} ms`);
    assert.ok(granted.heap <= minutes * 2, `heap scrapes granted: ${granted.heap} in ${minutes} min, budget ${minutes * 2}`);
    assert.ok(granted.cpuMs > 0 && granted.heap > 0, 'the budget is used');
  });
});
