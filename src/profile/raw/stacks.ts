// The stack and labels of each distinct sample of a delta, kept as the first
// pass reads them, so the encoder never parses a sample a second time.

import type { SampleCursor } from './cursor.js';
import type { Int } from './int64.js';

/**
 * Per entry (a distinct sample, numbered in the order first seen): its
 * location indexes, flat, in [locStart[e], locStart[e+1]); its labels, flat,
 * in [labStart[e], labStart[e+1]); and where its location ids can be copied
 * from (verbStart[e] -1: they are to be encoded). `used` marks the
 * locations of all entries, for an encoder that keeps them all.
 */
export class EntryStacks {
  locs: Int32Array;
  nFlat = 0;
  readonly locStart: Int32Array;
  readonly verbStart: Int32Array;
  readonly verbEnd: Int32Array;
  readonly labKey: number[] = [];
  readonly labStr: number[] = [];
  readonly labNum: Int[] = [];
  readonly labUnit: number[] = [];
  readonly labStart: Int32Array;
  n = 0;
  readonly used: Uint8Array;

  constructor(capacity: number, framesHint: number, nLocations: number) {
    this.used = new Uint8Array(nLocations);
    this.locs = new Int32Array(Math.max(64, framesHint));
    this.locStart = new Int32Array(capacity + 1);
    this.labStart = new Int32Array(capacity + 1);
    this.verbStart = new Int32Array(capacity);
    this.verbEnd = new Int32Array(capacity);
  }

  /** Adds the sample the cursor has just read as the next entry. */
  add(c: SampleCursor): void {
    const e = this.n++;
    const nl = c.nLocs;
    let flat = this.locs;
    let n = this.nFlat;
    if (n + nl > flat.length) {
      const next = new Int32Array(Math.max(flat.length * 2, n + nl));
      next.set(flat.subarray(0, n));
      this.locs = flat = next;
    }
    const locs = c.locs;
    const used = this.used;
    for (let j = 0; j < nl; j++) {
      const li = locs[j]!;
      flat[n++] = li;
      used[li] = 1;
    }
    this.nFlat = n;
    this.locStart[e + 1] = n;
    this.verbStart[e] = c.locBytesStart;
    this.verbEnd[e] = c.locBytesEnd;
    for (let j = 0; j < c.nLabels; j++) {
      this.labKey.push(c.labelKey[j]!);
      this.labStr.push(c.labelStr[j]!);
      this.labNum.push(c.labelNum[j]!);
      this.labUnit.push(c.labelUnit[j]!);
    }
    this.labStart[e + 1] = this.labKey.length;
  }
}
