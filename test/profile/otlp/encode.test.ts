// The OTLP encoder against the OpenTelemetry Collector's own decoder: every
// request is posted to the Go receiver (pdata's pprofileotlp, plus every
// dictionary index checked), and what it decoded is compared with the source
// pprof read on the test side (pprof-format): one profile per sample type,
// the same samples, values, stacks and labels, period and times carried over.

import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { gunzipSync } from 'node:zlib';
import type { Profile } from 'pprof-format';
import { encodeOtlpExport, OTLP_SCOPE_NAME, otlpProfileIds } from '../../../src/profile/otlp/index.js';
import type { ProfileRecord } from '../../../src/profile/record.js';
import { VERSION } from '../../../src/core/version.js';
import { goReceiverSuite, type ReceivedRequest, type RunningGoReceiver } from '../../helpers/go-receiver.js';
import { decode, fixture, i64, rows, str, u } from '../../helpers/pprof-model.js';
import { makeRecord } from '../../helpers/records.js';
import { buildGeneric, CONTENTION_TYPES, GEN_N_LOC, type GenEntry } from '../../helpers/synthetic.js';

const suite = goReceiverSuite();
const need = (): RunningGoReceiver => suite.receiver();

/** Posts one encoded record; returns what the receiver decoded (with stacks). */
async function roundTrip(r: RunningGoReceiver, record: ProfileRecord): Promise<{ req: ReceivedRequest; bytes: number }> {
  await r.reset();
  const enc = encodeOtlpExport(record, gunzipSync(record.pprof));
  const res = await fetch(r.otlpUrl, { method: 'POST', headers: { 'content-type': 'application/x-protobuf' }, body: enc.body });
  const [req] = await r.summary({ stacks: true });
  assert.ok(req, 'the receiver saw no request');
  assert.deepEqual(req.errors, [], `the receiver's checks: ${req.errors.join('; ')}`);
  assert.equal(res.status, 200);
  assert.deepEqual(req.dictionary, enc.dictionary, 'the dictionary sizes the encoder reports are the ones decoded');
  return { req, bytes: enc.body.length };
}

/**
 * The source profile as the receiver summarises an OTLP profile, built on the
 * test side: per sample type, root-first "a;b;c|labels" -> value over the
 * samples whose value is not zero, their count and their sum.
 */
function expected(p: Profile): Array<{ type: string; samples: number; sum: bigint; stacks: Record<string, number> }> {
  const rs = rows(p);
  return p.sampleType.map((st, t) => {
    const stacks: Record<string, number> = {};
    let samples = 0;
    let sum = 0n;
    p.sample.forEach((s, i) => {
      const v = i64(s.value[t]!);
      if (v === 0n) return;
      samples++;
      sum += v;
      const labels = s.label
        .map((l) => {
          const key = str(p, l.key);
          if (u(l.str) !== 0) return `${key}=${str(p, l.str)}`;
          const unit = str(p, l.numUnit);
          return `${key}=#${i64(l.num)}${unit ? `[${unit}]` : ''}`;
        })
        .sort()
        .join(',');
      const key = [...rs[i]!.functions].reverse().join(';') + (labels ? `|${labels}` : '');
      stacks[key] = (stacks[key] ?? 0) + Number(v);
    });
    return { type: `${str(p, st.type)}/${str(p, st.unit)}`, samples, sum, stacks };
  });
}

function checkAgainstSource(req: ReceivedRequest, record: ProfileRecord, source: Profile, what: string): void {
  assert.equal(req.resources?.length, 1, what);
  const res = req.resources![0]!;
  assert.equal(res.scopes.length, 1, what);
  const scope = res.scopes[0]!;
  assert.equal(scope.name, OTLP_SCOPE_NAME);
  assert.equal(scope.version, VERSION);
  const want = expected(source);
  assert.equal(scope.profiles.length, source.sampleType.length, `${what}: one profile per sample type`);
  const ids = otlpProfileIds(record.id, want.length).map((b) => b.toString('hex'));
  scope.profiles.forEach((prof, t) => {
    const w = want[t]!;
    const at = `${what} ${w.type}`;
    assert.equal(prof.sample_type, w.type, at);
    assert.equal(prof.samples, w.samples, `${at}: samples`);
    assert.equal(BigInt(prof.sum), w.sum, `${at}: sum`);
    assert.deepEqual(prof.stacks, w.stacks, `${at}: stacks and values`);
    assert.equal(prof.period_type, source.periodType ? `${str(source, source.periodType.type)}/${str(source, source.periodType.unit)}` : '/', at);
    assert.equal(BigInt(prof.period), i64(source.period), `${at}: period`);
    assert.equal(BigInt(prof.time_unix_nano), i64(source.timeNanos), `${at}: time`);
    assert.equal(BigInt(prof.duration_nano), i64(source.durationNanos), `${at}: duration`);
    assert.equal(prof.profile_id, ids[t], `${at}: profile id`);
  });
  const d = req.dictionary!;
  assert.equal(d.locations, source.location.length + 1, `${what}: every location, after the zero entry`);
  assert.equal(d.functions, source.function.length + 1, what);
  assert.equal(d.mappings, source.mapping.length + 1, what);
  assert.equal(d.links, 1, what);
}

describe('OTLP encoder, decoded by pdata (the OpenTelemetry Collector)', () => {
  it('every shipped record of the recorded fixtures: one profile per sample type, samples, values, stacks, period and times as in the pprof', { timeout: 120_000 }, async () => {
    const r = need();
    const counts: Record<string, number> = {};
    for (const { label, record } of suite.shipped()) {
      const { req } = await roundTrip(r, record);
      checkAgainstSource(req, record, decode(record.pprof), label);
      counts[label] = req.resources![0]!.scopes[0]!.profiles.length;
    }
    assert.deepEqual(counts, {
      'cpu.pb.gz': 2,
      'goroutine.pb.gz': 1,
      'heap-1.pb.gz -> heap-2.pb.gz': 4,
      'mutex-1.pb.gz -> mutex-2.pb.gz': 2,
      'block-1.pb.gz -> block-2.pb.gz': 2,
      'heap-large-1.pb.gz -> heap-large-2.pb.gz': 4,
    });
    // The delta window is carried: time is the second scrape's, duration the gap.
    const heap = suite.shipped().find((s) => s.label.startsWith('heap-1'))!;
    const d = decode(heap.record.pprof);
    assert.equal(i64(d.durationNanos), i64(decode(fixture('heap-2.pb.gz')).timeNanos) - i64(decode(fixture('heap-1.pb.gz')).timeNanos));
  });

  it('resource attributes: service.name, service.version, deployment.environment.name, host.name, then every other tag under its own name', async () => {
    const r = need();
    const record = makeRecord({ tags: { service: 'checkout', env: 'staging', version: '1.4.2', host: 'web-1', instance: '10.0.0.5:6060', team: 'payments', 'k8s.pod': 'pod-7' } });
    const { req } = await roundTrip(r, record);
    assert.deepEqual(req.resources![0]!.attributes, {
      'service.name': 'checkout',
      'service.version': '1.4.2',
      'deployment.environment.name': 'staging',
      'host.name': 'web-1',
      instance: '10.0.0.5:6060',
      team: 'payments',
      'k8s.pod': 'pod-7',
    });
  });

  it('a synthetic pprof with sparse ids, shuffled tables, labels with units, comments and mapping flags: ids resolve, labels and pprof-only fields become attributes', async () => {
    const r = need();
    const entries: GenEntry[] = [
      { stack: [0, 2], labels: [{ key: 'bytes', num: 64n, unit: 'bytes' }, { key: 'handler', str: '/api' }], values: [3n, 300n] },
      { stack: [3, 4, 5], labels: [], values: [0n, 7n] },
      { stack: [GEN_N_LOC - 1, 1], labels: [{ key: 'handler', str: '/health' }], values: [9n, 0n] },
      { stack: [], labels: [{ key: 'orphan', str: 'yes' }], values: [1n, 1n] },
    ];
    const layout = {
      locIds: Array.from({ length: GEN_N_LOC }, (_, i) => 1000 + 7 * i),
      fnIds: Array.from({ length: 8 }, (_, i) => 50 + 3 * i),
      mappingIds: [901, 77],
      denseIds: false,
      noAddress: Array.from({ length: GEN_N_LOC }, (_, i) => i % 4 === 1),
      parts: [[1], [2, 1]],
      seed: 7,
      shuffleTables: true,
      shuffleSamples: true,
      shuffleStrings: true,
    };
    const p = buildGeneric(entries, layout, { types: CONTENTION_TYPES, periodType: ['contentions', 'count'], period: 1, timeNanos: 1_790_000_000_123_456_789n });
    const gz = Buffer.from((await import('node:zlib')).gzipSync(p.encode()));
    const record = makeRecord({ type: 'mutex', pprof: gz });
    const { req } = await roundTrip(r, record);
    checkAgainstSource(req, record, p, 'synthetic');
    const prof = req.resources![0]!.scopes[0]!.profiles[0]!;
    assert.deepEqual(prof.attributes, {
      'pprof.profile.comment': ['synthetic profile', 'second comment'],
      'pprof.profile.drop_frames': 'runtime\\.gopark',
      'pprof.profile.doc_url': 'https://example.com/doc',
    });
    assert.equal(prof.stacks!['|orphan=yes'], 1, 'a sample without locations has the empty stack');
  });

  it('a pprof the raw scanner refuses is not encoded (the error names it)', () => {
    const record = makeRecord();
    assert.throws(() => encodeOtlpExport(record, Buffer.from([0x0a, 0xff])), /invalid pprof/);
  });
});
