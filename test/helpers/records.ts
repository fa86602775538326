// Profile records for output tests, built from the recorded fixture profiles
// (real pprof of fixtures/go-target).

import { readFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { freezeRecord, type ProfileRecord } from '../../src/profile/record.js';
import { isBuiltinType, PROFILE_TYPES, shipNames } from '../../src/profile/types.js';

export const FIXTURE_PROFILES = join(dirname(fileURLToPath(import.meta.url)), '..', '..', 'fixtures', 'profiles');

export function fixtureProfile(name: string): Buffer {
  return readFileSync(join(FIXTURE_PROFILES, name));
}

let seq = 0;

/** A record of the fixture's CPU profile with known window and tags; override what a test needs. */
export function makeRecord(over: Partial<ProfileRecord> = {}): ProfileRecord {
  seq++;
  const customTags = over.customTags ?? { team: 'payments', region: 'eu-1' };
  const base = {
    // A UUIDv7 like newRecordId's, unique per call (the file stem uses the last 8 hex digits).
    id: `${(1_763_772_312_000 + seq).toString(16).padStart(12, '0').replace(/^(.{8})(.{4})$/, '$1-$2')}-7000-8000-${(0xa0000000 + seq).toString(16).padStart(12, '0')}`,
    targetId: 'target-1',
    type: 'cpu' as string,
    service: 'checkout',
    env: 'staging',
    version: '1.4.2',
    instance: '127.0.0.1:6060',
    startNs: 1_763_772_312_123_456_789n,
    endNs: 1_763_772_321_123_456_790n,
    pprof: fixtureProfile('cpu.pb.gz'),
    sampleCount: 10,
    isDelta: false,
  };
  const type = over.type ?? base.type;
  // The names a record of a built-in type ships under, unless the test sets them.
  const names = isBuiltinType(type) ? shipNames(PROFILE_TYPES[type]) : { datakitFileName: `${type}.pprof`, pyroscopeName: type };
  const merged = { ...base, ...names, ...over };
  const tags = over.tags ?? {
    host: 'build-box',
    instance: merged.instance,
    ...customTags,
    service: merged.service,
    env: merged.env,
    version: merged.version,
  };
  return freezeRecord({ ...merged, tags: { ...tags }, customTags: { ...customTags } });
}
