import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import fc from 'fast-check';
import type { Profile } from 'pprof-format';
import { computeDelta, type DeltaBaseline, type DeltaOutcome } from '../helpers/reference/delta.js';
import { sampleTypeIndexes, validateProfile } from '../helpers/reference/validate.js';
import { byKey, i64, rows, str, structureProblems, u } from '../helpers/pprof-model.js';
import {
  buildHeap,
  entryKey,
  FUNCTIONS,
  HEAP_DELTA_IDX,
  LOCATIONS,
  N_LOC,
  wire,
  type BuildOptions,
  type Entry,
} from '../helpers/synthetic.js';

// ---------------------------------------------------------------- arbitraries

const MAX_ENTRIES = 10;
const value = fc.oneof(
  { weight: 3, arbitrary: fc.bigInt({ min: 0n, max: 1000n }) },
  { weight: 1, arbitrary: fc.bigInt({ min: 0n, max: 2n ** 60n }) },
);
const four = fc.tuple(value, value, value, value);
const stack = fc.array(fc.integer({ min: 0, max: N_LOC - 1 }), { minLength: 1, maxLength: 5 });
const entry: fc.Arbitrary<Entry> = fc.record({
  stack,
  bytes: fc.option(fc.constantFrom(16, 96, 1024, 262144), { nil: undefined }),
  tag: fc.option(fc.constantFrom('a', 'b'), { nil: undefined }),
  values: four,
});
const entries = fc.uniqueArray(entry, { selector: entryKey, maxLength: MAX_ENTRIES });

/** How a profile is laid out on the wire: ids, table order, duplicate samples. */
const layout = fc.record({
  locIds: fc.uniqueArray(fc.integer({ min: 1, max: 5000 }), { minLength: N_LOC, maxLength: N_LOC }),
  fnIds: fc.uniqueArray(fc.integer({ min: 1, max: 5000 }), { minLength: FUNCTIONS.length, maxLength: FUNCTIONS.length }),
  split: fc.array(fc.boolean(), { minLength: 2 * MAX_ENTRIES, maxLength: 2 * MAX_ENTRIES }),
  reverseTables: fc.boolean(),
  reverseSamples: fc.boolean(),
});
type Layout = typeof layout extends fc.Arbitrary<infer T> ? T : never;

function opts(l: Layout | undefined, timeNanos: bigint): BuildOptions {
  if (!l) return { timeNanos };
  const split = new Set<number>();
  l.split.forEach((b, i) => b && split.add(i));
  return { timeNanos, locIds: l.locIds, fnIds: l.fnIds, split, reverseTables: l.reverseTables, reverseSamples: l.reverseSamples };
}

const t1Arb = fc.bigInt({ min: 1_600_000_000_000_000_000n, max: 1_900_000_000_000_000_000n });
const dtArb = fc.bigInt({ min: 1n, max: 3_600_000_000_000n });

/** A later cumulative profile of the same process: alloc never goes down, stacks with alloc never vanish. */
const evolution = entries.chain((prev) =>
  fc.record({
    prev: fc.constant(prev),
    incs: fc.array(fc.tuple(value, value), { minLength: prev.length, maxLength: prev.length }),
    inuse: fc.array(fc.tuple(value, value), { minLength: prev.length, maxLength: prev.length }),
    dropIfZero: fc.array(fc.boolean(), { minLength: prev.length, maxLength: prev.length }),
    added: entries,
  }),
);
type Evolution = typeof evolution extends fc.Arbitrary<infer T> ? T : never;

function evolve(ev: Evolution): Entry[] {
  const cur: Entry[] = [];
  ev.prev.forEach((e, i) => {
    const [ia, ib] = ev.incs[i]!;
    const alloc = [e.values[0]! + ia, e.values[1]! + ib];
    // A record Go published with zero allocations may show up under another
    // label later; that is not a restart.
    if (ev.dropIfZero[i] && alloc[0] === 0n && alloc[1] === 0n) return;
    cur.push({ ...e, values: [alloc[0]!, alloc[1]!, ...ev.inuse[i]!] });
  });
  const seen = new Set(ev.prev.map(entryKey));
  for (const e of ev.added) if (!seen.has(entryKey(e))) cur.push(e);
  return cur;
}

// ---------------------------------------------------------------- helpers

function deltaIdx(p: Profile): number[] {
  return sampleTypeIndexes(p, ['alloc_objects', 'alloc_space'], 'heap');
}

function baselineOf(p: Profile, t: bigint): DeltaBaseline {
  const out = computeDelta(undefined, p, deltaIdx(p), t);
  assert.equal(out.kind, 'baseline');
  return out.baseline;
}

/** prev as the baseline, then cur: what the processor does for two scrapes. */
function twoScrapes(prev: Profile, t1: bigint, cur: Profile, t2: bigint): DeltaOutcome {
  const prevW = wire(prev);
  const curW = wire(cur);
  return computeDelta(baselineOf(prevW, t1), curW, deltaIdx(curW), t2);
}

function shipped(out: DeltaOutcome): Profile {
  if (out.kind !== 'delta') assert.fail(`expected a delta, got ${out.kind}${out.kind === 'reset' ? ` (${out.reason})` : ''}`);
  // What a backend reads: the encoded bytes.
  return wire(out.profile);
}

/** The delta a correct implementation ships, per key (samples whose values are all zero are absent). */
function expectedDelta(prev: Profile, cur: Profile): Map<string, bigint[]> {
  const p = byKey(prev);
  const want = new Map<string, bigint[]>();
  for (const [k, v] of byKey(cur)) {
    const base = p.get(k);
    const d = v.map((x, i) => ((HEAP_DELTA_IDX as readonly number[]).includes(i) ? x - (base?.[i] ?? 0n) : x));
    if (d.some((x) => x !== 0n)) want.set(k, d);
  }
  return want;
}

function sorted(m: Map<string, bigint[]>): [string, bigint[]][] {
  return [...m].sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0));
}

// ---------------------------------------------------------------- properties

describe('computeDelta (properties over synthetic heap profiles)', () => {
  it('a profile against itself ships no alloc values; only samples with in-use memory survive, with their in-use values', () => {
    fc.assert(
      fc.property(entries, layout, layout, t1Arb, dtArb, (es, la, lb, t1, dt) => {
        const prev = buildHeap(es, opts(la, t1));
        const cur = buildHeap(es, opts(lb, t1 + dt));
        const out = shipped(twoScrapes(prev, t1, cur, t1 + dt));
        for (const r of rows(out)) {
          assert.equal(r.values[0], 0n, `alloc_objects of ${r.key}`);
          assert.equal(r.values[1], 0n, `alloc_space of ${r.key}`);
        }
        const want = new Map<string, bigint[]>();
        for (const [k, v] of byKey(wire(cur))) if (v[2] !== 0n || v[3] !== 0n) want.set(k, [0n, 0n, v[2]!, v[3]!]);
        assert.deepEqual(sorted(byKey(out)), sorted(want));
        assert.equal(out.sample.length, want.size, 'one sample per stack+labels');
      }),
    );
  });

  it('baseline + delta reproduces the cumulative alloc values per stack', () => {
    fc.assert(
      fc.property(evolution, layout, layout, t1Arb, dtArb, (ev, la, lb, t1, dt) => {
        const prev = buildHeap(ev.prev, opts(la, t1));
        const cur = buildHeap(evolve(ev), opts(lb, t1 + dt));
        const out = byKey(shipped(twoScrapes(prev, t1, cur, t1 + dt)));
        const base = byKey(wire(prev));
        const cum = byKey(wire(cur));
        for (const [k, v] of cum) {
          for (const i of HEAP_DELTA_IDX) {
            const got = (base.get(k)?.[i] ?? 0n) + (out.get(k)?.[i] ?? 0n);
            assert.equal(got, v[i], `${k} type ${i}: baseline + delta`);
          }
        }
        for (const k of out.keys()) assert.ok(cum.has(k), `shipped stack ${k} is not in the current profile`);
        assert.deepEqual(sorted(out), sorted(expectedDelta(wire(prev), wire(cur))));
      }),
    );
  });

  it('inuse_* values in the output equal the current profile, per stack', () => {
    fc.assert(
      fc.property(evolution, layout, layout, t1Arb, dtArb, (ev, la, lb, t1, dt) => {
        const prev = buildHeap(ev.prev, opts(la, t1));
        const cur = buildHeap(evolve(ev), opts(lb, t1 + dt));
        const out = byKey(shipped(twoScrapes(prev, t1, cur, t1 + dt)));
        for (const [k, v] of byKey(wire(cur))) {
          const got = out.get(k);
          if (!got) {
            // Absent only when nothing at all is left to say about it.
            assert.deepEqual([v[2], v[3]], [0n, 0n], `${k} has in-use memory but was dropped`);
            continue;
          }
          assert.deepEqual([got[2], got[3]], [v[2], v[3]], `inuse of ${k}`);
        }
      }),
    );
  });

  it('a cumulative value going down, a stack with allocations disappearing, or time not advancing is a reset, never a delta', () => {
    // Arbitrary (not necessarily monotonic) successors: the outcome is decided exactly.
    const successor = entries.chain((prev) =>
      fc.record({
        prev: fc.constant(prev),
        change: fc.array(fc.tuple(fc.bigInt({ min: -3n, max: 3n }), fc.bigInt({ min: -3n, max: 3n }), fc.integer({ min: 0, max: 9 })), {
          minLength: prev.length,
          maxLength: prev.length,
        }),
        added: entries,
      }),
    );
    fc.assert(
      fc.property(successor, layout, t1Arb, fc.bigInt({ min: -5n, max: 5n }), (sx, lb, t1, dt) => {
        const cur: Entry[] = [];
        sx.prev.forEach((e, i) => {
          const [da, db, drop] = sx.change[i]!;
          if (drop === 0) return; // the stack is gone
          const clamp = (v: bigint) => (v < 0n ? 0n : v);
          cur.push({ ...e, values: [clamp(e.values[0]! + da), clamp(e.values[1]! + db), e.values[2]!, e.values[3]!] });
        });
        const seen = new Set(sx.prev.map(entryKey));
        for (const e of sx.added) if (!seen.has(entryKey(e))) cur.push(e);

        const prevP = buildHeap(sx.prev, { timeNanos: t1 });
        const curP = buildHeap(cur, opts(lb, t1 + dt));
        const out = twoScrapes(prevP, t1, curP, t1 + dt);

        const base = byKey(wire(prevP));
        const now = byKey(wire(curP));
        let wentDown = dt <= 0n;
        for (const [k, v] of base) for (const i of HEAP_DELTA_IDX) if ((now.get(k)?.[i] ?? 0n) < v[i]!) wentDown = true;

        if (wentDown) {
          assert.equal(out.kind, 'reset');
          // The current profile is the new baseline: itself, a moment later, ships no allocations.
          const again = shipped(computeDelta(out.baseline, wire(curP), HEAP_DELTA_IDX, t1 + dt + 1_000_000_000n));
          for (const r of rows(again)) assert.deepEqual([r.values[0], r.values[1]], [0n, 0n]);
          assert.equal(out.baseline.timeNanos, t1 + dt);
        } else {
          const p = shipped(out);
          for (const r of rows(p)) for (const v of r.values) assert.ok(v >= 0n, `negative value ${v} in ${r.key}`);
          assert.deepEqual(sorted(byKey(p)), sorted(expectedDelta(wire(prevP), wire(curP))));
        }
      }),
    );
  });

  it('forced restarts: one value down by any amount, one stack with allocations gone, time equal or backwards', () => {
    const withAlloc = entries.filter((es) => es.some((e) => e.values[0]! > 0n || e.values[1]! > 0n));
    fc.assert(
      fc.property(withAlloc, fc.nat(), fc.constantFrom('down', 'gone', 'time-equal', 'time-back'), t1Arb, (es, pick, how, t1) => {
        const candidates = es.map((e, i) => [e, i] as const).filter(([e]) => e.values[0]! > 0n || e.values[1]! > 0n);
        const [victim, vi] = candidates[pick % candidates.length]!;
        let cur: Entry[] = es.map((e) => ({ ...e, values: [e.values[0]! + 1n, e.values[1]! + 1n, e.values[2]!, e.values[3]!] }));
        let t2 = t1 + 10_000_000_000n;
        if (how === 'down') {
          const j = victim.values[0]! > 0n ? 0 : 1;
          const vals = [...victim.values];
          vals[j] = vals[j]! - 1n - (BigInt(pick) % vals[j]!);
          cur[vi] = { ...victim, values: vals };
        } else if (how === 'gone') {
          cur = cur.filter((_, i) => i !== vi);
        } else if (how === 'time-equal') {
          t2 = t1;
        } else {
          t2 = t1 - 1n - BigInt(pick);
        }
        const out = twoScrapes(buildHeap(es, { timeNanos: t1 }), t1, buildHeap(cur, { timeNanos: t2 }), t2);
        assert.equal(out.kind, 'reset', `${how}: expected a reset`);
      }),
    );
  });

  it('output tables: location ids 1..n in order, everything used, string_table[0] empty, time and duration', () => {
    fc.assert(
      fc.property(evolution, layout, layout, t1Arb, dtArb, (ev, la, lb, t1, dt) => {
        const prev = buildHeap(ev.prev, opts(la, t1));
        const cur = buildHeap(evolve(ev), opts(lb, t1 + dt));
        const out = shipped(twoScrapes(prev, t1, cur, t1 + dt));
        assert.deepEqual(structureProblems(out), []);
        assert.equal(out.stringTable.strings[0], '');
        assert.deepEqual(
          out.location.map((l) => u(l.id)),
          out.location.map((_, i) => i + 1),
        );
        assert.equal(i64(out.timeNanos), t1 + dt);
        assert.equal(i64(out.durationNanos), dt);
        validateProfile(out);
        // Profile-level metadata survives compaction.
        assert.deepEqual(
          out.sampleType.map((st) => `${str(out, st.type)}/${str(out, st.unit)}`),
          ['alloc_objects/count', 'alloc_space/bytes', 'inuse_objects/count', 'inuse_space/bytes'],
        );
        assert.ok(out.periodType);
        assert.equal(`${str(out, out.periodType.type)}/${str(out, out.periodType.unit)}`, 'space/bytes');
        assert.equal(i64(out.period), 524288n);
        assert.deepEqual(
          out.comment.map((c) => str(out, c)),
          ['synthetic profile'],
        );
        // Each kept location is the one it was: same PC, same (inlined) lines, same mapping.
        const fnName = new Map(out.function.map((f) => [u(f.id), str(out, f.name)]));
        const mapFile = new Map(out.mapping.map((m) => [u(m.id), str(out, m.filename)]));
        for (const loc of out.location) {
          const pool = LOCATIONS.find(([addr]) => addr === BigInt(loc.address));
          assert.ok(pool, `unknown address ${loc.address}`);
          assert.deepEqual(
            loc.line.map((l) => [fnName.get(u(l.functionId)), Number(l.line)]),
            pool[1].map(([f, line]) => [FUNCTIONS[f]![0], line]),
          );
          assert.equal(mapFile.get(u(loc.mappingId)), '/bin/app');
        }
        if (out.sample.length > 0) {
          assert.deepEqual(
            out.mapping.map((m) => str(out, m.filename)),
            ['/bin/app'],
          );
        }
      }),
    );
  });

  it('matches samples by address, not by id: the second profile renumbered at random gives the same delta', () => {
    fc.assert(
      fc.property(evolution, layout, layout, t1Arb, dtArb, (ev, la, lb, t1, dt) => {
        const cur = evolve(ev);
        const prev = buildHeap(ev.prev, opts(la, t1));
        const renumbered = byKey(shipped(twoScrapes(prev, t1, buildHeap(cur, opts(lb, t1 + dt)), t1 + dt)));
        const plain = byKey(shipped(twoScrapes(prev, t1, buildHeap(cur, { timeNanos: t1 + dt }), t1 + dt)));
        assert.deepEqual(sorted(renumbered), sorted(plain));
        assert.deepEqual(sorted(renumbered), sorted(expectedDelta(wire(prev), wire(buildHeap(cur, { timeNanos: t1 + dt })))));
      }),
    );
  });
});

// ---------------------------------------------------------------- examples

describe('computeDelta (examples)', () => {
  const t1 = 1_700_000_000_000_000_000n;
  const t2 = t1 + 10_000_000_000n;
  const ids = Array.from({ length: N_LOC }, (_, i) => i + 1);

  it('ids swapped between scrapes: location 1 of the first profile is another PC in the second', () => {
    const prev: Entry[] = [
      { stack: [0, 2], bytes: 16, values: [10n, 160n, 1n, 16n] },
      { stack: [1, 2], bytes: 16, values: [5n, 80n, 5n, 80n] },
    ];
    const cur: Entry[] = [
      { stack: [0, 2], bytes: 16, values: [11n, 176n, 1n, 16n] },
      { stack: [1, 2], bytes: 16, values: [105n, 1680n, 5n, 80n] },
    ];
    const out = byKey(
      shipped(twoScrapes(buildHeap(prev, { timeNanos: t1, locIds: ids }), t1, buildHeap(cur, { timeNanos: t2, locIds: [...ids].reverse() }), t2)),
    );
    assert.deepEqual(sorted(out), [
      ['0x401000>0x401080|bytes:16', [1n, 16n, 1n, 16n]],
      ['0x401040>0x401080|bytes:16', [100n, 1600n, 5n, 80n]],
    ]);
  });

  it('Go writing one stack as two samples: both sides are summed before subtracting', () => {
    const prev: Entry[] = [{ stack: [3, 5], bytes: 1024, values: [7n, 7168n, 3n, 3072n] }];
    const cur: Entry[] = [{ stack: [3, 5], bytes: 1024, values: [20n, 20480n, 4n, 4096n] }];
    const out = shipped(
      twoScrapes(buildHeap(prev, { timeNanos: t1, split: new Set([0]) }), t1, buildHeap(cur, { timeNanos: t2, split: new Set([0]) }), t2),
    );
    assert.equal(out.sample.length, 1);
    assert.deepEqual(rows(out)[0]!.values, [13n, 13312n, 4n, 4096n]);
  });

  it('labels tell samples apart: same stack, different object size', () => {
    const prev: Entry[] = [
      { stack: [0], bytes: 16, values: [1n, 16n, 0n, 0n] },
      { stack: [0], bytes: 96, values: [1n, 96n, 0n, 0n] },
    ];
    const cur: Entry[] = [
      { stack: [0], bytes: 16, values: [3n, 48n, 0n, 0n] },
      { stack: [0], bytes: 96, values: [1n, 96n, 0n, 0n] },
    ];
    const out = byKey(shipped(twoScrapes(buildHeap(prev, { timeNanos: t1 }), t1, buildHeap(cur, { timeNanos: t2 }), t2)));
    assert.deepEqual(sorted(out), [['0x401000|bytes:16', [2n, 32n, 0n, 0n]]]);
  });

  it('locations without addresses are matched by function, file and line across renumbered function ids', () => {
    const prev: Entry[] = [{ stack: [4, 5], values: [2n, 200n, 1n, 100n] }];
    const cur: Entry[] = [{ stack: [4, 5], values: [5n, 500n, 1n, 100n] }];
    const fnIds = FUNCTIONS.map((_, i) => 100 - i);
    const out = shipped(
      twoScrapes(
        buildHeap(prev, { timeNanos: t1, noAddresses: true }),
        t1,
        buildHeap(cur, { timeNanos: t2, noAddresses: true, fnIds, locIds: [...ids].reverse() }),
        t2,
      ),
    );
    assert.deepEqual(rows(out).map((r) => [r.functions, r.values]), [
      [['encoding/json.Marshal', 'net/http.(*conn).serve'], [3n, 300n, 1n, 100n]],
    ]);
    assert.deepEqual(structureProblems(out), []);
  });

  it('a stack first seen in this window ships its whole cumulative value', () => {
    const prev: Entry[] = [{ stack: [0], values: [1n, 10n, 1n, 10n] }];
    const cur: Entry[] = [
      { stack: [0], values: [1n, 10n, 1n, 10n] },
      { stack: [6, 2], tag: 'a', values: [4n, 40n, 0n, 0n] },
    ];
    const out = byKey(shipped(twoScrapes(buildHeap(prev, { timeNanos: t1 }), t1, buildHeap(cur, { timeNanos: t2 }), t2)));
    assert.deepEqual(sorted(out), [
      ['0x401000|', [0n, 0n, 1n, 10n]],
      ['0x401180>0x401080|span="a"', [4n, 40n, 0n, 0n]],
    ]);
  });

  it('values above 2^53 and near 2^63 stay exact', () => {
    const big = 2n ** 62n + 12345n;
    const prev: Entry[] = [{ stack: [1], values: [big, big, 0n, 0n] }];
    const cur: Entry[] = [{ stack: [1], values: [big + 3n, big + 2n ** 55n, 0n, 7n] }];
    const out = shipped(twoScrapes(buildHeap(prev, { timeNanos: t1 }), t1, buildHeap(cur, { timeNanos: t2 }), t2));
    assert.deepEqual(rows(out)[0]!.values, [3n, 2n ** 55n, 0n, 7n]);
  });

  it('a heap profile where nothing changed and nothing is in use ships an empty but valid profile', () => {
    const es: Entry[] = [{ stack: [0], bytes: 16, values: [5n, 80n, 0n, 0n] }];
    const out = shipped(twoScrapes(buildHeap(es, { timeNanos: t1 }), t1, buildHeap(es, { timeNanos: t2 }), t2));
    assert.equal(out.sample.length, 0);
    assert.equal(out.location.length, 0);
    assert.equal(out.function.length, 0);
    assert.equal(out.mapping.length, 0);
    assert.deepEqual(structureProblems(out), []);
    assert.equal(i64(out.durationNanos), t2 - t1);
  });
});
