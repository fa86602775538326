// Whole-profile checks and sums: every sample validated, the sums per
// sample type, and the indexes of the sample types a profile type needs.

import { InvalidProfileError } from '../errors.js';
import { SampleCursor } from './cursor.js';
import { add, type Int } from './int64.js';
import { indexProfile, type ProfileIndex } from './profile-index.js';
import { sampleTypeNames, type RawProfile } from './scan.js';

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
