// The protobuf wire layer of the production codec (src/core/pb.ts):
// varints across the whole int64 range, against an independent bigint
// encoder written here; the reader's fast paths (1-2 byte varints) against
// its slow paths; sizes against the bytes actually written; and the errors a
// malformed buffer gets.

import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import fc from 'fast-check';
import { InvalidProfileError } from '../../src/profile/errors.js';
import { int64Size, PbReader, PbWriter, uintSize, WIRE_FIXED32, WIRE_FIXED64, WIRE_LEN, WIRE_VARINT } from '../../src/core/pb.js';

fc.configureGlobal({ includeErrorInReport: true });

const MIN64 = -(2n ** 63n);
const MAX64 = 2n ** 63n - 1n;
const SAFE = BigInt(Number.MAX_SAFE_INTEGER);

/** Protobuf's varint of an int64 (two's complement as uint64), written the obvious way. */
function refVarint(v: bigint): number[] {
  let x = BigInt.asUintN(64, v);
  const out: number[] = [];
  do {
    let b = Number(x & 0x7fn);
    x >>= 7n;
    if (x !== 0n) b |= 0x80;
    out.push(b);
  } while (x !== 0n);
  return out;
}

/** What PbReader.int64 promises: a number when safe, a bigint otherwise. */
function asReturned(v: bigint): number | bigint {
  return v >= -SAFE && v <= SAFE ? Number(v) : v;
}

function written(f: (w: PbWriter) => void, initial?: number): number[] {
  const w = new PbWriter(initial);
  f(w);
  return [...w.finish()];
}

function rejects(f: () => unknown, message: RegExp): void {
  assert.throws(f, (err: unknown) => {
    assert.ok(err instanceof InvalidProfileError, `expected InvalidProfileError, got ${String(err)}`);
    assert.match((err as Error).message, message);
    return true;
  });
}

/** Every int64, with the edges and the varint length boundaries weighted in. */
const int64Arb = fc.oneof(
  fc.bigInt({ min: MIN64, max: MAX64 }),
  fc.bigInt({ min: -1000n, max: 1000n }),
  fc.integer({ min: 0, max: 62 }).chain((k) => fc.constantFrom(2n ** BigInt(k) - 1n, 2n ** BigInt(k), 2n ** BigInt(k) + 1n, -(2n ** BigInt(k)))),
  fc.constantFrom(0n, -1n, MIN64, MAX64, SAFE, SAFE + 1n, -SAFE, -SAFE - 1n, 2n ** 49n - 1n, 2n ** 49n, 2n ** 31n - 1n, 2n ** 31n, 2n ** 32n),
);
/** Every value PbWriter.uint / PbReader.uint deal in: non-negative safe integers. */
const uintArb = fc.oneof(
  fc.maxSafeNat(),
  fc.nat({ max: 0x3fff }),
  fc.integer({ min: 0, max: 52 }).chain((k) => fc.constantFrom(2 ** k - 1, 2 ** k, 2 ** k + 1).filter((x) => x <= Number.MAX_SAFE_INTEGER)),
);

describe('PbWriter / PbReader varints', () => {
  it('int64: every value round-trips exactly, bytes equal protobuf\'s, int64Size equals the bytes written', () => {
    fc.assert(
      fc.property(int64Arb, fc.boolean(), (v, asNumber) => {
        const arg = asNumber ? asReturned(v) : v;
        const bytes = written((w) => w.int64(arg), 1);
        assert.deepEqual(bytes, refVarint(v));
        assert.equal(int64Size(arg), bytes.length);
        assert.equal(int64Size(v), bytes.length);
        if (v < 0n) {
          assert.equal(bytes.length, 10, 'a negative int64 is a 10-byte varint');
          assert.equal(bytes[9], 1);
        }
        const r = new PbReader(Uint8Array.from(bytes));
        const back = r.int64();
        assert.equal(typeof back, v >= -SAFE && v <= SAFE ? 'number' : 'bigint');
        assert.equal(BigInt(back), v);
        assert.equal(r.pos, bytes.length);
        assert.ok(r.done);
      }),
      { numRuns: 2000 },
    );
  });

  it('uint: every safe non-negative integer round-trips; uintSize equals the bytes written; fast and slow paths agree', () => {
    fc.assert(
      fc.property(uintArb, fc.nat({ max: 3 }), (v, trailing) => {
        const bytes = written((w) => w.uint(v), 1);
        assert.deepEqual(bytes, refVarint(BigInt(v)));
        assert.equal(uintSize(v), bytes.length);
        assert.equal(int64Size(v), bytes.length);
        // Through int64 (the generic loop) the same bytes give the same value.
        assert.deepEqual(written((w) => w.int64(v)), bytes);
        assert.deepEqual(written((w) => w.int64(BigInt(v))), bytes);
        // Followed by 0..3 more bytes (fast path) or last in the buffer (slow path for 1 byte).
        const buf = Uint8Array.from([...bytes, ...new Array(trailing).fill(0x7f)]);
        for (const read of [(r: PbReader) => r.uint(), (r: PbReader) => r.int64()]) {
          const r = new PbReader(buf);
          assert.equal(read(r), v);
          assert.equal(r.pos, bytes.length);
        }
        // Reading at an offset inside a larger buffer, with `end` right after the varint.
        const padded = Uint8Array.from([0xff, 0xff, ...bytes, 0x01]);
        const r = new PbReader(padded, 2, 2 + bytes.length);
        assert.equal(r.uint(), v);
        assert.ok(r.done);
      }),
      { numRuns: 2000 },
    );
  });

  it('non-minimal encodings (padded with 0x80 bytes, up to 10) read the same in uint and int64', () => {
    fc.assert(
      fc.property(fc.nat({ max: 0x3fff }), fc.integer({ min: 0, max: 8 }), (v, pad) => {
        const minimal = refVarint(BigInt(v));
        if (minimal.length + pad > 10) return;
        // The continuation bit on the last byte, then zero-valued groups ending in 0x00.
        const bytes = pad === 0 ? minimal : [...minimal.slice(0, -1), minimal.at(-1)! | 0x80, ...new Array(pad - 1).fill(0x80), 0x00];
        assert.equal(bytes.length, minimal.length + pad);
        const buf = Uint8Array.from(bytes);
        const a = new PbReader(buf);
        const b = new PbReader(buf);
        assert.equal(a.uint(), v);
        assert.equal(b.int64(), v);
        assert.equal(a.pos, buf.length);
        assert.equal(b.pos, buf.length);
      }),
      { numRuns: 500 },
    );
  });

  it('the one- and two-byte fast path and the general loop agree on every 1-3 byte input', () => {
    // All one- and two-byte varints exhaustively, with and without a byte after them.
    for (let v = 0; v < 0x4000; v++) {
      const bytes = refVarint(BigInt(v));
      for (const tail of [[], [0x00], [0x81, 0x01]]) {
        const buf = Uint8Array.from([...bytes, ...tail]);
        const fast = new PbReader(buf);
        const slow = new PbReader(buf);
        assert.equal(fast.uint(), v);
        assert.equal(slow.int64(), v);
        assert.equal(fast.pos, slow.pos);
      }
    }
    // Boundaries of the writer's bit-operation path (below 2^31) and division path.
    for (const v of [0x7f, 0x80, 0x3fff, 0x4000, 2 ** 31 - 1, 2 ** 31, 2 ** 32 - 1, 2 ** 32, 2 ** 49 - 1, 2 ** 49, Number.MAX_SAFE_INTEGER]) {
      const bytes = written((w) => w.uint(v));
      assert.deepEqual(bytes, refVarint(BigInt(v)), String(v));
      assert.equal(uintSize(v), bytes.length, String(v));
      assert.equal(new PbReader(Uint8Array.from(bytes)).uint(), v);
    }
  });

  it('many values in one buffer: the writer grows from one byte and the reader walks them all', () => {
    fc.assert(
      fc.property(fc.array(int64Arb, { maxLength: 300 }), (vs) => {
        const w = new PbWriter(1);
        for (const v of vs) w.int64(v);
        const buf = w.finish();
        assert.equal(buf.length, vs.reduce((a, v) => a + int64Size(v), 0));
        const r = new PbReader(buf);
        for (const v of vs) assert.equal(BigInt(r.int64()), v);
        assert.ok(r.done);
        // Packed: enterPacked narrows the reader to the run and gives back the outer end.
        const outer = new PbWriter(1);
        outer.lenBytes(2, buf, 0, buf.length);
        outer.tag(3, WIRE_VARINT);
        outer.uint(7);
        const o = outer.finish();
        const into: Array<number | bigint> = [];
        const ro = new PbReader(o);
        assert.equal(ro.tag(), (2 << 3) | WIRE_LEN);
        const end = ro.enterPacked();
        while (!ro.done) into.push(ro.int64());
        assert.deepEqual(into.map((x) => BigInt(x)), vs);
        ro.end = end;
        assert.equal(ro.tag(), (3 << 3) | WIRE_VARINT, 'the field after the run');
        assert.equal(ro.uint(), 7);
        assert.ok(ro.done);
      }),
      { numRuns: 200 },
    );
  });

  it('uint refuses what cannot be an id or a length: negatives and values past 2^53', () => {
    rejects(() => new PbReader(Uint8Array.from(refVarint(-1n))).uint(), /out of range/);
    rejects(() => new PbReader(Uint8Array.from(refVarint(SAFE + 1n))).uint(), /out of range/);
    rejects(() => new PbReader(Uint8Array.from(refVarint(MAX64))).uint(), /out of range/);
    assert.equal(new PbReader(Uint8Array.from(refVarint(SAFE))).uint(), Number.MAX_SAFE_INTEGER);
    assert.equal(new PbReader(Uint8Array.from(refVarint(2n ** 49n))).uint(), 2 ** 49);
  });
});

describe('PbReader on malformed bytes', () => {
  it('a truncated varint, at any cut, is an InvalidProfileError', () => {
    fc.assert(
      fc.property(int64Arb, (v) => {
        const bytes = refVarint(v);
        for (let cut = 0; cut < bytes.length; cut++) {
          const buf = Uint8Array.from(bytes.slice(0, cut));
          rejects(() => new PbReader(buf).int64(), /truncated varint/);
          if (cut > 0) rejects(() => new PbReader(buf).uint(), /truncated varint/);
          // The reader's end, not the buffer's, is what counts (the bytes past it would complete the varint).
          rejects(() => new PbReader(Uint8Array.from(bytes), 0, cut).int64(), /truncated varint/);
          rejects(() => new PbReader(Uint8Array.from(bytes), 0, cut).uint(), /truncated varint/);
        }
      }),
      { numRuns: 300 },
    );
  });

  it('a varint longer than 10 bytes is an InvalidProfileError', () => {
    const eleven = Uint8Array.from([...new Array(10).fill(0xff), 0x01]);
    rejects(() => new PbReader(eleven).int64(), /varint longer than 10 bytes/);
    rejects(() => new PbReader(eleven).uint(), /varint longer than 10 bytes/);
    rejects(() => new PbReader(Uint8Array.from(new Array(12).fill(0x80))).int64(), /varint longer than 10 bytes/);
  });

  it('a tenth byte with more than the 64th bit is read modulo 2^64, as Go\'s pprof parser does', () => {
    // google/pprof's decodeVarint keeps the low 64 bits; so does pprof-format
    // once the value is normalised. Not an error, but exact and bounded.
    const bytes = Uint8Array.from([...new Array(9).fill(0x80), 0x7f]);
    assert.equal(new PbReader(bytes).int64(), MIN64);
  });

  it('field number 0, wire types 3, 4, 6, 7, lengths past the end, short fixed fields', () => {
    rejects(() => new PbReader(Uint8Array.from([0x00])).tag(), /field number 0/);
    rejects(() => new PbReader(Uint8Array.from([0x02, 0x00])).tag(), /field number 0/);
    rejects(() => new PbReader(Uint8Array.from([0x07])).tag(), /field number 0/);
    assert.equal(new PbReader(Uint8Array.from([0x08])).tag(), 8);
    for (const wire of [3, 4, 6, 7]) rejects(() => new PbReader(Uint8Array.from([0x01, 0x02])).skip(wire), new RegExp(`wire type ${wire}`));
    rejects(() => new PbReader(Uint8Array.from([0x05, 0x01, 0x02])).lenRange(), /length past the end/);
    rejects(() => new PbReader(Uint8Array.from([0x05, 0x01, 0x02, 0x03, 0x04, 0x05]), 0, 3).lenRange(), /length past the end/);
    rejects(() => new PbReader(Uint8Array.from([1, 2, 3, 4, 5, 6, 7])).skip(WIRE_FIXED64), /truncated fixed64/);
    rejects(() => new PbReader(Uint8Array.from([1, 2, 3])).skip(WIRE_FIXED32), /truncated fixed32/);
    rejects(() => new PbReader(Uint8Array.from([0x03, 0x01, 0x02])).enterPacked(), /length past the end/);
    rejects(() => new PbReader(Uint8Array.from([0x03, 0x01, 0x02])).repeatedUint(WIRE_LEN, () => undefined), /length past the end/);
    rejects(() => new PbReader(Uint8Array.from([0x02, 0x01, 0x80])).repeatedUint(WIRE_LEN, () => undefined), /truncated varint/);
    rejects(() => new PbReader(Uint8Array.from([0x01])).repeatedUint(WIRE_FIXED32, () => undefined), /wire type 5 for a repeated integer/);
    rejects(() => new PbReader(Uint8Array.from([0x01])).repeatedUint(WIRE_FIXED64, () => undefined), /wire type 1 for a repeated integer/);
    // A packed run whose last varint is cut by the run's length, not the buffer's.
    rejects(() => {
      const r = new PbReader(Uint8Array.from([0x02, 0x01, 0x80, 0x01]));
      r.enterPacked();
      while (!r.done) r.int64();
    }, /truncated varint/);
  });

  it('field numbers above 2^29-1 (the protobuf maximum) are refused, not folded into a small field', () => {
    const key = (field: number, wire: number) => Uint8Array.from(refVarint(BigInt(field) * 8n + BigInt(wire)));
    // The largest field number is a key like any other.
    assert.equal(new PbReader(key(2 ** 29 - 1, WIRE_FIXED32)).tag(), (2 ** 29 - 1) * 8 + WIRE_FIXED32);
    // 2^29 + 9: its key is 2^32 + 72; a 32-bit shift would read field 9 (time_nanos).
    rejects(() => new PbReader(key(2 ** 29 + 9, WIRE_VARINT)).tag(), /field number 536870921 is above the protobuf maximum 536870911/);
    for (const field of [2 ** 29, 2 ** 30 + 1, 2 ** 32 + 2, 2 ** 40, 2 ** 50 - 1]) {
      for (const wire of [WIRE_VARINT, WIRE_LEN]) {
        rejects(() => new PbReader(key(field, wire)).tag(), new RegExp(`field number ${field} is above the protobuf maximum`));
      }
    }
    // A key past 2^53 is refused too (it cannot even be a safe integer).
    rejects(() => new PbReader(Uint8Array.from(refVarint(2n ** 60n))).tag(), /field number|out of range/);
  });

  it('skip moves exactly past each well-formed wire type', () => {
    const w = new PbWriter(1);
    w.tag(1, WIRE_VARINT);
    w.int64(-7n);
    w.tag(2, WIRE_FIXED64);
    w.bytes(Uint8Array.from([1, 2, 3, 4, 5, 6, 7, 8]));
    w.tag(3, WIRE_LEN);
    w.uint(3);
    w.bytes(Uint8Array.from([9, 9, 9]));
    w.tag(4, WIRE_FIXED32);
    w.bytes(Uint8Array.from([1, 2, 3, 4]));
    w.tag(5, WIRE_VARINT);
    w.uint(42);
    const r = new PbReader(w.finish());
    const seen: number[] = [];
    while (!r.done) {
      const t = r.tag();
      seen.push(t >>> 3);
      if (t >>> 3 === 5) assert.equal(r.uint(), 42);
      else r.skip(t & 7);
    }
    assert.deepEqual(seen, [1, 2, 3, 4, 5]);
  });
});

describe('PbWriter fields', () => {
  it('varintField omits zero (number or bigint) and writes the rest with their tag', () => {
    assert.deepEqual(written((w) => w.varintField(3, 0)), []);
    assert.deepEqual(written((w) => w.varintField(3, 0n)), []);
    assert.deepEqual(written((w) => w.varintField(3, 1)), [0x18, 0x01]);
    assert.deepEqual(written((w) => w.varintField(3, -1n)), [0x18, ...refVarint(-1n)]);
    assert.deepEqual(written((w) => w.varintField(15, 300)), [0x78, 0xac, 0x02]);
  });

  it('message and lenBytes write tag, length and the bytes; reset reuses a writer', () => {
    fc.assert(
      fc.property(fc.uint8Array({ maxLength: 400 }), fc.integer({ min: 1, max: 15 }), (data, field) => {
        const sub = new PbWriter(1);
        sub.bytes(data);
        const a = written((w) => w.message(field, sub), 1);
        const b = written((w) => w.lenBytes(field, Uint8Array.from([7, ...data, 7]), 1, 1 + data.length), 1);
        const want = [...refVarint(BigInt(field * 8 + WIRE_LEN)), ...refVarint(BigInt(data.length)), ...data];
        assert.deepEqual(a, want);
        assert.deepEqual(b, want);
        const r = new PbReader(Uint8Array.from(a));
        assert.equal(r.tag(), field * 8 + WIRE_LEN);
        const start = r.lenRange();
        assert.deepEqual([...Uint8Array.from(a).subarray(start, r.pos)], [...data]);
        sub.reset();
        assert.equal(sub.finish().length, 0);
      }),
      { numRuns: 200 },
    );
  });
});
