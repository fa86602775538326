// The delta of a cumulative profile against a compact baseline: samples
// matched by their identity hash (Go renumbers ids on every request), the
// baseline keeping only per-stack hashes and the totals of the delta types.

import { SampleCursor } from './cursor.js';
import { encodeSubset } from './encode.js';
import { EntryStacks } from './stacks.js';
import { ValueArray, add, isZero, less, sub, type Int } from './int64.js';
import type { ProfileIndex } from './profile-index.js';
import { sampleTypeNames, type RawProfile } from './scan.js';

/** Open addressing over two 32-bit hash lanes; entries are 0..n-1. */
class HashIndex {
  readonly slots: Int32Array;
  readonly mask: number;

  constructor(
    capacityFor: number,
    private readonly keysA: Uint32Array,
    private readonly keysB: Uint32Array,
  ) {
    // Load factor at most ~0.7: few probes, and 4-8 bytes of slots per stack.
    let size = 16;
    while (size * 0.7 < capacityFor) size *= 2;
    this.slots = new Int32Array(size).fill(-1);
    this.mask = size - 1;
  }

  find(a: number, b: number): number {
    let s = (a ^ (b >>> 7)) & this.mask;
    for (;;) {
      const e = this.slots[s]!;
      if (e < 0) return -1;
      if (this.keysA[e] === a && this.keysB[e] === b) return e;
      s = (s + 1) & this.mask;
    }
  }

  /** Inserts entry e (whose key is keysA[e], keysB[e]); the key must be absent. */
  insert(e: number): void {
    let s = (this.keysA[e]! ^ (this.keysB[e]! >>> 7)) & this.mask;
    while (this.slots[s]! >= 0) s = (s + 1) & this.mask;
    this.slots[s] = e;
  }
}

/** What the next delta needs: per-stack hashes and the totals of the delta types. */
export interface RawBaseline {
  readonly timeNanos: bigint;
  readonly n: number;
  /** Delta types per entry. */
  readonly k: number;
  readonly keysA: Uint32Array;
  readonly keysB: Uint32Array;
  readonly index: HashIndex;
  readonly totals: ValueArray;
}

export type RawDeltaOutcome = { readonly scrapedSums: Record<string, number> } & (
  | { readonly kind: 'baseline'; readonly baseline: RawBaseline }
  | { readonly kind: 'reset'; readonly baseline: RawBaseline; readonly reason: string }
  | {
      readonly kind: 'delta';
      readonly baseline: RawBaseline;
      /** The encoded (not gzipped) delta profile. */
      readonly profile: Uint8Array;
      readonly samples: number;
      readonly windowStartNanos: bigint;
      /** Sums per sample type of the delta profile. */
      readonly sums: Record<string, number>;
    }
);

/** Bytes a baseline holds, for memory accounting. */
export function baselineBytes(b: RawBaseline): number {
  return b.keysA.byteLength * 2 + b.index.slots.byteLength + b.totals.nums.byteLength + (b.totals.big?.size ?? 0) * 64;
}

/**
 * The delta of `p` against `previous`. `deltaIdx` are the indexes of the
 * cumulative sample types; the others (heap inuse_*) are kept as scraped.
 */
export function rawDelta(p: RawProfile, index: ProfileIndex, previous: RawBaseline | undefined, deltaIdx: readonly number[], timeNanos: bigint): RawDeltaOutcome {
  const nTypes = p.sampleTypes.length;
  const k = deltaIdx.length;
  // Aggregate samples with the same identity (as pprof's merge would).
  const cap = Math.max(1, p.nSamples);
  const keysA = new Uint32Array(cap);
  const keysB = new Uint32Array(cap);
  const values = new ValueArray(cap * nTypes);
  const table = new HashIndex(cap, keysA, keysB);
  let m = 0;
  const c = new SampleCursor(index);
  // Each entry's stack and labels, for the encoder. A first guess at the
  // frames: half the samples' bytes (an id takes 1-3 bytes, 2 from 128
  // locations on), so a big profile's array seldom grows (a copy, and both
  // arrays live at once).
  const stacks = new EntryStacks(cap, p.nSamples > 0 ? (p.samples[p.nSamples * 2 - 1]! - p.samples[0]!) >> 1 : 0, p.nLocations);
  for (let i = 0; i < p.nSamples; i++) {
    c.read(i);
    let e = table.find(c.hashA, c.hashB);
    if (e < 0) {
      e = m++;
      keysA[e] = c.hashA;
      keysB[e] = c.hashB;
      stacks.add(c);
      table.insert(e);
      for (let t = 0; t < nTypes; t++) values.set(e * nTypes + t, c.values[t]!);
    } else {
      for (let t = 0; t < nTypes; t++) values.set(e * nTypes + t, add(values.get(e * nTypes + t), c.values[t]!));
    }
  }

  // Sums of the profile as scraped (for the derived runtime metrics).
  const names = sampleTypeNames(p);
  const scrapedSums: Record<string, number> = {};
  for (let t = 0; t < nTypes; t++) {
    let total: Int = 0;
    for (let e = 0; e < m; e++) total = add(total, values.get(e * nTypes + t));
    scrapedSums[names[t]!] = Number(total);
  }

  const totals = new ValueArray(m * k);
  for (let e = 0; e < m; e++) for (let j = 0; j < k; j++) totals.set(e * k + j, values.get(e * nTypes + deltaIdx[j]!));
  // Every sample distinct (the rule in a Go heap): the table built above is the baseline's.
  let baseline: RawBaseline;
  if (m === cap) baseline = { timeNanos, n: m, k, keysA, keysB, index: table, totals };
  else {
    const compactA = keysA.slice(0, m);
    const compactB = keysB.slice(0, m);
    const baselineIndex = new HashIndex(m, compactA, compactB);
    for (let e = 0; e < m; e++) baselineIndex.insert(e);
    baseline = { timeNanos, n: m, k, keysA: compactA, keysB: compactB, index: baselineIndex, totals };
  }

  if (!previous) return { kind: 'baseline', baseline, scrapedSums };
  if (timeNanos <= previous.timeNanos) {
    return { kind: 'reset', baseline, scrapedSums, reason: `profile time went backwards or stood still (${previous.timeNanos} -> ${timeNanos})` };
  }
  if (previous.k !== k) return { kind: 'reset', baseline, scrapedSums, reason: 'the sample types changed' };
  // A restart: any per-stack total went down (a stack seen before and now
  // missing counts as zero: Go never forgets a stack within one process).
  // Each entry's previous one is noted on the way (-1: new stack).
  const prevOf = new Int32Array(m).fill(-1);
  for (let pe = 0; pe < previous.n; pe++) {
    const e = baseline.index.find(previous.keysA[pe]!, previous.keysB[pe]!);
    if (e >= 0) prevOf[e] = pe;
    for (let j = 0; j < k; j++) {
      const before = previous.totals.get(pe * k + j);
      const now = e < 0 ? 0 : totals.get(e * k + j);
      if (less(now, before)) {
        return {
          kind: 'reset',
          baseline,
          scrapedSums,
          reason: e < 0 ? 'a stack seen before is gone (target restarted?)' : 'a cumulative value went down (target restarted?)',
        };
      }
    }
  }

  // The delta samples: current minus previous on delta types, the rest as is;
  // samples with nothing left are dropped.
  const isDelta = new Int32Array(nTypes).fill(-1);
  deltaIdx.forEach((t, j) => (isDelta[t] = j));
  const kept: number[] = [];
  const out = new ValueArray(m * nTypes);
  const sums: Int[] = new Array(nTypes).fill(0);
  for (let e = 0; e < m; e++) {
    const pe = prevOf[e]!;
    let nonZero = false;
    for (let t = 0; t < nTypes; t++) {
      let v = values.get(e * nTypes + t);
      const j = isDelta[t]!;
      if (j >= 0 && pe >= 0) v = sub(v, previous.totals.get(pe * k + j));
      out.set(e * nTypes + t, v);
      if (!isZero(v)) nonZero = true;
    }
    if (nonZero) {
      kept.push(e);
      for (let t = 0; t < nTypes; t++) sums[t] = add(sums[t]!, out.get(e * nTypes + t));
    }
  }
  const profile = encodeSubset(index, stacks, kept, (e, t) => out.get(e * nTypes + t), timeNanos, timeNanos - previous.timeNanos);
  const sumsByName: Record<string, number> = {};
  names.forEach((n, t) => (sumsByName[n] = Number(sums[t])));
  return { kind: 'delta', baseline, profile, samples: kept.length, windowStartNanos: previous.timeNanos, sums: sumsByName, scrapedSums };
}
