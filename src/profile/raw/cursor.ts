// Reads one sample at a time into reusable arrays, validates it, and hashes
// what it is (its stack and labels): the hot loop of every delta.

import { PbReader, WIRE_LEN, WIRE_VARINT } from '../../core/pb.js';
import { SEED_A, SEED_B, fmix, hi32, lo32, mix } from './hash.js';
import type { Int } from './int64.js';
import { indexHashStr, type ProfileIndex } from './profile-index.js';
import { invalid } from './scan.js';

/** One sample, parsed into reusable scratch arrays (lengths in the n* fields). */
export class SampleCursor {
  /** Location indexes (not ids), leaf first. */
  locs = new Int32Array(64);
  nLocs = 0;
  readonly values: Int[] = [];
  nValues = 0;
  /** Labels: key, str and unit string indexes and num, in the order written. */
  readonly labelKey: number[] = [];
  readonly labelStr: number[] = [];
  readonly labelNum: Int[] = [];
  readonly labelUnit: number[] = [];
  nLabels = 0;
  hashA = 0;
  hashB = 0;
  private readonly r: PbReader;
  private readonly lr: PbReader;
  private readonly hashStr: (i: number) => number;

  constructor(readonly index: ProfileIndex) {
    this.r = new PbReader(index.p.buf);
    this.lr = new PbReader(index.p.buf);
    this.hashStr = indexHashStr.get(index)!;
  }

  private pushLoc(id: number): void {
    const li = this.index.locIndexById(id);
    if (li < 0) invalid(`a sample refers to missing location ${id}`);
    if (this.nLocs === this.locs.length) {
      const next = new Int32Array(this.locs.length * 2);
      next.set(this.locs);
      this.locs = next;
    }
    this.locs[this.nLocs++] = li;
  }

  /** Parses sample i and validates it; with `hash`, also computes its identity. */
  read(i: number, hash = true): void {
    const { p } = this.index;
    this.nLocs = 0;
    this.nValues = 0;
    this.nLabels = 0;
    const r = this.r.at(p.samples[i * 2]!, p.samples[i * 2 + 1]!);
    const values = this.values;
    while (!r.done) {
      const t = r.tag();
      const f = t >>> 3;
      const wire = t & 7;
      if (f === 1) {
        // Packed runs are read inline (no callback per value): this is the hot loop.
        if (wire === WIRE_LEN) {
          const outer = r.enterPacked();
          while (!r.done) this.pushLoc(r.uint());
          r.end = outer;
        } else if (wire === WIRE_VARINT) this.pushLoc(r.uint());
        else r.skip(wire);
      } else if (f === 2) {
        if (wire === WIRE_LEN) {
          const outer = r.enterPacked();
          while (!r.done) values[this.nValues++] = r.int64();
          r.end = outer;
        } else if (wire === WIRE_VARINT) values[this.nValues++] = r.int64();
        else r.skip(wire);
      } else if (f === 3 && wire === WIRE_LEN) {
        const s = r.lenRange();
        const lr = this.lr.at(s, r.pos);
        let key = 0;
        let str = 0;
        let num: Int = 0;
        let unit = 0;
        while (!lr.done) {
          const lt = lr.tag();
          if (lt === 8) key = lr.uint();
          else if (lt === 16) str = lr.uint();
          else if (lt === 24) num = lr.int64();
          else if (lt === 32) unit = lr.uint();
          else lr.skip(lt & 7);
        }
        if (key >= p.nStrings || str >= p.nStrings || unit >= p.nStrings) invalid('a label points past the string table');
        const j = this.nLabels++;
        this.labelKey[j] = key;
        this.labelStr[j] = str;
        this.labelNum[j] = num;
        this.labelUnit[j] = unit;
      } else r.skip(wire);
    }
    if (this.nValues !== p.sampleTypes.length) invalid(`a sample has ${this.nValues} values for ${p.sampleTypes.length} sample types`);
    if (!hash) return;
    const { locHashA, locHashB } = this.index;
    const locs = this.locs;
    const nl = this.nLocs;
    let a = SEED_A;
    let b = SEED_B;
    for (let j = 0; j < nl; j++) {
      a = mix(a, locHashA[locs[j]!]!);
      b = mix(b, locHashB[locs[j]!]!);
    }
    a = mix(a, nl);
    b = mix(b, nl ^ 0x9e3779b9);
    if (this.nLabels > 0) {
      // Labels in any order hash the same: their hashes are summed.
      const hashStr = this.hashStr;
      let sa = 0;
      let sb = 0;
      for (let j = 0; j < this.nLabels; j++) {
        const key = hashStr(this.labelKey[j]!);
        const str = hashStr(this.labelStr[j]!);
        const unit = hashStr(this.labelUnit[j]!);
        const num = this.labelNum[j]!;
        const la = fmix(mix(mix(mix(mix(0x7f4a7c15, key), str), lo32(num) ^ hi32(num)), unit));
        const lb = fmix(mix(mix(mix(mix(0x94d049bb, unit), lo32(num)), key), str ^ hi32(num)));
        sa = (sa + la) | 0;
        sb = (sb + lb) | 0;
      }
      a = mix(a, sa);
      b = mix(b, sb);
    }
    this.hashA = fmix(a);
    this.hashB = fmix(b);
  }
}
