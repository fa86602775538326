// OTLP end to end: the real Go fixture, the collector as a process (the
// daemon, with its spool), and the Go OTLP receiver decoding every request
// with pdata (the OpenTelemetry Collector's own code) and checking every
// dictionary index. The decoded profiles must carry the fixture's known
// functions with plausible values: main.cpuBurner burns CPU (one goroutine,
// 20 ms of every 100 ms), main.allocator allocates (8 x 16 KiB every 10 ms),
// main.retainer keeps a ring of 64 x 256 KiB. The same records also go to a
// file output: OTLP must carry each of them once, with the same sums per
// sample type. tenant_id arrives as X-Scope-OrgID, and a partial success
// answered to the first request is logged and counted in /metrics.
//
//   node --import tsx --test test/integration/otlp.test.ts

import assert from 'node:assert/strict';
import { readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, it, type TestContext } from 'node:test';
import { goReceiverSuite, type OtlpProfileSummary, type ReceivedRequest } from '../helpers/go-receiver.js';
import { goSuite } from '../helpers/go-suite.js';
import { decode, i64, sampleTypeNames } from '../helpers/pprof-model.js';
import { spawnCollector } from '../helpers/processes.js';
import { parsePromText } from '../helpers/prom-text.js';

const go = goSuite('pprof-otlp-e2e-');
const receiver = goReceiverSuite();

const HOSTNAME = 'otlp-host';
const TENANT = 'tenant-e2e';
const REJECTED_MESSAGE = 'e2e: one profile over a limit';
/** How long the collector may take to ship a CPU profile and a heap delta (interval 10 s: two slots and a 9 s window). */
const SHIP_WITHIN_MS = 60_000;
const MiB = 1024 * 1024;

const q = (s: string) => JSON.stringify(s);

/** Sample types of a request's profiles, in order. */
const typesOf = (req: ReceivedRequest): string[] => req.resources?.[0]?.scopes[0]?.profiles.map((p) => p.sample_type) ?? [];
const profilesOf = (req: ReceivedRequest): OtlpProfileSummary[] => req.resources![0]!.scopes[0]!.profiles;

/** Sum of the values of every stack that has `fn` in it (its cum), from the receiver's root-first stacks. */
function cum(p: OtlpProfileSummary, fn: string): number {
  let total = 0;
  for (const [key, v] of Object.entries(p.stacks ?? {})) if (key.split('|')[0]!.split(';').includes(fn)) total += v;
  return total;
}

function profile(req: ReceivedRequest, sampleType: string): OtlpProfileSummary {
  const p = profilesOf(req).find((x) => x.sample_type === sampleType);
  assert.ok(p, `no ${sampleType} profile in ${typesOf(req).join(', ')}`);
  return p;
}

/** The record id an OTLP request carries: its first profile's id is the record's UUID. */
function recordIdOf(req: ReceivedRequest): string {
  const hex = profilesOf(req)[0]!.profile_id;
  return `${hex.slice(0, 8)}-${hex.slice(8, 12)}-${hex.slice(12, 16)}-${hex.slice(16, 20)}-${hex.slice(20)}`;
}

describe('OTLP end to end: Go fixture -> collector -> pdata', () => {
  it('cpu and heap arrive as OTLP profiles with the fixture functions and plausible values; tenant, partial success, one request per record', { timeout: 180_000 }, async (t: TestContext) => {
    go.requireGo();
    const r = receiver.receiver();
    const dir = go.tempDir();
    const target = await go.goTarget({ parked: 5 });
    const filesDir = join(dir, 'profiles');
    // The first request gets a partial success: accepted, one profile rejected.
    await r.answerOtlp([{ rejected: 1, message: REJECTED_MESSAGE }]);

    const cfg = join(dir, 'otlp.conf');
    writeFileSync(
      cfg,
      [
        '[agent]',
        `hostname = ${q(HOSTNAME)}`,
        'listen = "127.0.0.1:0"',
        `data_dir = ${q(join(dir, 'data'))}`,
        '',
        '[[inputs.profile.go]]',
        `url = ${q(target.url)}`,
        'interval = "10s"',
        'service = "otlp-svc"',
        'env = "e2e"',
        'version = "2.0.1"',
        '[inputs.profile.go.tags]',
        'team = "perf"',
        '',
        '[[outputs.otlp]]',
        `url = ${q(r.otlpUrl)}`,
        `tenant_id = ${q(TENANT)}`,
        '',
        '[[outputs.file]]',
        `dir = ${q(filesDir)}`,
        '',
      ].join('\n'),
    );
    const c = spawnCollector(['-c', cfg]);
    go.cleanup.add(() => c.kill());
    const status = await c.statusUrl();

    // Run until a CPU profile and a heap delta have arrived (bounded).
    const startedAt = Date.now();
    let got: ReceivedRequest[] = [];
    const has = (type: string) => got.some((req) => typesOf(req).includes(type));
    while (!(has('cpu/nanoseconds') && has('alloc_space/bytes'))) {
      assert.ok(Date.now() - startedAt < SHIP_WITHIN_MS, `no cpu and heap OTLP request within ${SHIP_WITHIN_MS / 1000} s; got ${got.map((x) => typesOf(x).join('+')).join(', ')}`);
      await c.runFor(500);
      got = await r.summary();
    }
    const metrics = parsePromText(await (await fetch(`${status}/metrics`)).text());
    c.signal('SIGTERM');
    const exit = await c.waitExit(30_000);
    assert.deepEqual(exit, { code: 0, signal: null }, `collector exit; stderr:\n${c.stderr.slice(-2000)}`);
    const logs = c.logLines();
    assert.deepEqual(logs.filter((l) => l.level === 'error' || l.level === 'fatal'), [], 'error lines in the collector log');
    assert.equal(logs.find((l) => l.msg === 'stopped')?.undelivered, 0, 'nothing left undelivered at shutdown');
    got = await r.summary({ stacks: true });

    // --- Every request: decoded by pdata, every index resolved, the wire as OTLP/HTTP wants it. ---
    assert.ok(got.length >= 2);
    for (const req of got) {
      assert.equal(req.kind, 'otlp');
      assert.deepEqual(req.errors, [], `the receiver's checks: ${req.errors.join('; ')}`);
      assert.equal(req.status, 200);
      assert.equal(req.headers['Content-Type'], 'application/x-protobuf');
      assert.equal(req.headers['Content-Encoding'], 'gzip');
      assert.equal(req.headers['X-Scope-Orgid'], TENANT, 'tenant_id arrives as X-Scope-OrgID');
      assert.equal(req.resources!.length, 1);
      assert.deepEqual(req.resources![0]!.attributes, {
        'service.name': 'otlp-svc',
        'service.version': '2.0.1',
        'deployment.environment.name': 'e2e',
        'host.name': HOSTNAME,
        instance: target.addr,
        team: 'perf',
      });
    }

    // --- CPU: main.cpuBurner, one goroutine, within the window; samples x period = CPU time. ---
    const cpuReq = got.find((req) => typesOf(req).includes('cpu/nanoseconds'))!;
    assert.deepEqual(typesOf(cpuReq), ['samples/count', 'cpu/nanoseconds'], 'one profile per sample type');
    const samples = profile(cpuReq, 'samples/count');
    const cpu = profile(cpuReq, 'cpu/nanoseconds');
    for (const p of [samples, cpu]) {
      assert.equal(p.period_type, 'cpu/nanoseconds');
      assert.equal(p.period, 10_000_000, 'Go profiles CPU at 100 Hz');
    }
    const windowNs = Number(cpu.duration_nano);
    assert.ok(windowNs >= 8.5e9 && windowNs <= 10e9, `the CPU window is the 9 s profile_duration, got ${windowNs / 1e9} s`);
    assert.equal(cpu.sum, samples.sum * cpu.period, 'CPU time = samples x period');
    const burner = cum(cpu, 'main.cpuBurner');
    // 20 ms of every 100 ms is 1.8 s of a 9 s window; a busy shared machine gives it less, one goroutine never more than the window.
    assert.ok(burner >= 0.2e9 && burner <= windowNs, `main.cpuBurner: ${(burner / 1e9).toFixed(2)} s of CPU in a ${(windowNs / 1e9).toFixed(1)} s window`);
    assert.equal(cum(samples, 'main.cpuBurner') * cpu.period, burner, 'the samples profile has the same stacks');
    assert.ok(cpu.top.some((f) => f.function === 'main.cpuBurner'), 'main.cpuBurner is among the top functions');

    // --- Heap: four profiles; main.allocator's allocation rate in the delta window, main.retainer's ring in use. ---
    const heapReq = got.find((req) => typesOf(req).includes('alloc_space/bytes'))!;
    assert.deepEqual(typesOf(heapReq), ['alloc_objects/count', 'alloc_space/bytes', 'inuse_objects/count', 'inuse_space/bytes']);
    for (const p of profilesOf(heapReq)) {
      assert.equal(p.period_type, 'space/bytes');
      assert.equal(p.period, 512 * 1024, 'runtime.MemProfileRate');
    }
    const deltaS = Number(profile(heapReq, 'alloc_space/bytes').duration_nano) / 1e9;
    assert.ok(deltaS >= 5 && deltaS <= 15, `the heap delta spans about one 10 s interval, got ${deltaS.toFixed(2)} s`);
    const allocRate = cum(profile(heapReq, 'alloc_space/bytes'), 'main.allocator') / deltaS;
    // 128 KiB per ~10 ms loop is ~12 MB/s; Go's sampled estimate and GC-cycle windows move it, not tenfold.
    assert.ok(allocRate >= 1 * MiB && allocRate <= 40 * MiB, `main.allocator allocates ${(allocRate / MiB).toFixed(1)} MiB/s`);
    assert.ok(cum(profile(heapReq, 'alloc_objects/count'), 'main.allocator') > 0);
    const retained = cum(profile(heapReq, 'inuse_space/bytes'), 'main.retainer');
    assert.ok(retained >= 4 * MiB && retained <= 64 * MiB, `main.retainer holds ${(retained / MiB).toFixed(1)} MiB (a 16 MiB ring)`);

    // --- The file output's records, each exactly once over OTLP, with the same sums. ---
    const svcDir = join(filesDir, 'otlp-svc');
    const sidecars = readdirSync(svcDir)
      .filter((f) => f.endsWith('.json'))
      .map((f) => JSON.parse(readFileSync(join(svcDir, f), 'utf8')) as { id: string; type: string; file: string });
    const otlpIds = got.map(recordIdOf);
    assert.equal(new Set(otlpIds).size, otlpIds.length, 'no record sent twice');
    assert.deepEqual([...otlpIds].sort(), sidecars.map((s) => s.id).sort(), 'OTLP got exactly the records the file output wrote');
    const sizes: string[] = [];
    for (const req of got) {
      const side = sidecars.find((s) => s.id === recordIdOf(req))!;
      const gz = readFileSync(join(svcDir, side.file));
      const p = decode(gz);
      assert.deepEqual(typesOf(req), sampleTypeNames(p), `${side.type}: one profile per sample type, in order`);
      profilesOf(req).forEach((prof, i) => {
        const sum = p.sample.reduce((a, s) => a + i64(s.value[i]!), 0n);
        const nonZero = p.sample.filter((s) => i64(s.value[i]!) !== 0n).length;
        assert.equal(BigInt(prof.sum), sum, `${side.type} ${prof.sample_type}: sum`);
        assert.equal(prof.samples, nonZero, `${side.type} ${prof.sample_type}: samples (zero values left out)`);
      });
      sizes.push(`${side.type}: pprof ${gz.length} B gzipped, OTLP ${req.wire_bytes} B gzipped / ${req.decoded_bytes} B, ${profilesOf(req).length} profile(s), dictionary ${JSON.stringify(req.dictionary)}`);
    }

    // --- Partial success: logged at warn, counted, the profile not sent again. ---
    assert.equal(got[0]!.partial_success?.rejected_profiles, 1);
    const warn = logs.find((l) => l.level === 'warn' && l.rejected_profiles === 1);
    assert.ok(warn, 'a warn line for the partial success');
    assert.match(String(warn.msg), new RegExp(`rejected 1 of \\d profile\\(s\\): ${REJECTED_MESSAGE}; not retried`));
    const partial = metrics.samples.find((s) => s.name === 'collector_output_partial_rejected_profiles_total' && s.labels.output === 'otlp');
    assert.equal(partial?.value, 1, 'collector_output_partial_rejected_profiles_total{output="otlp"}');
    const sent = metrics.samples.find((s) => s.name === 'collector_output_sent_total' && s.labels.output === 'otlp');
    assert.ok((sent?.value ?? 0) >= 2, 'the partially accepted request counts as sent');

    // One decoded request, for the record.
    const h = heapReq.resources![0]!;
    t.diagnostic(
      `heap request: resource ${JSON.stringify(h.attributes)}; scope ${h.scopes[0]!.name} ${h.scopes[0]!.version}; profiles ${profilesOf(heapReq)
        .map((p) => `${p.sample_type} (${p.samples} samples, sum ${p.sum}, period ${p.period} ${p.period_type}, ${(Number(p.duration_nano) / 1e9).toFixed(2)} s)`)
        .join('; ')}; dictionary ${JSON.stringify(heapReq.dictionary)}`,
    );
    t.diagnostic(`cpu: main.cpuBurner ${(burner / 1e9).toFixed(2)} s of ${(windowNs / 1e9).toFixed(2)} s; heap: main.allocator ${(allocRate / MiB).toFixed(1)} MiB/s over ${deltaS.toFixed(2)} s, main.retainer ${(retained / MiB).toFixed(1)} MiB in use`);
    for (const s of sizes) t.diagnostic(s);
  });
});
