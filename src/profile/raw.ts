// pprof on raw bytes: scan and validate a profile without building an object
// per sample, compute the delta of cumulative types against a compact
// baseline, and write the result. This is the production path; it costs a
// small multiple of the gunzip + gzip every delta pays anyway, where a full
// object decode and re-encode costs several.
//
// Samples are matched between scrapes by a 64-bit hash of what they are:
// the stack as program counters (function/file/line where a location has no
// address) plus the sample's labels (heap samples carry the object size as a
// `bytes` label). Go renumbers ids on every request, so ids are never used.
// A baseline keeps only per-stack hashes and the totals of the delta types.

import { InvalidProfileError } from './errors.js';
import { PbReader, PbWriter, WIRE_LEN, WIRE_VARINT, int64Size, uintSize } from '../core/pb.js';

type Int = number | bigint;

/** A profile scanned into byte ranges and index arrays; nothing is decoded twice. */
export interface RawProfile {
  readonly buf: Uint8Array;
  /** [start, end) of each string, flattened. */
  readonly strings: Int32Array;
  readonly nStrings: number;
  readonly sampleTypes: ReadonlyArray<{ readonly type: number; readonly unit: number }>;
  /** [start, end) of each sample message, flattened. */
  readonly samples: Int32Array;
  readonly nSamples: number;
  readonly locations: Int32Array;
  readonly nLocations: number;
  readonly functions: Int32Array;
  readonly nFunctions: number;
  readonly mappings: Int32Array;
  readonly nMappings: number;
  readonly timeNanos: Int;
  readonly durationNanos: Int;
  readonly periodType?: { readonly type: number; readonly unit: number };
  readonly period: Int;
  readonly comments: readonly number[];
  readonly dropFrames: number;
  readonly keepFrames: number;
  readonly defaultSampleType: number;
  readonly docUrl: number;
}

const decoder = new TextDecoder('utf-8', { fatal: false });

function invalid(what: string): never {
  throw new InvalidProfileError(`invalid pprof: ${what}`);
}

class RangeList {
  data = new Int32Array(64);
  n = 0;
  push(start: number, end: number): void {
    if (this.n * 2 + 2 > this.data.length) {
      const next = new Int32Array(this.data.length * 2);
      next.set(this.data);
      this.data = next;
    }
    this.data[this.n * 2] = start;
    this.data[this.n * 2 + 1] = end;
    this.n++;
  }
}

function valueType(r: PbReader, start: number, end: number): { type: number; unit: number } {
  const sub = new PbReader(r.buf, start, end);
  let type = 0;
  let unit = 0;
  while (!sub.done) {
    const t = sub.tag();
    if (t === 8) type = sub.uint();
    else if (t === 16) unit = sub.uint();
    else sub.skip(t & 7);
  }
  return { type, unit };
}

/** One pass over the top-level fields; throws InvalidProfileError on malformed bytes. */
export function scanProfile(buf: Uint8Array): RawProfile {
  const r = new PbReader(buf);
  const strings = new RangeList();
  const samples = new RangeList();
  const locations = new RangeList();
  const functions = new RangeList();
  const mappings = new RangeList();
  const sampleTypes: Array<{ type: number; unit: number }> = [];
  let timeNanos: Int = 0;
  let durationNanos: Int = 0;
  let periodType: { type: number; unit: number } | undefined;
  let period: Int = 0;
  const comments: number[] = [];
  let dropFrames = 0;
  let keepFrames = 0;
  let defaultSampleType = 0;
  let docUrl = 0;
  while (!r.done) {
    const tag = r.tag();
    const field = tag >>> 3;
    const wire = tag & 7;
    if (wire === WIRE_LEN && field >= 1 && field <= 6) {
      const start = r.lenRange();
      const end = r.pos;
      switch (field) {
        case 1:
          sampleTypes.push(valueType(r, start, end));
          break;
        case 2:
          samples.push(start, end);
          break;
        case 3:
          mappings.push(start, end);
          break;
        case 4:
          locations.push(start, end);
          break;
        case 5:
          functions.push(start, end);
          break;
        case 6:
          strings.push(start, end);
          break;
      }
      continue;
    }
    // Scalar fields are varints; read as one, another wire type would misframe
    // what follows (its bytes read as top-level fields). Go's pprof refuses it.
    if (wire !== WIRE_VARINT && field >= 7 && field <= 15 && field !== 11 && field !== 13) invalid(`field ${field} has wire type ${wire}, not a varint`);
    switch (field) {
      case 7:
        dropFrames = r.uint();
        break;
      case 8:
        keepFrames = r.uint();
        break;
      case 9:
        timeNanos = r.int64();
        break;
      case 10:
        durationNanos = r.int64();
        break;
      case 11: {
        if (wire !== WIRE_LEN) invalid('period_type is not a message');
        const start = r.lenRange();
        periodType = valueType(r, start, r.pos);
        break;
      }
      case 12:
        period = r.int64();
        break;
      case 13:
        r.repeatedUint(wire, (v) => comments.push(v));
        break;
      case 14:
        defaultSampleType = r.uint();
        break;
      case 15:
        docUrl = r.uint();
        break;
      default:
        r.skip(wire);
    }
  }
  return {
    buf,
    strings: strings.data,
    nStrings: strings.n,
    sampleTypes,
    samples: samples.data,
    nSamples: samples.n,
    locations: locations.data,
    nLocations: locations.n,
    functions: functions.data,
    nFunctions: functions.n,
    mappings: mappings.data,
    nMappings: mappings.n,
    timeNanos,
    durationNanos,
    ...(periodType ? { periodType } : {}),
    period,
    comments,
    dropFrames,
    keepFrames,
    defaultSampleType,
    docUrl,
  };
}

export function stringAt(p: RawProfile, i: number): string {
  if (i <= 0 || i >= p.nStrings) return '';
  return decoder.decode(p.buf.subarray(p.strings[i * 2]!, p.strings[i * 2 + 1]!));
}

export function sampleTypeNames(p: RawProfile): string[] {
  return p.sampleTypes.map((st) => stringAt(p, st.type));
}

// ---------------------------------------------------------------- hashing

function mix(h: number, k: number): number {
  let x = Math.imul(k, 0xcc9e2d51);
  x = (x << 15) | (x >>> 17);
  x = Math.imul(x, 0x1b873593);
  let y = h ^ x;
  y = (y << 13) | (y >>> 19);
  return (Math.imul(y, 5) + 0xe6546b64) | 0;
}

function fmix(h: number): number {
  let x = h ^ (h >>> 16);
  x = Math.imul(x, 0x85ebca6b);
  x ^= x >>> 13;
  x = Math.imul(x, 0xc2b2ae35);
  return (x ^ (x >>> 16)) >>> 0;
}

const SEED_A = 0x2545f491;
const SEED_B = 0x6b43a9b5;

function hashBytes(buf: Uint8Array, start: number, end: number, seed: number): number {
  let h = seed;
  let i = start;
  for (; i + 4 <= end; i += 4) h = mix(h, buf[i]! | (buf[i + 1]! << 8) | (buf[i + 2]! << 16) | (buf[i + 3]! << 24));
  let k = 0;
  for (let s = 0; i < end; i++, s += 8) k |= buf[i]! << s;
  return fmix(mix(mix(h, k), end - start));
}

function lo32(v: Int): number {
  return typeof v === 'number' ? v % 4294967296 >>> 0 : Number(BigInt.asUintN(32, v));
}

function hi32(v: Int): number {
  return typeof v === 'number' ? Math.floor(v / 4294967296) >>> 0 : Number(BigInt.asUintN(32, v >> 32n));
}

// ---------------------------------------------------------------- index

/** Locations, functions and mappings parsed into arrays, with id lookups, validated. */
export interface ProfileIndex {
  readonly p: RawProfile;
  readonly locId: Float64Array;
  readonly locMapping: Float64Array;
  readonly locAddr: Int[];
  readonly locFolded: Uint8Array;
  /** Lines of location i are lineFn/lineNo/lineCol[locLineStart[i] .. locLineStart[i+1]). */
  readonly locLineStart: Int32Array;
  readonly lineFn: number[];
  readonly lineNo: Int[];
  readonly lineCol: Int[];
  readonly locIndexById: (id: number) => number;
  readonly fnId: Float64Array;
  readonly fnName: Int32Array;
  readonly fnSystemName: Int32Array;
  readonly fnFilename: Int32Array;
  readonly fnStartLine: Int[];
  readonly fnIndexById: (id: number) => number;
  readonly mapIndexById: (id: number) => number;
  /** Per location, a 64-bit identity hash (two lanes). */
  readonly locHashA: Uint32Array;
  readonly locHashB: Uint32Array;
}

function idLookup(ids: Float64Array, n: number, what: string): (id: number) => number {
  // Go numbers ids 1..n; a dense array serves that, a Map anything else.
  let dense = true;
  for (let i = 0; i < n; i++) if (ids[i] !== i + 1) dense = false;
  if (dense) return (id) => (id >= 1 && id <= n ? id - 1 : -1);
  const m = new Map<number, number>();
  for (let i = 0; i < n; i++) {
    if (ids[i] === 0) invalid(`a ${what} has id 0`);
    m.set(ids[i]!, i);
  }
  return (id) => m.get(id) ?? -1;
}

/** String hashes of an index, computed on demand (kept beside it, not in it). */
const indexHashStr = new WeakMap<ProfileIndex, (i: number) => number>();

export function indexProfile(p: RawProfile): ProfileIndex {
  const { buf } = p;
  const checkStr = (i: number, what: string) => {
    if (i >= p.nStrings) invalid(`${what} points at string ${i}, past the table of ${p.nStrings}`);
  };
  if (p.nStrings === 0 || p.strings[1]! !== p.strings[0]!) invalid('string_table[0] must be the empty string');
  for (const st of p.sampleTypes) {
    checkStr(st.type, 'a sample type');
    checkStr(st.unit, 'a sample unit');
  }
  if (p.periodType) {
    checkStr(p.periodType.type, 'the period type');
    checkStr(p.periodType.unit, 'the period unit');
  }
  for (const c of p.comments) checkStr(c, 'a comment');
  checkStr(p.dropFrames, 'drop_frames');
  checkStr(p.keepFrames, 'keep_frames');
  checkStr(p.defaultSampleType, 'default_sample_type');
  checkStr(p.docUrl, 'doc_url');

  // Mappings.
  const mapId = new Float64Array(p.nMappings);
  for (let i = 0; i < p.nMappings; i++) {
    const r = new PbReader(buf, p.mappings[i * 2]!, p.mappings[i * 2 + 1]!);
    while (!r.done) {
      const t = r.tag();
      const f = t >>> 3;
      if (t === 8) mapId[i] = r.uint();
      else if ((f === 5 || f === 6) && (t & 7) === WIRE_VARINT) checkStr(r.uint(), 'a mapping string');
      else r.skip(t & 7);
    }
    if (mapId[i] === 0) invalid('a mapping has id 0');
  }
  const mapIndexById = idLookup(mapId, p.nMappings, 'mapping');

  // Functions.
  const fnId = new Float64Array(p.nFunctions);
  const fnName = new Int32Array(p.nFunctions);
  const fnSystemName = new Int32Array(p.nFunctions);
  const fnFilename = new Int32Array(p.nFunctions);
  const fnStartLine: Int[] = new Array(p.nFunctions).fill(0);
  for (let i = 0; i < p.nFunctions; i++) {
    const r = new PbReader(buf, p.functions[i * 2]!, p.functions[i * 2 + 1]!);
    while (!r.done) {
      const t = r.tag();
      switch (t) {
        case 8:
          fnId[i] = r.uint();
          break;
        case 16:
          fnName[i] = r.uint();
          break;
        case 24:
          fnSystemName[i] = r.uint();
          break;
        case 32:
          fnFilename[i] = r.uint();
          break;
        case 40:
          fnStartLine[i] = r.int64();
          break;
        default:
          r.skip(t & 7);
      }
    }
    if (fnId[i] === 0) invalid('a function has id 0');
    checkStr(fnName[i]!, 'a function name');
    checkStr(fnSystemName[i]!, 'a function system name');
    checkStr(fnFilename[i]!, 'a function file name');
  }
  const fnIndexById = idLookup(fnId, p.nFunctions, 'function');

  // String hashes, on demand.
  const strHash = new Uint32Array(p.nStrings);
  const strHashed = new Uint8Array(p.nStrings);
  const hashStr = (i: number): number => {
    if (!strHashed[i]) {
      strHash[i] = hashBytes(buf, p.strings[i * 2]!, p.strings[i * 2 + 1]!, 0x3c6ef372);
      strHashed[i] = 1;
    }
    return strHash[i]!;
  };

  // Locations.
  const n = p.nLocations;
  const locId = new Float64Array(n);
  const locMapping = new Float64Array(n);
  const locAddr: Int[] = new Array(n).fill(0);
  const locFolded = new Uint8Array(n);
  const locLineStart = new Int32Array(n + 1);
  const lineFn: number[] = [];
  const lineNo: Int[] = [];
  const lineCol: Int[] = [];
  for (let i = 0; i < n; i++) {
    locLineStart[i] = lineFn.length;
    const r = new PbReader(buf, p.locations[i * 2]!, p.locations[i * 2 + 1]!);
    while (!r.done) {
      const t = r.tag();
      switch (t) {
        case 8:
          locId[i] = r.uint();
          break;
        case 16:
          locMapping[i] = r.uint();
          break;
        case 24:
          locAddr[i] = r.int64();
          break;
        case 34: {
          const s = r.lenRange();
          const lr = new PbReader(buf, s, r.pos);
          let fn = 0;
          let no: Int = 0;
          let col: Int = 0;
          while (!lr.done) {
            const lt = lr.tag();
            if (lt === 8) fn = lr.uint();
            else if (lt === 16) no = lr.int64();
            else if (lt === 24) col = lr.int64();
            else lr.skip(lt & 7);
          }
          lineFn.push(fn);
          lineNo.push(no);
          lineCol.push(col);
          break;
        }
        case 40:
          locFolded[i] = r.uint() ? 1 : 0;
          break;
        default:
          r.skip(t & 7);
      }
    }
    if (locId[i] === 0) invalid('a location has id 0');
    if (locMapping[i] !== 0 && mapIndexById(locMapping[i]!) < 0) invalid(`location ${locId[i]} refers to missing mapping ${locMapping[i]}`);
  }
  locLineStart[n] = lineFn.length;
  for (let j = 0; j < lineFn.length; j++) {
    if (lineFn[j] !== 0 && fnIndexById(lineFn[j]!) < 0) invalid(`a location refers to missing function ${lineFn[j]}`);
  }
  const locIndexById = idLookup(locId, n, 'location');

  const locHashA = new Uint32Array(n);
  const locHashB = new Uint32Array(n);
  for (let i = 0; i < n; i++) {
    const addr = locAddr[i]!;
    let a: number;
    let b: number;
    if (addr !== 0 && addr !== 0n) {
      const lo = lo32(addr);
      const hi = hi32(addr);
      a = fmix(mix(mix(SEED_A, lo), hi));
      b = fmix(mix(mix(SEED_B, hi ^ 0x5bd1e995), lo));
    } else {
      // No address: the inlined frames by function name, file and line.
      a = SEED_A ^ 0x1000193;
      b = SEED_B ^ 0x1000193;
      for (let j = locLineStart[i]!; j < locLineStart[i + 1]!; j++) {
        const fi = lineFn[j] ? fnIndexById(lineFn[j]!) : -1;
        const nameH = fi >= 0 ? hashStr(fnName[fi]!) : 0;
        const fileH = fi >= 0 ? hashStr(fnFilename[fi]!) : 0;
        const no = lineNo[j]!;
        a = mix(mix(mix(a, nameH), fileH), lo32(no));
        b = mix(mix(mix(b, fileH ^ 0x27d4eb2d), nameH), lo32(no) ^ 0x165667b1);
      }
      a = fmix(a);
      b = fmix(b);
    }
    locHashA[i] = a;
    locHashB[i] = b;
  }

  const index: ProfileIndex = {
    p,
    locId,
    locMapping,
    locAddr,
    locFolded,
    locLineStart,
    lineFn,
    lineNo,
    lineCol,
    locIndexById,
    fnId,
    fnName,
    fnSystemName,
    fnFilename,
    fnStartLine,
    fnIndexById,
    mapIndexById,
    locHashA,
    locHashB,
  };
  indexHashStr.set(index, hashStr);
  return index;
}

// ---------------------------------------------------------------- samples

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

/** Validates every sample (and the tables behind it); returns the index. */
export function validateRaw(p: RawProfile): ProfileIndex {
  const index = indexProfile(p);
  const c = new SampleCursor(index);
  for (let i = 0; i < p.nSamples; i++) c.read(i, false);
  return index;
}

/** Sums of each sample type over the whole profile (by type name). */
export function rawSums(p: RawProfile, index: ProfileIndex): Record<string, number> {
  const names = sampleTypeNames(p);
  const sums: Int[] = names.map(() => 0);
  const c = new SampleCursor(index);
  for (let i = 0; i < p.nSamples; i++) {
    c.read(i, false);
    for (let t = 0; t < sums.length; t++) sums[t] = add(sums[t]!, c.values[t]!);
  }
  const out: Record<string, number> = {};
  names.forEach((n, t) => {
    out[n] = Number(sums[t]);
  });
  return out;
}

// ---------------------------------------------------------------- int64 arithmetic

function add(a: Int, b: Int): Int {
  if (typeof a === 'number' && typeof b === 'number') {
    const s = a + b;
    if (Number.isSafeInteger(s)) return s;
  }
  return norm(BigInt.asIntN(64, BigInt(a) + BigInt(b)));
}

function sub(a: Int, b: Int): Int {
  if (typeof a === 'number' && typeof b === 'number') {
    const s = a - b;
    if (Number.isSafeInteger(s)) return s;
  }
  return norm(BigInt(a) - BigInt(b));
}

function less(a: Int, b: Int): boolean {
  return typeof a === 'number' && typeof b === 'number' ? a < b : BigInt(a) < BigInt(b);
}

function norm(v: bigint): Int {
  return v >= BigInt(Number.MIN_SAFE_INTEGER) && v <= BigInt(Number.MAX_SAFE_INTEGER) ? Number(v) : v;
}

function isZero(v: Int): boolean {
  return v === 0 || v === 0n;
}

/** Values in a Float64Array; the rare one that is not a safe integer lives in a side map. */
class ValueArray {
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

// ---------------------------------------------------------------- hash table

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

// ---------------------------------------------------------------- baseline and delta

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
  const firstSample = new Int32Array(cap);
  const values = new ValueArray(cap * nTypes);
  const table = new HashIndex(cap, keysA, keysB);
  let m = 0;
  const c = new SampleCursor(index);
  for (let i = 0; i < p.nSamples; i++) {
    c.read(i);
    let e = table.find(c.hashA, c.hashB);
    if (e < 0) {
      e = m++;
      keysA[e] = c.hashA;
      keysB[e] = c.hashB;
      firstSample[e] = i;
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
  const compactA = keysA.slice(0, m);
  const compactB = keysB.slice(0, m);
  const baselineIndex = new HashIndex(m, compactA, compactB);
  for (let e = 0; e < m; e++) baselineIndex.insert(e);
  const baseline: RawBaseline = { timeNanos, n: m, k, keysA: compactA, keysB: compactB, index: baselineIndex, totals };

  if (!previous) return { kind: 'baseline', baseline, scrapedSums };
  if (timeNanos <= previous.timeNanos) {
    return { kind: 'reset', baseline, scrapedSums, reason: `profile time went backwards or stood still (${previous.timeNanos} -> ${timeNanos})` };
  }
  if (previous.k !== k) return { kind: 'reset', baseline, scrapedSums, reason: 'the sample types changed' };
  // A restart: any per-stack total went down (a stack seen before and now
  // missing counts as zero: Go never forgets a stack within one process).
  for (let pe = 0; pe < previous.n; pe++) {
    const e = baseline.index.find(previous.keysA[pe]!, previous.keysB[pe]!);
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
    const pe = previous.index.find(keysA[e]!, keysB[e]!);
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
  const profile = encodeSubset(index, c, kept, (e, t) => out.get(e * nTypes + t), (e) => firstSample[e]!, timeNanos, timeNanos - previous.timeNanos);
  const sumsByName: Record<string, number> = {};
  names.forEach((n, t) => (sumsByName[n] = Number(sums[t])));
  return { kind: 'delta', baseline, profile, samples: kept.length, windowStartNanos: previous.timeNanos, sums: sumsByName, scrapedSums };
}

// ---------------------------------------------------------------- encoding

/**
 * Writes a profile made of the given entries (each with new values and the
 * stack and labels of its first sample), keeping only the locations,
 * functions, mappings and strings they use, with ids renumbered 1..n in table
 * order (strict readers expect location[i].id == i + 1).
 */
function encodeSubset(
  index: ProfileIndex,
  cursor: SampleCursor,
  entries: readonly number[],
  valueOf: (entry: number, type: number) => Int,
  sampleOf: (entry: number) => number,
  timeNanos: bigint,
  durationNanos: bigint,
): Uint8Array {
  const { p } = index;
  const { buf } = p;
  const nTypes = p.sampleTypes.length;

  // What the kept samples use: their locations (flat, with offsets) and labels.
  const usedLoc = new Uint8Array(p.nLocations);
  let flatLocs = new Int32Array(Math.max(16, entries.length * 8));
  const locStart = new Int32Array(entries.length + 1);
  let nFlat = 0;
  // Labels, flat: those of kept sample n are [labStart[n], labStart[n+1]).
  const labKey: number[] = [];
  const labStr: number[] = [];
  const labNum: Int[] = [];
  const labUnit: number[] = [];
  const labStart = new Int32Array(entries.length + 1);
  entries.forEach((e, n) => {
    cursor.read(sampleOf(e), false);
    locStart[n] = nFlat;
    labStart[n] = labKey.length;
    if (nFlat + cursor.nLocs > flatLocs.length) {
      const next = new Int32Array(Math.max(flatLocs.length * 2, nFlat + cursor.nLocs));
      next.set(flatLocs);
      flatLocs = next;
    }
    for (let j = 0; j < cursor.nLocs; j++) {
      const li = cursor.locs[j]!;
      usedLoc[li] = 1;
      flatLocs[nFlat++] = li;
    }
    for (let j = 0; j < cursor.nLabels; j++) {
      labKey.push(cursor.labelKey[j]!);
      labStr.push(cursor.labelStr[j]!);
      labNum.push(cursor.labelNum[j]!);
      labUnit.push(cursor.labelUnit[j]!);
    }
  });
  labStart[entries.length] = labKey.length;
  locStart[entries.length] = nFlat;
  const locNew = new Int32Array(p.nLocations);
  const usedFn = new Uint8Array(p.nFunctions);
  const usedMap = new Uint8Array(p.nMappings);
  let nLoc = 0;
  for (let li = 0; li < p.nLocations; li++) {
    if (!usedLoc[li]) continue;
    locNew[li] = ++nLoc;
    if (index.locMapping[li]) usedMap[index.mapIndexById(index.locMapping[li]!)] = 1;
    for (let j = index.locLineStart[li]!; j < index.locLineStart[li + 1]!; j++) {
      if (index.lineFn[j]) usedFn[index.fnIndexById(index.lineFn[j]!)] = 1;
    }
  }
  const fnNew = new Int32Array(p.nFunctions);
  let nFn = 0;
  for (let fi = 0; fi < p.nFunctions; fi++) if (usedFn[fi]) fnNew[fi] = ++nFn;
  const mapNew = new Int32Array(p.nMappings);
  let nMap = 0;
  for (let mi = 0; mi < p.nMappings; mi++) if (usedMap[mi]) mapNew[mi] = ++nMap;

  // Strings: index 0 stays "", the used ones keep their order.
  const usedStr = new Uint8Array(p.nStrings);
  const useStr = (i: number) => {
    usedStr[i] = 1;
  };
  for (const st of p.sampleTypes) {
    useStr(st.type);
    useStr(st.unit);
  }
  if (p.periodType) {
    useStr(p.periodType.type);
    useStr(p.periodType.unit);
  }
  for (const cm of p.comments) useStr(cm);
  useStr(p.dropFrames);
  useStr(p.keepFrames);
  useStr(p.defaultSampleType);
  useStr(p.docUrl);
  for (let fi = 0; fi < p.nFunctions; fi++) {
    if (!usedFn[fi]) continue;
    useStr(index.fnName[fi]!);
    useStr(index.fnSystemName[fi]!);
    useStr(index.fnFilename[fi]!);
  }
  const mapStrings: Array<{ filename: number; buildId: number }> = [];
  for (let mi = 0; mi < p.nMappings; mi++) {
    if (!usedMap[mi]) continue;
    const r = new PbReader(buf, p.mappings[mi * 2]!, p.mappings[mi * 2 + 1]!);
    let filename = 0;
    let buildId = 0;
    while (!r.done) {
      const t = r.tag();
      if (t === 40) filename = r.uint();
      else if (t === 48) buildId = r.uint();
      else r.skip(t & 7);
    }
    useStr(filename);
    useStr(buildId);
    mapStrings[mi] = { filename, buildId };
  }
  for (let j = 0; j < labKey.length; j++) {
    useStr(labKey[j]!);
    useStr(labStr[j]!);
    useStr(labUnit[j]!);
  }
  usedStr[0] = 1;
  const strNew = new Int32Array(p.nStrings);
  let nStr = 0;
  for (let i = 0; i < p.nStrings; i++) if (usedStr[i]) strNew[i] = nStr++;

  const w = new PbWriter(Math.max(1024, buf.length));
  const sub = new PbWriter(4096);
  const inner = new PbWriter(256);
  const valueTypeMsg = (field: number, vt: { type: number; unit: number }) => {
    sub.reset();
    sub.varintField(1, strNew[vt.type]!);
    sub.varintField(2, strNew[vt.unit]!);
    w.message(field, sub);
  };
  for (const st of p.sampleTypes) valueTypeMsg(1, st);

  // Samples, written straight into the output: the lengths are computed
  // first, so nothing is encoded twice.
  const vals: Int[] = new Array(nTypes);
  const labelLen = (j: number) => {
    const k = strNew[labKey[j]!]!;
    const st = strNew[labStr[j]!]!;
    const u = strNew[labUnit[j]!]!;
    const num = labNum[j]!;
    return (k ? 1 + uintSize(k) : 0) + (st ? 1 + uintSize(st) : 0) + (num !== 0 && num !== 0n ? 1 + int64Size(num) : 0) + (u ? 1 + uintSize(u) : 0);
  };
  entries.forEach((e, n) => {
    const l0 = locStart[n]!;
    const l1 = locStart[n + 1]!;
    const j0 = labStart[n]!;
    const j1 = labStart[n + 1]!;
    let locLen = 0;
    for (let j = l0; j < l1; j++) locLen += uintSize(locNew[flatLocs[j]!]!);
    let valLen = 0;
    for (let t = 0; t < nTypes; t++) {
      vals[t] = valueOf(e, t);
      valLen += int64Size(vals[t]!);
    }
    let len = (l1 > l0 ? 1 + uintSize(locLen) + locLen : 0) + 1 + uintSize(valLen) + valLen;
    for (let j = j0; j < j1; j++) {
      const ll = labelLen(j);
      len += 1 + uintSize(ll) + ll;
    }
    w.tag(2, WIRE_LEN);
    w.uint(len);
    if (l1 > l0) {
      w.tag(1, WIRE_LEN);
      w.uint(locLen);
      for (let j = l0; j < l1; j++) w.uint(locNew[flatLocs[j]!]!);
    }
    w.tag(2, WIRE_LEN);
    w.uint(valLen);
    for (let t = 0; t < nTypes; t++) w.int64(vals[t]!);
    for (let j = j0; j < j1; j++) {
      w.tag(3, WIRE_LEN);
      w.uint(labelLen(j));
      w.varintField(1, strNew[labKey[j]!]!);
      w.varintField(2, strNew[labStr[j]!]!);
      w.varintField(3, labNum[j]!);
      w.varintField(4, strNew[labUnit[j]!]!);
    }
  });

  // Mappings: ids and string indexes rewritten, other fields copied.
  for (let mi = 0; mi < p.nMappings; mi++) {
    if (!usedMap[mi]) continue;
    sub.reset();
    const r = new PbReader(buf, p.mappings[mi * 2]!, p.mappings[mi * 2 + 1]!);
    sub.varintField(1, mapNew[mi]!);
    while (!r.done) {
      const t = r.tag();
      const f = t >>> 3;
      if (t === 8) r.uint();
      else if (t === 40 || t === 48) {
        r.uint();
        sub.varintField(f, strNew[f === 5 ? mapStrings[mi]!.filename : mapStrings[mi]!.buildId]!);
      } else if ((t & 7) === WIRE_VARINT) sub.varintField(f, r.int64());
      else r.skip(t & 7);
    }
    w.message(3, sub);
  }

  // Locations.
  for (let li = 0; li < p.nLocations; li++) {
    if (!usedLoc[li]) continue;
    sub.reset();
    sub.varintField(1, locNew[li]!);
    if (index.locMapping[li]) sub.varintField(2, mapNew[index.mapIndexById(index.locMapping[li]!)]!);
    sub.varintField(3, index.locAddr[li]!);
    for (let j = index.locLineStart[li]!; j < index.locLineStart[li + 1]!; j++) {
      inner.reset();
      inner.varintField(1, index.lineFn[j] ? fnNew[index.fnIndexById(index.lineFn[j]!)]! : 0);
      inner.varintField(2, index.lineNo[j]!);
      inner.varintField(3, index.lineCol[j]!);
      sub.message(4, inner);
    }
    if (index.locFolded[li]) sub.varintField(5, 1);
    w.message(4, sub);
  }

  // Functions.
  for (let fi = 0; fi < p.nFunctions; fi++) {
    if (!usedFn[fi]) continue;
    sub.reset();
    sub.varintField(1, fnNew[fi]!);
    sub.varintField(2, strNew[index.fnName[fi]!]!);
    sub.varintField(3, strNew[index.fnSystemName[fi]!]!);
    sub.varintField(4, strNew[index.fnFilename[fi]!]!);
    sub.varintField(5, index.fnStartLine[fi]!);
    w.message(5, sub);
  }

  // Strings, as they were.
  for (let i = 0; i < p.nStrings; i++) if (usedStr[i]) w.lenBytes(6, buf, p.strings[i * 2]!, p.strings[i * 2 + 1]!);

  w.varintField(7, strNew[p.dropFrames]!);
  w.varintField(8, strNew[p.keepFrames]!);
  w.varintField(9, timeNanos);
  w.varintField(10, durationNanos);
  if (p.periodType) valueTypeMsg(11, p.periodType);
  w.varintField(12, p.period);
  if (p.comments.length > 0) {
    sub.reset();
    for (const cm of p.comments) sub.uint(strNew[cm]!);
    w.message(13, sub);
  }
  w.varintField(14, strNew[p.defaultSampleType]!);
  w.varintField(15, strNew[p.docUrl]!);
  return w.finish().slice();
}

/** Indexes of the named sample types; throws a clear error when one is missing. */
export function rawSampleTypeIndexes(p: RawProfile, names: readonly string[], profileType: string): number[] {
  const have = sampleTypeNames(p);
  return names.map((name) => {
    const i = have.indexOf(name);
    if (i < 0) {
      throw new InvalidProfileError(`not a ${profileType} profile: it has sample types [${have.join(', ')}], but a ${profileType} profile has ${names.join(' and ')}`);
    }
    return i;
  });
}

