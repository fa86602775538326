// The production delta (src/profile/raw/, on raw protobuf bytes) against
// the reference (test/helpers/reference, pprof-format objects): for random
// pairs and triples of synthetic heap-like and mutex/block-like profiles both
// reach the same outcome and, when they ship, the same samples with the same
// values, bit for bit. The production bytes are read back with pprof-format,
// not with the production reader.

import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import fc from 'fast-check';
import { Profile } from 'pprof-format';
import {
  baselineBytes,
  rawDelta,
  rawSampleTypeIndexes,
  scanProfile,
  validateRaw,
  type RawBaseline,
  type RawDeltaOutcome,
} from '../../../src/profile/raw/index.js';
import { computeDelta, type DeltaBaseline, type DeltaOutcome } from '../../helpers/reference/delta.js';
import { sampleTypeIndexes, validateProfile } from '../../helpers/reference/validate.js';
import { canonicalSamples, profileFields } from '../../helpers/canonical.js';
import { i64, structureProblems, u } from '../../helpers/pprof-model.js';
import {
  buildGeneric,
  CONTENTION_TYPES,
  FUNCTIONS,
  genEntryKey,
  HEAP_TYPES,
  GEN_N_LOC,
  type GenEntry,
  type GenLabel,
  type GenLayout,
  type GenProfileOptions,
} from '../../helpers/synthetic.js';

// ---------------------------------------------------------------- kinds of profile

interface Kind {
  readonly name: string;
  readonly types: readonly (readonly [string, string])[];
  readonly deltaNames: readonly string[];
  readonly periodType: readonly [string, string];
  readonly period: number;
}

const HEAP: Kind = {
  name: 'heap',
  types: HEAP_TYPES,
  deltaNames: ['alloc_objects', 'alloc_space'],
  periodType: ['space', 'bytes'],
  period: 524288,
};
const CONTENTION: Kind = {
  name: 'mutex',
  types: CONTENTION_TYPES,
  deltaNames: ['contentions', 'delay'],
  periodType: ['contentions', 'count'],
  period: 1,
};

function deltaIdxOf(k: Kind): number[] {
  return k.deltaNames.map((n) => k.types.findIndex(([t]) => t === n));
}

// ---------------------------------------------------------------- arbitraries

const MAX = 2n ** 63n - 1n;
const value = fc.oneof(
  { weight: 4, arbitrary: fc.bigInt({ min: 0n, max: 1000n }) },
  { weight: 2, arbitrary: fc.bigInt({ min: 0n, max: 2n ** 53n + 2n ** 20n }) },
  { weight: 2, arbitrary: fc.bigInt({ min: 2n ** 53n, max: MAX }) },
  { weight: 1, arbitrary: fc.constantFrom(0n, 2n ** 53n - 1n, 2n ** 53n, 2n ** 53n + 1n, 2n ** 62n, MAX - 1n, MAX) },
);
/** Growth of a cumulative value between two scrapes. */
const increase = fc.oneof(
  { weight: 3, arbitrary: fc.constant(0n) },
  { weight: 4, arbitrary: fc.bigInt({ min: 1n, max: 1000n }) },
  { weight: 2, arbitrary: fc.bigInt({ min: 0n, max: MAX }) },
);

const label: fc.Arbitrary<GenLabel> = fc.oneof(
  fc.record({ key: fc.constant('bytes'), num: fc.constantFrom(16n, 96n, 1024n, 262144n) }),
  fc.record({ key: fc.constant('span'), str: fc.constantFrom('a', 'b', 'ünïcödé ✓') }),
  fc.record({ key: fc.constant('request'), str: fc.constantFrom('GET /', 'POST /x') }),
  fc.record(
    {
      key: fc.constant('object'),
      num: fc.oneof(fc.constantFrom(0n, -1n, 1n, -(2n ** 63n), MAX), fc.bigInt({ min: -(2n ** 63n), max: MAX })),
      unit: fc.constantFrom('bytes', 'count'),
    },
    { requiredKeys: ['key', 'num'] },
  ),
  fc.record({ key: fc.constant('thread'), str: fc.constantFrom('main', 'worker-1') }),
);
const labels = fc.uniqueArray(label, { selector: (l) => l.key, maxLength: 3 });
// Half the frames from a pair of PCs that differ only above bit 32 (0x401000, 0x100401000).
const stack = fc.array(fc.oneof(fc.integer({ min: 0, max: GEN_N_LOC - 1 }), fc.constantFrom(0, 10)), { minLength: 0, maxLength: 5 });

function entriesArb(nTypes: number): fc.Arbitrary<GenEntry[]> {
  const entry = fc.record({ stack, labels, values: fc.array(value, { minLength: nTypes, maxLength: nTypes }) });
  return fc.uniqueArray(entry, { selector: genEntryKey, maxLength: 12 });
}

const ids = (n: number) => fc.uniqueArray(fc.integer({ min: 1, max: 100_000 }), { minLength: n, maxLength: n });
const layout: fc.Arbitrary<GenLayout> = fc.record({
  locIds: ids(GEN_N_LOC),
  fnIds: ids(FUNCTIONS.length),
  mappingIds: ids(2),
  denseIds: fc.boolean(),
  // Replaced by one choice per run (below): whether a location has an
  // address is a property of the binary, the same in every scrape.
  noAddress: fc.constant([]),
  parts: fc.array(fc.array(fc.integer({ min: 1, max: 4 }), { minLength: 1, maxLength: 3 }), { minLength: 1, maxLength: 5 }),
  seed: fc.integer(),
  shuffleTables: fc.boolean(),
  shuffleSamples: fc.boolean(),
  shuffleStrings: fc.boolean(),
});

/**
 * Which pool locations have no address (matched by function/file/line).
 * Pool locations 2 and 9 have the same function and line: without addresses
 * they would be one location and merge distinct entries, so 9 keeps its own.
 */
const noAddressArb = fc.array(fc.boolean(), { minLength: GEN_N_LOC, maxLength: GEN_N_LOC }).map((xs) => xs.map((x, i) => x && i !== 9));

/** Layouts for scrapes of one binary: ids, orders and splits differ; addresses do not. */
const layouts2 = fc
  .tuple(noAddressArb, layout, layout)
  .map(([noAddress, a, b]): [GenLayout, GenLayout] => [
    { ...a, noAddress },
    { ...b, noAddress },
  ]);
const layouts3 = fc
  .tuple(noAddressArb, layout, layout, layout)
  .map(([noAddress, a, b, c]): [GenLayout, GenLayout, GenLayout] => [
    { ...a, noAddress },
    { ...b, noAddress },
    { ...c, noAddress },
  ]);

const t1Arb = fc.bigInt({ min: 1_600_000_000_000_000_000n, max: 1_900_000_000_000_000_000n });
const dtArb = fc.bigInt({ min: 1n, max: 3_600_000_000_000n });
/** Mostly forward; sometimes standing still or going backwards (a restart). */
const dtAnyArb = fc.oneof({ weight: 8, arbitrary: dtArb }, { weight: 1, arbitrary: fc.bigInt({ min: -3_600_000_000_000n, max: 0n }) });

/** The same process later: cumulative values only grow (capped at int64), stacks stay, new ones appear. */
function monotonic(k: Kind, prev: GenEntry[]): fc.Arbitrary<GenEntry[]> {
  const n = k.types.length;
  const dIdx = deltaIdxOf(k);
  return fc
    .record({
      incs: fc.array(fc.array(increase, { minLength: n, maxLength: n }), { minLength: prev.length, maxLength: prev.length }),
      snapshots: fc.array(fc.array(value, { minLength: n, maxLength: n }), { minLength: prev.length, maxLength: prev.length }),
      dropIfZero: fc.array(fc.boolean(), { minLength: prev.length, maxLength: prev.length }),
      added: entriesArb(n),
    })
    .map(({ incs, snapshots, dropIfZero, added }) => {
      const cur: GenEntry[] = [];
      prev.forEach((e, i) => {
        const values = e.values.map((v, t) => {
          if (!dIdx.includes(t)) return snapshots[i]![t]!; // inuse_*: a snapshot
          const next = v + incs[i]![t]!;
          return next > MAX ? MAX : next;
        });
        // A stack whose cumulative values are all still zero may vanish: not a restart.
        if (dropIfZero[i] && dIdx.every((t) => values[t] === 0n)) return;
        cur.push({ ...e, values });
      });
      const seen = new Set(prev.map(genEntryKey));
      for (const e of added) if (!seen.has(genEntryKey(e))) cur.push(e);
      return cur;
    });
}

/** Anything may happen: values down, stacks gone, as after a restart of the target. */
function anySuccessor(k: Kind, prev: GenEntry[]): fc.Arbitrary<GenEntry[]> {
  const n = k.types.length;
  const change = fc.oneof(
    { weight: 6, arbitrary: fc.record({ how: fc.constant('grow' as const), by: fc.array(increase, { minLength: n, maxLength: n }) }) },
    { weight: 1, arbitrary: fc.record({ how: fc.constant('down' as const), by: fc.array(fc.bigInt({ min: 0n, max: MAX }), { minLength: n, maxLength: n }) }) },
    { weight: 1, arbitrary: fc.record({ how: fc.constant('gone' as const), by: fc.constant([] as bigint[]) }) },
  );
  return fc
    .record({ changes: fc.array(change, { minLength: prev.length, maxLength: prev.length }), added: entriesArb(n) })
    .map(({ changes, added }) => {
      const cur: GenEntry[] = [];
      prev.forEach((e, i) => {
        const c = changes[i]!;
        if (c.how === 'gone') return;
        const values = e.values.map((v, t) => {
          const next = c.how === 'grow' ? v + c.by[t]! : v - c.by[t]!;
          return next > MAX ? MAX : next < 0n ? 0n : next;
        });
        cur.push({ ...e, values });
      });
      const seen = new Set(prev.map(genEntryKey));
      for (const e of added) if (!seen.has(genEntryKey(e))) cur.push(e);
      return cur;
    });
}

// ---------------------------------------------------------------- both implementations

function options(k: Kind, timeNanos: bigint): GenProfileOptions {
  return { types: k.types, periodType: k.periodType, period: k.period, timeNanos };
}

interface Step {
  readonly prod: RawDeltaOutcome;
  readonly ref: DeltaOutcome;
}

/** One scrape through both implementations, each against its own previous baseline. */
function step(k: Kind, bytes: Uint8Array, t: bigint, prevProd: RawBaseline | undefined, prevRef: DeltaBaseline | undefined): Step {
  const p = scanProfile(bytes);
  const index = validateRaw(p);
  const prodIdx = rawSampleTypeIndexes(p, k.deltaNames, k.name);
  const decoded = Profile.decode(bytes);
  validateProfile(decoded);
  const refIdx = sampleTypeIndexes(decoded, k.deltaNames, k.name);
  assert.deepEqual(prodIdx, refIdx, 'delta sample type indexes');
  return { prod: rawDelta(p, index, prevProd, prodIdx, t), ref: computeDelta(prevRef, decoded, refIdx, t) };
}

/** What a reset's reason says happened. */
function resetCause(reason: string): string {
  if (/backwards|stood still/.test(reason)) return 'time';
  if (/gone/.test(reason)) return 'stack gone';
  if (/went down/.test(reason)) return 'value down';
  return reason;
}

/**
 * The two outcomes agree; when a delta ships, the production bytes (read by
 * pprof-format) hold exactly the reference's samples and obey the strict
 * reader's rules. Returns the decoded production profile, if any.
 */
function agree(s: Step, prevT: bigint | undefined, t: bigint, k: Kind): Profile | undefined {
  const { prod, ref } = s;
  const why = (o: RawDeltaOutcome | DeltaOutcome) => (o.kind === 'reset' ? `reset (${o.reason})` : o.kind);
  assert.equal(prod.kind, ref.kind, `production ${why(prod)}, reference ${why(ref)}`);
  assert.equal(prod.baseline.timeNanos, ref.baseline.timeNanos);
  assert.equal(prod.baseline.n, ref.baseline.totals.size, 'baseline entries (distinct stack+labels)');
  if (prod.kind === 'reset' && ref.kind === 'reset') assert.equal(resetCause(prod.reason), resetCause(ref.reason), `${prod.reason} / ${ref.reason}`);
  if (prod.kind !== 'delta' || ref.kind !== 'delta') return undefined;

  const got = Profile.decode(prod.profile);
  const want = Profile.decode(ref.profile.encode());
  assert.deepEqual(canonicalSamples(got), canonicalSamples(want), 'samples (stack, labels, values)');
  assert.deepEqual(profileFields(got), profileFields(want), 'profile-level fields');
  assert.equal(prod.samples, got.sample.length);
  assert.equal(prod.windowStartNanos, ref.windowStartNanos);
  assert.equal(prod.windowStartNanos, prevT);

  // Strict readers: ids 1..n in table order, nothing unused, string 0 empty.
  assert.deepEqual(structureProblems(got), []);
  assert.equal(got.stringTable.strings[0], '');
  assert.deepEqual(
    got.location.map((l) => u(l.id)),
    got.location.map((_, i) => i + 1),
  );
  assert.equal(i64(got.timeNanos), t);
  assert.equal(i64(got.durationNanos), t - prevT!);
  validateProfile(got);
  validateRaw(scanProfile(prod.profile));

  // The sums reported with the delta, where they fit an int64.
  const names = k.types.map(([n]) => n);
  names.forEach((n, i) => {
    const total = canonicalSamples(got).reduce((a, [, v]) => a + v[i]!, 0n);
    if (total <= MAX) assert.equal(prod.sums[n], Number(total), `sum of ${n}`);
  });
  return got;
}

function noNegatives(p: Profile | undefined): void {
  if (!p) return;
  for (const [key, values] of canonicalSamples(p)) for (const v of values) assert.ok(v >= 0n, `negative value ${v} at ${key}`);
}

// ---------------------------------------------------------------- properties

const RUNS = 500;
fc.configureGlobal({ includeErrorInReport: true });

for (const k of [HEAP, CONTENTION]) {
  describe(`rawDelta agrees with the reference (${k.name}-like profiles)`, () => {
    it('a monotonic successor: both ship the same delta, nothing negative, strict-reader shape', () => {
      const arb = entriesArb(k.types.length).chain((prev) =>
        fc.record({ prev: fc.constant(prev), cur: monotonic(k, prev), ls: layouts2, t1: t1Arb, dt: dtArb }),
      );
      fc.assert(
        fc.property(arb, ({ prev, cur, ls: [la, lb], t1, dt }) => {
          const t2 = t1 + dt;
          const first = step(k, buildGeneric(prev, la, options(k, t1)).encode(), t1, undefined, undefined);
          assert.equal(first.prod.kind, 'baseline');
          assert.equal(first.ref.kind, 'baseline');
          const second = step(k, buildGeneric(cur, lb, options(k, t2)).encode(), t2, first.prod.baseline, first.ref.baseline);
          assert.equal(second.prod.kind, 'delta', second.prod.kind === 'reset' ? second.prod.reason : '');
          noNegatives(agree(second, t1, t2, k));
        }),
        { numRuns: RUNS },
      );
    });

    it('three scrapes with restarts (values down, stacks gone, time backwards): same outcome at every step', () => {
      const arb = entriesArb(k.types.length).chain((p1) =>
        anySuccessor(k, p1).chain((p2) =>
          fc.record({
            p1: fc.constant(p1),
            p2: fc.constant(p2),
            p3: monotonic(k, p2),
            ls: layouts3,
            t1: t1Arb,
            dt2: dtAnyArb,
            dt3: dtArb,
          }),
        ),
      );
      fc.assert(
        fc.property(arb, ({ p1, p2, p3, ls: [l1, l2, l3], t1, dt2, dt3 }) => {
          const t2 = t1 + dt2;
          const t3 = t2 + dt3;
          const s1 = step(k, buildGeneric(p1, l1, options(k, t1)).encode(), t1, undefined, undefined);
          const s2 = step(k, buildGeneric(p2, l2, options(k, t2)).encode(), t2, s1.prod.baseline, s1.ref.baseline);
          agree(s2, t1, t2, k);
          if (dt2 <= 0n) assert.equal(s2.prod.kind, 'reset', 'time did not advance');
          // After a reset both re-baselined on p2; after a delta, too: p3 is monotonic from p2.
          const s3 = step(k, buildGeneric(p3, l3, options(k, t3)).encode(), t3, s2.prod.baseline, s2.ref.baseline);
          assert.equal(s3.prod.kind, 'delta');
          noNegatives(agree(s3, t2, t3, k));
        }),
        { numRuns: RUNS },
      );
    });

    it('the same entries written two different ways ship nothing cumulative', () => {
      const arb = fc.record({ es: entriesArb(k.types.length), ls: layouts2, t1: t1Arb, dt: dtArb });
      fc.assert(
        fc.property(arb, ({ es, ls: [la, lb], t1, dt }) => {
          const s1 = step(k, buildGeneric(es, la, options(k, t1)).encode(), t1, undefined, undefined);
          const s2 = step(k, buildGeneric(es, lb, options(k, t1 + dt)).encode(), t1 + dt, s1.prod.baseline, s1.ref.baseline);
          const got = agree(s2, t1, t1 + dt, k)!;
          const dIdx = deltaIdxOf(k);
          for (const [key, values] of canonicalSamples(got)) for (const t of dIdx) assert.equal(values[t], 0n, `${key} type ${t}`);
          // Only samples with something non-cumulative left survive (none for mutex/block).
          if (k === CONTENTION) assert.equal(got.sample.length, 0);
        }),
        { numRuns: RUNS },
      );
    });
  });
}

// ---------------------------------------------------------------- examples

describe('rawDelta agrees with the reference (examples)', () => {
  const t1 = 1_700_000_000_000_000_000n;
  const t2 = t1 + 10_000_000_000n;
  const plain: GenLayout = {
    locIds: Array.from({ length: GEN_N_LOC }, (_, i) => i + 1),
    fnIds: FUNCTIONS.map((_, i) => i + 1),
    mappingIds: [1, 2],
    denseIds: true,
    noAddress: new Array(GEN_N_LOC).fill(false),
    parts: [[1]],
    seed: 1,
    shuffleTables: false,
    shuffleSamples: false,
    shuffleStrings: false,
  };

  function pair(k: Kind, a: GenEntry[], la: GenLayout, b: GenEntry[], lb: GenLayout): Profile | undefined {
    const s1 = step(k, buildGeneric(a, la, options(k, t1)).encode(), t1, undefined, undefined);
    const s2 = step(k, buildGeneric(b, lb, options(k, t2)).encode(), t2, s1.prod.baseline, s1.ref.baseline);
    return agree(s2, t1, t2, k);
  }

  it('values at 2^63-1 and just past 2^53 stay exact through the delta', () => {
    const a: GenEntry[] = [
      { stack: [0], labels: [], values: [2n ** 53n + 1n, 2n ** 62n] },
      { stack: [1], labels: [], values: [0n, 1n] },
    ];
    const b: GenEntry[] = [
      { stack: [0], labels: [], values: [2n ** 53n + 3n, MAX] },
      { stack: [1], labels: [], values: [MAX, MAX] },
    ];
    const got = pair(CONTENTION, a, plain, b, { ...plain, shuffleStrings: true, seed: 7 })!;
    assert.deepEqual(
      canonicalSamples(got).map(([, v]) => v),
      [
        [2n, MAX - 2n ** 62n],
        [MAX, MAX - 1n],
      ],
    );
  });

  it('a stack+labels split over three samples with labels in every order is one sample', () => {
    const labelsAB: GenLabel[] = [
      { key: 'span', str: 'a' },
      { key: 'bytes', num: 16n },
      { key: 'object', num: -1n, unit: 'count' },
    ];
    const a: GenEntry[] = [{ stack: [3, 5], labels: labelsAB, values: [10n, 160n, 1n, 16n] }];
    const b: GenEntry[] = [{ stack: [3, 5], labels: [...labelsAB].reverse(), values: [13n, 208n, 2n, 32n] }];
    const got = pair(HEAP, a, { ...plain, parts: [[1, 2, 3]], seed: 3 }, b, { ...plain, parts: [[2, 1, 1]], seed: 4, denseIds: false })!;
    assert.equal(got.sample.length, 1);
    assert.deepEqual(canonicalSamples(got)[0]![1], [3n, 48n, 2n, 32n]);
  });

  it('locations without addresses: matched by function, file and line, whatever their ids', () => {
    const a: GenEntry[] = [{ stack: [4, 5, 2], labels: [], values: [2n, 200n, 1n, 100n] }];
    const b: GenEntry[] = [{ stack: [4, 5, 2], labels: [], values: [5n, 500n, 1n, 100n] }];
    const noAddr = new Array(GEN_N_LOC).fill(true);
    const got = pair(HEAP, a, { ...plain, noAddress: noAddr }, b, {
      ...plain,
      noAddress: noAddr,
      denseIds: false,
      locIds: plain.locIds.map((x) => 1000 - x),
      fnIds: plain.fnIds.map((x) => 50 + x * 3),
      shuffleTables: true,
      shuffleStrings: true,
    })!;
    assert.deepEqual(canonicalSamples(got).map(([, v]) => v), [[3n, 300n, 1n, 100n]]);
  });

  it('two address-less locations with the same function and line are one location on both sides', () => {
    const noAddr = new Array(GEN_N_LOC).fill(true);
    const a: GenEntry[] = [
      { stack: [2], labels: [], values: [1n, 10n, 0n, 0n] },
      { stack: [9], labels: [], values: [2n, 20n, 0n, 0n] },
    ];
    const b: GenEntry[] = [
      { stack: [9], labels: [], values: [3n, 30n, 0n, 0n] },
      { stack: [2], labels: [], values: [4n, 40n, 0n, 0n] },
    ];
    const got = pair(HEAP, a, { ...plain, noAddress: noAddr }, b, { ...plain, noAddress: noAddr, shuffleTables: true, seed: 9 })!;
    assert.deepEqual(canonicalSamples(got).map(([, v]) => v), [[4n, 40n, 0n, 0n]]);
  });

  it('addresses past 32 bits: one sharing its low 32 bits with another is another PC; one past 2^63 round-trips', () => {
    const a: GenEntry[] = [
      { stack: [0], labels: [], values: [1n, 1n] },
      { stack: [10], labels: [], values: [5n, 5n] },
      { stack: [12, 11], labels: [], values: [7n, 7n] },
    ];
    const b: GenEntry[] = [
      { stack: [0], labels: [], values: [1n, 1n] },
      { stack: [10], labels: [], values: [6n, 9n] },
      { stack: [12, 11], labels: [], values: [8n, 7n] },
    ];
    const got = pair(CONTENTION, a, plain, b, { ...plain, denseIds: false, locIds: plain.locIds.map((x) => 2 * x + 100), shuffleTables: true, seed: 11 })!;
    assert.deepEqual(canonicalSamples(got).map(([k, v]) => [k.replace(/\[.*?\]\{.*?\}/g, ''), v]), [
      ['0x100401000|', [1n, 4n]],
      ['0xffffffffff600000>0x7f1234567000|', [1n, 0n]],
    ]);
  });

  it('a 3,000-stack heap baseline is small (production and reference agree on its size in entries)', () => {
    const es: GenEntry[] = [];
    for (let i = 0; es.length < 3000; i++) {
      const stack = [i % GEN_N_LOC, Math.floor(i / GEN_N_LOC) % GEN_N_LOC, Math.floor(i / (GEN_N_LOC * GEN_N_LOC)) % GEN_N_LOC, 8];
      es.push({ stack, labels: [{ key: 'bytes', num: BigInt(16 * (1 + Math.floor(i / 1000))) }], values: [BigInt(i + 1), BigInt(i * 16), 1n, 16n] });
    }
    const s = step(HEAP, buildGeneric(es, plain, options(HEAP, t1)).encode(), t1, undefined, undefined);
    assert.equal(s.prod.baseline.n, 3000);
    assert.equal(s.ref.baseline.totals.size, 3000);
    assert.ok(baselineBytes(s.prod.baseline) < 200 * 1024, `${baselineBytes(s.prod.baseline)} bytes`);
  });
});
