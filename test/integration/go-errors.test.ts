// Go's pprof error contract, end to end: the real Go fixture answers the way
// net/http/pprof answers in production, and the real collector process
// (`node bin/collector.js`) must do what the README says about it
// ("Go's pprof server, and what the collector does about it", and the hints):
//
//   a. 400 "profile duration exceeds server's WriteTimeout": the CPU window is
//      halved on the following scrapes until it fits, a warn line names the
//      numbers and says to raise WriteTimeout or lower profile_duration, a CPU
//      profile is shipped once a window fits; when nothing fits (WriteTimeout
//      under 1 s) the failure is not logged on every scrape.
//   b. 500 "cpu profiling already in use" (another CPU profile held open on
//      the same process): the scrape is counted skipped, not failed, with the
//      cpu_in_use code, a hint that names another CPU profiler, and no retry
//      at once.
//   c. mutex and block profiling off in the target: the profiles are empty.
//      One empty window is no proof that profiling is off (--once says
//      nothing); after EMPTY_WINDOWS_BEFORE_HINT empty windows in a row a
//      running collector says "no contention recorded in N consecutive
//      windows" with runtime.SetMutexProfileFraction /
//      runtime.SetBlockProfileRate, once per type in its log and on
//      /api/targets.
//
// Nothing is skipped: without `go` these tests fail with a message. Run with:
//   node --import tsx --test --test-concurrency=1 test/integration/go-errors.test.ts

import assert from 'node:assert/strict';
import { existsSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, it, type TestContext } from 'node:test';
import { readRequestLog, type RequestLogLine } from '../../fixtures/go-target/harness.js';
import { goSuite } from '../helpers/go-suite.js';
import { spawnCollector, waitFor, type CollectorProcess } from '../helpers/processes.js';
import { parsePromText, sumOf, type PromText } from '../helpers/prom-text.js';
import { EMPTY_WINDOWS_BEFORE_HINT } from '../../src/server/hints.js';

const CPU_PATH = '/debug/pprof/profile';
const MUTEX_HINT_CALL = 'runtime.SetMutexProfileFraction';
const BLOCK_HINT_CALL = 'runtime.SetBlockProfileRate';

const { cleanup, requireGo, tempDir, goTarget } = goSuite('pprof-go-errors-');

function collector(args: string[]): CollectorProcess {
  const c = spawnCollector(args);
  cleanup.add(() => c.kill());
  return c;
}

interface ConfigOptions {
  readonly url: string;
  readonly service: string;
  readonly profileDuration: string;
  readonly types: readonly string[];
  /** Serve /metrics and /api/targets on a free loopback port. */
  readonly listen: boolean;
}

function writeConfig(dir: string, o: ConfigOptions): { file: string; filesDir: string } {
  const q = (s: string) => JSON.stringify(s);
  const filesDir = join(dir, 'profiles');
  const lines = [
    '[agent]',
    'hostname = "go-errors-host"',
    `listen = ${q(o.listen ? '127.0.0.1:0' : '')}`,
    `data_dir = ${q(join(dir, 'data'))}`,
    'log_level = "info"',
    '',
    '[[inputs.profile.go]]',
    `url = ${q(o.url)}`,
    'interval = "10s"',
    `profile_duration = ${q(o.profileDuration)}`,
    `service = ${q(o.service)}`,
    `enabled_types = [${o.types.map(q).join(', ')}]`,
    '',
    '[[outputs.file]]',
    `dir = ${q(filesDir)}`,
    '',
  ];
  const file = join(dir, 'profile.conf');
  writeFileSync(file, lines.join('\n'));
  return { file, filesDir };
}

/** The status server's base URL (on loopback). */
async function statusBase(c: CollectorProcess): Promise<string> {
  const base = await c.statusUrl();
  assert.match(base, /^http:\/\/127\.0\.0\.1:\d+$/, 'the status server listens on loopback');
  return base;
}

async function metrics(base: string): Promise<PromText> {
  const res = await fetch(`${base}/metrics`, { signal: AbortSignal.timeout(10_000) });
  assert.equal(res.status, 200, '/metrics status');
  return parsePromText(await res.text());
}

interface ApiType {
  readonly type: string;
  readonly health: string;
  readonly result?: string;
  readonly error?: { readonly code: string; readonly message: string };
  readonly hint?: string;
}

async function apiType(base: string, service: string, type: string): Promise<ApiType | undefined> {
  const res = await fetch(`${base}/api/targets`, { signal: AbortSignal.timeout(10_000) });
  assert.equal(res.status, 200, '/api/targets status');
  const body = (await res.json()) as { targets: Array<{ service: string; types: ApiType[] }> };
  return body.targets.find((t) => t.service === service)?.types.find((t) => t.type === type);
}

function errCode(l: Record<string, unknown>): string | undefined {
  return (l.err as { code?: string } | undefined)?.code;
}

/** Log lines at `level` whose err.code is `code`. */
function linesWithCode(c: CollectorProcess, level: string, code: string): Array<Record<string, unknown>> {
  return c.logLines().filter((l) => l.level === level && errCode(l) === code);
}

/** The collector's CPU requests in the fixture's request log, in order, with their ?seconds=. */
function cpuRequests(requestLog: string, exceptQuery?: string): Array<RequestLogLine & { seconds: number }> {
  return readRequestLog(requestLog)
    .filter((l) => l.path === CPU_PATH && l.query !== exceptQuery)
    .sort((a, b) => Date.parse(a.time) - Date.parse(b.time))
    .map((l) => ({ ...l, seconds: Number(new URLSearchParams(l.query).get('seconds')) }));
}

function shippedFiles(filesDir: string, service: string, type: string): string[] {
  const dir = join(filesDir, service);
  if (!existsSync(dir)) return [];
  return readdirSync(dir).filter((f) => f.endsWith('.pprof') && f.includes(`_${type}_`));
}

async function stopCollector(c: CollectorProcess): Promise<void> {
  c.signal('SIGTERM');
  const exit = await c.waitExit(30_000);
  assert.deepEqual(exit, { code: 0, signal: null }, `collector exit after SIGTERM; stdout tail:\n${c.stdout.slice(-2000)}`);
}

const show = (xs: ReadonlyArray<unknown>) => xs.map((x) => JSON.stringify(x)).join('\n');

describe("Go's pprof error contract against the real Go fixture", () => {
  it('a1: 400 WriteTimeout: the CPU window is halved until it fits under the 3 s WriteTimeout, the warn names the numbers, a CPU profile ships', { timeout: 90_000 }, async (t: TestContext) => {
    requireGo();
    const dir = tempDir();
    const requestLog = join(dir, 'requests.jsonl');
    const target = await goTarget({ writeTimeout: '3s', requestLog });
    const svc = 'wt-svc';
    const { file, filesDir } = writeConfig(dir, { url: target.url, service: svc, profileDuration: '9s', types: ['cpu'], listen: true });
    const c = collector(['-c', file]);
    const base = await statusBase(c);

    // The first CPU scrape (9 s >= 3 s) is refused by Go with a 400.
    await waitFor(() => !c.running || cpuRequests(requestLog).some((r) => r.status === 400), 25_000, 'a CPU request answered 400 by the fixture');
    if (!c.running) assert.fail(`collector exited:\n${c.stdout.slice(-3000)}`);
    // While it fails, /api/targets shows the failure with the hint (the next slot is ~10 s away).
    await waitFor(async () => (await apiType(base, svc, 'cpu'))?.error?.code === 'write_timeout', 5_000, '/api/targets to show the write_timeout failure');
    const failing = (await apiType(base, svc, 'cpu'))!;
    t.diagnostic(`/api/targets while failing: ${JSON.stringify(failing)}`);
    assert.equal(failing.health, 'down', JSON.stringify(failing));
    assert.ok(failing.hint, `a hint on the failing cpu row: ${JSON.stringify(failing)}`);
    assert.match(failing.hint, /raise WriteTimeout/, 'the hint says to raise WriteTimeout');
    assert.match(failing.hint, /lower profile_duration/, 'the hint says to lower profile_duration');
    assert.match(failing.hint, /\b9s\b/, 'the hint names the window');

    // Then the window shrinks until it fits, and a CPU profile is shipped.
    await waitFor(() => !c.running || shippedFiles(filesDir, svc, 'cpu').length > 0, 45_000, 'a CPU profile in the file output');
    if (!c.running) assert.fail(`collector exited:\n${c.stdout.slice(-3000)}`);
    await stopCollector(c);

    const cpu = cpuRequests(requestLog);
    t.diagnostic(`cpu requests: ${cpu.map((r) => `seconds=${r.seconds} -> ${r.status}`).join(', ')}`);
    const firstOk = cpu.findIndex((r) => r.status === 200);
    assert.ok(firstOk >= 1, `a 400 first, then a 200:\n${show(cpu)}`);
    assert.equal(cpu[0]!.seconds, 9, 'the first window is profile_duration');
    for (let i = 0; i < firstOk; i++) assert.equal(cpu[i]!.status, 400, `request ${i} before the first 200: ${JSON.stringify(cpu[i])}`);
    for (let i = 1; i <= firstOk; i++) {
      const prev = cpu[i - 1]!.seconds;
      // Halved (rounded down, at least 1) after each 400.
      assert.ok(cpu[i]!.seconds < prev && cpu[i]!.seconds <= Math.ceil(prev / 2), `window after a 400 of ${prev}s: ${cpu[i]!.seconds}s\n${show(cpu)}`);
    }
    assert.ok(cpu[firstOk]!.seconds < 3, `the window that worked fits under the WriteTimeout: ${cpu[firstOk]!.seconds}s`);
    for (const r of cpu.slice(firstOk)) assert.equal(r.seconds, cpu[firstOk]!.seconds, `the window that fits is kept: ${JSON.stringify(r)}`);

    // The shipped CPU profile covers the shortened window, not 9 s.
    const pprof = shippedFiles(filesDir, svc, 'cpu')[0]!;
    const sidecar = JSON.parse(readFileSync(join(filesDir, svc, pprof.replace(/\.pprof$/, '.json')), 'utf8')) as { start_unix_nano: string; end_unix_nano: string };
    const windowS = Number(BigInt(sidecar.end_unix_nano) - BigInt(sidecar.start_unix_nano)) / 1e9;
    assert.ok(windowS > 0 && windowS < 3, `the shipped CPU profile's window is the shortened one, under 3 s: ${windowS}s`);

    // One warn per 400, each with the numbers: the window refused and the next one.
    const warns = linesWithCode(c, 'warn', 'write_timeout');
    t.diagnostic(`write_timeout warn lines:\n${show(warns)}`);
    assert.ok(warns.length >= 1, 'a warn line with code write_timeout');
    const first = warns[0]!;
    const text = `${String(first.msg)} ${String((first.err as { message?: string }).message)}`;
    assert.match(text, /\b9s\b/, `the warn names the 9s window: ${text}`);
    assert.match(text, new RegExp(`\\b${cpu[1]!.seconds}s\\b`), `the warn names the shortened window (${cpu[1]!.seconds}s): ${text}`);
    assert.match(text, /WriteTimeout/, 'the warn names WriteTimeout');
    assert.match(text, /profile_duration/, 'the warn names profile_duration');
    // Each refused window was logged (the window changed each time).
    assert.ok(warns.length <= firstOk, `at most one warn per refused window: ${warns.length} warns, ${firstOk} 400s`);
    assert.ok(c.logLines().some((l) => l.level === 'info' && /cpu scrape recovered/.test(String(l.msg))), 'the recovery is logged');
  });

  it('a2: WriteTimeout 500ms, nothing fits: the failure is logged when it starts or changes, not on every scrape', { timeout: 100_000 }, async (t: TestContext) => {
    requireGo();
    const dir = tempDir();
    const requestLog = join(dir, 'requests.jsonl');
    // Go refuses any whole-second window (>= 1s) when WriteTimeout is 500ms.
    const target = await goTarget({ writeTimeout: '500ms', requestLog });
    const svc = 'wt-none-svc';
    const { file } = writeConfig(dir, { url: target.url, service: svc, profileDuration: '2s', types: ['cpu'], listen: true });
    const c = collector(['-c', file]);
    const base = await statusBase(c);

    // Five CPU scrapes: 2s (400), then 1s (400) on every following one.
    const WANT = 5;
    await waitFor(() => !c.running || cpuRequests(requestLog).length >= WANT, 65_000, `${WANT} CPU requests at the fixture`);
    if (!c.running) assert.fail(`collector exited:\n${c.stdout.slice(-3000)}`);
    // The metrics count every failure, even when the log does not repeat it.
    await waitFor(async () => sumOf(await metrics(base), 'collector_scrape_failures_total', { type: 'cpu', code: 'write_timeout' }) >= WANT, 5_000, 'the metrics to count every 400');
    const m = await metrics(base);
    await stopCollector(c);

    const cpu = cpuRequests(requestLog);
    t.diagnostic(`cpu requests: ${cpu.map((r) => `seconds=${r.seconds} -> ${r.status}`).join(', ')}`);
    for (const r of cpu) assert.equal(r.status, 400, `every CPU request is refused: ${JSON.stringify(r)}`);
    assert.equal(cpu[0]!.seconds, 2);
    for (const r of cpu.slice(1)) assert.equal(r.seconds, 1, `the window stays at the 1s floor: ${JSON.stringify(r)}`);
    assert.equal(sumOf(m, 'collector_scrapes_total', { type: 'cpu', result: 'shipped' }), 0, 'nothing shipped');

    const warns = linesWithCode(c, 'warn', 'write_timeout');
    t.diagnostic(`${warns.length} write_timeout warn line(s) over ${cpu.length} refused scrapes:\n${show(warns)}`);
    assert.ok(warns.length >= 1, 'the failure is logged');
    assert.ok(
      warns.length <= 2,
      `"a failure is logged when it starts or changes, not on every scrape": ${warns.length} write_timeout warn lines for ${cpu.length} scrapes (at most 2: 2s refused, then 1s refused)`,
    );
    const last = warns[warns.length - 1]!;
    const text = `${String(last.msg)} ${String((last.err as { message?: string }).message)}`;
    assert.match(text, /1s/, `the last warn says the 1s floor is refused too: ${text}`);
  });

  it('b: 500 "cpu profiling already in use": the scrape is skipped, not failed, with a hint naming another CPU profiler, and not retried at once', { timeout: 90_000 }, async (t: TestContext) => {
    requireGo();
    const dir = tempDir();
    const requestLog = join(dir, 'requests.jsonl');
    const target = await goTarget({ requestLog });
    const svc = 'in-use-svc';

    // Another CPU profiler: a CPU profile of 40 s held open on the same process.
    const HOLD_QUERY = 'seconds=40';
    const hold = new AbortController();
    const held = fetch(`${target.url}${CPU_PATH}?${HOLD_QUERY}`, { signal: hold.signal }).then(
      (r) => r.arrayBuffer(),
      () => undefined,
    );
    cleanup.add(async () => {
      hold.abort();
      await held.catch(() => undefined);
    });
    await waitFor(async () => (await target.stats()).cpu_max_in_flight >= 1, 5_000, 'the held CPU profile to start in the fixture');

    const { file } = writeConfig(dir, { url: target.url, service: svc, profileDuration: '3s', types: ['cpu'], listen: true });
    const c = collector(['-c', file]);
    const base = await statusBase(c);
    const skipped = async () => sumOf(await metrics(base), 'collector_scrapes_total', { type: 'cpu', result: 'skipped' });
    await waitFor(async () => !c.running || (await skipped()) >= 1, 25_000, 'collector_scrapes_total{type="cpu",result="skipped"} >= 1');
    if (!c.running) assert.fail(`collector exited:\n${c.stdout.slice(-3000)}`);
    const m = await metrics(base);
    // The other profiler is done: the next window should work.
    hold.abort();
    await held;

    assert.ok(sumOf(m, 'collector_scrapes_total', { type: 'cpu', result: 'skipped' }) >= 1);
    assert.ok(sumOf(m, 'collector_scrape_failures_total', { type: 'cpu', code: 'cpu_in_use' }) >= 1, 'collector_scrape_failures_total{code="cpu_in_use"} >= 1');
    assert.equal(sumOf(m, 'collector_scrapes_total', { type: 'cpu', result: 'failed' }), 0, 'a CPU window taken by another profiler is skipped, not failed');
    const row = await apiType(base, svc, 'cpu');
    t.diagnostic(`/api/targets cpu row: ${JSON.stringify(row)}`);

    const inUse = cpuRequests(requestLog, HOLD_QUERY);
    assert.ok(inUse.length >= 1 && inUse[0]!.status === 500, `the collector's CPU request met Go's 500:\n${show(inUse)}`);

    const warns = linesWithCode(c, 'warn', 'cpu_in_use');
    t.diagnostic(`cpu_in_use warn lines:\n${show(warns)}`);
    assert.equal(warns.length, 1, 'one warn line for the skipped window');
    assert.match(String(warns[0]!.hint), /another CPU profiler runs in this process/, 'the hint names another CPU profiler');
    assert.match(String(warns[0]!.msg), /skipped/, 'the line says the window was skipped');

    // No retry at once: the next CPU request comes at the next slot, and works.
    await waitFor(() => !c.running || cpuRequests(requestLog, HOLD_QUERY).some((r) => r.status === 200), 30_000, 'a CPU request answered 200 after the other profiler stopped');
    if (!c.running) assert.fail(`collector exited:\n${c.stdout.slice(-3000)}`);
    await stopCollector(c);
    const after = cpuRequests(requestLog, HOLD_QUERY);
    t.diagnostic(`collector cpu requests: ${after.map((r) => `${r.time} -> ${r.status}`).join(', ')}`);
    const gapS = (Date.parse(after[1]!.time) - Date.parse(after[0]!.time)) / 1000;
    assert.ok(gapS >= 5, `the skipped window is not retried at once: the next CPU request came ${gapS}s later (interval 10s)`);
  });

  it('c1: mutex and block profiling off: --once ships the empty profiles; one window is no proof, so no profiling-off hint', { timeout: 90_000 }, async (t: TestContext) => {
    requireGo();
    const dir = tempDir();
    const target = await goTarget({ mutexFraction: 0, blockRate: 0 });
    const svc = 'empty-svc';
    const { file } = writeConfig(dir, { url: target.url, service: svc, profileDuration: '3s', types: ['cpu', 'goroutine', 'heap', 'mutex', 'block'], listen: false });
    const c = collector(['-c', file, '--once']);
    const exit = await c.waitExit(60_000);
    t.diagnostic(`--once output:\n${c.stdout}`);
    const rows = new Map<string, string>();
    for (const l of c.stdout.split('\n')) {
      if (!l.startsWith(target.url)) continue;
      rows.set(l.split(/\s+/)[1]!, l);
    }
    assert.deepEqual([...rows.keys()].sort(), ['block', 'cpu', 'goroutine', 'heap', 'mutex'], `a row per type:\n${c.stdout}`);
    for (const type of ['mutex', 'block']) {
      const row = rows.get(type)!;
      assert.match(row, new RegExp(`\\s${type}\\s+shipped\\s+0\\s+\\d+\\s+yes\\s*$`), `the empty ${type} profile is shipped with 0 samples, and nothing more is claimed: ${row}`);
    }
    for (const [type, row] of rows) {
      assert.ok(!row.includes(MUTEX_HINT_CALL) && !row.includes(BLOCK_HINT_CALL), `no profiling-off hint after one window on the ${type} row: ${row}`);
    }
    const hinted = c.logLines('stderr').filter((l) => String(l.hint ?? '').includes(MUTEX_HINT_CALL) || String(l.hint ?? '').includes(BLOCK_HINT_CALL));
    assert.deepEqual(hinted, [], 'no profiling-off hint in the log after one window');
    assert.deepEqual(exit, { code: 0, signal: null }, `--once exit: an empty profile is still scraped and delivered\nstderr tail:\n${c.stderr.slice(-2000)}`);
  });

  it(`c2: mutex and block profiling off in a running collector: the hint after ${EMPTY_WINDOWS_BEFORE_HINT} empty windows, logged once per type, shown on /api/targets`, { timeout: 150_000 }, async (t: TestContext) => {
    requireGo();
    const dir = tempDir();
    const requestLog = join(dir, 'requests.jsonl');
    const target = await goTarget({ mutexFraction: 0, blockRate: 0, requestLog });
    const svc = 'empty-run-svc';
    const { file, filesDir } = writeConfig(dir, { url: target.url, service: svc, profileDuration: '3s', types: ['mutex', 'block'], listen: true });
    const c = collector(['-c', file, '--log-level', 'debug']);
    const base = await statusBase(c);
    // A baseline, then EMPTY_WINDOWS_BEFORE_HINT empty windows of each, plus one.
    const windows = EMPTY_WINDOWS_BEFORE_HINT + 1;
    await waitFor(
      () => !c.running || (shippedFiles(filesDir, svc, 'mutex').length >= windows && shippedFiles(filesDir, svc, 'block').length >= windows),
      windows * 10_000 + 30_000,
      `${windows} shipped deltas each of mutex and block`,
    );
    if (!c.running) assert.fail(`collector exited:\n${c.stdout.slice(-3000)}`);
    const rows = { mutex: await apiType(base, svc, 'mutex'), block: await apiType(base, svc, 'block') };
    await stopCollector(c);

    const reqs = readRequestLog(requestLog);
    const count = (p: string) => reqs.filter((l) => l.path === p).length;
    t.diagnostic(`requests: mutex ${count('/debug/pprof/mutex')}, block ${count('/debug/pprof/block')}`);
    for (const type of ['mutex', 'block']) {
      for (const f of shippedFiles(filesDir, svc, type)) {
        const j = JSON.parse(readFileSync(join(filesDir, svc, f.replace(/\.pprof$/, '.json')), 'utf8')) as { samples: number };
        assert.equal(j.samples, 0, `${f}: the shipped ${type} delta is empty`);
      }
    }
    const logs = c.logLines();
    for (const [type, call] of [
      ['mutex', MUTEX_HINT_CALL],
      ['block', BLOCK_HINT_CALL],
    ] as const) {
      const hinted = logs.filter((l) => l.level === 'warn' && String(l.hint ?? '').includes(call));
      t.diagnostic(`${type} hint lines:\n${show(hinted)}`);
      assert.equal(hinted.length, 1, `the ${type} hint once, not once per empty window:\n${show(hinted)}`);
      assert.equal(hinted[0]!.type, type);
      assert.match(String(hinted[0]!.hint), new RegExp(`^no contention recorded in ${EMPTY_WINDOWS_BEFORE_HINT} consecutive windows; if you expected some, call ${call.replace('.', '\\.')}`));
      // Said at the scrape that ended the Nth empty window, not before: the
      // scrapes of this type logged before it are the baseline and N-1 windows.
      const at = logs.indexOf(hinted[0]!);
      const before = logs.slice(0, at).filter((l) => l.type === type && (l.msg === `${type} baseline` || l.msg === `${type} shipped`));
      assert.equal(before.length, EMPTY_WINDOWS_BEFORE_HINT, `${type}: scrapes logged before the hint: ${show(before)}`);
      const row = rows[type];
      assert.ok(row?.hint?.includes(call), `/api/targets shows the ${type} hint: ${JSON.stringify(row)}`);
    }
  });
});
