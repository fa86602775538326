// Restart safety of godeltaprof deltas: the collector is SIGKILLed between
// scrapes of a target that serves godeltaprof, and started again. Each read
// of delta_* moves the target's baseline, so the collector persists the time
// of every read with the profile it shipped; after a restart the next read
// ships over [last persisted read, now]. The delivered windows of heap,
// mutex and block must tile time, and every read but the very first (the
// baseline) must have been shipped: none is taken for a new baseline.

import assert from 'node:assert/strict';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { test, type TestContext } from 'node:test';
import { readRequestLog } from '../../fixtures/go-target/harness.js';
import { startIntake } from '../helpers/datakit-intake.js';
import { goSuite } from '../helpers/go-suite.js';
import { quietMoment } from '../helpers/kill-timing.js';
import { sleep, spawnCollector, waitFor, type CollectorProcess } from '../helpers/processes.js';

const suite = goSuite('pprof-restart-gdp-');
const TYPES = ['heap', 'mutex', 'block'] as const;

test('SIGKILL between godeltaprof reads: windows of heap, mutex and block tile time, and every read after the first is shipped', { timeout: 240_000 }, async (t: TestContext) => {
  suite.requireGo();
  const dir = suite.tempDir();
  const requestLog = join(dir, 'requests.jsonl');
  const target = await suite.goTarget({ godeltaprof: true, requestLog });
  const intake = await startIntake();
  suite.cleanup.add(() => intake.close());
  const cfg = join(dir, 'profile.conf');
  writeFileSync(
    cfg,
    [
      '[agent]',
      'listen = ""',
      `data_dir = ${JSON.stringify(join(dir, 'data'))}`,
      'log_level = "debug"',
      '[[inputs.profile.go]]',
      `url = ${JSON.stringify(target.url)}`,
      'interval = "10s"',
      'service = "restart-gdp"',
      'env = "ci"',
      'version = "1.0.0"',
      'enabled_types = ["heap", "mutex", "block"]',
      '[[outputs.datakit]]',
      `url = ${JSON.stringify(intake.url)}`,
      '',
    ].join('\n'),
  );
  const start = () => {
    const c = spawnCollector(['-c', cfg]);
    suite.cleanup.add(() => c.kill());
    return c;
  };
  const heapUploads = () => intake.uploads.filter((u) => u.type === 'heap').length;
  const failWith = (c: CollectorProcess) => (err: Error) => {
    throw new Error(`${err.message}\n${c.stdout.slice(-3000)}\n${c.stderr.slice(-2000)}`);
  };
  const t0 = Date.now();
  const events: string[] = [];

  let collector = start();
  let startedAt = Date.now();
  await waitFor(() => heapUploads() >= 1, 40_000, 'the first heap delta').catch(failWith(collector));
  for (const offsetMs of [3_000, 7_000]) {
    const before = heapUploads();
    await sleep(offsetMs);
    await quietMoment(requestLog, 300, 15_000, { minPaths: 3, collector: { process: collector, sinceMs: startedAt } });
    events.push(`kill +${((Date.now() - t0) / 1000).toFixed(1)} s`);
    await collector.kill();
    await sleep(1_000);
    startedAt = Date.now();
    events.push(`restart +${((startedAt - t0) / 1000).toFixed(1)} s`);
    collector = start();
    await waitFor(() => heapUploads() > before, 40_000, 'a heap delta after the restart').catch(failWith(collector));
    const now = heapUploads();
    await waitFor(() => heapUploads() > now, 25_000, 'a second heap delta after the restart').catch(failWith(collector));
  }
  // Each type reads on its own phase of the 10 s grid, and a slow restart on a
  // loaded machine can fall across one type's read: wait (bounded) until every
  // type has four windows, so the checks below judge tiling, not timing.
  const windowsOf = (type: string) => new Set(intake.uploads.filter((u) => u.type === type).map((u) => u.profileId)).size;
  await waitFor(() => TYPES.every((type) => windowsOf(type) >= 4), 45_000, 'four windows of every type').catch(failWith(collector));
  collector.signal('SIGTERM');
  assert.equal((await collector.waitExit(30_000)).code, 0);

  assert.deepEqual(intake.rejections.map((r) => r.reason), []);
  const log = readRequestLog(requestLog);
  const unique = new Map(intake.uploads.map((u) => [u.profileId, u]));
  const lines: string[] = [];
  for (const type of TYPES) {
    assert.equal(log.filter((l) => l.path === `/debug/pprof/${type}`).length, 0, `${type}: never read from /${type} (godeltaprof answers)`);
    const reads = log.filter((l) => l.path === `/debug/pprof/delta_${type}` && l.status === 200 && !l.write_error);
    const windows = [...unique.values()].filter((u) => u.type === type).sort((a, b) => (a.startNs < b.startNs ? -1 : a.startNs > b.startNs ? 1 : 0));
    const rel = (ns: bigint) => ((Number(ns / 1_000_000n) - t0) / 1000).toFixed(3);
    lines.push(`${type}: ${reads.length} reads; windows ${windows.map((w) => `${rel(w.startNs)}→${rel(w.endNs)}`).join(' ')}`);
    assert.ok(windows.length >= 4, `${type}: only ${windows.length} windows delivered\n${events.join('; ')}\n${lines.join('\n')}`);
    for (let i = 1; i < windows.length; i++) {
      const prev = windows[i - 1]!;
      const cur = windows[i]!;
      assert.ok(cur.startNs >= prev.endNs, `${type}: window ${rel(cur.startNs)}→${rel(cur.endNs)} overlaps the one before (${rel(prev.startNs)}→${rel(prev.endNs)})\n${lines.join('\n')}`);
      assert.equal(cur.startNs, prev.endNs, `${type}: a gap between ${rel(prev.endNs)} and ${rel(cur.startNs)}: a restart took a new baseline\n${lines.join('\n')}`);
    }
    // The read at the kill, if one was cut off, is not in `reads` (write_error).
    assert.equal(windows.length, reads.length - 1, `${type}: ${reads.length} reads, ${windows.length} shipped: only the very first read may be a baseline\n${lines.join('\n')}`);
  }
  for (const d of [events.join('; '), ...lines]) t.diagnostic(d);
});
