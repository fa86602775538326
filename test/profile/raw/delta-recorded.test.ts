// The production delta (src/profile/raw/, and the processor on top of it)
// against the reference delta (test/helpers/reference) on every consecutive
// pair of profiles recorded from the Go fixture, and `go tool pprof -raw`
// reading what production ships.

import assert from 'node:assert/strict';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { before, describe, it } from 'node:test';
import { gunzipSync } from 'node:zlib';
import { Profile } from 'pprof-format';
import { BaselineStore } from '../../../src/profile/baselines.js';
import { ProfileProcessor } from '../../../src/profile/processor.js';
import { baselineBytes, rawDelta, rawSampleTypeIndexes, scanProfile, validateRaw, type RawBaseline } from '../../../src/profile/raw/index.js';
import type { ProfileTypeName } from '../../../src/profile/types.js';
import { computeDelta, type DeltaBaseline } from '../../helpers/reference/delta.js';
import { sampleTypeIndexes, validateProfile } from '../../helpers/reference/validate.js';
import { canonicalSamples, profileFields } from '../../helpers/canonical.js';
import { fixture, i64, structureProblems } from '../../helpers/pprof-model.js';
import { assertGoOnPath, goPprof } from '../../helpers/pprof.js';
import { cleanupAfterAll } from '../../helpers/processes.js';
import { testTarget } from '../../helpers/targets.js';

const DELTA_TYPES: Record<string, readonly string[]> = {
  heap: ['alloc_objects', 'alloc_space'],
  mutex: ['contentions', 'delay'],
  block: ['contentions', 'delay'],
};

const SERIES: [ProfileTypeName, string[]][] = [
  ['heap', [1, 2, 3, 4, 5, 6].map((k) => `heap-${k}.pb.gz`)],
  ['mutex', [1, 2, 3, 4, 5, 6].map((k) => `mutex-${k}.pb.gz`)],
  ['block', [1, 2, 3, 4, 5, 6].map((k) => `block-${k}.pb.gz`)],
  ['heap', ['heap-large-1.pb.gz', 'heap-large-2.pb.gz']],
];

const cleanup = cleanupAfterAll();
let tmp = '';
before(() => {
  tmp = cleanup.tempDir('raw-recorded-test-');
});

/** `go tool pprof -raw` on gzipped bytes: the sample type header, and the values of each sample row. */
function goRaw(gz: Uint8Array, name: string): { header: string; rows: bigint[][] } {
  const file = join(tmp, name);
  writeFileSync(file, gz);
  const r = goPprof(['-raw', '-symbolize=none', file], { tmpDir: tmp, timeoutMs: 30_000 });
  assert.equal(r.status, 0, `go tool pprof -raw ${name}: ${r.stderr}`);
  const lines = r.stdout.split('\n');
  const at = lines.indexOf('Samples:');
  assert.ok(at >= 0, `no Samples: section in\n${r.stdout.slice(0, 500)}`);
  const end = lines.indexOf('Locations', at);
  const rows = lines
    .slice(at + 2, end < 0 ? undefined : end)
    .map((l) => /^\s*(-?\d+(?:\s+-?\d+)*):/.exec(l))
    .filter((m): m is RegExpExecArray => m !== null)
    .map((m) => m[1]!.trim().split(/\s+/).map(BigInt));
  return { header: lines[at + 1]!.trim(), rows };
}

interface Both {
  prod: RawBaseline | undefined;
  ref: DeltaBaseline | undefined;
}

describe('production deltas equal the reference on the recorded profiles', () => {
  for (const [type, names] of SERIES) {
    const label = names.length === 2 ? names.join(' -> ') : `${type}-1..6`;
    it(`${label}: same outcome, same samples and values, strict-reader shape; the processor ships the same bytes, and go tool pprof -raw reads them`, async () => {
      assertGoOnPath('this test reads the shipped deltas with go tool pprof -raw');
      const prev: Both = { prod: undefined, ref: undefined };
      const store = new BaselineStore();
      const proc = new ProfileProcessor({ baselines: store, now: () => 1_800_000_000_000 });
      const target = testTarget();
      let shipped = 0;
      for (let i = 0; i < names.length; i++) {
        const name = names[i]!;
        const gz = fixture(name);
        const raw = gunzipSync(gz);
        const p = scanProfile(raw);
        const index = validateRaw(p);
        const decoded = Profile.decode(raw);
        const t = i64(decoded.timeNanos);
        assert.ok(t > 0n);
        const prodIdx = rawSampleTypeIndexes(p, DELTA_TYPES[type]!, type);
        const refIdx = sampleTypeIndexes(decoded, DELTA_TYPES[type]!, type);
        assert.deepEqual(prodIdx, refIdx);
        const prodOut = rawDelta(p, index, prev.prod, prodIdx, t);
        const refOut = computeDelta(prev.ref, decoded, refIdx, t);
        const windowStart = prev.prod?.timeNanos;
        prev.prod = prodOut.baseline;
        prev.ref = refOut.baseline;
        assert.equal(prodOut.kind, refOut.kind, `${name}: ${prodOut.kind === 'reset' ? prodOut.reason : prodOut.kind} vs ${refOut.kind}`);
        assert.equal(prodOut.kind, i === 0 ? 'baseline' : 'delta', name);
        assert.equal(prodOut.baseline.n, refOut.baseline.totals.size, `${name}: baseline entries`);

        // The processor on the same scrape: the same bytes, gzipped.
        const ms = Number(t / 1_000_000n);
        const result = await proc.process({ target, type, body: gz, contentType: 'application/octet-stream', startedAtMs: ms - 20, finishedAtMs: ms });
        if (prodOut.kind !== 'delta' || refOut.kind !== 'delta') {
          assert.equal(result.kind, 'baseline');
          continue;
        }
        assert.equal(result.kind, 'shipped', name);
        if (result.kind !== 'shipped') continue;
        assert.ok(Buffer.from(gunzipSync(result.record.pprof)).equals(Buffer.from(prodOut.profile)), `${name}: the processor ships rawDelta's bytes`);

        const got = Profile.decode(prodOut.profile);
        const want = Profile.decode(refOut.profile.encode());
        assert.deepEqual(canonicalSamples(got), canonicalSamples(want), `${name}: samples`);
        assert.deepEqual(profileFields(got), profileFields(want), `${name}: profile fields`);
        assert.deepEqual(structureProblems(got), [], name);
        assert.equal(i64(got.timeNanos), t);
        assert.equal(i64(got.durationNanos), t - windowStart!);
        assert.equal(prodOut.windowStartNanos, windowStart);
        assert.equal(prodOut.samples, got.sample.length);
        for (const [key, values] of canonicalSamples(got)) for (const v of values) assert.ok(v >= 0n, `${name}: negative ${v} at ${key}`);
        validateProfile(got);
        validateRaw(scanProfile(prodOut.profile));
        shipped++;

        const { header, rows } = goRaw(result.record.pprof, `${name}.delta.pb.gz`);
        assert.equal(header, profileFields(got).sampleTypes.join(' '), `${name}: go's sample types`);
        assert.equal(rows.length, got.sample.length, `${name}: go reads every sample`);
        const goSums = profileFields(got).sampleTypes.map((_, j) => rows.reduce((a, r) => a + r[j]!, 0n));
        const ourSums = profileFields(got).sampleTypes.map((_, j) => canonicalSamples(got).reduce((a, [, v]) => a + v[j]!, 0n));
        assert.deepEqual(goSums, ourSums, `${name}: go's totals`);
      }
      assert.equal(shipped, names.length - 1);
    });
  }

  it('heap-6 then another process: both reset; that process 2 s later: the same delta', () => {
    const idx = [0, 1];
    const read = (raw: Uint8Array) => {
      const p = scanProfile(raw);
      return { p, index: validateRaw(p), decoded: Profile.decode(raw) };
    };
    const six = read(gunzipSync(fixture('heap-6.pb.gz')));
    const other = read(gunzipSync(fixture('heap-other-process.pb.gz')));
    const tSix = i64(six.decoded.timeNanos);
    const tOther = i64(other.decoded.timeNanos);
    const a = rawDelta(six.p, six.index, undefined, idx, tSix);
    const b = computeDelta(undefined, six.decoded, idx, tSix);
    const a2 = rawDelta(other.p, other.index, a.baseline, idx, tOther);
    const b2 = computeDelta(b.baseline, other.decoded, idx, tOther);
    assert.equal(a2.kind, 'reset');
    assert.equal(b2.kind, 'reset');
    const later = other.decoded;
    later.timeNanos = tOther + 2_000_000_000n;
    const laterRaw = later.encode();
    const l = read(laterRaw);
    const a3 = rawDelta(l.p, l.index, a2.baseline, idx, tOther + 2_000_000_000n);
    const b3 = computeDelta(b2.baseline, Profile.decode(laterRaw), idx, tOther + 2_000_000_000n);
    assert.equal(a3.kind, 'delta');
    assert.equal(b3.kind, 'delta');
    if (a3.kind !== 'delta' || b3.kind !== 'delta') return;
    assert.deepEqual(canonicalSamples(Profile.decode(a3.profile)), canonicalSamples(Profile.decode(b3.profile.encode())));
    assert.ok(Profile.decode(a3.profile).sample.length > 0, 'in-use memory is still shipped');
  });

  it('the recorded deltas are not trivially empty: allocations, contentions and delay in the window', () => {
    for (const [type, names] of SERIES) {
      const raws = names.slice(0, 2).map((n) => gunzipSync(fixture(n)));
      const idx = rawSampleTypeIndexes(scanProfile(raws[0]!), DELTA_TYPES[type]!, type);
      const [a, b] = raws.map((r) => scanProfile(r));
      const base = rawDelta(a!, validateRaw(a!), undefined, idx, 1n);
      const out = rawDelta(b!, validateRaw(b!), base.baseline, idx, 2n);
      assert.equal(out.kind, 'delta');
      if (out.kind === 'delta') for (const n of DELTA_TYPES[type]!) assert.ok(out.sums[n]! > 0, `${names[1]}: ${n} sum ${out.sums[n]}`);
    }
  });
});

describe('baselineBytes', () => {
  it('a ~3,000-stack heap baseline (heap-large-2) is under 200 KB', (t) => {
    const raw = gunzipSync(fixture('heap-large-2.pb.gz'));
    const p = scanProfile(raw);
    const out = rawDelta(p, validateRaw(p), undefined, rawSampleTypeIndexes(p, DELTA_TYPES.heap!, 'heap'), 1n);
    const bytes = baselineBytes(out.baseline);
    t.diagnostic(`heap-large-2: ${out.baseline.n} stacks, baselineBytes ${bytes} (${(bytes / 1024).toFixed(1)} KiB); profile ${raw.length} bytes`);
    assert.ok(out.baseline.n >= 2900, `${out.baseline.n} stacks`);
    assert.ok(bytes < 200 * 1024, `${bytes} bytes`);
    // Per stack: two 32-bit hash lanes, a slot or two of the hash table, two float64 totals.
    assert.ok(bytes / out.baseline.n < 64, `${bytes / out.baseline.n} bytes per stack`);
  });
});
