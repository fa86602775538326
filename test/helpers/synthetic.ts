// Synthetic Go-like heap profiles built with pprof-format, for property tests.
// A "logical" profile is a set of distinct (stack, labels) entries with
// cumulative values; `buildHeap` turns it into a pprof Profile the way Go might
// write it: any location/function ids, tables in any order, the same
// stack+labels sometimes split over two samples, unused table entries present.

import { Function as PFunction, Label, Line, Location, Mapping, Profile, Sample, StringTable, ValueType } from 'pprof-format';

export const HEAP_TYPES = [
  ['alloc_objects', 'count'],
  ['alloc_space', 'bytes'],
  ['inuse_objects', 'count'],
  ['inuse_space', 'bytes'],
] as const;
/** Indexes of the cumulative (delta) sample types in HEAP_TYPES. */
export const HEAP_DELTA_IDX = [0, 1] as const;
export const HEAP_INUSE_IDX = [2, 3] as const;

export const FUNCTIONS = [
  ['main.allocator', 'main.go'],
  ['main.retainer', 'main.go'],
  ['runtime.main', 'runtime/proc.go'],
  ['bytes.growSlice', 'bytes/buffer.go'],
  ['encoding/json.Marshal', 'encoding/json/encode.go'],
  ['net/http.(*conn).serve', 'net/http/server.go'],
  ['main.worker', 'main.go'],
  ['sync.(*Pool).Get', 'sync/pool.go'],
] as const;

/** Pool of locations: [address, lines as [function index, line]] (some inlined). */
export const LOCATIONS: readonly (readonly [bigint, readonly (readonly [number, number])[]])[] = [
  [0x401000n, [[0, 224]]],
  [0x401040n, [[1, 239]]],
  [0x401080n, [[2, 250]]],
  [0x4010c0n, [[3, 118], [6, 40]]],
  [0x401100n, [[4, 158]]],
  [0x401140n, [[5, 1991]]],
  [0x401180n, [[6, 41]]],
  [0x4011c0n, [[7, 91], [0, 230]]],
  [0x401200n, [[2, 260]]],
  // Distinct address, same function and line as location 2: a different PC.
  [0x401204n, [[2, 250]]],
];
export const N_LOC = LOCATIONS.length;

export interface Entry {
  /** Location pool indexes, leaf first. */
  readonly stack: readonly number[];
  /** Go's numeric `bytes` label (object size); absent when 0. */
  readonly bytes?: number;
  /** An optional string label. */
  readonly tag?: string;
  /** Cumulative values, one per HEAP_TYPES entry. */
  readonly values: readonly bigint[];
}

export function entryKey(e: Pick<Entry, 'stack' | 'bytes' | 'tag'>): string {
  return `${e.stack.join(',')}|${e.bytes ?? ''}|${e.tag ?? ''}`;
}

export interface BuildOptions {
  readonly timeNanos: bigint;
  /** Location id per pool index (distinct, nonzero). Default 1..n. */
  readonly locIds?: readonly number[];
  /** Function id per FUNCTIONS index (distinct, nonzero). Default 1..n. */
  readonly fnIds?: readonly number[];
  /** Entry indexes whose values are written as two samples (halves). */
  readonly split?: ReadonlySet<number>;
  /** Write the location and function tables in reverse order. */
  readonly reverseTables?: boolean;
  /** Write the samples in reverse order. */
  readonly reverseSamples?: boolean;
  /** Locations with address 0 (matched by function/file/line). */
  readonly noAddresses?: boolean;
}

export function buildHeap(entries: readonly Entry[], o: BuildOptions): Profile {
  const st = new StringTable();
  // Unused strings and table entries, as a sloppy writer might leave them.
  st.dedup('never-referenced');
  const locIds = o.locIds ?? LOCATIONS.map((_, i) => i + 1);
  const fnIds = o.fnIds ?? FUNCTIONS.map((_, i) => i + 1);
  const sampleType = HEAP_TYPES.map(([t, un]) => new ValueType({ type: st.dedup(t), unit: st.dedup(un) }));
  const fileName = st.dedup('/bin/app');
  const functions = FUNCTIONS.map(
    ([name, file], i) => new PFunction({ id: fnIds[i]!, name: st.dedup(name), systemName: st.dedup(name), filename: st.dedup(file), startLine: 10 }),
  );
  const unusedFnId = Math.max(...fnIds) + 7;
  functions.push(new PFunction({ id: unusedFnId, name: st.dedup('unused.function'), filename: st.dedup('unused.go') }));
  const locations = LOCATIONS.map(
    ([addr, lines], i) =>
      new Location({
        id: locIds[i]!,
        mappingId: 3,
        address: o.noAddresses ? 0 : addr,
        line: lines.map(([f, line]) => new Line({ functionId: fnIds[f]!, line })),
      }),
  );
  locations.push(
    new Location({ id: Math.max(...locIds) + 5, mappingId: 9, address: 0x7f0000001000n, line: [new Line({ functionId: unusedFnId, line: 1 })] }),
  );
  const mappings = [
    new Mapping({ id: 3, memoryStart: 0x400000, memoryLimit: 0x800000, filename: fileName, buildId: st.dedup('abc123'), hasFunctions: true }),
    new Mapping({ id: 9, memoryStart: 0x7f0000000000n, memoryLimit: 0x7f0000100000n, filename: st.dedup('/lib/libc.so.6') }),
  ];
  const bytesKey = st.dedup('bytes');
  const tagKey = st.dedup('span');
  const samples: Sample[] = [];
  entries.forEach((e, i) => {
    const label: Label[] = [];
    if (e.tag !== undefined) label.push(new Label({ key: tagKey, str: st.dedup(e.tag) }));
    if (e.bytes !== undefined && e.bytes !== 0) label.push(new Label({ key: bytesKey, num: e.bytes }));
    const locationId = e.stack.map((l) => locIds[l]!);
    if (o.split?.has(i)) {
      const a = e.values.map((v) => v / 2n);
      const b = e.values.map((v, j) => v - a[j]!);
      samples.push(new Sample({ locationId, value: a, label }));
      // The second copy lists its labels in the other order.
      samples.push(new Sample({ locationId: [...locationId], value: b, label: [...label].reverse() }));
    } else {
      samples.push(new Sample({ locationId, value: [...e.values], label }));
    }
  });
  if (o.reverseSamples) samples.reverse();
  if (o.reverseTables) {
    locations.reverse();
    functions.reverse();
  }
  return new Profile({
    sampleType,
    sample: samples,
    mapping: mappings,
    location: locations,
    function: functions,
    stringTable: st,
    timeNanos: o.timeNanos,
    periodType: new ValueType({ type: st.dedup('space'), unit: st.dedup('bytes') }),
    period: 524288,
    comment: [st.dedup('synthetic profile')],
  });
}

/** Encodes and decodes, so values come back number|bigint mixed as from the wire. */
export function wire(p: Profile): Profile {
  return Profile.decode(p.encode());
}

// ---------------------------------------------------------------- generic profiles
//
// For the equivalence tests of the production codec (src/profile/raw/)
// against the reference: any sample types (heap-like or mutex/block-like),
// several labels per sample written in varying orders, a stack+labels split
// over up to three samples, locations with and without addresses, tables,
// samples and the string table in shuffled orders, ids sparse or dense.

/**
 * The location pool of the generic builder: LOCATIONS plus addresses past 32
 * bits (one sharing its low 32 bits with pool location 0) and one at or past
 * 2^63, negative as an int64 (the vsyscall page).
 */
export const GEN_LOCATIONS: readonly (readonly [bigint, readonly (readonly [number, number])[]])[] = [
  ...LOCATIONS,
  [0x100401000n, [[1, 300]]],
  [0x7f1234567000n, [[7, 12], [4, 160]]],
  [0xffffffffff600000n, [[5, 77]]],
];
export const GEN_N_LOC = GEN_LOCATIONS.length;

/** Sample types of Go's mutex and block profiles; both are cumulative. */
export const CONTENTION_TYPES = [
  ['contentions', 'count'],
  ['delay', 'nanoseconds'],
] as const;

export interface GenLabel {
  readonly key: string;
  /** A string label (never together with num). */
  readonly str?: string;
  readonly num?: bigint;
  readonly unit?: string;
}

export interface GenEntry {
  /** GEN_LOCATIONS indexes, leaf first. */
  readonly stack: readonly number[];
  /** Distinct keys; written in a different order in every sample. */
  readonly labels: readonly GenLabel[];
  /** Cumulative values, one per sample type. */
  readonly values: readonly bigint[];
}

export function genLabelKey(l: GenLabel): string {
  return l.str !== undefined ? `${l.key}=${l.str}` : `${l.key}#${l.num ?? 0n}${l.unit ?? ''}`;
}

/** Identity of an entry when no two of its locations are merged by a missing address. */
export function genEntryKey(e: Pick<GenEntry, 'stack' | 'labels'>): string {
  return `${e.stack.join(',')}|${e.labels.map(genLabelKey).sort().join(',')}`;
}

export interface GenLayout {
  /** Location id per GEN_LOCATIONS index (distinct, nonzero), unless denseIds. */
  readonly locIds: readonly number[];
  /** Function id per FUNCTIONS index (distinct, nonzero), unless denseIds. */
  readonly fnIds: readonly number[];
  readonly mappingIds: readonly number[];
  /** Ids 1..n in table order (Go's shape) instead of the ones above. */
  readonly denseIds: boolean;
  /** Per GEN_LOCATIONS entry: written with address 0 (matched by function/file/line). */
  readonly noAddress: readonly boolean[];
  /** Weights of the samples an entry is split into; entry i uses parts[i % length]. */
  readonly parts: readonly (readonly number[])[];
  /** Seed for label orders and the shuffles below. */
  readonly seed: number;
  readonly shuffleTables: boolean;
  readonly shuffleSamples: boolean;
  readonly shuffleStrings: boolean;
}

export interface GenProfileOptions {
  readonly types: readonly (readonly [string, string])[];
  readonly periodType: readonly [string, string];
  readonly period: number;
  readonly timeNanos: bigint;
}

/** A small deterministic PRNG (mulberry32), so a layout is reproducible from its seed. */
export function prng(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

export function shuffle<T>(xs: T[], rnd: () => number): T[] {
  for (let i = xs.length - 1; i > 0; i--) {
    const j = Math.floor(rnd() * (i + 1));
    [xs[i], xs[j]] = [xs[j]!, xs[i]!];
  }
  return xs;
}

/** `v` split by weights into parts that sum to exactly `v`. */
export function splitValue(v: bigint, weights: readonly number[]): bigint[] {
  const total = BigInt(weights.reduce((a, b) => a + b, 0));
  const out = weights.map((w) => (v * BigInt(w)) / total);
  out[out.length - 1] = v - out.slice(0, -1).reduce((a, b) => a + b, 0n);
  return out;
}

export function buildGeneric(entries: readonly GenEntry[], layout: GenLayout, o: GenProfileOptions): Profile {
  const rnd = prng(layout.seed);
  const st = new StringTable();
  st.dedup('never-referenced');
  const sampleType = o.types.map(([t, un]) => new ValueType({ type: st.dedup(t), unit: st.dedup(un) }));

  // Tables: the pool plus one unused entry each (and an unused mapping).
  const nL = GEN_N_LOC + 1;
  const nF = FUNCTIONS.length + 1;
  const nM = 2;
  const range = (n: number) => Array.from({ length: n }, (_, i) => i);
  const locOrder = range(nL);
  const fnOrder = range(nF);
  const mapOrder = range(nM);
  if (layout.shuffleTables) {
    shuffle(locOrder, rnd);
    shuffle(fnOrder, rnd);
    shuffle(mapOrder, rnd);
  }
  const locId: number[] = [];
  const fnId: number[] = [];
  const mapId: number[] = [];
  if (layout.denseIds) {
    locOrder.forEach((li, pos) => (locId[li] = pos + 1));
    fnOrder.forEach((fi, pos) => (fnId[fi] = pos + 1));
    mapOrder.forEach((mi, pos) => (mapId[mi] = pos + 1));
  } else {
    layout.locIds.forEach((id, i) => (locId[i] = id));
    locId[GEN_N_LOC] = Math.max(...layout.locIds) + 5;
    layout.fnIds.forEach((id, i) => (fnId[i] = id));
    fnId[FUNCTIONS.length] = Math.max(...layout.fnIds) + 7;
    mapId[0] = layout.mappingIds[0]!;
    mapId[1] = layout.mappingIds[1]!;
  }

  const fileName = st.dedup('/bin/app');
  const functions: PFunction[] = FUNCTIONS.map(
    ([name, file], i) => new PFunction({ id: fnId[i]!, name: st.dedup(name), systemName: st.dedup(name), filename: st.dedup(file), startLine: 10 + i }),
  );
  functions.push(new PFunction({ id: fnId[FUNCTIONS.length]!, name: st.dedup('unused.function'), filename: st.dedup('unused.go') }));
  const locations: Location[] = GEN_LOCATIONS.map(
    ([addr, lines], i) =>
      new Location({
        id: locId[i]!,
        mappingId: mapId[0]!,
        address: layout.noAddress[i] ? 0 : addr,
        line: lines.map(([f, line]) => new Line({ functionId: fnId[f]!, line })),
      }),
  );
  locations.push(new Location({ id: locId[GEN_N_LOC]!, mappingId: mapId[1]!, address: 0x7f0000001000n, line: [new Line({ functionId: fnId[FUNCTIONS.length]!, line: 1 })] }));
  const mappings = [
    new Mapping({ id: mapId[0]!, memoryStart: 0x400000, memoryLimit: 0x800000, fileOffset: 0x1000, filename: fileName, buildId: st.dedup('abc123'), hasFunctions: true, hasLineNumbers: true }),
    new Mapping({ id: mapId[1]!, memoryStart: 0x7f0000000000n, memoryLimit: 0x7f0000100000n, filename: st.dedup('/lib/libc.so.6') }),
  ];

  const samples: Sample[] = [];
  entries.forEach((e, i) => {
    const weights = layout.parts.length > 0 ? layout.parts[i % layout.parts.length]! : [1];
    const parts = e.values.map((v) => splitValue(v, weights));
    weights.forEach((_, j) => {
      const label = shuffle([...e.labels], rnd).map((l) =>
        l.str !== undefined
          ? new Label({ key: st.dedup(l.key), str: st.dedup(l.str) })
          : new Label({ key: st.dedup(l.key), num: l.num ?? 0n, numUnit: l.unit !== undefined ? st.dedup(l.unit) : 0 }),
      );
      samples.push(new Sample({ locationId: e.stack.map((l) => locId[l]!), value: parts.map((p) => p[j]!), label }));
    });
  });
  if (layout.shuffleSamples) shuffle(samples, rnd);

  const p = new Profile({
    sampleType,
    sample: samples,
    mapping: mapOrder.map((mi) => mappings[mi]!),
    location: locOrder.map((li) => locations[li]!),
    function: fnOrder.map((fi) => functions[fi]!),
    stringTable: st,
    dropFrames: st.dedup('runtime\\.gopark'),
    timeNanos: o.timeNanos,
    periodType: new ValueType({ type: st.dedup(o.periodType[0]), unit: st.dedup(o.periodType[1]) }),
    period: o.period,
    comment: [st.dedup('synthetic profile'), st.dedup('second comment')],
    defaultSampleType: st.dedup(o.types[o.types.length - 1]![0]),
    docUrl: st.dedup('https://example.com/doc'),
  });
  return layout.shuffleStrings ? permuteStrings(p, rnd) : p;
}

/** The same profile with string_table[1..] in a random order (index 0 stays ""). */
export function permuteStrings(p: Profile, rnd: () => number): Profile {
  const old = p.stringTable.strings;
  const order = shuffle(
    old.map((_, i) => i).slice(1),
    rnd,
  );
  const st = new StringTable();
  const map: number[] = [0];
  for (const i of order) map[i] = st.dedup(old[i]!);
  const s = (v: number | bigint): number => {
    const n = map[Number(BigInt.asUintN(64, BigInt(v)))];
    if (n === undefined) throw new Error(`string ${v} out of range`);
    return n;
  };
  return new Profile({
    sampleType: p.sampleType.map((vt) => new ValueType({ type: s(vt.type), unit: s(vt.unit) })),
    sample: p.sample.map(
      (x) =>
        new Sample({
          locationId: [...x.locationId],
          value: [...x.value],
          label: x.label.map((l) => new Label({ key: s(l.key), str: s(l.str), num: l.num, numUnit: s(l.numUnit) })),
        }),
    ),
    mapping: p.mapping.map(
      (m) =>
        new Mapping({
          id: m.id,
          memoryStart: m.memoryStart,
          memoryLimit: m.memoryLimit,
          fileOffset: m.fileOffset,
          filename: s(m.filename),
          buildId: s(m.buildId),
          hasFunctions: m.hasFunctions,
          hasFilenames: m.hasFilenames,
          hasLineNumbers: m.hasLineNumbers,
          hasInlineFrames: m.hasInlineFrames,
        }),
    ),
    location: p.location,
    function: p.function.map((f) => new PFunction({ id: f.id, name: s(f.name), systemName: s(f.systemName), filename: s(f.filename), startLine: f.startLine })),
    stringTable: st,
    dropFrames: s(p.dropFrames),
    keepFrames: s(p.keepFrames),
    timeNanos: p.timeNanos,
    durationNanos: p.durationNanos,
    ...(p.periodType ? { periodType: new ValueType({ type: s(p.periodType.type), unit: s(p.periodType.unit) }) } : {}),
    period: p.period,
    comment: p.comment.map(s),
    defaultSampleType: s(p.defaultSampleType),
    docUrl: s(p.docUrl),
  });
}
