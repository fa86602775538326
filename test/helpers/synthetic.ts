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
