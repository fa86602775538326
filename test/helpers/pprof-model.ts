// Test-side reading of pprof profiles, written independently of src/profile so
// the tests do not check the code against itself: a sample's identity is its
// stack as addresses (function/file/line where a location has no address)
// plus its labels; values are normalised int64 bigints.

import { readFileSync } from 'node:fs';
import { gunzipSync } from 'node:zlib';
import { Profile } from 'pprof-format';

export const FIXTURE_DIR = new URL('../../fixtures/profiles/', import.meta.url);

export function fixture(name: string): Buffer {
  return readFileSync(new URL(name, FIXTURE_DIR));
}

export function isGz(b: Uint8Array): boolean {
  return b.length >= 2 && b[0] === 0x1f && b[1] === 0x8b;
}

/** Decodes gzipped or plain pprof bytes with pprof-format directly. */
export function decode(bytes: Uint8Array): Profile {
  return Profile.decode(isGz(bytes) ? gunzipSync(bytes) : bytes);
}

export const i64 = (v: number | bigint): bigint => BigInt.asIntN(64, BigInt(v));
export const u = (v: number | bigint): number => Number(BigInt.asUintN(64, BigInt(v)));

export function str(p: Profile, i: number | bigint): string {
  const s = p.stringTable.strings[u(i)];
  if (s === undefined) throw new Error(`string ${u(i)} out of range`);
  return s;
}

export function sampleTypeNames(p: Profile): string[] {
  return p.sampleType.map((st) => `${str(p, st.type)}/${str(p, st.unit)}`);
}

export function sampleTypeIndex(p: Profile, type: string): number {
  const i = p.sampleType.findIndex((st) => str(p, st.type) === type);
  if (i < 0) throw new Error(`no sample type ${type}`);
  return i;
}

function locationTable(p: Profile) {
  const fns = new Map<number, { name: string; file: string }>();
  for (const f of p.function) fns.set(u(f.id), { name: str(p, f.name), file: str(p, f.filename) });
  const locs = new Map<number, { key: string; functions: string[] }>();
  for (const l of p.location) {
    const lines = l.line.map((ln) => {
      const f = fns.get(u(ln.functionId));
      if (!f) throw new Error(`location ${u(l.id)} refers to missing function ${u(ln.functionId)}`);
      return { ...f, line: i64(ln.line) };
    });
    const addr = BigInt.asUintN(64, BigInt(l.address));
    const key = addr !== 0n ? `0x${addr.toString(16)}` : lines.map((x) => `${x.name}@${x.file}:${x.line}`).join('+');
    locs.set(u(l.id), { key, functions: lines.map((x) => x.name) });
  }
  return locs;
}

export function labelString(p: Profile, labels: readonly { key: number | bigint; str: number | bigint; num: number | bigint; numUnit: number | bigint }[]): string {
  return labels
    .map((l) => (u(l.str) !== 0 ? `${str(p, l.key)}="${str(p, l.str)}"` : `${str(p, l.key)}:${i64(l.num)}${str(p, l.numUnit)}`))
    .sort()
    .join(',');
}

export interface Row {
  readonly key: string;
  /** Every function name in the stack, leaf first, inlined frames included. */
  readonly functions: string[];
  readonly values: bigint[];
}

export function rows(p: Profile): Row[] {
  const locs = locationTable(p);
  return p.sample.map((s) => {
    const frames = s.locationId.map((id) => {
      const l = locs.get(u(id));
      if (!l) throw new Error(`sample refers to missing location ${u(id)}`);
      return l;
    });
    return {
      key: `${frames.map((f) => f.key).join('>')}|${labelString(p, s.label)}`,
      functions: frames.flatMap((f) => f.functions),
      values: s.value.map(i64),
    };
  });
}

/** Values summed per sample identity (Go may emit the same stack+labels twice). */
export function byKey(p: Profile): Map<string, bigint[]> {
  const out = new Map<string, bigint[]>();
  for (const r of rows(p)) {
    const prev = out.get(r.key);
    if (prev) r.values.forEach((v, i) => (prev[i]! += v));
    else out.set(r.key, [...r.values]);
  }
  return out;
}

/** Sum of one sample type over samples whose stack contains `fn`. */
export function totalIn(p: Profile, type: string, fn: string): bigint {
  const i = sampleTypeIndex(p, type);
  let t = 0n;
  for (const r of rows(p)) if (r.functions.includes(fn)) t += r.values[i]!;
  return t;
}

export function total(p: Profile, type: string): bigint {
  const i = sampleTypeIndex(p, type);
  return rows(p).reduce((a, r) => a + r.values[i]!, 0n);
}

/**
 * What a strict reader (Parca) requires of a shipped delta: ids 1..n in table
 * order, no unused table entries, every string but index 0 referenced, and
 * every reference resolvable. Returns a list of problems (empty when fine).
 */
export function structureProblems(p: Profile): string[] {
  const problems: string[] = [];
  const strings = p.stringTable.strings;
  if (strings[0] !== '') problems.push(`string_table[0] is ${JSON.stringify(strings[0])}`);
  if (new Set(strings).size !== strings.length) problems.push('string table has duplicates');
  const seq = (what: string, ids: number[]) => {
    ids.forEach((id, i) => {
      if (id !== i + 1) problems.push(`${what}[${i}].id = ${id}, want ${i + 1}`);
    });
  };
  seq('location', p.location.map((l) => u(l.id)));
  seq('function', p.function.map((f) => u(f.id)));
  seq('mapping', p.mapping.map((m) => u(m.id)));

  const usedStr = new Set<number>();
  const use = (v: number | bigint) => {
    const i = u(v);
    if (i >= strings.length) problems.push(`string index ${i} out of range ${strings.length}`);
    usedStr.add(i);
  };
  for (const st of p.sampleType) (use(st.type), use(st.unit));
  if (p.periodType) (use(p.periodType.type), use(p.periodType.unit));
  for (const c of p.comment) use(c);
  use(p.dropFrames);
  use(p.keepFrames);
  use(p.defaultSampleType);
  use(p.docUrl);

  const usedLoc = new Set<number>();
  for (const s of p.sample) {
    if (s.value.length !== p.sampleType.length) problems.push(`sample has ${s.value.length} values`);
    for (const id of s.locationId) usedLoc.add(u(id));
    for (const l of s.label) (use(l.key), use(l.str), use(l.numUnit));
  }
  const locIds = new Set(p.location.map((l) => u(l.id)));
  for (const id of usedLoc) if (!locIds.has(id)) problems.push(`sample uses missing location ${id}`);
  const usedFn = new Set<number>();
  const usedMap = new Set<number>();
  for (const l of p.location) {
    if (!usedLoc.has(u(l.id))) problems.push(`location ${u(l.id)} is not used`);
    if (u(l.mappingId) !== 0) usedMap.add(u(l.mappingId));
    for (const ln of l.line) usedFn.add(u(ln.functionId));
  }
  const fnIds = new Set(p.function.map((f) => u(f.id)));
  for (const id of usedFn) if (!fnIds.has(id)) problems.push(`location uses missing function ${id}`);
  for (const f of p.function) {
    if (!usedFn.has(u(f.id))) problems.push(`function ${u(f.id)} (${strings[u(f.name)]}) is not used`);
    use(f.name), use(f.systemName), use(f.filename);
  }
  const mapIds = new Set(p.mapping.map((m) => u(m.id)));
  for (const id of usedMap) if (!mapIds.has(id)) problems.push(`location uses missing mapping ${id}`);
  for (const m of p.mapping) {
    if (!usedMap.has(u(m.id))) problems.push(`mapping ${u(m.id)} is not used`);
    use(m.filename), use(m.buildId);
  }
  for (let i = 1; i < strings.length; i++) if (!usedStr.has(i)) problems.push(`string ${i} (${JSON.stringify(strings[i])}) is not used`);
  return problems;
}
