// Hostile targets, all at once, beside a healthy Go target: one real collector
// process (`node bin/collector.js`) scrapes the Go fixture and eleven
// misbehaving servers (test/helpers/hostile-server.ts) for ~45 s. It must stay
// up, keep its memory bounded, keep the healthy target's cadence, ship all of
// the healthy target's profiles, and say once per (target, type, error code)
// what is wrong with each bad one, in words, while counting every failure.
//
// Nothing is skipped: without `go` this fails with a message. Run with:
//   node --import tsx --test --test-concurrency=1 test/integration/hostile.test.ts

import assert from 'node:assert/strict';
import { existsSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { before, describe, it, type TestContext } from 'node:test';
import { goFixtureProblem, readRequestLog, startGoTarget, type RunningGoTarget } from '../../fixtures/go-target/harness.js';
import { HOSTILE_MODES, startAllHostileServers, type HostileMode, type HostileServer } from '../helpers/hostile-server.js';
import { cleanupAfterAll, spawnCollector, type CollectorProcess } from '../helpers/processes.js';

const TYPES = ['cpu', 'goroutine', 'heap', 'mutex', 'block'] as const;
const CUMULATIVE = new Set<string>(['heap', 'mutex', 'block']);
const PATH_OF: Record<string, string> = {
  cpu: '/debug/pprof/profile',
  goroutine: '/debug/pprof/goroutine',
  heap: '/debug/pprof/heap',
  mutex: '/debug/pprof/mutex',
  block: '/debug/pprof/block',
};
/** About 45 s; the margin lets a hung scrape started late in the first interval time out twice. */
const RUN_MS = 47_000;
const INTERVAL_S = 10;
/** Peak resident memory the collector may reach with all of this going on. */
const RSS_BOUND_MB = 400;
const HEALTHY_SERVICE = 'healthy-go';

interface Expectation {
  /** The one error code every type of this target fails with. */
  readonly code: string;
  /** Phrases the log line must contain (besides the target URL). */
  readonly phrases: readonly RegExp[];
  /** Phrases the hint must contain. */
  readonly hint?: RegExp;
}

const EXPECT: Record<HostileMode, Expectation> = {
  html: { code: 'invalid_profile', phrases: [/HTML page, not a pprof profile/] },
  json: { code: 'invalid_profile', phrases: [/JSON, not a pprof profile/] },
  random: { code: 'invalid_profile', phrases: [/not a pprof profile/] },
  'truncated-gzip': { code: 'invalid_profile', phrases: [/gzip stream is broken/, /truncated/] },
  'gzip-bomb': { code: 'too_large', phrases: [/decompresses to more than 256 MiB/, /gzip bomb/] },
  // The server writes as fast as loopback takes it: the 32 MiB cap is reached
  // long before the 15 s http_timeout, so src/scrape/http-scrape.ts refuses it
  // as body_too_large.
  endless: { code: 'body_too_large', phrases: [/larger than 32 MiB; refused/] },
  hang: { code: 'timeout', phrases: [/no complete response within http_timeout \(15s\)/] },
  slow: { code: 'timeout', phrases: [/no complete response within http_timeout \(15s\)/] },
  redirect: { code: 'redirect', phrases: [/302 redirect to http:\/\/127\.0\.0\.2:\d+\/debug\/pprof\//, /redirects are not followed/] },
  reset: { code: 'network', phrases: [/connection was reset/] },
  'not-found': { code: 'not_found', phrases: [/404 Not Found/, /404 page not found/], hint: /net\/http\/pprof is not registered/ },
};

const cleanup = cleanupAfterAll();
let goProblem: string | null = null;
before(() => {
  goProblem = goFixtureProblem();
});

type LogLine = Record<string, unknown> & { level?: string; msg?: string; target?: string; service?: string; type?: string; err?: { code?: string; message?: string }; hint?: string };

interface Sample {
  readonly name: string;
  readonly labels: Record<string, string>;
  readonly value: number;
}

/** Prometheus text format, as much of it as prom-client writes. */
function parseMetrics(text: string): Sample[] {
  const out: Sample[] = [];
  for (const line of text.split('\n')) {
    if (line === '' || line.startsWith('#')) continue;
    const m = /^([a-zA-Z_:][a-zA-Z0-9_:]*)(?:\{(.*)\})?\s+(\S+)$/.exec(line);
    if (!m) continue;
    const labels: Record<string, string> = {};
    for (const l of (m[2] ?? '').matchAll(/([a-zA-Z_][a-zA-Z0-9_]*)="((?:[^"\\]|\\.)*)"/g)) labels[l[1]!] = l[2]!.replace(/\\(.)/g, '$1');
    out.push({ name: m[1]!, labels, value: Number(m[3]) });
  }
  return out;
}

function sum(samples: readonly Sample[], name: string, match: Record<string, string>): number {
  return samples
    .filter((s) => s.name === name && Object.entries(match).every(([k, v]) => s.labels[k] === v))
    .reduce((a, s) => a + s.value, 0);
}

function readStatusKb(pid: number, field: 'VmRSS' | 'VmHWM'): number | null {
  try {
    const m = new RegExp(`^${field}:\\s+(\\d+) kB`, 'm').exec(readFileSync(`/proc/${pid}/status`, 'utf8'));
    return m ? Number(m[1]) : null;
  } catch {
    return null; // gone
  }
}

function writeConfig(dir: string, goUrl: string, hostile: ReadonlyMap<HostileMode, HostileServer>, filesDir: string): string {
  const q = (s: string) => JSON.stringify(s);
  const lines = ['[agent]', 'hostname = "hostile-host"', 'listen = "127.0.0.1:0"', `data_dir = ${q(join(dir, 'data'))}`, 'log_level = "debug"', ''];
  const block = (url: string, service: string, extra: string[] = []) =>
    lines.push('[[inputs.profile.go]]', `url = ${q(url)}`, `interval = "${INTERVAL_S}s"`, `service = ${q(service)}`, 'env = "hostile"', ...extra, '');
  block(goUrl, HEALTHY_SERVICE);
  for (const [mode, s] of hostile) block(s.url, `hostile-${mode}`, ['http_timeout = "15s"']);
  lines.push('[[outputs.file]]', `dir = ${q(filesDir)}`, '');
  const file = join(dir, 'profile.conf');
  writeFileSync(file, lines.join('\n'));
  return file;
}

function countBy<T>(xs: readonly T[], key: (x: T) => string): Record<string, number> {
  const out: Record<string, number> = {};
  for (const x of xs) out[key(x)] = (out[key(x)] ?? 0) + 1;
  return out;
}

describe('hostile targets beside a healthy Go target', () => {
  it('the collector stays up and bounded, the healthy target keeps its cadence, each bad target is reported once per failure and counted', { timeout: 150_000 }, async (t: TestContext) => {
    if (goProblem) assert.fail(goProblem);

    const dir = cleanup.tempDir('pprof-hostile-');
    const requestLog = join(dir, 'requests.jsonl');
    const go: RunningGoTarget = await startGoTarget({ parked: 7, requestLog });
    cleanup.add(() => go.kill());
    const hostile = await startAllHostileServers(HOSTILE_MODES);
    cleanup.add(() => Promise.allSettled([...hostile.values()].map((s) => s.close())));
    const filesDir = join(dir, 'profiles');
    const cfg = writeConfig(dir, go.url, hostile, filesDir);

    const c: CollectorProcess = spawnCollector(['-c', cfg]);
    cleanup.add(() => c.kill());
    const pid = c.pid;
    assert.ok(pid, 'the collector has a pid');

    // Memory: VmRSS every second for as long as the process lives.
    const rss: number[] = [];
    const sampler = setInterval(() => {
      const kb = readStatusKb(pid, 'VmRSS');
      if (kb !== null) rss.push(kb);
    }, 1_000);
    cleanup.add(() => clearInterval(sampler));

    const statusUrl = await c.statusUrl();

    // Run; the collector must not exit on its own at any point.
    let timer: NodeJS.Timeout | undefined;
    const early = await Promise.race([c.exited, new Promise<null>((r) => (timer = setTimeout(() => r(null), RUN_MS)))]);
    clearTimeout(timer);
    if (early) assert.fail(`collector exited early (${JSON.stringify(early)}):\n${c.stdout.slice(-4000)}\n${c.stderr.slice(-3000)}`);

    const health = await fetch(`${statusUrl}/healthz`, { signal: AbortSignal.timeout(5_000) });
    assert.equal(health.status, 200, '/healthz after the run');
    const metricsRes = await fetch(`${statusUrl}/metrics`, { signal: AbortSignal.timeout(5_000) });
    assert.equal(metricsRes.status, 200);
    const metrics = parseMetrics(await metricsRes.text());
    const hwmKb = readStatusKb(pid, 'VmHWM');

    c.signal('SIGTERM');
    const exit = await c.waitExit(30_000);
    clearInterval(sampler);
    assert.deepEqual(exit, { code: 0, signal: null }, `collector exit after SIGTERM; stderr:\n${c.stderr.slice(-2000)}`);
    // For digging into a failure: HOSTILE_COLLECTOR_LOG=/some/file keeps the collector's log.
    if (process.env.HOSTILE_COLLECTOR_LOG) writeFileSync(process.env.HOSTILE_COLLECTOR_LOG, c.stdout + c.stderr);
    const all = c.logLines() as LogLine[];
    assert.ok(all.some((l) => l.msg === 'stopped'), 'the collector logs "stopped"');
    // What was said while running; after SIGTERM, scrapes still hanging when
    // the grace period ends are abandoned (code "aborted"), checked apart.
    const stopAt = all.findIndex((l) => typeof l.msg === 'string' && l.msg.startsWith('SIGTERM: stopping'));
    assert.ok(stopAt >= 0, 'the collector logs "SIGTERM: stopping"');
    const lines = all.slice(0, stopAt);
    const shutdownLines = all.slice(stopAt);

    // ---- memory ----------------------------------------------------------
    const peakMb = Math.max(0, ...rss) / 1024;
    t.diagnostic(`collector RSS: peak ${peakMb.toFixed(1)} MB over ${rss.length} samples (1/s); VmHWM before SIGTERM ${hwmKb === null ? '?' : (hwmKb / 1024).toFixed(1)} MB`);
    t.diagnostic(`collector RSS per second (MB): ${rss.map((kb) => Math.round(kb / 1024)).join(' ')}`);
    assert.ok(rss.length >= RUN_MS / 1000 - 5, `only ${rss.length} RSS samples`);

    // ---- the healthy target ----------------------------------------------
    const reqLog = readRequestLog(requestLog);
    const reqCounts = countBy(reqLog, (l) => l.path);
    const cadence: string[] = [];
    for (const type of TYPES) {
      const times = reqLog
        .filter((l) => l.path === PATH_OF[type])
        .map((l) => Date.parse(l.time))
        .sort((a, b) => a - b);
      const gaps = times.slice(1).map((x, i) => (x - times[i]!) / 1000);
      cadence.push(`${type}: ${times.length} requests, gaps ${gaps.map((g) => g.toFixed(2)).join('/')} s`);
      assert.ok(times.length >= 4, `healthy ${type}: only ${times.length} scrapes in ${RUN_MS / 1000} s`);
      for (const g of gaps) assert.ok(Math.abs(g - INTERVAL_S) <= 1, `healthy ${type}: scrapes ${g.toFixed(2)} s apart, want ${INTERVAL_S} s ± 1 s (all gaps: ${gaps.map((x) => x.toFixed(2)).join(', ')})`);
    }
    t.diagnostic(`healthy cadence: ${cadence.join('; ')}`);
    // delta_source = "auto": heap, mutex and block ask godeltaprof once each; this fixture says 404.
    const probes = reqLog.filter((l) => /\/delta_(heap|mutex|block)$/.test(l.path));
    assert.deepEqual(probes.map((l) => `${l.path} ${l.status}`).sort(), ['/debug/pprof/delta_block 404', '/debug/pprof/delta_heap 404', '/debug/pprof/delta_mutex 404']);
    for (const l of reqLog.filter((x) => !probes.includes(x))) assert.equal(l.status, 200, `healthy ${l.path}?${l.query} answered ${l.status}`);

    const svcDir = join(filesDir, HEALTHY_SERVICE);
    assert.ok(existsSync(svcDir), `${svcDir} exists`);
    const sidecars = readdirSync(svcDir)
      .filter((f) => f.endsWith('.json'))
      .map((f) => JSON.parse(readFileSync(join(svcDir, f), 'utf8')) as { type: string; file: string });
    for (const s of sidecars) assert.ok(existsSync(join(svcDir, s.file)), `${s.file} is missing beside its sidecar`);
    const shipped = countBy(sidecars, (s) => s.type);
    const wantShipped = Object.fromEntries(TYPES.map((type) => [type, (reqCounts[PATH_OF[type]!] ?? 0) - (CUMULATIVE.has(type) ? 1 : 0)]));
    t.diagnostic(`healthy profiles in the file output: ${JSON.stringify(shipped)}; expected from its request log: ${JSON.stringify(wantShipped)}`);
    assert.deepEqual(shipped, wantShipped, 'every healthy scrape (cumulative: all but the baseline) landed in the file output');
    const others = readdirSync(filesDir).filter((d) => d !== HEALTHY_SERVICE);
    assert.deepEqual(others, [], 'nothing was shipped for a bad target');
    const healthyInstance = go.addr;
    for (const type of TYPES) {
      assert.equal(sum(metrics, 'collector_target_up', { service: HEALTHY_SERVICE, target: healthyInstance, type }), 1, `healthy ${type} is up`);
      assert.equal(sum(metrics, 'collector_scrape_failures_total', { service: HEALTHY_SERVICE, type }), 0, `healthy ${type} failures`);
    }
    const healthyBad = lines.filter((l) => l.service === HEALTHY_SERVICE && (l.level === 'warn' || l.level === 'error'));
    assert.deepEqual(healthyBad.map((l) => l.msg), [], 'warn/error lines about the healthy target');

    // ---- the bad targets -------------------------------------------------
    const examples: string[] = [];
    const problems: string[] = [];
    for (const [mode, s] of hostile) {
      const want = EXPECT[mode];
      const service = `hostile-${mode}`;
      const instance = `127.0.0.1:${s.port}`;
      const what = `${mode} (${s.url})`;

      // The counters: every failure counted, with the expected code and no other.
      const failuresByCode: Record<string, number> = {};
      for (const m of metrics.filter((x) => x.name === 'collector_scrape_failures_total' && x.labels.service === service)) {
        failuresByCode[m.labels.code!] = (failuresByCode[m.labels.code!] ?? 0) + m.value;
      }
      assert.deepEqual(Object.keys(failuresByCode), [want.code], `${what}: failure codes counted ${JSON.stringify(failuresByCode)}`);
      const failedScrapes = sum(metrics, 'collector_scrapes_total', { service, result: 'failed' });
      assert.ok(failuresByCode[want.code]! > 0, `${what}: collector_scrape_failures_total{code="${want.code}"} is 0`);
      assert.equal(failuresByCode[want.code], failedScrapes, `${what}: failures counted vs failed scrapes`);
      for (const type of TYPES) {
        const failed = sum(metrics, 'collector_scrapes_total', { service, type, result: 'failed' });
        assert.ok(failed >= 2, `${what}: ${type} failed ${failed} time(s) in ${RUN_MS / 1000} s; want several`);
        assert.equal(sum(metrics, 'collector_scrapes_total', { service, type }), failed, `${what}: ${type} had a scrape that did not fail`);
        assert.equal(sum(metrics, 'collector_target_up', { service, target: instance, type }), 0, `${what}: ${type} target_up`);
      }

      // The log: one warn/error line per (type, code), naming the URL, saying what happened.
      // Scrape failures (lines with an err); the overlap notice of a hanging
      // scrape is a different message, said once per job, checked below.
      const said = lines.filter((l) => l.service === service && (l.level === 'warn' || l.level === 'error') && l.err !== undefined);
      const overlaps = lines.filter((l) => l.service === service && l.level === 'warn' && l.err === undefined);
      for (const type of TYPES) {
        assert.ok(overlaps.filter((l) => l.type === type).length <= 1, `${what}: the overlap notice for ${type} is said more than once`);
      }
      for (const l of overlaps) assert.match(String(l.msg), /previous scrape is still running/, `${what}: an unexpected warn line: ${String(l.msg)}`);
      const perKey = countBy(said, (l) => `${l.type}/${l.err?.code}`);
      const wantKeys = Object.fromEntries(TYPES.map((type) => [`${type}/${want.code}`, 1]));
      if (JSON.stringify(Object.entries(perKey).sort()) !== JSON.stringify(Object.entries(wantKeys).sort())) {
        problems.push(`${what}: warn/error lines per type/code ${JSON.stringify(perKey)} (failed scrapes: ${failedScrapes}), want exactly ${JSON.stringify(wantKeys)}; first lines:\n    ${said.slice(0, 6).map((l) => JSON.stringify({ level: l.level, type: l.type, msg: l.msg })).join('\n    ')}`);
      }
      for (const l of said) {
        const msg = String(l.msg);
        assert.ok(msg.includes(s.url), `${what}: the line does not name the target URL: ${msg}`);
        for (const p of want.phrases) assert.match(msg, p, `${what}: ${l.type} line`);
        assert.equal(l.err?.code, want.code, `${what}: ${msg}`);
        assert.ok(typeof l.hint === 'string' && l.hint.length > 0, `${what}: ${l.type} line has no hint: ${msg}`);
        if (want.hint) assert.match(l.hint, want.hint, `${what}: ${l.type} hint`);
      }
      const example = said[0];
      if (example) examples.push(`${mode}: [${example.level}] ${example.msg}${example.hint ? `  (hint: ${example.hint})` : ''}`);
      const fs = failuresByCode[want.code] ?? 0;
      t.diagnostic(`${mode}: ${fs} failures counted (${want.code}), ${said.length} warn/error line(s), ${s.requests} request(s) at the server`);
    }
    t.diagnostic(`one log line per bad target:\n  ${examples.join('\n  ')}`);

    // Redirects are not followed: the other host never saw a connection.
    const redirect = hostile.get('redirect')!;
    assert.ok(redirect.requests > 0, 'the redirecting server was scraped');
    assert.equal(redirect.redirectTargetContacts, 0, `${redirect.redirectTo} was contacted: a redirect to another host was followed`);

    // Slots skipped because a hung scrape was still running are said once per job.
    const overlaps = lines.filter((l) => typeof l.msg === 'string' && l.msg.includes('previous scrape still running') && l.level === 'warn');
    const perJob = countBy(overlaps, (l) => String(l.job));
    for (const [job, n] of Object.entries(perJob)) assert.equal(n, 1, `overlap warning for ${job} said ${n} times`);
    t.diagnostic(`overlap warnings (once per job): ${overlaps.length}`);

    // After SIGTERM: no new warning about any target but scrapes abandoned at the end of the grace period.
    const lateFailures = shutdownLines.filter((l) => l.err?.code !== undefined && l.service !== undefined && (l.level === 'warn' || l.level === 'error'));
    assert.deepEqual(lateFailures.filter((l) => l.err?.code !== 'aborted').map((l) => l.msg), [], 'failure lines after SIGTERM other than abandoned scrapes');
    t.diagnostic(`after SIGTERM: ${lateFailures.length} abandoned scrape line(s) (${[...new Set(lateFailures.map((l) => l.service))].join(', ') || 'none'})`);

    // Nothing unexpected at error level (a crash of a scrape job, say).
    const unexpected = all.filter((l) => (l.level === 'error' || l.level === 'fatal') && !String(l.service).startsWith('hostile-'));
    assert.deepEqual(unexpected.map((l) => l.msg), [], 'error lines not about a bad target');

    assert.deepEqual(problems, [], 'log lines per bad target');

    // Memory last, so that every other finding above is reported too.
    assert.ok(peakMb < RSS_BOUND_MB, `peak RSS ${peakMb.toFixed(1)} MB, bound ${RSS_BOUND_MB} MB`);
    if (hwmKb !== null) assert.ok(hwmKb / 1024 < RSS_BOUND_MB, `VmHWM ${(hwmKb / 1024).toFixed(1)} MB, bound ${RSS_BOUND_MB} MB`);
  });
});
