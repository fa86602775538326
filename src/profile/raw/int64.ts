// int64 values as pprof carries them: a number while it is a safe integer,
// a bigint past that, and the arithmetic the delta needs on both.

/** An int64 from the wire: a number when safe, else a bigint. */
export type Int = number | bigint;

export function add(a: Int, b: Int): Int {
  if (typeof a === 'number' && typeof b === 'number') {
    const s = a + b;
    if (Number.isSafeInteger(s)) return s;
  }
  return norm(BigInt.asIntN(64, BigInt(a) + BigInt(b)));
}

export function sub(a: Int, b: Int): Int {
  if (typeof a === 'number' && typeof b === 'number') {
    const s = a - b;
    if (Number.isSafeInteger(s)) return s;
  }
  return norm(BigInt(a) - BigInt(b));
}

export function less(a: Int, b: Int): boolean {
  return typeof a === 'number' && typeof b === 'number' ? a < b : BigInt(a) < BigInt(b);
}

function norm(v: bigint): Int {
  return v >= BigInt(Number.MIN_SAFE_INTEGER) && v <= BigInt(Number.MAX_SAFE_INTEGER) ? Number(v) : v;
}

export function isZero(v: Int): boolean {
  return v === 0 || v === 0n;
}

/** Values in a Float64Array; the rare one that is not a safe integer lives in a side map. */
export class ValueArray {
  readonly nums: Float64Array;
  big: Map<number, bigint> | null = null;

  constructor(size: number) {
    this.nums = new Float64Array(size);
  }

  get(i: number): Int {
    const v = this.nums[i]!;
    return Number.isNaN(v) ? this.big!.get(i)! : v;
  }

  set(i: number, v: Int): void {
    if (typeof v === 'number') this.nums[i] = v;
    else {
      this.nums[i] = NaN;
      (this.big ??= new Map()).set(i, v);
    }
  }
}
