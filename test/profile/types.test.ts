// The type table: one lookup for built-in and custom types, and where each is requested.

import assert from 'node:assert/strict';
import { test } from 'node:test';
import { BUILTIN_TYPE_NAMES, PROFILE_TYPES, profileUrl, typeSpec, type ProfileTypeSpec } from '../../src/profile/types.js';

const fgprof: ProfileTypeSpec = { name: 'fgprof', path: '/debug/fgprof', seconds: true, cpuProfiler: false, deltaSampleTypes: [], datakitFileName: 'fgprof.pprof', pyroscopeName: 'fgprof', custom: true };

test('typeSpec finds built-in and custom types alike, and refuses others', () => {
  for (const name of BUILTIN_TYPE_NAMES) assert.equal(typeSpec(name, [fgprof]), PROFILE_TYPES[name]);
  assert.equal(typeSpec('fgprof', [fgprof]), fgprof);
  assert.throws(() => typeSpec('fgprof', undefined), /unknown profile type "fgprof"/);
});

test('only cpu is the CPU profiler; heap, mutex and block have a godeltaprof path; names are distinct', () => {
  assert.deepEqual(BUILTIN_TYPE_NAMES.filter((n) => PROFILE_TYPES[n].cpuProfiler), ['cpu']);
  assert.deepEqual(BUILTIN_TYPE_NAMES.filter((n) => PROFILE_TYPES[n].godeltaprofPath), ['heap', 'mutex', 'block']);
  const specs = BUILTIN_TYPE_NAMES.map((n) => PROFILE_TYPES[n]);
  assert.equal(new Set(specs.map((s) => s.pyroscopeName)).size, specs.length);
  assert.equal(new Set(specs.map((s) => s.datakitFileName)).size, specs.length);
});

test('profileUrl: a path under the pprof prefix, or from the root of the host', () => {
  assert.equal(profileUrl('http://h:6060/debug/pprof', 'heap'), 'http://h:6060/debug/pprof/heap');
  assert.equal(profileUrl('http://h:6060/debug/pprof', '/debug/fgprof'), 'http://h:6060/debug/fgprof');
  assert.equal(profileUrl('https://h/x/debug/pprof', '/fg?format=pprof'), 'https://h/fg?format=pprof');
});
