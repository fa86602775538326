// Writes a profile made of some of another's samples, with new values,
// keeping only the tables and strings they use.

import { PbReader, PbWriter, WIRE_LEN, WIRE_VARINT, int64Size, uintSize } from '../../core/pb.js';
import type { Int } from './int64.js';
import type { ProfileIndex } from './profile-index.js';
import type { EntryStacks } from './stacks.js';

/**
 * Writes a profile made of the given entries (each with new values and the
 * stack and labels its first sample had), keeping only the locations,
 * functions, mappings and strings they use, with ids renumbered 1..n in table
 * order (strict readers expect location[i].id == i + 1).
 */
export function encodeSubset(
  index: ProfileIndex,
  stacks: EntryStacks,
  entries: readonly number[],
  valueOf: (entry: number, type: number) => Int,
  timeNanos: bigint,
  durationNanos: bigint,
): Uint8Array {
  const { p } = index;
  const { buf } = p;
  // A plain view: a Buffer's subarray (each copied range) costs an object of Node's.
  const bytes = new Uint8Array(buf.buffer, buf.byteOffset, buf.byteLength);
  const nTypes = p.sampleTypes.length;
  const { locs: flatLocs, locStart, verbStart, verbEnd, labKey, labStr, labNum, labUnit, labStart } = stacks;

  // What the kept entries use: their locations and (below) their labels' strings.
  let usedLoc = stacks.used;
  if (entries.length !== stacks.n) {
    // Some dropped (entries are in order, each once): only the kept ones' locations.
    usedLoc = new Uint8Array(p.nLocations);
    for (let n = 0; n < entries.length; n++) {
      const e = entries[n]!;
      const end = locStart[e + 1]!;
      for (let j = locStart[e]!; j < end; j++) usedLoc[flatLocs[j]!] = 1;
    }
  }
  const locNew = new Int32Array(p.nLocations);
  const usedFn = new Uint8Array(p.nFunctions);
  const usedMap = new Uint8Array(p.nMappings);
  let nLoc = 0;
  // Whether every kept location keeps its id (all of them kept, ids 1..n as
  // Go writes them): then the samples' location bytes are copied as they are.
  let idsKept = true;
  for (let li = 0; li < p.nLocations; li++) {
    if (!usedLoc[li]) continue;
    locNew[li] = ++nLoc;
    if (nLoc !== index.locId[li]) idsKept = false;
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
  for (const e of entries) {
    for (let j = labStart[e]!; j < labStart[e + 1]!; j++) {
      useStr(labKey[j]!);
      useStr(labStr[j]!);
      useStr(labUnit[j]!);
    }
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
  for (let n = 0; n < entries.length; n++) {
    const e = entries[n]!;
    const l0 = locStart[e]!;
    const l1 = locStart[e + 1]!;
    const j0 = labStart[e]!;
    const j1 = labStart[e + 1]!;
    const copyLocs = idsKept && verbStart[e]! >= 0;
    let locLen = 0;
    if (copyLocs) locLen = verbEnd[e]! - verbStart[e]!;
    else for (let j = l0; j < l1; j++) locLen += uintSize(locNew[flatLocs[j]!]!);
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
    if (copyLocs) w.lenBytes(1, bytes, verbStart[e]!, verbEnd[e]!);
    else if (l1 > l0) {
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
  }

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
  for (let i = 0; i < p.nStrings; i++) if (usedStr[i]) w.lenBytes(6, bytes, p.strings[i * 2]!, p.strings[i * 2 + 1]!);

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
