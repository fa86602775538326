// Failure logging in the pipeline: a failure is news when it starts (one warn
// line), its repeats are not (debug), a failure that goes on is summed up in
// one warn line every REPEAT_SUMMARY_EVERY_MS, a recovery is one info line,
// and the metrics count every single failure whatever the log says.
//
// The real ProfilePipeline, processor and HTTP scrape against a local
// node:http server that answers 503 (then a real goroutine profile); a fake
// clock stands for the minutes between scrapes; the logger writes into an
// array.

import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { HealthStore, type CollectOutcome } from '../../src/server/health.js';
import { createLogger } from '../../src/core/log.js';
import { CollectorMetrics } from '../../src/server/metrics.js';
import { ProfilePipeline, REPEAT_SUMMARY_EVERY_MS } from '../../src/pipeline.js';
import { BaselineStore } from '../../src/profile/baselines.js';
import { ProfileProcessor } from '../../src/profile/processor.js';
import type { ProfileRecord } from '../../src/profile/record.js';
import { CpuProfileGate, CpuWindows } from '../../src/scrape/cpu-gate.js';
import { DispatcherPool } from '../../src/scrape/dispatchers.js';
import { FakeClock } from '../helpers/fake-clock.js';
import { ROOT } from '../helpers/processes.js';
import { parsePromText, valueOf } from '../helpers/prom-text.js';
import { testTarget } from '../helpers/targets.js';

const GOROUTINE_PROFILE = readFileSync(join(ROOT, 'fixtures', 'profiles', 'goroutine.pb.gz'));
const INTERVAL_MS = 10_000;

let mode: 'fail' | 'ok' | 'write_timeout' | 'in_use' = 'fail';
let served = 0;
/** The ?seconds= of each CPU profile asked for. */
const cpuWindows: number[] = [];
let server: Server;
let port = 0;
const pool = new DispatcherPool();

before(async () => {
  server = createServer((req, res) => {
    served++;
    req.resume();
    if (mode === 'in_use') {
      // What net/http/pprof answers while another CPU profile runs in the process.
      res.writeHead(500, { 'content-type': 'text/plain; charset=utf-8', 'x-go-pprof': '1' }).end('Could not enable CPU profiling: cpu profiling already in use\n');
    } else if (mode === 'write_timeout') {
      // What net/http/pprof answers when seconds >= the server's WriteTimeout.
      cpuWindows.push(Number(new URL(req.url ?? '/', 'http://x').searchParams.get('seconds')));
      res.writeHead(400, { 'content-type': 'text/plain; charset=utf-8', 'x-go-pprof': '1' }).end("profile duration exceeds server's WriteTimeout\n");
    } else if (mode === 'fail') {
      // The body varies (a request id): the wording of the error changes on
      // every scrape, its code does not, so it is still the same failure.
      res.writeHead(503, { 'content-type': 'text/plain; charset=utf-8' }).end(`upstream unavailable (request ${served})\n`);
    } else {
      res.writeHead(200, { 'content-type': 'application/octet-stream' }).end(GOROUTINE_PROFILE);
    }
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  port = (server.address() as AddressInfo).port;
});

after(async () => {
  await pool.close();
  server.closeAllConnections();
  await new Promise<void>((resolve) => server.close(() => resolve()));
});

interface Line {
  level: string;
  msg: string;
  type?: string;
  failures?: number;
  minutes?: number;
  err?: { code?: string };
  hint?: string;
}

function setup(type: 'goroutine' | 'cpu' = 'goroutine') {
  const clock = new FakeClock();
  const raw: string[] = [];
  const logger = createLogger({ level: 'debug', destination: { write: (s: string) => void raw.push(s) } });
  const metrics = new CollectorMetrics({ defaultMetrics: false });
  const outcomes: CollectOutcome[] = [];
  const emitted: ProfileRecord[] = [];
  const target = testTarget({ baseUrl: `http://127.0.0.1:${port}/debug/pprof`, enabledTypes: [type], generateMetrics: true, intervalMs: INTERVAL_MS, profileDurationMs: 9_000 });
  const health = new HealthStore();
  const pipeline = new ProfilePipeline({
    clock,
    logger,
    dispatchers: pool,
    processor: new ProfileProcessor({ baselines: new BaselineStore(), now: () => clock.now() }),
    cpuGate: new CpuProfileGate(clock),
    cpuWindows: new CpuWindows(() => clock.now()),
    health,
    emit: async (r) => void emitted.push(r),
    observe: (o, t) => {
      outcomes.push(o);
      metrics.observeOutcome(o, t);
    },
  });
  const lines = () => raw.map((s) => JSON.parse(s) as Line);
  const at = (level: string) => lines().filter((l) => l.level === level);
  /** One scrape, then the clock moves one interval on. */
  const scrape = async () => {
    const o = await pipeline.collect(target, type);
    clock.stall(INTERVAL_MS);
    return o;
  };
  const metric = async (name: string, labels: Record<string, string> = {}) =>
    valueOf(parsePromText(await metrics.registry.metrics()), name, { service: target.service, target: target.instance, type, ...labels });
  return { clock, lines, at, scrape, metric, outcomes, emitted, health: () => health.get(target.id, type) };
}

describe('pipeline failure logging', () => {
  it('warns once when a failure starts, sums repeats up every REPEAT_SUMMARY_EVERY_MS, says the recovery once; the metrics count every failure', async () => {
    mode = 'fail';
    const s = setup();
    const repeatsPerSummary = Math.ceil(REPEAT_SUMMARY_EVERY_MS / INTERVAL_MS);
    assert.ok(repeatsPerSummary >= 3, `REPEAT_SUMMARY_EVERY_MS ${REPEAT_SUMMARY_EVERY_MS} is a few intervals at least`);

    // 1. The first failure: one warn line with the error and its code.
    const first = await s.scrape();
    assert.equal(first.result, 'failed');
    assert.equal(first.error?.code, 'http_status');
    let warns = s.at('warn');
    assert.equal(warns.length, 1, 'one warn line for the first failure');
    assert.equal(warns[0]!.type, 'goroutine');
    assert.equal(warns[0]!.err?.code, 'http_status');
    assert.match(warns[0]!.msg, /^goroutine scrape failed: .*answered 503/);

    // 2. Repeats just short of the summary period: nothing more at warn,
    // each one at debug.
    for (let i = 1; i < repeatsPerSummary; i++) {
      const o = await s.scrape();
      assert.equal(o.result, 'failed', `repeat ${i}`);
    }
    assert.equal(s.at('warn').length, 1, `no warn line for ${repeatsPerSummary - 1} repeats within ${REPEAT_SUMMARY_EVERY_MS} ms`);
    assert.equal(s.at('debug').filter((l) => l.msg === 'goroutine scrape still failing').length, repeatsPerSummary - 1, 'each repeat at debug');

    // 3. The repeat that completes the period: one summary with the count.
    await s.scrape();
    warns = s.at('warn');
    assert.equal(warns.length, 2, 'a summary line once the period has passed');
    const summary = warns[1]!;
    assert.equal(summary.failures, repeatsPerSummary, 'the summary counts the repeats since the first line');
    assert.equal(summary.minutes, Math.round(REPEAT_SUMMARY_EVERY_MS / 60_000));
    assert.match(summary.msg, new RegExp(`^goroutine scrape still failing: ${repeatsPerSummary} more failure\\(s\\) in the last \\d+ min: .*503`));

    // 4. The next period starts from the summary: again silent until it is over.
    for (let i = 1; i < repeatsPerSummary; i++) await s.scrape();
    assert.equal(s.at('warn').length, 2, 'silent again during the second period');
    await s.scrape();
    assert.equal(s.at('warn').length, 3, 'a second summary after the second period');
    assert.equal(s.at('warn')[2]!.failures, repeatsPerSummary);

    // The metrics saw every failure, logged or not.
    const failures = 1 + 2 * repeatsPerSummary;
    assert.equal(s.outcomes.length, failures);
    assert.equal(await s.metric('collector_scrapes_total', { result: 'failed' }), failures, 'collector_scrapes_total{result="failed"}');
    assert.equal(await s.metric('collector_scrape_failures_total', { code: 'http_status' }), failures, 'collector_scrape_failures_total{code="http_status"}');
    assert.equal(await s.metric('collector_target_up'), 0);
    assert.equal(s.at('info').length, 0, 'no info line while failing');

    // 5. Recovery: one info line, then quiet successes.
    mode = 'ok';
    const ok = await s.scrape();
    assert.equal(ok.result, 'shipped', JSON.stringify(ok.error));
    assert.equal(s.emitted.length, 1, 'the profile went to the outputs');
    const infos = s.at('info');
    assert.equal(infos.length, 1, 'one info line for the recovery');
    assert.equal(infos[0]!.msg, 'goroutine scrape recovered');
    await s.scrape();
    await s.scrape();
    assert.equal(s.at('info').length, 1, 'successes after the recovery are not news');
    assert.equal(s.at('warn').length, 3, 'no warn line while it works');
    assert.equal(await s.metric('collector_target_up'), 1);
    assert.equal(await s.metric('collector_scrapes_total', { result: 'shipped' }), 3);
    assert.equal(await s.metric('collector_scrapes_total', { result: 'failed' }), failures, 'failures counted before stay counted');

    // 6. A new failure after the recovery is news again, at once.
    mode = 'fail';
    await s.scrape();
    warns = s.at('warn');
    assert.equal(warns.length, 4, 'a failure after a recovery is logged at warn');
    assert.match(warns[3]!.msg, /^goroutine scrape failed: /);
    await s.scrape();
    assert.equal(s.at('warn').length, 4, 'and its first repeat is not');
    assert.equal(await s.metric('collector_scrapes_total', { result: 'failed' }), failures + 2);
  });

  it('a different error code is a new failure: logged at warn at once, not folded into the summary', async () => {
    mode = 'fail';
    const s = setup();
    await s.scrape();
    await s.scrape();
    assert.equal(s.at('warn').length, 1);
    // The same target now refuses connections: another code, another story.
    const saved = port;
    const closed = new Promise<void>((resolve) => server.close(() => resolve()));
    server.closeAllConnections();
    await closed;
    try {
      const o = await s.scrape();
      assert.equal(o.error?.code, 'network', JSON.stringify(o.error));
      const warns = s.at('warn');
      assert.equal(warns.length, 2, 'the new code is logged at warn');
      assert.equal(warns[1]!.err?.code, 'network');
      assert.equal(await s.metric('collector_scrape_failures_total', { code: 'network' }), 1);
      assert.equal(await s.metric('collector_scrape_failures_total', { code: 'http_status' }), 2);
    } finally {
      await new Promise<void>((resolve, reject) => {
        server.once('error', reject);
        server.listen(saved, '127.0.0.1', () => resolve());
      });
    }
  });

  it('WriteTimeout: each shortened CPU window is said once; when even 1s does not fit, the repeats are summed up like any failure', async () => {
    mode = 'write_timeout';
    cpuWindows.length = 0;
    const s = setup('cpu');
    const timeoutWarns = () => s.at('warn').filter((l) => l.err?.code === 'write_timeout');
    // 9s -> 4s -> 2s -> 1s: one line per window, with the numbers.
    for (let i = 0; i < 4; i++) assert.equal((await s.scrape()).error?.code, 'write_timeout');
    assert.deepEqual(cpuWindows, [9, 4, 2, 1], 'the window halves after each 400');
    const said = timeoutWarns();
    assert.equal(said.length, 4, said.map((l) => l.msg).join('\n'));
    assert.match(said[0]!.msg, /^CPU profile window 9s exceeds the target's http.Server WriteTimeout; next window is 4s\. Raise WriteTimeout above profile_duration \(9s\) or lower profile_duration$/);
    assert.match(said[3]!.msg, /window 1s .*cannot shorten below 1s/);
    // Stuck at 1s: the same failure on every scrape, not a line on every scrape.
    const repeatsPerSummary = Math.ceil(REPEAT_SUMMARY_EVERY_MS / INTERVAL_MS);
    for (let i = 1; i < repeatsPerSummary; i++) await s.scrape();
    assert.deepEqual(cpuWindows.slice(4), new Array(repeatsPerSummary - 1).fill(1));
    assert.equal(timeoutWarns().length, 4, 'no warn line per repeat');
    await s.scrape();
    const summary = timeoutWarns()[4];
    assert.ok(summary, 'a summary once the period has passed');
    assert.equal(summary.failures, repeatsPerSummary);
    assert.match(summary.msg, /^cpu scrape still failing: /);
    assert.ok(summary.hint?.includes('WriteTimeout'), `the summary carries the hint: ${summary.hint}`);
    // The metrics count every one.
    assert.equal(await s.metric('collector_scrape_failures_total', { code: 'write_timeout' }), 4 + repeatsPerSummary);

    // After CPU_WINDOW_REGROW_MS a twice longer window is tried (WriteTimeout
    // may have been raised); that it still does not fit is not news.
    const warnsBefore = s.at('warn').length;
    let probe: CollectOutcome | undefined;
    for (let i = 0; i < 2 * repeatsPerSummary + 5 && !probe; i++) {
      const o = await s.scrape();
      if (cpuWindows.at(-1) === 2) probe = o;
    }
    assert.ok(probe, `a 2s window was tried again: ${cpuWindows.slice(-5).join(', ')}`);
    assert.equal(probe.result, 'skipped', 'a failed probe is not a failure of the target');
    assert.equal(probe.error?.code, 'write_timeout');
    assert.ok(!s.at('warn').slice(warnsBefore).some((l) => /CPU profile window 2s/.test(l.msg)), 'no warn line for the probe');
    await s.scrape();
    assert.equal(cpuWindows.at(-1), 1, 'back to the window that was used');
  });

  it('CPU in use by another profiler: a skip, said when an episode starts (at most once per summary period), neither a failure nor a success', async () => {
    const s = setup('cpu');
    const inUseWarns = () => s.at('warn').filter((l) => l.err?.code === 'cpu_in_use');
    mode = 'ok';
    assert.equal((await s.scrape()).result, 'shipped');
    const lastSuccess = s.health()!.lastSuccessAtMs;
    mode = 'in_use';
    assert.equal((await s.scrape()).result, 'skipped');
    assert.equal(inUseWarns().length, 1, 'the first skip is said');
    assert.match(inUseWarns()[0]!.hint ?? '', /another CPU profiler runs in this process/);
    await s.scrape();
    assert.equal(inUseWarns().length, 1, 'a skip in a row is not news');
    assert.equal(s.health()!.lastSuccessAtMs, lastSuccess, 'a skip is not a success');
    assert.equal(s.health()!.consecutiveFailures, 0, 'nor a failure');
    // The other profiler comes and goes with its windows: said once per period.
    mode = 'ok';
    await s.scrape();
    mode = 'in_use';
    await s.scrape();
    assert.equal(inUseWarns().length, 1, 'a second episode soon after is not said again');
    mode = 'ok';
    s.clock.stall(REPEAT_SUMMARY_EVERY_MS);
    await s.scrape();
    mode = 'in_use';
    await s.scrape();
    assert.equal(inUseWarns().length, 2, 'an episode after the summary period is said again');
    assert.equal(await s.metric('collector_scrapes_total', { result: 'skipped' }), 4, 'the metrics count every skip');
    assert.equal(s.at('info').filter((l) => /recovered/.test(l.msg)).length, 0, 'skips are not failures, so nothing recovers');
  });
});
