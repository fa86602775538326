// The tables behind the samples (locations, functions, mappings) parsed
// into arrays with id lookups, validated, and a 64-bit identity hash per
// location: the program counter, or function/file/line where there is none.

import { PbReader, WIRE_VARINT } from '../../core/pb.js';
import { SEED_A, SEED_B, fmix, hashBytes, hi32, lo32, mix } from './hash.js';
import type { Int } from './int64.js';
import { invalid, type RawProfile } from './scan.js';

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
  /** Location ids are 1..n in table order (as Go writes them): location id's index is id - 1. */
  readonly locIdsDense: boolean;
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

function denseIds(ids: Float64Array, n: number): boolean {
  for (let i = 0; i < n; i++) if (ids[i] !== i + 1) return false;
  return true;
}

function idLookup(ids: Float64Array, n: number, what: string): (id: number) => number {
  // Go numbers ids 1..n; a dense array serves that, a Map anything else.
  if (denseIds(ids, n)) return (id) => (id >= 1 && id <= n ? id - 1 : -1);
  const m = new Map<number, number>();
  for (let i = 0; i < n; i++) {
    if (ids[i] === 0) invalid(`a ${what} has id 0`);
    m.set(ids[i]!, i);
  }
  return (id) => m.get(id) ?? -1;
}

/** String hashes of an index, computed on demand (kept beside it, not in it). */
export const indexHashStr = new WeakMap<ProfileIndex, (i: number) => number>();

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
    locIdsDense: denseIds(locId, n),
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
