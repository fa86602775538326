// Reads one sample at a time into reusable arrays, validates it, and hashes
// what it is (its stack and labels): the hot loop of every delta.

import { PbReader, WIRE_LEN, WIRE_VARINT } from '../../core/pb.js';
import { POLY_A, POLY_B, SEED_A, SEED_B, fmix, hi32, lo32, mix } from './hash.js';
import type { Int } from './int64.js';
import { indexHashStr, type ProfileIndex } from './profile-index.js';
import { invalid } from './scan.js';

/** One sample, parsed into reusable scratch arrays (lengths in the n* fields). */
export class SampleCursor {
  /** Location indexes (not ids), leaf first. */
  locs: Int32Array = new Int32Array(64);
  nLocs = 0;
  /**
   * Where the sample's location ids are, [locBytesStart, locBytesEnd), when
   * they are one packed field of shortest varints (the ids as our encoder
   * writes them): then, with ids kept as they are, those bytes can be copied
   * instead of encoded again. Otherwise locBytesStart is -1.
   */
  locBytesStart = -1;
  locBytesEnd = -1;
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

  private grow(): Int32Array {
    const next = new Int32Array(this.locs.length * 2);
    next.set(this.locs);
    this.locs = next;
    return next;
  }

  /** Parses sample i and validates it; with `hash`, also computes its identity. */
  read(i: number, hash = true): void {
    const { p } = this.index;
    this.nValues = 0;
    this.nLabels = 0;
    const r = this.r.at(p.samples[i * 2]!, p.samples[i * 2 + 1]!);
    const values = this.values;
    const { locIndexById, locIdsDense, locHashA, locHashB } = this.index;
    // Ids 1..n are looked up inline; a call per id costs as much as the rest.
    const nLocations = locIdsDense ? p.nLocations : -1;
    let locs: Int32Array = this.locs;
    let nl = 0;
    let a = SEED_A;
    let b = SEED_B;
    const bytes = p.buf;
    let verbStart = -1;
    let verbEnd = -1;
    let locFields = 0;
    while (!r.done) {
      const t = r.tag();
      const f = t >>> 3;
      const wire = t & 7;
      if (f === 1) {
        // Location ids, read inline (no call per id): this is the hot loop.
        // The stack's hash is a polynomial over the locations' hashes, taken
        // in the same pass (two lanes, each its own odd multiplier).
        locFields++;
        if (wire === WIRE_LEN) {
          const outer = r.enterPacked();
          const start = r.pos;
          // Shortest varints: an id is never 0, so only a padded varint ends
          // in a 0 byte. (An empty field is no stack: the encoder writes none.)
          let shortest = r.end > start;
          const end = r.end;
          let pos = start;
          while (pos < end) {
            // One- and two-byte ids inline (every id of a profile under
            // 16,384 locations); longer ones by the reader.
            let id: number;
            const c0 = bytes[pos]!;
            if (c0 < 0x80) id = bytes[pos++]!;
            else if (pos + 1 < end && bytes[pos + 1]! < 0x80) {
              id = (c0 & 0x7f) | (bytes[pos + 1]! << 7);
              pos += 2;
            } else {
              r.pos = pos;
              id = r.uint();
              pos = r.pos;
            }
            if (bytes[pos - 1] === 0) shortest = false;
            const li = id <= nLocations ? id - 1 : locIndexById(id);
            if (li < 0) invalid(`a sample refers to missing location ${id}`);
            if (nl === locs.length) locs = this.grow();
            locs[nl++] = li;
            a = (Math.imul(a, POLY_A) + locHashA[li]!) | 0;
            b = (Math.imul(b, POLY_B) + locHashB[li]!) | 0;
          }
          r.pos = end;
          if (shortest) {
            verbStart = start;
            verbEnd = end;
          }
          r.end = outer;
        } else if (wire === WIRE_VARINT) {
          const id = r.uint();
          const li = locIndexById(id);
          if (li < 0) invalid(`a sample refers to missing location ${id}`);
          if (nl === locs.length) locs = this.grow();
          locs[nl++] = li;
          a = (Math.imul(a, POLY_A) + locHashA[li]!) | 0;
          b = (Math.imul(b, POLY_B) + locHashB[li]!) | 0;
        } else r.skip(wire);
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
    this.nLocs = nl;
    this.locBytesStart = locFields === 1 ? verbStart : -1;
    this.locBytesEnd = verbEnd;
    if (this.nValues !== p.sampleTypes.length) invalid(`a sample has ${this.nValues} values for ${p.sampleTypes.length} sample types`);
    if (!hash) return;
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
