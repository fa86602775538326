// Validation in the production codec (src/profile/raw/, parseRawProfile)
// against the reference validator (test/helpers/reference/validate.ts):
// everything the reference rejects, production rejects with an
// InvalidProfileError saying the same thing; protobuf-level garbage is
// rejected too; and no input whatsoever makes the codec throw anything else
// or hang.

import assert from 'node:assert/strict';
import { readdirSync } from 'node:fs';
import { after, before, describe, it } from 'node:test';
import { gunzipSync } from 'node:zlib';
import fc from 'fast-check';
import { Label, Line, Profile } from 'pprof-format';
import { parseRawProfile } from '../../../src/profile/codec.js';
import { InvalidProfileError } from '../../../src/profile/errors.js';
import { rawDelta, rawSampleTypeIndexes, rawSums, scanProfile, validateRaw } from '../../../src/profile/raw/index.js';
import { sampleTypeIndexes, sumsBySampleType, validateProfile } from '../../helpers/reference/validate.js';
import { fixture, FIXTURE_DIR } from '../../helpers/pprof-model.js';
import { RawFuzzWorker } from '../../helpers/raw-fuzz-worker.js';
import { buildHeap, type Entry } from '../../helpers/synthetic.js';

fc.configureGlobal({ includeErrorInReport: true });

const entries: Entry[] = [
  { stack: [0, 2], bytes: 16, values: [1n, 16n, 1n, 16n] },
  { stack: [3, 5], tag: 'a', values: [2n, 64n, 0n, 0n] },
];

/** The valid profile validate.test.ts breaks, decoded from the wire. */
function good(): Profile {
  return Profile.decode(buildHeap(entries, { timeNanos: 1_700_000_000_000_000_000n, locIds: [11, 12, 13, 14, 15, 16, 17, 18, 19, 20] }).encode());
}

function errorOf(f: () => unknown): Error | undefined {
  try {
    f();
    return undefined;
  } catch (err) {
    return err as Error;
  }
}

/** Production's verdict on bytes: both entry points, which must agree. */
function production(bytes: Uint8Array): Error | undefined {
  const viaValidate = errorOf(() => validateRaw(scanProfile(bytes)));
  const viaParse = errorOf(() => parseRawProfile(bytes));
  assert.equal(viaParse === undefined, viaValidate === undefined, `validateRaw: ${viaValidate}; parseRawProfile: ${viaParse}`);
  for (const e of [viaValidate, viaParse]) if (e) assert.ok(e instanceof InvalidProfileError, `not an InvalidProfileError: ${e.stack}`);
  return viaValidate;
}

function reference(bytes: Uint8Array): Error | undefined {
  return errorOf(() => validateProfile(Profile.decode(bytes)));
}

/** Both reject `bytes`: the reference with `ref`, production with `prod` (the same thing in its words). */
function bothReject(bytes: Uint8Array, ref: RegExp, prod: RegExp): void {
  const r = reference(bytes);
  assert.ok(r instanceof InvalidProfileError, `the reference accepted it (${r})`);
  assert.match(r.message, ref);
  const p = production(bytes);
  assert.ok(p, 'production accepted what the reference rejects');
  assert.match(p.message, prod);
}

// A few protobuf bytes, written here (independently of src/core/pb.ts).
function varint(v: number | bigint): number[] {
  let x = BigInt.asUintN(64, BigInt(v));
  const out: number[] = [];
  do {
    out.push(Number(x & 0x7fn) | (x > 0x7fn ? 0x80 : 0));
    x >>= 7n;
  } while (x !== 0n);
  return out;
}
const tag = (field: number, wire: number) => varint(field * 8 + wire);
const lenField = (field: number, body: number[]) => [...tag(field, 2), ...varint(body.length), ...body];
const concat = (...parts: ArrayLike<number>[]) => Uint8Array.from(parts.flatMap((p) => [...Array.from(p)]));

/** The top-level string table of `bytes` replaced by `strings` (pprof-format writes its own cache, not `strings`). */
function withStrings(bytes: Uint8Array, strings: string[]): Uint8Array {
  const kept: number[] = [];
  let i = 0;
  while (i < bytes.length) {
    const start = i;
    let t = 0;
    let shift = 0;
    for (;;) {
      const b = bytes[i++]!;
      t += (b & 0x7f) * 2 ** shift;
      shift += 7;
      if (b < 0x80) break;
    }
    const wire = t & 7;
    if (wire === 0) while (bytes[i++]! >= 0x80);
    else if (wire === 2) {
      let n = 0;
      shift = 0;
      for (;;) {
        const b = bytes[i++]!;
        n += (b & 0x7f) * 2 ** shift;
        shift += 7;
        if (b < 0x80) break;
      }
      i += n;
    } else throw new Error(`unexpected wire type ${wire}`);
    if (t >>> 3 !== 6) kept.push(...bytes.subarray(start, i));
  }
  return concat(kept, ...strings.map((s) => lenField(6, [...Buffer.from(s)])));
}

// One numeric field of a decoded profile set to `v` (ids, references, string indexes, value counts).
type Mutation = (p: Profile, at: number, v: number) => void;
const pick = <T>(xs: T[], at: number): T | undefined => (xs.length ? xs[at % xs.length] : undefined);
const mutations: Record<string, Mutation> = {
  'sample type': (p, at, v) => void (pick(p.sampleType, at) && (pick(p.sampleType, at)!.type = v)),
  'sample unit': (p, at, v) => void (pick(p.sampleType, at) && (pick(p.sampleType, at)!.unit = v)),
  'sample location': (p, at, v) => {
    const s = pick(p.sample, at);
    if (s) s.locationId = [...s.locationId.slice(1), v];
  },
  'sample values': (p, at, v) => {
    const s = pick(p.sample, at);
    if (s) s.value = s.value.slice(0, v % 6).concat(new Array(Math.max(0, (v % 6) - s.value.length)).fill(1));
  },
  'label key': (p, at, v) => {
    const l = pick(p.sample.flatMap((s) => s.label), at);
    if (l) l.key = v;
  },
  'label str': (p, at, v) => {
    const l = pick(p.sample.flatMap((s) => s.label), at);
    if (l) l.str = v;
  },
  'label unit': (p, at, v) => {
    const l = pick(p.sample.flatMap((s) => s.label), at);
    if (l) l.numUnit = v;
  },
  'mapping id': (p, at, v) => void (pick(p.mapping, at) && (pick(p.mapping, at)!.id = v)),
  'mapping file': (p, at, v) => void (pick(p.mapping, at) && (pick(p.mapping, at)!.filename = v)),
  'mapping build id': (p, at, v) => void (pick(p.mapping, at) && (pick(p.mapping, at)!.buildId = v)),
  'function id': (p, at, v) => void (pick(p.function, at) && (pick(p.function, at)!.id = v)),
  'function name': (p, at, v) => void (pick(p.function, at) && (pick(p.function, at)!.name = v)),
  'function system name': (p, at, v) => void (pick(p.function, at) && (pick(p.function, at)!.systemName = v)),
  'function file': (p, at, v) => void (pick(p.function, at) && (pick(p.function, at)!.filename = v)),
  'location id': (p, at, v) => void (pick(p.location, at) && (pick(p.location, at)!.id = v)),
  'location mapping': (p, at, v) => void (pick(p.location, at) && (pick(p.location, at)!.mappingId = v)),
  'line function': (p, at, v) => {
    const l = pick(p.location.flatMap((x) => x.line), at);
    if (l) l.functionId = v;
  },
  'period type': (p, _at, v) => void (p.periodType && (p.periodType.type = v)),
  comment: (p, _at, v) => void (p.comment = [v]),
  'drop frames': (p, _at, v) => void (p.dropFrames = v),
  'keep frames': (p, _at, v) => void (p.keepFrames = v),
  'default sample type': (p, _at, v) => void (p.defaultSampleType = v),
};

describe('validateRaw / parseRawProfile reject what the reference validator rejects', () => {
  it('accept the unbroken synthetic profile', () => {
    const bytes = good().encode();
    assert.equal(reference(bytes), undefined);
    assert.equal(production(bytes), undefined);
  });

  it('a sample pointing at a missing location', () => {
    const p = good();
    p.sample[1]!.locationId = [14, 999];
    bothReject(p.encode(), /^invalid pprof: a sample refers to missing location 999$/, /^invalid pprof: a sample refers to missing location 999$/);
    const q = good();
    q.sample[0]!.locationId = [0];
    bothReject(q.encode(), /missing location 0$/, /missing location 0$/);
  });

  it('a location pointing at a missing function', () => {
    const p = good();
    p.location[3]!.line.push(new Line({ functionId: 777, line: 1 }));
    bothReject(p.encode(), /^invalid pprof: location 14 refers to missing function 777$/, /^invalid pprof: (a )?location (14 )?refers to missing function 777$/);
  });

  it('a location pointing at a missing mapping', () => {
    const p = good();
    p.location[0]!.mappingId = 42;
    bothReject(p.encode(), /^invalid pprof: location 11 refers to missing mapping 42$/, /^invalid pprof: location 11 refers to missing mapping 42$/);
  });

  it('string indexes past the table, wherever they are', () => {
    const n = good().stringTable.strings.length;
    const past = (what: string) => new RegExp(`^invalid pprof: ${what} points at string \\d+, past the table of ${n}$`);
    // [what, mutation, the reference's words, production's words]
    const cases: [string, (p: Profile) => void, RegExp, RegExp][] = [
      ['sample type', (p) => (p.sampleType[1]!.type = n), past('a sample type'), past('a sample type')],
      ['sample unit', (p) => (p.sampleType[3]!.unit = n), past('a sample unit'), past('a sample unit')],
      ['mapping file', (p) => (p.mapping[0]!.filename = n), past('a mapping file name'), past('a mapping (file name|string)')],
      ['mapping build id', (p) => (p.mapping[1]!.buildId = n), past('a mapping build id'), past('a mapping (build id|string)')],
      ['function name', (p) => (p.function[0]!.name = n), past('a function name'), past('a function name')],
      ['function system name', (p) => (p.function[4]!.systemName = n), past('a function system name'), past('a function system name')],
      ['function file', (p) => (p.function[2]!.filename = n + 10), past('a function file name'), past('a function file name')],
      ['label key', (p) => (p.sample[0]!.label[0]!.key = n), past('a label key'), /^invalid pprof: a label (key )?(points at string \d+, )?(points )?past the (string )?table/],
      ['label value', (p) => (p.sample[1]!.label[0]!.str = n), past('a label value'), /^invalid pprof: a label (value )?(points at string \d+, )?(points )?past the (string )?table/],
      [
        'label unit',
        (p) => p.sample[0]!.label.push(new Label({ key: 1, num: 5, numUnit: n })),
        past('a label unit'),
        /^invalid pprof: a label (unit )?(points at string \d+, )?(points )?past the (string )?table/,
      ],
      ['period type', (p) => (p.periodType!.type = n), past('the period type'), past('the period type')],
      ['period unit', (p) => (p.periodType!.unit = n), past('the period unit'), past('the period unit')],
      ['comment', (p) => (p.comment = [1, n]), past('a comment'), past('a comment')],
      ['drop_frames', (p) => (p.dropFrames = n), past('drop_frames'), past('drop_frames')],
      ['keep_frames', (p) => (p.keepFrames = n), past('keep_frames'), past('keep_frames')],
      ['default sample type', (p) => (p.defaultSampleType = n), past('default_sample_type'), past('default_sample_type')],
    ];
    for (const [what, mutate, ref, prod] of cases) {
      const p = good();
      mutate(p);
      const bytes = p.encode();
      const r = reference(bytes);
      assert.ok(r instanceof InvalidProfileError, `${what}: the reference accepted it`);
      assert.match(r.message, ref, what);
      const e = production(bytes);
      assert.ok(e, `${what}: production accepted it`);
      assert.match(e.message, prod, what);
    }
    // The last valid index is fine, for both.
    const p = good();
    p.function[0]!.name = n - 1;
    p.sample[0]!.label[0]!.key = n - 1;
    assert.equal(reference(p.encode()), undefined);
    assert.equal(production(p.encode()), undefined);
  });

  it('a sample whose value count differs from the sample type count', () => {
    const p = good();
    p.sample[0]!.value = [1, 2, 3];
    bothReject(p.encode(), /^invalid pprof: a sample has 3 values for 4 sample types$/, /^invalid pprof: a sample has 3 values for 4 sample types$/);
    const q = good();
    q.sample[1]!.value = [1, 2, 3, 4, 5];
    bothReject(q.encode(), /a sample has 5 values for 4 sample types/, /a sample has 5 values for 4 sample types/);
  });

  it('string_table[0] other than ""', () => {
    const p = good();
    const bytes = withStrings(p.encode(), ['x', ...p.stringTable.strings.slice(1)]);
    assert.equal(Profile.decode(bytes).stringTable.strings[0], 'x');
    bothReject(bytes, /^invalid pprof: string_table\[0\] must be the empty string$/, /^invalid pprof: string_table\[0\] must be the empty string$/);
    // No string table at all: production says it is no profile; pprof-format makes up [''].
    const none = withStrings(p.encode(), []);
    const e = production(none);
    assert.ok(e instanceof InvalidProfileError);
    assert.match(errorOf(() => parseRawProfile(none))!.message, /not a pprof profile/);
  });

  it('ids of 0 (a location, a function, a mapping)', () => {
    const q = good();
    q.location[2]!.id = 0;
    bothReject(q.encode(), /^invalid pprof: a location has id 0$/, /^invalid pprof: a location has id 0$/);
    const r = good();
    r.function[1]!.id = 0;
    bothReject(r.encode(), /^invalid pprof: a function has id 0$/, /^invalid pprof: a function has id 0$/);
    const s = good();
    s.mapping[1]!.id = 0;
    bothReject(s.encode(), /^invalid pprof: a mapping has id 0$/, /^invalid pprof: a mapping has id 0$/);
  });

  it('random single-field breakages of random synthetic profiles: production rejects exactly when the reference does', () => {
    const entry = fc.record({
      stack: fc.array(fc.integer({ min: 0, max: 9 }), { minLength: 1, maxLength: 4 }),
      bytes: fc.option(fc.constantFrom(16, 96), { nil: undefined }),
      tag: fc.option(fc.constantFrom('a', 'b'), { nil: undefined }),
      values: fc.tuple(fc.bigInt({ min: 0n, max: 99n }), fc.bigInt({ min: 0n, max: 99n }), fc.bigInt({ min: 0n, max: 99n }), fc.bigInt({ min: 0n, max: 99n })),
    });
    const arb = fc.record({
      es: fc.array(entry, { minLength: 1, maxLength: 5 }),
      muts: fc.array(fc.record({ which: fc.constantFrom(...Object.keys(mutations)), at: fc.nat(), v: fc.nat({ max: 60 }) }), { minLength: 1, maxLength: 2 }),
    });
    fc.assert(
      fc.property(arb, ({ es, muts }) => {
        const p = Profile.decode(buildHeap(es, { timeNanos: 1n }).encode());
        for (const m of muts) mutations[m.which]!(p, m.at, m.v);
        const bytes = p.encode();
        const r = reference(bytes);
        const e = production(bytes);
        assert.equal(e === undefined, r === undefined, `reference: ${r?.message ?? 'accepted'}; production: ${e?.message ?? 'accepted'}`);
      }),
      { numRuns: 600 },
    );
  });

  it('every recorded fixture is accepted, with the reference\'s sums and sample type indexes', () => {
    const names = readdirSync(FIXTURE_DIR).filter((n) => n.endsWith('.pb.gz'));
    assert.ok(names.length >= 25);
    for (const name of names) {
      const raw = gunzipSync(fixture(name));
      const { profile, index, sums } = parseRawProfile(raw);
      validateRaw(profile);
      assert.deepEqual(sums, sumsBySampleType(Profile.decode(raw)), name);
      assert.deepEqual(rawSums(profile, index), sums);
    }
    for (const [name, types, kind] of [
      ['heap-1.pb.gz', ['alloc_objects', 'alloc_space'], 'heap'],
      ['heap-1.pb.gz', ['inuse_space', 'alloc_objects'], 'heap'],
      ['mutex-2.pb.gz', ['contentions', 'delay'], 'mutex'],
      ['block-2.pb.gz', ['contentions', 'delay'], 'block'],
    ] as const) {
      const raw = gunzipSync(fixture(name));
      assert.deepEqual(rawSampleTypeIndexes(scanProfile(raw), types, kind), sampleTypeIndexes(Profile.decode(raw), types, kind));
    }
    const goroutine = gunzipSync(fixture('goroutine.pb.gz'));
    const ref = errorOf(() => sampleTypeIndexes(Profile.decode(goroutine), ['alloc_objects', 'alloc_space'], 'heap'));
    const prod = errorOf(() => rawSampleTypeIndexes(scanProfile(goroutine), ['alloc_objects', 'alloc_space'], 'heap'));
    assert.ok(prod instanceof InvalidProfileError);
    assert.equal(prod.message, ref?.message);
  });
});

describe('protobuf-level garbage is an InvalidProfileError', () => {
  const valid = good().encode();
  assert.equal(production(valid), undefined);

  // [what, bytes appended somewhere, what the scanner or validator says]
  const garbage: [string, number[], RegExp][] = [
    ['a truncated varint', [0x48, 0x80], /truncated varint/],
    ['a truncated tag', [0x80], /truncated varint/],
    ['a length past the end', [0x12, 0x05, 0x08], /length past the end/],
    ['a length past the end (huge)', [0x12, ...varint(2 ** 40)], /length past the end/],
    ['wire type 3 (start group)', [0x0b], /wire type 3/],
    ['wire type 4 (end group)', [0x0c], /wire type 4/],
    ['wire type 3 on time_nanos', [0x4b], /wire type 3/],
    ['wire types 6 and 7', [0x0e], /wire type 6/],
    ['field number 0', [0x00], /field number 0/],
    ['field number 0 with a length', [0x02, 0x00], /field number 0/],
    ['a varint of 11 bytes (overflows 10)', [0x48, ...new Array(10).fill(0xff), 0x01], /varint longer than 10 bytes/],
    ['a short fixed64 (unknown field 20)', [...tag(20, 1), 1, 2, 3], /truncated fixed64/],
    ['a short fixed32 (unknown field 20)', [...tag(20, 5), 1, 2], /truncated fixed32/],
    // 2^29 + 9 folds into 9 (time_nanos) when the key is shifted as a 32-bit integer.
    ['a field number above 2^29-1 (2^29 + 9, a varint)', [...tag(2 ** 29 + 9, 0), 0x05], /field number 536870921 is above the protobuf maximum 536870911/],
    ['a field number above 2^29-1 (2^29 + 2, length-delimited)', [...tag(2 ** 29 + 2, 2), 0x00], /field number 536870914 is above the protobuf maximum/],
  ];

  for (const [what, bytes, message] of garbage) {
    it(`${what}: at the top level`, () => {
      const e = errorOf(() => scanProfile(concat(valid, bytes)));
      assert.ok(e instanceof InvalidProfileError, `scanProfile: ${e}`);
      assert.match(e.message, message);
      assert.ok(production(concat(valid, bytes)) instanceof InvalidProfileError);
      // Alone, too (and parseRawProfile says it is no profile at all).
      assert.ok(errorOf(() => scanProfile(Uint8Array.from(bytes))) instanceof InvalidProfileError);
      assert.match(errorOf(() => parseRawProfile(Uint8Array.from(bytes)))!.message, /not a pprof profile/);
    });
  }

  it('inside every kind of submessage: the scan passes, validation rejects with the same words', () => {
    // Garbage that stays inside its submessage (no length escapes it).
    const inner: [string, number[], RegExp][] = [
      ['a truncated varint', [0x08, 0x80], /truncated varint/],
      ['wire type 3', [0x0b], /wire type 3/],
      ['wire type 4', [0x0c], /wire type 4/],
      ['field number 0', [0x00], /field number 0/],
      ['an 11-byte varint', [0x08, ...new Array(10).fill(0x80), 0x01], /varint longer than 10 bytes/],
      ['a length past the end of the submessage', [0x22, 0x09, 0x08], /past the end/],
      ['a field number above 2^29-1', [...tag(2 ** 29 + 1, 0), 0x01], /field number 536870913 is above the protobuf maximum/],
    ];
    const wrap = (field: number, body: number[]) => concat(valid, lenField(field, body));
    for (const [what, body, message] of inner) {
      for (const [where, bytes] of [
        ['a sample', wrap(2, body)],
        ['a mapping', wrap(3, body)],
        ['a location', wrap(4, body)],
        ['a function', wrap(5, body)],
        ['a location line', wrap(4, [0x08, 0x63, ...lenField(4, body)])],
        ['a sample label', wrap(2, [...lenField(2, [1, 1, 1, 1]), ...lenField(3, body)])],
      ] as const) {
        const e = production(bytes);
        assert.ok(e instanceof InvalidProfileError, `${what} in ${where}: accepted`);
        assert.match(e.message, message, `${what} in ${where}`);
      }
      // A sample type is read during the scan itself.
      const st = errorOf(() => scanProfile(wrap(1, body)));
      assert.ok(st instanceof InvalidProfileError, `${what} in a sample type`);
      assert.match(st.message, message);
    }
  });

  it('a scalar field with another wire type is refused, not read as a varint (it could hide a sample)', () => {
    // keep_frames (8) written as a length-delimited field whose bytes are a
    // sample: pprof-format reads one number; Go's pprof refuses the profile
    // ("type mismatch"). Reading the length as the value and the bytes as
    // top-level fields would count a sample no other reader sees.
    const hidden = [...lenField(1, [11]), ...lenField(2, [0xe8, 0x07, 1, 1, 1])];
    const smuggled = concat(valid, lenField(8, lenField(2, hidden)));
    assert.equal(Profile.decode(smuggled).sample.length, Profile.decode(valid).sample.length);
    const e = production(smuggled);
    assert.ok(e instanceof InvalidProfileError, 'production accepted a profile with a hidden sample');
    assert.match(e.message, /wire type 2/);
    // Every scalar field of Profile, with every other well-formed wire type.
    for (const field of [7, 8, 9, 10, 12, 14, 15]) {
      for (const [wire, body] of [
        [1, [1, 2, 3, 4, 5, 6, 7, 8]],
        [2, [0x01, 0x00]],
        [5, [1, 2, 3, 4]],
      ] as const) {
        const bytes = concat(valid, tag(field, wire), body);
        const err = errorOf(() => scanProfile(bytes));
        assert.ok(err instanceof InvalidProfileError, `field ${field} with wire type ${wire} was accepted`);
        assert.match(err.message, new RegExp(`wire type ${wire}`), `field ${field}`);
      }
      // The right wire type is fine (the value 0 is a valid string index and time).
      assert.equal(production(concat(valid, tag(field, 0), [0])), undefined, `field ${field} as a varint`);
    }
  });

  it('a mapping field with an unexpected wire type is not misread into a shipped delta', () => {
    // A mapping whose file name (5) is written length-delimited, holding the
    // bytes of a memory_start (2) field. Validation may skip the odd field;
    // the delta written from it must not read its length as a string index
    // and its bytes as more mapping fields.
    const base = buildHeap(entries, { timeNanos: 1_000_000_000n, locIds: [11, 12, 13, 14, 15, 16, 17, 18, 19, 20] }).encode();
    const odd = concat(
      base,
      lenField(3, [...tag(1, 0), 77, ...tag(2, 0), ...varint(0x1000), ...lenField(5, [...tag(2, 0), 0x63])]),
      lenField(4, [...tag(1, 0), ...varint(500), ...tag(2, 0), 77, ...tag(3, 0), ...varint(0xdead000), ...lenField(4, [...tag(1, 0), 1, ...tag(2, 0), 7])]),
      lenField(2, [...lenField(1, varint(500)), ...lenField(2, [5, 80, 0, 0])]),
    );
    const prev = scanProfile(base);
    const first = rawDelta(prev, validateRaw(prev), undefined, [0, 1], 1_000_000_000n);
    const cur = scanProfile(odd);
    const out = rawDelta(cur, validateRaw(cur), first.baseline, [0, 1], 2_000_000_000n);
    assert.equal(out.kind, 'delta');
    if (out.kind !== 'delta') return;
    const p = Profile.decode(out.profile);
    const loc = p.location.find((l) => BigInt(l.address) === 0xdead000n);
    assert.ok(loc, 'the new stack is shipped');
    const m = p.mapping.find((x) => x.id === loc.mappingId);
    assert.ok(m);
    assert.equal(BigInt(m.memoryStart), 0x1000n, 'memory_start as written, not the bytes of the odd field');
    validateProfile(p);
  });

  it('a packed run cut by its own length, not the buffer\'s', () => {
    // location ids [11, <cut varint>] with bytes after the run that would complete it.
    const bytes = concat(valid, lenField(2, [...lenField(1, [11, 0x80]), 0x01, ...lenField(2, [1, 1, 1, 1])]));
    const e = production(bytes);
    assert.ok(e instanceof InvalidProfileError);
    assert.match(e.message, /truncated varint|past the end/);
  });
});

// ---------------------------------------------------------------- fuzzing, bounded

describe('no input makes the codec throw anything but InvalidProfileError, or hang', () => {
  // Every recorded profile but the bench's 1.78 MB big-service heap, whose
  // decode and re-encode per run would make 600 runs take minutes.
  const fixtures = readdirSync(FIXTURE_DIR)
    .filter((n) => n.endsWith('.pb.gz') && fixture(n).length < 1_000_000)
    .sort();
  const raws = new Map(fixtures.map((n) => [n, new Uint8Array(gunzipSync(fixture(n)))]));
  /** Per input: the deadline before the worker is killed and the input reported as a hang. */
  const DEADLINE_MS = 3_000;
  let worker: RawFuzzWorker;

  before(async () => {
    worker = new RawFuzzWorker();
    await worker.ready();
  });
  after(async () => {
    await worker?.close();
  });

  async function check(bytes: Uint8Array, name: string | undefined): Promise<void> {
    const started = performance.now();
    const r = await worker.run(bytes, name, DEADLINE_MS);
    const hex = Buffer.from(bytes.subarray(0, 256)).toString('hex');
    assert.ok(r !== null, `no answer in ${DEADLINE_MS} ms: a hang (${bytes.length} bytes from ${name ?? 'nothing'}, starting ${hex})`);
    if (!r.ok) assert.ok(r.invalid, `${r.stage} threw ${r.error}`);
    assert.ok(performance.now() - started < DEADLINE_MS);
  }

  const interesting = fc.oneof(fc.integer({ min: 0, max: 255 }), fc.constantFrom(0x00, 0x01, 0x7f, 0x80, 0xff, 0x0b, 0x0c, 0x12, 0x22));
  type Edit =
    | { op: 'set'; at: number; v: number }
    | { op: 'cut'; at: number }
    | { op: 'delete'; at: number; n: number }
    | { op: 'insert'; at: number; bytes: Uint8Array }
    | { op: 'dup'; at: number; n: number; to: number }
    | { op: 'splice'; from: string; at: number; n: number; to: number };
  const edit: fc.Arbitrary<Edit> = fc.oneof(
    { weight: 6, arbitrary: fc.record({ op: fc.constant('set' as const), at: fc.nat(), v: interesting }) },
    { weight: 1, arbitrary: fc.record({ op: fc.constant('cut' as const), at: fc.nat() }) },
    { weight: 1, arbitrary: fc.record({ op: fc.constant('delete' as const), at: fc.nat(), n: fc.integer({ min: 1, max: 64 }) }) },
    { weight: 1, arbitrary: fc.record({ op: fc.constant('insert' as const), at: fc.nat(), bytes: fc.uint8Array({ minLength: 1, maxLength: 16 }) }) },
    { weight: 1, arbitrary: fc.record({ op: fc.constant('dup' as const), at: fc.nat(), n: fc.integer({ min: 1, max: 200 }), to: fc.nat() }) },
    {
      weight: 1,
      arbitrary: fc.record({ op: fc.constant('splice' as const), from: fc.constantFrom(...fixtures), at: fc.nat(), n: fc.integer({ min: 1, max: 200 }), to: fc.nat() }),
    },
  );

  function apply(base: Uint8Array, edits: readonly Edit[]): Uint8Array {
    let b = Array.from(base);
    for (const e of edits) {
      const at = b.length === 0 ? 0 : ('at' in e ? e.at : 0) % b.length;
      switch (e.op) {
        case 'set':
          if (b.length) b[at] = e.v;
          break;
        case 'cut':
          b = b.slice(0, at);
          break;
        case 'delete':
          b.splice(at, e.n);
          break;
        case 'insert':
          b.splice(at, 0, ...e.bytes);
          break;
        case 'dup':
          b.splice(e.to % (b.length + 1), 0, ...b.slice(at, at + e.n));
          break;
        case 'splice': {
          const src = raws.get(e.from)!;
          const s = e.at % src.length;
          b.splice(e.to % (b.length + 1), 0, ...src.subarray(s, s + e.n));
          break;
        }
      }
    }
    return Uint8Array.from(b);
  }

  it('mutations of the recorded profiles (gunzipped)', { timeout: 40_000 }, async () => {
    const arb = fc.record({ name: fc.constantFrom(...fixtures), edits: fc.array(edit, { minLength: 1, maxLength: 6 }) });
    await fc.assert(
      fc.asyncProperty(arb, async ({ name, edits }) => check(apply(raws.get(name)!, edits), name)),
      // No shrinking: a hang costs a deadline and a new worker per attempt.
      { numRuns: 1500, endOnFailure: true },
    );
  });

  it('single-field breakages of the recorded profiles (ids, references, string indexes)', { timeout: 20_000 }, async () => {
    const arb = fc.record({
      name: fc.constantFrom(...fixtures),
      muts: fc.array(fc.record({ which: fc.constantFrom(...Object.keys(mutations)), at: fc.nat(), v: fc.oneof(fc.nat({ max: 60 }), fc.nat()) }), {
        minLength: 1,
        maxLength: 3,
      }),
    });
    await fc.assert(
      fc.asyncProperty(arb, async ({ name, muts }) => {
        const p = Profile.decode(raws.get(name)!);
        for (const m of muts) mutations[m.which]!(p, m.at, m.v);
        await check(p.encode(), name);
      }),
      { numRuns: 600, endOnFailure: true },
    );
  });

  it('random bytes, and random protobuf-shaped messages', { timeout: 20_000 }, async () => {
    // Fields 1..16 with every wire type, nested one level; enough to get past the scan.
    const leaf = fc.oneof(
      fc.record({ f: fc.integer({ min: 0, max: 16 }), w: fc.constant(0), v: fc.oneof(fc.nat({ max: 40 }), fc.bigInt({ min: 0n, max: 2n ** 64n - 1n })) }),
      fc.record({ f: fc.integer({ min: 0, max: 16 }), w: fc.constantFrom(1, 3, 4, 5, 6, 7), v: fc.constant(0) }),
      fc.record({ f: fc.integer({ min: 1, max: 16 }), w: fc.constant(2), v: fc.uint8Array({ maxLength: 12 }) }),
    );
    type Field = { f: number; w: number; v: number | bigint | Uint8Array | Field[] };
    const enc = (fields: readonly Field[]): number[] =>
      fields.flatMap((x) => {
        if (x.w === 0) return [...tag(x.f, 0), ...varint(x.v as number | bigint)];
        if (x.w === 2) return lenField(x.f, Array.isArray(x.v) ? enc(x.v) : [...(x.v as Uint8Array)]);
        return [...tag(x.f, x.w), ...(x.w === 1 ? [1, 2, 3, 4, 5, 6, 7, 8] : x.w === 5 ? [1, 2, 3, 4] : [])];
      });
    const sub = fc.record({ f: fc.integer({ min: 1, max: 16 }), w: fc.constant(2), v: fc.array(leaf, { maxLength: 6 }) });
    const message = fc.array(fc.oneof(leaf, sub, sub), { maxLength: 30 }).map((fs) => Uint8Array.from(enc(fs as Field[])));
    await fc.assert(
      fc.asyncProperty(fc.oneof(fc.uint8Array({ maxLength: 2048 }), message), fc.option(fc.constantFrom(...fixtures), { nil: undefined }), check),
      { numRuns: 1500, endOnFailure: true },
    );
  });
});
