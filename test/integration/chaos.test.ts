// Chaos: the intake fails for 30 s; during the outage the collector is
// SIGKILLed and started again; later the Go target is restarted. Afterwards
// every profile the target served (its own request log) is delivered, except
// one baseline per cumulative type per target process, and no delivered
// profile has a negative value.

import assert from 'node:assert/strict';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { isDeepStrictEqual } from 'node:util';
import { describe, test, type TestContext } from 'node:test';
import { goFixtureProblem, readRequestLog, startGoTarget, type RunningGoTarget } from '../../fixtures/go-target/harness.js';
import { startIntake, type DatakitIntake } from '../helpers/datakit-intake.js';
import { quietMoment } from '../helpers/kill-timing.js';
import { cleanupAfterAll, sleep, spawnCollector, waitFor, type CollectorProcess } from '../helpers/processes.js';
import { decodeGzipped, negativeValues } from '../helpers/pprof.js';
import { dumpSpool } from '../helpers/spool.js';

const cleanup = cleanupAfterAll();

const PATH_TYPE: Record<string, string> = {
  '/debug/pprof/profile': 'cpu',
  '/debug/pprof/goroutine': 'goroutine',
  '/debug/pprof/heap': 'heap',
  '/debug/pprof/mutex': 'mutex',
  '/debug/pprof/block': 'block',
};
const CUMULATIVE = new Set(['heap', 'mutex', 'block']);
describe('chaos', () => {
  test('intake outage + collector SIGKILL and restart + target restart: every served profile delivered, none negative', { timeout: 240_000 }, async (t: TestContext) => {
    const goProblem = goFixtureProblem();
    if (goProblem) assert.fail(goProblem);
    const dir = cleanup.tempDir('pprof-chaos-');
    const requestLog = join(dir, 'requests.jsonl');

    let target: RunningGoTarget = await startGoTarget({ parked: 11, requestLog });
    cleanup.add(() => target.kill());
    const intake: DatakitIntake = await startIntake();
    cleanup.add(() => intake.close());

    const cfg = join(dir, 'profile.conf');
    writeFileSync(
      cfg,
      [
        '[agent]',
        'listen = ""',
        `data_dir = ${JSON.stringify(join(dir, 'data'))}`,
        'log_level = "debug"',
        'shutdown_grace = "20s"',
        '[[inputs.profile.go]]',
        `url = ${JSON.stringify(target.url)}`,
        'interval = "10s"',
        'service = "chaos"',
        'env = "ci"',
        'version = "1.0.0"',
        '[[outputs.datakit]]',
        `url = ${JSON.stringify(intake.url)}`,
        'timeout = "5s"',
        '',
      ].join('\n'),
    );

    const started: CollectorProcess[] = [];
    const start = () => {
      const c = spawnCollector(['-c', cfg]);
      started.push(c);
      cleanup.add(() => c.kill());
      return c;
    };

    const t0 = Date.now();
    const first = start();
    // Let every type be scraped at least twice before the trouble starts.
    await waitFor(() => intake.uploads.filter((u) => CUMULATIVE.has(u.type)).length >= 3, 40_000, 'the first deltas').catch((err: Error) => {
      throw new Error(`${err.message}\ncollector stdout:\n${first.stdout.slice(-4000)}\nstderr:\n${first.stderr.slice(-2000)}\nintake: ${JSON.stringify(intake.attempts.slice(-5))}`);
    });

    // The intake fails for 30 s.
    intake.setMode({ status: 503, body: 'datakit is restarting', forMs: 30_000 });
    const outageEnds = Date.now() + 30_000;
    // Wait until a delivery has failed, so the spool holds something to
    // replay (the types' phases may leave several quiet seconds).
    const attemptsBefore = intake.attempts.length;
    await waitFor(() => intake.attempts.slice(attemptsBefore).some((a) => a.status === 503), 15_000, 'a delivery failing in the outage');

    // During the outage the collector is SIGKILLed (a crash) and started again.
    await quietMoment(requestLog, 400, 15_000, { collector: { process: first, sinceMs: t0 } });
    const killedAt = Date.now();
    assert.ok(killedAt < outageEnds - 2_000, 'the kill falls inside the outage');
    await first.kill();
    assert.equal((await first.exited).signal, 'SIGKILL');
    // What the crash left in the spool, to say where a lost profile went.
    const spoolAtKill = await dumpSpool(join(dir, 'data'));
    await sleep(1_500);
    const second = start();

    // The Go target is restarted once, on the same address, a while later.
    await sleep(Math.max(0, t0 + 70_000 - Date.now()));
    const oldPid = target.pid;
    await target.stop();
    target = await startGoTarget({ addr: target.addr, parked: 11, requestLog });
    const restartedAt = Date.now();

    // Run until the outage is long over and the new process has shipped deltas.
    await sleep(Math.max(0, Math.max(outageEnds, restartedAt) + 25_000 - Date.now()));
    second.signal('SIGTERM');
    const exit = await second.waitExit(40_000);
    assert.equal(exit.code, 0, `collector exit ${JSON.stringify(exit)}\n${second.stderr.slice(-2000)}`);
    const stoppedAt = Date.now();

    // What the target served: answered 200 in full, per process and type.
    const served = readRequestLog(requestLog).filter((l) => l.status === 200 && !l.write_error && PATH_TYPE[l.path]);
    const cutOff = readRequestLog(requestLog).filter((l) => l.write_error);
    const pids = new Set(served.map((l) => l.pid));
    assert.deepEqual(pids, new Set([oldPid, target.pid]), 'both target processes were scraped');
    const expected: Record<string, number> = {};
    for (const type of Object.values(PATH_TYPE)) {
      const lines = served.filter((l) => PATH_TYPE[l.path] === type);
      const starts = new Set(lines.map((l) => l.pid)).size;
      expected[type] = lines.length - (CUMULATIVE.has(type) ? starts : 0);
    }

    // What arrived: unique by the profile id header, none rejected, none negative.
    assert.deepEqual(intake.rejections.map((r) => r.reason), []);
    const unique = new Map(intake.uploads.map((u) => [u.profileId, u]));
    const delivered: Record<string, number> = {};
    for (const u of unique.values()) delivered[u.type] = (delivered[u.type] ?? 0) + 1;
    for (const u of unique.values()) {
      assert.deepEqual(negativeValues(decodeGzipped(u.gzipped)), [], `negative values in a ${u.type} profile`);
    }

    const resets = second.logLines().filter((l) => typeof l.msg === 'string' && l.msg.includes('baseline reset'));
    const replayed = second.logLines().find((l) => typeof l.msg === 'string' && l.msg.startsWith('replaying'));
    t.diagnostic(
      `served per type (minus baselines): ${JSON.stringify(expected)}; delivered (unique ids): ${JSON.stringify(delivered)}; ` +
        `uploads ${intake.uploads.length}, unique ${unique.size}, duplicates ${intake.uploads.length - unique.size}; ` +
        `cut off by the kill: ${cutOff.map((l) => l.path).join(', ') || 'none'}; ` +
        `replayed after the crash: ${replayed ? String(replayed.profiles) : 0}; baseline resets logged: ${resets.length}; ` +
        `kill at +${((killedAt - t0) / 1000).toFixed(1)} s, target restart at +${((restartedAt - t0) / 1000).toFixed(1)} s, stop at +${((stoppedAt - t0) / 1000).toFixed(1)} s`,
    );
    // On a mismatch: per type, when each served request ended (old or new
    // target process), when each delivered window ended, and what the
    // collectors said about that type beyond the routine lines.
    const rel = (ms: number) => ((ms - t0) / 1000).toFixed(1);
    const acked = new Set(spoolAtKill.flatMap((e) => e.ackIds ?? []));
    const timeline = () =>
      Object.values(PATH_TYPE)
        .map((type) => {
          const ends = served.filter((l) => PATH_TYPE[l.path] === type).map((l) => `${rel(Date.parse(l.time) + l.duration_ms)}${l.pid === oldPid ? '' : '*'}`);
          const windows = [...unique.values()].filter((u) => u.type === type).map((u) => Number(u.endNs / 1_000_000n)).sort((a, b) => a - b).map(rel);
          const said = started.flatMap((c, i) => c.logLines().filter((l) => l.type === type && !/ (shipped|baseline)$/.test(String(l.msg))).map((l) => `  collector ${i + 1}: ${String(l.time)} ${String(l.msg)}`));
          // Its profiles in the spool the crash left: window end, acknowledged
          // there or not, and every answer the intake gave for its id.
          const spooled = spoolAtKill
            .filter((e) => e.kind === 'record' && e.type === type)
            .map((e) => {
              const answers = intake.attempts.filter((a) => a.profileId === e.id).map((a) => a.status);
              return `${rel(Number(e.endNs! / 1_000_000n))}${acked.has(e.id!) ? ' acked' : ''} seg ${e.segment} [${answers.join(',')}]`;
            });
          return [`${type}: served (ends, * new process) ${ends.join(' ')}; delivered windows end ${windows.join(' ')}`, `  in the spool at the kill: ${spooled.join('; ') || 'none'}`, ...said].join('\n');
        })
        .concat(started.flatMap((c, i) => c.logLines().filter((l) => ['warn', 'error', 'fatal'].includes(String(l.level))).slice(-40).map((l) => `collector ${i + 1} ${String(l.level)}: ${JSON.stringify(l)}`)))
        .join('\n');
    assert.deepEqual(delivered, expected, `every served profile is delivered, except one baseline per cumulative type per target process\n${isDeepStrictEqual(delivered, expected) ? '' : timeline()}`);
    assert.ok(replayed, 'the restarted collector replayed the spool');
    assert.deepEqual(
      [...new Set(resets.map((l) => l.type))].sort(),
      ['block', 'heap', 'mutex'],
      'the target restart re-baselined every cumulative type',
    );
  });
});
