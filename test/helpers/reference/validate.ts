// Reference implementation (pprof-format objects, written for clarity):
// the oracle the production path in src/profile/raw/ is tested against.

// Structural checks a backend would otherwise do after it said "200 queued":
// every reference in the profile points at something that exists. A profile
// that fails here is not shipped.

import { Profile } from 'pprof-format';
import { describeNonProfile, int64, uint } from '../../../src/profile/codec.js';
import { InvalidProfileError } from '../../../src/profile/errors.js';

export function validateProfile(p: Profile): void {
  const strings = p.stringTable.strings;
  const nStrings = strings.length;
  if (strings[0] !== '') throw new InvalidProfileError('invalid pprof: string_table[0] must be the empty string');
  const str = (v: number | bigint, what: string): void => {
    const i = uint(v);
    if (i >= nStrings) throw new InvalidProfileError(`invalid pprof: ${what} points at string ${i}, past the table of ${nStrings}`);
  };
  for (const st of p.sampleType) {
    str(st.type, 'a sample type');
    str(st.unit, 'a sample unit');
  }
  const mappingIds = new Set<number>();
  for (const m of p.mapping) {
    const id = uint(m.id);
    if (id === 0) throw new InvalidProfileError('invalid pprof: a mapping has id 0');
    mappingIds.add(id);
    str(m.filename, 'a mapping file name');
    str(m.buildId, 'a mapping build id');
  }
  const functionIds = new Set<number>();
  for (const f of p.function) {
    const id = uint(f.id);
    if (id === 0) throw new InvalidProfileError('invalid pprof: a function has id 0');
    functionIds.add(id);
    str(f.name, 'a function name');
    str(f.systemName, 'a function system name');
    str(f.filename, 'a function file name');
  }
  const locationIds = new Set<number>();
  for (const loc of p.location) {
    const id = uint(loc.id);
    if (id === 0) throw new InvalidProfileError('invalid pprof: a location has id 0');
    locationIds.add(id);
    const mid = uint(loc.mappingId);
    if (mid !== 0 && !mappingIds.has(mid)) throw new InvalidProfileError(`invalid pprof: location ${id} refers to missing mapping ${mid}`);
    for (const line of loc.line) {
      const fid = uint(line.functionId);
      if (fid !== 0 && !functionIds.has(fid)) throw new InvalidProfileError(`invalid pprof: location ${id} refers to missing function ${fid}`);
    }
  }
  const nTypes = p.sampleType.length;
  for (const s of p.sample) {
    if (s.value.length !== nTypes) {
      throw new InvalidProfileError(`invalid pprof: a sample has ${s.value.length} values for ${nTypes} sample types`);
    }
    for (const l of s.locationId) {
      if (!locationIds.has(uint(l))) throw new InvalidProfileError(`invalid pprof: a sample refers to missing location ${uint(l)}`);
    }
    for (const lab of s.label) {
      str(lab.key, 'a label key');
      str(lab.str, 'a label value');
      str(lab.numUnit, 'a label unit');
    }
  }
  if (p.periodType) {
    str(p.periodType.type, 'the period type');
    str(p.periodType.unit, 'the period unit');
  }
  for (const c of p.comment) str(c, 'a comment');
  str(p.dropFrames, 'drop_frames');
  str(p.keepFrames, 'keep_frames');
  str(p.defaultSampleType, 'default_sample_type');
}

/** Index of each named sample type; throws when one the type needs is missing. */
export function sampleTypeIndexes(p: Profile, names: readonly string[], profileType: string): number[] {
  const strings = p.stringTable.strings;
  const have = p.sampleType.map((st) => strings[uint(st.type)] ?? '');
  return names.map((name) => {
    const i = have.indexOf(name);
    if (i < 0) {
      throw new InvalidProfileError(
        `not a ${profileType} profile: it has sample types [${have.join(', ')}], but a ${profileType} profile has ${names.join(' and ')}`,
      );
    }
    return i;
  });
}

/** Sums of each sample type (by name), the slow way. */
export function sumsBySampleType(p: Profile): Record<string, number> {
  const names = p.sampleType.map((st) => p.stringTable.strings[uint(st.type)] ?? '');
  const sums = names.map(() => 0n);
  for (const s of p.sample) {
    for (let i = 0; i < sums.length; i++) sums[i]! += int64(s.value[i] ?? 0);
  }
  const out: Record<string, number> = {};
  names.forEach((n, i) => {
    out[n] = Number(sums[i]);
  });
  return out;
}

/** Decodes protobuf bytes; anything that is not a pprof message is an InvalidProfileError. */
export function decodeProfile(raw: Uint8Array, original: Uint8Array = raw, contentType?: string): Profile {
  let p: Profile;
  try {
    p = Profile.decode(raw);
  } catch {
    throw new InvalidProfileError(describeNonProfile(original, contentType));
  }
  // pprof-format gives a message without a string table the default [''], so
  // one entry means the body had none; a real profile names its sample types.
  if (p.sampleType.length === 0 || p.stringTable.strings.length <= 1) {
    throw new InvalidProfileError(describeNonProfile(original, contentType));
  }
  return p;
}

