import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { test } from 'node:test';
import { gunzipSync } from 'node:zlib';
import { Profile } from 'pprof-format';
import { ProfileVersions, type CumulativeType } from '../../bench/versions.js';
import { ROOT } from '../helpers/processes.js';

const PROFILES = join(ROOT, 'fixtures', 'profiles');
const START = 1_800_000_000_000_000_000n;
const INTERVAL = 10_000_000_000n;

interface Decoded {
  readonly timeNanos: bigint;
  /** values[sample][sampleType] */
  readonly values: bigint[][];
  readonly types: string[];
}

function decode(gz: Buffer): Decoded {
  const p = Profile.decode(gunzipSync(gz));
  const s = p.stringTable.strings;
  return { timeNanos: BigInt(p.timeNanos), values: p.sample.map((x) => x.value.map((v) => BigInt(v))), types: p.sampleType.map((t) => s[Number(t.type)]!) };
}

function versions(file: string, type: CumulativeType, maxHeld?: number): ProfileVersions {
  return new ProfileVersions(readFileSync(join(PROFILES, file)), { type, startNanos: START, intervalNs: INTERVAL, ...(maxHeld ? { maxHeld } : {}) });
}

/** Every cumulative value of every sample went up from a to b; the others stayed. */
function assertGrew(a: Decoded, b: Decoded, cumulative: readonly string[], what: string): void {
  assert.equal(a.values.length, b.values.length);
  a.values.forEach((va, n) =>
    va.forEach((v, i) => {
      const w = b.values[n]![i]!;
      if (cumulative.includes(a.types[i]!)) assert.ok(w > v, `${what}: sample ${n} ${a.types[i]} ${v} -> ${w}`);
      else assert.equal(w, v, `${what}: sample ${n} ${a.types[i]} is not cumulative and stays`);
    }),
  );
}

test('versions keep growing on every stack far past 16 scrapes, the profile time one interval a version', () => {
  for (const [file, type, cumulative] of [
    ['heap-6.pb.gz', 'heap', ['alloc_objects', 'alloc_space']],
    ['mutex-6.pb.gz', 'mutex', ['contentions', 'delay']],
    ['block-6.pb.gz', 'block', ['contentions', 'delay']],
  ] as const) {
    const v = versions(file, type);
    v.addServer();
    let prev = decode(v.take(0));
    assert.equal(prev.timeNanos, START);
    for (let k = 1; k <= 40; k++) {
      const cur = decode(v.take(k));
      assert.equal(cur.timeNanos, START + INTERVAL * BigInt(k), `${type} version ${k} time`);
      assertGrew(prev, cur, cumulative, `${type} version ${k - 1} -> ${k}`);
      prev = cur;
    }
  }
});

test('version 0 keeps the recorded values; a version is the same bytes however often it is built', () => {
  const recorded = decode(readFileSync(join(PROFILES, 'heap-typical.pb.gz')));
  const v = versions('heap-typical.pb.gz', 'heap');
  assert.deepEqual(decode(v.build(0)).values, recorded.values);
  const v2 = versions('heap-typical.pb.gz', 'heap');
  const late = v.build(500);
  assert.deepEqual(v2.build(500), late);
  assert.deepEqual(v.build(500), late);
});

test('each version is built once for all servers in step, and held only until the last of them took it', () => {
  const v = versions('heap-6.pb.gz', 'heap');
  const servers = 5;
  for (let i = 0; i < servers; i++) v.addServer();
  for (let k = 0; k < 30; k++) {
    const first = v.take(k);
    assert.deepEqual(v.heldVersions, [k], `version ${k} is held for the other servers`);
    for (let i = 1; i < servers; i++) assert.equal(v.take(k), first, 'every server gets the one built body');
    assert.deepEqual(v.heldVersions, [], `no server will ask for version ${k} again`);
  }
  assert.equal(v.builds, 30);
});

test('versions wanted by servers that fell behind stay held, each built once', () => {
  const v = versions('heap-6.pb.gz', 'heap');
  for (let i = 0; i < 3; i++) v.addServer();
  // Server A runs 10 versions ahead, B 5; C stays at 0.
  for (let k = 0; k < 10; k++) v.take(k);
  for (let k = 0; k < 5; k++) v.take(k);
  assert.deepEqual(v.heldVersions, [0, 1, 2, 3, 4, 5, 6, 7, 8, 9]);
  for (let k = 0; k < 5; k++) v.take(k); // C catches up with B
  assert.deepEqual(v.heldVersions, [5, 6, 7, 8, 9]);
  assert.equal(v.builds, 10);
});

test('laggards pin no more than maxHeld versions, and one that comes back gets the same body rebuilt', () => {
  const v = versions('heap-6.pb.gz', 'heap', 3);
  // Five servers: one runs to version 20, the others stop at 0, 5, 10 and 15.
  const stops = [20, 0, 5, 10, 15];
  for (let i = 0; i < stops.length; i++) v.addServer();
  const bodies: Buffer[] = [];
  for (let k = 0; k < 20; k++) {
    bodies.push(v.take(k));
    for (const stop of stops.slice(2)) if (k < stop) v.take(k);
    assert.ok(v.heldVersions.length <= 3, `held ${v.heldVersions.join(',')}`);
  }
  assert.equal(v.builds, 20);
  assert.deepEqual(v.heldVersions, [17, 18, 19]);
  // B comes back: versions dropped to keep the bound are built again, byte for byte.
  for (let k = 0; k < 20; k++) {
    assert.deepEqual(v.take(k), bodies[k]);
    assert.ok(v.heldVersions.length <= 3, `held ${v.heldVersions.join(',')}`);
  }
  assert.ok(v.builds > 20 && v.builds <= 40, `builds ${v.builds}`);
});

test('a profile without the cumulative sample types of its type is refused', () => {
  assert.throws(() => versions('mutex-6.pb.gz', 'heap'), /a heap profile needs the sample types alloc_objects, alloc_space; this one has contentions, delay/);
  assert.throws(() => versions('heap-6.pb.gz', 'heap').build(-1), /version must be a whole number >= 0/);
});
