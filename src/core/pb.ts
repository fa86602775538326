// Protobuf wire format, just what pprof needs, on raw bytes: a reader that
// walks fields without building objects, and a growable writer. Used by the
// fast delta path (src/profile/raw/), where decoding every sample into
// objects would cost several times the gunzip + gzip floor.

import { InvalidProfileError } from '../profile/errors.js';

export const WIRE_VARINT = 0;
export const WIRE_FIXED64 = 1;
export const WIRE_LEN = 2;
export const WIRE_FIXED32 = 5;

/** The largest field number protobuf allows (2^29 - 1). */
export const MAX_FIELD_NUMBER = 2 ** 29 - 1;
/** The largest key: that field number with wire type 7 (2^32 - 1). */
const MAX_KEY = MAX_FIELD_NUMBER * 8 + 7;

export class PbReader {
  pos: number;
  end: number;

  constructor(
    readonly buf: Uint8Array,
    start = 0,
    end = buf.length,
  ) {
    this.pos = start;
    this.end = end;
  }

  /** Points the reader at another range of the same buffer (no allocation). */
  at(start: number, end: number): this {
    this.pos = start;
    this.end = end;
    return this;
  }

  get done(): boolean {
    return this.pos >= this.end;
  }

  private fail(what: string): never {
    throw new InvalidProfileError(`invalid pprof: ${what} at byte ${this.pos}`);
  }

  /** A varint that must fit a safe integer (ids, indices, lengths, tags). */
  uint(): number {
    const b = this.buf;
    let p = this.pos;
    // Fast path: one or two bytes (tags, ids, small indexes).
    if (p + 1 < this.end) {
      const c0 = b[p]!;
      if (c0 < 0x80) {
        this.pos = p + 1;
        return c0;
      }
      const c1 = b[p + 1]!;
      if (c1 < 0x80) {
        this.pos = p + 2;
        return (c0 & 0x7f) | (c1 << 7);
      }
    }
    // Longer: read as an int64 (exact at any size); an id or length is never
    // negative or past a safe integer.
    const v = this.int64();
    if (typeof v === 'bigint' || v < 0) this.fail('an id or length out of range');
    return v;
  }

  /**
   * An int64 value, exactly: a number when it is a safe integer (nearly
   * always), a bigint otherwise. Negative values (10-byte varints) come back
   * negative.
   */
  int64(): number | bigint {
    const b = this.buf;
    let p = this.pos;
    // Fast path: up to 7 bytes is below 2^49.
    let x = 0;
    let mul = 1;
    for (let i = 0; i < 7; i++) {
      if (p >= this.end) this.fail('truncated varint');
      const c = b[p++]!;
      x += (c & 0x7f) * mul;
      if (c < 0x80) {
        this.pos = p;
        return x;
      }
      mul *= 128;
    }
    let big = BigInt(x);
    let shift = 49n;
    for (let i = 7; i < 10; i++) {
      if (p >= this.end) this.fail('truncated varint');
      const c = b[p++]!;
      big |= BigInt(c & 0x7f) << shift;
      if (c < 0x80) {
        this.pos = p;
        const v = BigInt.asIntN(64, big);
        return v >= BigInt(Number.MIN_SAFE_INTEGER) && v <= BigInt(Number.MAX_SAFE_INTEGER) ? Number(v) : v;
      }
      shift += 7n;
    }
    return this.fail('varint longer than 10 bytes');
  }

  /**
   * A field key (field number << 3 | wire type). Field 0 and field numbers
   * above the protobuf maximum are invalid: callers take `key >>> 3`, which
   * would fold a larger number into a small one (2^29 + 9 into time_nanos).
   */
  tag(): number {
    const t = this.uint();
    // One comparison for the common case; the rare ones are told apart after.
    if (t < 8 || t > MAX_KEY) {
      if (t < 8) this.fail('field number 0');
      this.fail(`field number ${Math.floor(t / 8)} is above the protobuf maximum ${MAX_FIELD_NUMBER}`);
    }
    return t;
  }

  /** Start and end of a length-delimited field's bytes; the reader moves past it. */
  lenRange(): number {
    const n = this.uint();
    const start = this.pos;
    if (start + n > this.end) this.fail('length past the end of the message');
    this.pos = start + n;
    return start;
  }

  skip(wire: number): void {
    switch (wire) {
      case WIRE_VARINT:
        this.int64();
        return;
      case WIRE_FIXED64:
        if (this.pos + 8 > this.end) this.fail('truncated fixed64');
        this.pos += 8;
        return;
      case WIRE_LEN:
        this.lenRange();
        return;
      case WIRE_FIXED32:
        if (this.pos + 4 > this.end) this.fail('truncated fixed32');
        this.pos += 4;
        return;
      default:
        this.fail(`wire type ${wire}`);
    }
  }

  /**
   * Enters a packed run (a length-delimited field of varints): the reader's
   * end becomes the run's end, so `done` and the varint reads stop there.
   * Returns the outer end, to restore (`reader.end = outer`) after the run.
   */
  enterPacked(): number {
    const n = this.uint();
    const limit = this.pos + n;
    if (limit > this.end) this.fail('length past the end of the message');
    const outer = this.end;
    this.end = limit;
    return outer;
  }

  /** Repeated uint64 (packed or one element), each value passed to `each`. */
  repeatedUint(wire: number, each: (v: number) => void): void {
    if (wire === WIRE_LEN) {
      const outer = this.enterPacked();
      while (!this.done) each(this.uint());
      this.end = outer;
    } else if (wire === WIRE_VARINT) each(this.uint());
    else this.fail(`wire type ${wire} for a repeated integer`);
  }
}

/** Bytes a non-negative safe integer takes as a varint. */
export function uintSize(v: number): number {
  if (v < 0x80) return 1;
  if (v < 0x4000) return 2;
  if (v < 0x200000) return 3;
  let n = 1;
  let x = v;
  while (x >= 0x80) {
    x = Math.floor(x / 128);
    n++;
  }
  return n;
}

/** Bytes an int64 takes as a varint (negative: 10). */
export function int64Size(v: number | bigint): number {
  if (typeof v === 'number') return v >= 0 ? uintSize(v) : 10;
  if (v < 0n) return 10;
  let n = 1;
  let x = v;
  while (x >= 0x80n) {
    x >>= 7n;
    n++;
  }
  return n;
}

/** A growable output buffer. */
export class PbWriter {
  buf: Uint8Array;
  pos = 0;

  constructor(initial = 64 * 1024) {
    this.buf = new Uint8Array(initial);
  }

  private ensure(n: number): void {
    if (this.pos + n <= this.buf.length) return;
    let size = this.buf.length * 2;
    while (size < this.pos + n) size *= 2;
    const next = new Uint8Array(size);
    next.set(this.buf.subarray(0, this.pos));
    this.buf = next;
  }

  reset(): void {
    this.pos = 0;
  }

  /** Non-negative safe integer. */
  uint(v: number): void {
    if (this.pos + 10 > this.buf.length) this.ensure(10);
    const b = this.buf;
    let x = v;
    let p = this.pos;
    if (x < 0x80000000) {
      while (x > 0x7f) {
        b[p++] = (x & 0x7f) | 0x80;
        x >>>= 7;
      }
    } else {
      while (x >= 0x80) {
        b[p++] = (x % 128) | 0x80;
        x = Math.floor(x / 128);
      }
    }
    b[p++] = x;
    this.pos = p;
  }

  /** Any int64 (negative values take 10 bytes, as protobuf writes them). */
  int64(v: number | bigint): void {
    if (typeof v === 'number' && v >= 0) return this.uint(v);
    this.ensure(10);
    let x = BigInt.asUintN(64, BigInt(v));
    const b = this.buf;
    while (x >= 0x80n) {
      b[this.pos++] = Number(x & 0x7fn) | 0x80;
      x >>= 7n;
    }
    b[this.pos++] = Number(x);
  }

  tag(field: number, wire: number): void {
    this.uint(field * 8 + wire);
  }

  bytes(data: Uint8Array): void {
    this.ensure(data.length);
    this.buf.set(data, this.pos);
    this.pos += data.length;
  }

  /** field, length, then the bytes of another writer (a submessage). */
  message(field: number, sub: PbWriter): void {
    this.tag(field, WIRE_LEN);
    this.uint(sub.pos);
    this.ensure(sub.pos);
    this.buf.set(sub.buf.subarray(0, sub.pos), this.pos);
    this.pos += sub.pos;
  }

  /** field, length, and a raw byte range copied from a source buffer. */
  lenBytes(field: number, src: Uint8Array, start: number, end: number): void {
    this.tag(field, WIRE_LEN);
    this.uint(end - start);
    this.ensure(end - start);
    this.buf.set(src.subarray(start, end), this.pos);
    this.pos += end - start;
  }

  varintField(field: number, v: number | bigint): void {
    if (v === 0 || v === 0n) return; // proto3 default: omitted
    this.tag(field, WIRE_VARINT);
    this.int64(v);
  }

  finish(): Uint8Array {
    return this.buf.subarray(0, this.pos);
  }
}

