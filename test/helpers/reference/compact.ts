// Reference implementation (pprof-format objects, written for clarity):
// the oracle the production path in src/profile/raw/ is tested against.

// Rebuilds a profile around a new set of samples: locations, functions,
// mappings and strings that no sample uses are dropped, and ids are renumbered
// 1..n in table order. Strict readers (Parca, Pyroscope's fast paths) assume
// `location[i].id == i + 1`; Go's own output has that shape and a delta that
// drops samples must keep it.

import { Function as PFunction, Label, Line, Location, Mapping, Profile, Sample, StringTable, ValueType } from 'pprof-format';
import { uint } from '../../../src/profile/codec.js';

export interface CompactSample {
  readonly locationIds: readonly number[];
  readonly values: readonly bigint[];
  readonly labels: readonly Label[];
}

export interface CompactOptions {
  readonly timeNanos: bigint;
  readonly durationNanos: bigint;
}

export function compactProfile(src: Profile, samples: readonly CompactSample[], opts: CompactOptions): Profile {
  const srcStrings = src.stringTable.strings;
  const strings = new StringTable();
  const s = (i: number | bigint): number => {
    const idx = uint(i);
    return idx === 0 ? 0 : strings.dedup(srcStrings[idx] ?? '');
  };

  // Sample types first, so their strings lead the table as in Go's output.
  const sampleType = src.sampleType.map((st) => new ValueType({ type: s(st.type), unit: s(st.unit) }));

  const locById = new Map<number, Location>();
  for (const loc of src.location) locById.set(uint(loc.id), loc);
  const usedLoc = new Set<number>();
  for (const smp of samples) for (const id of smp.locationIds) usedLoc.add(id);

  const locNewId = new Map<number, number>();
  const usedFn = new Set<number>();
  const usedMap = new Set<number>();
  const keptLocs: Location[] = [];
  for (const loc of src.location) {
    const id = uint(loc.id);
    if (!usedLoc.has(id)) continue;
    keptLocs.push(loc);
    locNewId.set(id, keptLocs.length);
    const mid = uint(loc.mappingId);
    if (mid !== 0) usedMap.add(mid);
    for (const line of loc.line) {
      const fid = uint(line.functionId);
      if (fid !== 0) usedFn.add(fid);
    }
  }

  const mapNewId = new Map<number, number>();
  const mapping: Mapping[] = [];
  for (const m of src.mapping) {
    const id = uint(m.id);
    if (!usedMap.has(id)) continue;
    mapping.push(
      new Mapping({
        id: mapping.length + 1,
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
    );
    mapNewId.set(id, mapping.length);
  }

  const fnNewId = new Map<number, number>();
  const fns: PFunction[] = [];
  for (const f of src.function) {
    const id = uint(f.id);
    if (!usedFn.has(id)) continue;
    fns.push(
      new PFunction({ id: fns.length + 1, name: s(f.name), systemName: s(f.systemName), filename: s(f.filename), startLine: f.startLine }),
    );
    fnNewId.set(id, fns.length);
  }

  const location = keptLocs.map(
    (loc, i) =>
      new Location({
        id: i + 1,
        mappingId: mapNewId.get(uint(loc.mappingId)) ?? 0,
        address: loc.address,
        isFolded: loc.isFolded,
        line: loc.line.map((l) => new Line({ functionId: fnNewId.get(uint(l.functionId)) ?? 0, line: l.line, column: l.column })),
      }),
  );

  const sample = samples.map(
    (smp) =>
      new Sample({
        locationId: smp.locationIds.map((id) => locNewId.get(id)!),
        value: [...smp.values],
        label: smp.labels.map((l) => new Label({ key: s(l.key), str: s(l.str), num: l.num, numUnit: s(l.numUnit) })),
      }),
  );

  return new Profile({
    sampleType,
    sample,
    mapping,
    location,
    function: fns,
    stringTable: strings,
    dropFrames: s(src.dropFrames),
    keepFrames: s(src.keepFrames),
    timeNanos: opts.timeNanos,
    durationNanos: opts.durationNanos,
    ...(src.periodType ? { periodType: new ValueType({ type: s(src.periodType.type), unit: s(src.periodType.unit) }) } : {}),
    period: src.period,
    comment: src.comment.map((c) => s(c)),
    defaultSampleType: s(src.defaultSampleType),
    docUrl: s(src.docUrl),
  });
}
