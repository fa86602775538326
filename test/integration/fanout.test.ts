// Fan-out end to end: the real Go fixture, one collector process, and three
// outputs at once (the strict DataKit double, the strict Pyroscope double on
// the push API, and the file output). Once every cumulative type has its
// baseline, Pyroscope answers 503 `unavailable` for 20 s: DataKit and the
// files must keep receiving on time, and Pyroscope must catch up afterwards
// with every profile exactly once.
//
//   node --import tsx --test test/integration/fanout.test.ts

import assert from 'node:assert/strict';
import { existsSync, readdirSync, readFileSync, statSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { before, describe, it, type TestContext } from 'node:test';
import { goFixtureProblem, readRequestLog, startGoTarget, type RequestLogLine } from '../../fixtures/go-target/harness.js';
import { DatakitIntake, type Upload } from '../helpers/datakit-intake.js';
import { cleanupAfterEach, spawnCollector } from '../helpers/processes.js';
import { PyroscopeServer } from '../helpers/pyroscope-server.js';

const TYPES = ['cpu', 'goroutine', 'heap', 'mutex', 'block'] as const;
const CUMULATIVE = new Set<string>(['heap', 'mutex', 'block']);
const PATH_OF: Record<string, string> = {
  cpu: '/debug/pprof/profile',
  goroutine: '/debug/pprof/goroutine',
  heap: '/debug/pprof/heap',
  mutex: '/debug/pprof/mutex',
  block: '/debug/pprof/block',
};
const PUSH_NAME: Record<string, string> = { cpu: 'process_cpu', heap: 'memory', goroutine: 'goroutine', mutex: 'mutex', block: 'block' };
const HOSTNAME = 'fan-host';
const OUTAGE_MS = 20_000;
/** How long the collector runs after the outage: enough for the longest backoff probe. */
const AFTER_OUTAGE_MS = 42_000;
/** How late a delivery may be after its scrape ended and still count as on time. */
const ON_TIME_MS = 2_500;

const cleanup = cleanupAfterEach();
let goProblem: string | null = null;
before(() => {
  goProblem = goFixtureProblem();
});

const q = (s: string) => JSON.stringify(s);

/** The scrape (request log line) an upload came from: the latest one of its path that ended before it arrived. */
function scrapeOf(u: { type: string; atMs: number }, log: readonly RequestLogLine[]): { line: RequestLogLine; endMs: number } | undefined {
  let best: { line: RequestLogLine; endMs: number } | undefined;
  for (const l of log) {
    if (l.path !== PATH_OF[u.type]) continue;
    const endMs = Date.parse(l.time) + l.duration_ms;
    // 50 ms of slack: the fixture's duration is whole milliseconds.
    if (endMs <= u.atMs + 50 && (!best || endMs > best.endMs)) best = { line: l, endMs };
  }
  return best;
}

describe('fan-out: DataKit + Pyroscope push + file, Pyroscope down for 20 s', () => {
  it('the other outputs stay on time; Pyroscope catches up with every profile exactly once', { timeout: 180_000 }, async (t: TestContext) => {
    if (goProblem) assert.fail(goProblem);
    const dir = cleanup.tempDir('pprof-fanout-');
    const requestLog = join(dir, 'requests.jsonl');
    const target = await startGoTarget({ parked: 11, requestLog });
    cleanup.add(() => target.kill());
    const dk = await new DatakitIntake().start();
    cleanup.add(() => dk.close());
    const pyro = await new PyroscopeServer().start();
    cleanup.add(() => pyro.close());
    const filesDir = join(dir, 'profiles');

    const cfg = join(dir, 'fanout.conf');
    writeFileSync(
      cfg,
      [
        '[agent]',
        `hostname = ${q(HOSTNAME)}`,
        'listen = ""',
        `data_dir = ${q(join(dir, 'data'))}`,
        'log_level = "debug"',
        '',
        '[[inputs.profile.go]]',
        `url = ${q(target.url)}`,
        'interval = "10s"',
        'service = "fan-svc"',
        'env = "it"',
        'version = "9.9.9"',
        '[inputs.profile.go.tags]',
        'team = "perf"',
        '',
        '[[outputs.datakit]]',
        `url = ${q(dk.url)}`,
        '',
        '[[outputs.pyroscope]]',
        `url = ${q(pyro.url)}`,
        'api = "push"',
        '',
        '[[outputs.file]]',
        `dir = ${q(filesDir)}`,
        '',
      ].join('\n'),
    );

    const c = spawnCollector(['-c', cfg]);
    cleanup.add(() => c.kill());
    // The outage starts once heap, mutex and block have their baselines, so
    // each type's first delta (and a profile of every type) falls inside it,
    // whatever the phases of the types.
    const startedAt = Date.now();
    for (;;) {
      const paths = new Set(readRequestLog(requestLog).map((l) => l.path));
      if ([...CUMULATIVE].every((ty) => paths.has(PATH_OF[ty]!))) break;
      assert.ok(Date.now() - startedAt < 40_000, `no baseline of every cumulative type within 40 s; seen ${[...paths].join(' ')}`);
      await c.runFor(100);
    }
    pyro.setMode({ code: 'unavailable', message: 'ingester ring is not ready (outage)', forMs: OUTAGE_MS });
    const outageStart = Date.now();
    const outageEnd = pyro.modeEndsAtMs;
    await c.runFor(outageEnd + AFTER_OUTAGE_MS - Date.now());
    c.signal('SIGTERM');
    const exit = await c.waitExit(30_000);
    assert.deepEqual(exit, { code: 0, signal: null }, `collector exit after SIGTERM; stderr:\n${c.stderr.slice(-2000)}`);
    const logs = c.logLines();
    const stopped = logs.find((l) => l.msg === 'stopped');
    assert.ok(stopped, 'the collector logs "stopped"');
    assert.equal(stopped.undelivered, 0, 'nothing scraped was left undelivered at shutdown');
    assert.deepEqual(
      logs.filter((l) => l.level === 'error' || l.level === 'fatal'),
      [],
      'error lines in the collector log',
    );

    // --- DataKit: everything accepted, on time, during the outage too. ---
    assert.deepEqual(dk.rejections.map((r) => r.reason), [], 'DataKit double rejections');
    const dkIds = dk.uploads.map((u) => u.profileId!);
    assert.equal(new Set(dkIds).size, dkIds.length, 'DataKit got no profile twice');
    const byType: Record<string, Upload[]> = {};
    for (const u of dk.uploads) (byType[u.type] ??= []).push(u);
    for (const type of TYPES) assert.ok((byType[type]?.length ?? 0) >= 4, `${type}: ${byType[type]?.length ?? 0} uploads at DataKit`);

    const log = readRequestLog(requestLog);
    const lags: Record<string, number[]> = {};
    for (const u of dk.uploads) {
      const s = scrapeOf({ type: u.type, atMs: u.receivedAtMs }, log);
      assert.ok(s, `${u.type} upload at ${new Date(u.receivedAtMs).toISOString()} has no scrape before it in the fixture's request log`);
      const lag = u.receivedAtMs - s.endMs;
      (lags[u.type] ??= []).push(lag);
      assert.ok(lag <= ON_TIME_MS, `${u.type}: DataKit received it ${lag} ms after its scrape ended (${s.line.time}); want <= ${ON_TIME_MS} ms`);
    }
    for (const type of TYPES) {
      const during = byType[type]!.filter((u) => u.receivedAtMs >= outageStart && u.receivedAtMs < outageEnd);
      assert.ok(during.length >= 1, `${type}: nothing reached DataKit during the Pyroscope outage`);
      const times = byType[type]!.map((u) => u.receivedAtMs).sort((a, b) => a - b);
      const gaps = times.slice(1).map((x, i) => (x - times[i]!) / 1000);
      for (const g of gaps) assert.ok(g >= 7 && g <= 13, `${type}: consecutive DataKit uploads ${g.toFixed(2)} s apart, want ~10 s (gaps ${gaps.map((x) => x.toFixed(2)).join('/')})`);
    }

    // --- File output: the same profiles, byte for byte, written on time. ---
    const svcDir = join(filesDir, 'fan-svc');
    assert.ok(existsSync(svcDir), `${svcDir} exists`);
    const sidecars = readdirSync(svcDir)
      .filter((f) => f.endsWith('.json'))
      .map((f) => JSON.parse(readFileSync(join(svcDir, f), 'utf8')) as { id: string; type: string; file: string });
    assert.equal(sidecars.length, dk.uploads.length, 'as many files as DataKit uploads');
    const dkById = new Map(dk.uploads.map((u) => [u.profileId!, u]));
    let fileMaxSkew = 0;
    for (const s of sidecars) {
      const u = dkById.get(s.id);
      assert.ok(u, `file ${s.file}: id ${s.id} never reached DataKit`);
      const path = join(svcDir, s.file);
      assert.ok(readFileSync(path).equals(u.gzipped), `${s.file}: bytes differ from the DataKit upload`);
      const skew = Math.abs(statSync(path).mtimeMs - u.receivedAtMs);
      fileMaxSkew = Math.max(fileMaxSkew, skew);
      assert.ok(skew <= ON_TIME_MS, `${s.file}: written ${skew.toFixed(0)} ms away from the DataKit delivery of the same profile`);
    }

    // --- Pyroscope: the outage was real, then every profile arrived exactly once. ---
    assert.deepEqual(pyro.rejections.map((r) => `${r.status} ${r.reason}`), [], 'Pyroscope double rejections');
    const failed = pyro.attempts.filter((a) => a.status === 503);
    assert.ok(failed.length >= 1, 'the collector met the outage (some pushes answered 503)');
    for (const a of failed) assert.ok(a.receivedAtMs >= outageStart - 50 && a.receivedAtMs < outageEnd + 50, '503s only during the outage');
    for (const a of pyro.accepted) assert.ok(a.receivedAtMs <= outageStart + 50 || a.receivedAtMs >= outageEnd - 50, 'nothing accepted during the outage');
    const pyroIds = pyro.accepted.map((a) => a.id!);
    assert.equal(new Set(pyroIds).size, pyroIds.length, `Pyroscope got some profile twice: ${pyroIds.length} accepted, ${new Set(pyroIds).size} distinct`);
    assert.deepEqual([...pyroIds].sort(), [...dkIds].sort(), 'Pyroscope received exactly the profiles DataKit received (x-profile-id == RawSample ID)');
    for (const a of pyro.accepted) {
      const u = dkById.get(a.id!)!;
      assert.ok(a.raw.equals(u.gzipped), `${a.id}: raw_profile differs from the DataKit file part`);
      assert.equal(a.name, PUSH_NAME[u.type]);
      assert.equal(a.labels.service_name, 'fan-svc');
      assert.equal(a.labels.env, 'it');
      assert.equal(a.labels.version, '9.9.9');
      assert.equal(a.labels.host, HOSTNAME);
      assert.equal(a.labels.instance, target.addr);
      assert.equal(a.labels.team, 'perf');
      assert.equal(a.labels.__delta__, CUMULATIVE.has(u.type) ? 'false' : undefined, `${u.type}: __delta__`);
      assert.equal(a.seriesSamples, 1);
      assert.equal(a.requestSeries, 1);
    }

    // --- Catch-up, reported. ---
    // The backlog: every profile produced while the Pyroscope output was failing or backing off.
    const firstAfter = Math.min(...pyro.accepted.filter((a) => a.receivedAtMs >= outageEnd - 50).map((a) => a.receivedAtMs));
    const backlog = new Set([
      ...failed.flatMap((a) => a.ids),
      ...dk.uploads.filter((u) => u.receivedAtMs >= outageStart && u.receivedAtMs < firstAfter).map((u) => u.profileId!),
    ]);
    const backlogAccepted = pyro.accepted.filter((a) => backlog.has(a.id!)).map((a) => a.receivedAtMs);
    assert.equal(backlogAccepted.length, backlog.size, 'every profile of the outage reached Pyroscope');
    const caughtUpAt = Math.max(...backlogAccepted);
    const catchUpMs = caughtUpAt - outageEnd;
    // Once caught up, Pyroscope is on time again, like DataKit.
    let pyroMaxLagAfter = 0;
    for (const a of pyro.accepted) {
      const u = dkById.get(a.id!)!;
      if (u.receivedAtMs <= caughtUpAt) continue;
      const lag = a.receivedAtMs - u.receivedAtMs;
      pyroMaxLagAfter = Math.max(pyroMaxLagAfter, lag);
      assert.ok(Math.abs(lag) <= ON_TIME_MS, `${u.type} ${a.id}: Pyroscope got it ${lag} ms after DataKit, after the catch-up`);
    }
    const counters = logs.filter((l) => l.msg === 'output counters').at(-1)?.outputs as Record<string, { retried?: number }> | undefined;
    t.diagnostic(
      `Pyroscope outage ${OUTAGE_MS / 1000} s: ${failed.length} push attempt(s) answered 503 (collector counted retried=${counters?.pyroscope?.retried ?? '?'}); ` +
        `${backlog.size} profile(s) backlogged; first accept ${((firstAfter - outageEnd) / 1000).toFixed(2)} s after the outage ended; ` +
        `backlog fully accepted ${(catchUpMs / 1000).toFixed(2)} s after it ended; afterwards Pyroscope trailed DataKit by at most ${pyroMaxLagAfter} ms`,
    );
    t.diagnostic(
      `DataKit uploads per type ${JSON.stringify(Object.fromEntries(TYPES.map((ty) => [ty, byType[ty]!.length])))}; max lag after scrape end per type (ms) ${JSON.stringify(Object.fromEntries(Object.entries(lags).map(([k, v]) => [k, Math.max(...v)])))}; file vs DataKit max skew ${fileMaxSkew.toFixed(0)} ms`,
    );
    // Backoff is 0.5 s doubling with jitter: the probe after the outage comes at most ~32 s later.
    assert.ok(catchUpMs <= 40_000, `catch-up took ${catchUpMs} ms after the outage`);
    assert.equal(counters?.pyroscope?.retried, failed.length, 'the collector counted one retry per 503');
  });
});
