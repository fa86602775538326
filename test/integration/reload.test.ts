// SIGHUP reload end to end: two real Go fixture processes (A and B), the
// strict DataKit intake double, one collector process.
//
//   1. config 1 scrapes A (interval 10s); once A's first heap delta arrived,
//   2. config 2 = A unchanged + B, SIGHUP: B starts; A keeps its delta
//      baseline (exactly one baseline for A in the whole run) and its slot grid;
//   3. an invalid config (interval = "5s"), SIGHUP: rejected with FILE:LINE
//      and key, "the old one keeps running", A and B still scraped;
//   4. config 3 = B only, SIGHUP: A is no longer requested;
//   5. SIGTERM: exit 0.
//
//   node --import tsx --test --test-concurrency=1 test/integration/reload.test.ts

import assert from 'node:assert/strict';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { before, describe, it, type TestContext } from 'node:test';
import { goFixtureProblem, readRequestLog, startGoTarget, type RequestLogLine, type RunningGoTarget } from '../../fixtures/go-target/harness.js';
import { DatakitIntake, type Upload } from '../helpers/datakit-intake.js';
import { cleanupAfterEach, sleep, spawnCollector, waitFor, type CollectorProcess } from '../helpers/processes.js';

const HEAP = '/debug/pprof/heap';
const GOROUTINE = '/debug/pprof/goroutine';
const INTERVAL_S = 10;
/** Two consecutive scrapes of a job are this far apart, give or take (loose: not a timing test). */
const GAP_MIN_S = INTERVAL_S - 3;
const GAP_MAX_S = INTERVAL_S + 3;

const cleanup = cleanupAfterEach();
let goProblem: string | null = null;
before(() => {
  goProblem = goFixtureProblem();
});

const q = (s: string) => JSON.stringify(s);

interface Block {
  readonly url: string;
  readonly service: string;
  readonly interval?: string;
}

/** Writes the config; returns the line of each block's `interval` key. */
function writeConfig(file: string, dataDir: string, datakitUrl: string, blocks: readonly Block[]): number[] {
  const lines = ['[agent]', 'hostname = "reload-host"', 'listen = ""', `data_dir = ${q(dataDir)}`, 'log_level = "info"', 'shutdown_grace = "5s"', ''];
  const intervalLines: number[] = [];
  for (const b of blocks) {
    lines.push('[[inputs.profile.go]]', `url = ${q(b.url)}`);
    lines.push(`interval = ${q(b.interval ?? `${INTERVAL_S}s`)}`);
    intervalLines.push(lines.length);
    lines.push(`service = ${q(b.service)}`, 'env = "it"', 'version = "2.0.0"', 'enabled_types = ["heap", "goroutine"]', '');
  }
  lines.push('[[outputs.datakit]]', `url = ${q(datakitUrl)}`, '');
  writeFileSync(file, lines.join('\n'));
  return intervalLines;
}

function requests(log: string, path: string): RequestLogLine[] {
  return readRequestLog(log)
    .filter((l) => l.path === path)
    .sort((a, b) => Date.parse(a.time) - Date.parse(b.time));
}

function heapDeltas(dk: DatakitIntake, t: RunningGoTarget): Upload[] {
  return dk.uploads.filter((u) => u.type === 'heap' && u.tags.instance === t.addr).sort((a, b) => (a.endNs < b.endNs ? -1 : a.endNs > b.endNs ? 1 : 0));
}

function logsWith(c: CollectorProcess, msg: string): Array<Record<string, unknown>> {
  return c.logLines().filter((l) => typeof l.msg === 'string' && l.msg.includes(msg));
}

describe('SIGHUP reload', () => {
  it('keeps unchanged targets (baseline and slots), adds, rejects an invalid config, removes', { timeout: 150_000 }, async (t: TestContext) => {
    if (goProblem) assert.fail(goProblem);
    const dir = cleanup.tempDir('pprof-reload-');
    const logA = join(dir, 'a-requests.jsonl');
    const logB = join(dir, 'b-requests.jsonl');
    const a = await startGoTarget({ parked: 3, requestLog: logA });
    cleanup.add(() => a.kill());
    const b = await startGoTarget({ parked: 4, requestLog: logB });
    cleanup.add(() => b.kill());
    const dk = await new DatakitIntake().start();
    cleanup.add(() => dk.close());

    const cfg = join(dir, 'profile.conf');
    const dataDir = join(dir, 'data');
    const blockA: Block = { url: a.url, service: 'svc-a' };
    const blockB: Block = { url: b.url, service: 'svc-b' };
    writeConfig(cfg, dataDir, dk.url, [blockA]);

    const c = spawnCollector(['-c', cfg]);
    cleanup.add(() => c.kill());
    const alive = () => {
      if (!c.running) assert.fail(`the collector exited: ${c.stdout.slice(-3000)}\n${c.stderr.slice(-2000)}`);
    };

    // 1. A alone, until its first heap delta arrived.
    await waitFor(() => (alive(), heapDeltas(dk, a).length >= 1), 35_000, "A's first heap delta");
    assert.equal(heapDeltas(dk, b).length, 0);

    // 2. A unchanged plus B.
    writeConfig(cfg, dataDir, dk.url, [blockA, blockB]);
    const reload1At = Date.now();
    c.signal('SIGHUP');
    await waitFor(() => (alive(), logsWith(c, 'config reloaded').length === 1), 10_000, 'the first "config reloaded" line');
    const r1 = logsWith(c, 'config reloaded')[0]!;
    assert.deepEqual([r1.added, r1.removed, r1.changed], [2, 0, 0], "the first reload adds B's two jobs and leaves A's alone");
    const aDeltasAtReload1 = heapDeltas(dk, a).length;
    await waitFor(
      () => (alive(), heapDeltas(dk, b).length >= 1 && heapDeltas(dk, a).length >= aDeltasAtReload1 + 2),
      35_000,
      "B's first heap delta and two more heap deltas of A after the reload",
    );
    assert.ok(dk.uploads.some((u) => u.type === 'goroutine' && u.tags.instance === b.addr), "B's goroutine profiles arrive");

    // 3. An invalid config: rejected, every error logged with FILE:LINE and key; the old config runs on.
    const badLines = writeConfig(cfg, dataDir, dk.url, [blockA, { ...blockB, interval: '5s' }]);
    const aHeapBefore = requests(logA, HEAP).length;
    const bHeapBefore = requests(logB, HEAP).length;
    c.signal('SIGHUP');
    await waitFor(() => (alive(), logsWith(c, 'the old one keeps running').length === 1), 10_000, 'the "old one keeps running" line');
    const rejected = logsWith(c, 'reload rejected: ');
    assert.deepEqual(
      rejected.map((l) => [l.level, l.line, l.key, String(l.msg).split(': must ')[0]]),
      [['error', badLines[1], 'inputs.profile.go.interval', `reload rejected: ${cfg}:${badLines[1]}: inputs.profile.go.interval`]],
      'one error line naming FILE:LINE and the key',
    );
    assert.match(String(rejected[0]!.msg), /must be at least 10s, got 5s/);
    assert.equal(logsWith(c, 'the new config is invalid; the old one keeps running')[0]?.level, 'error');
    assert.equal(logsWith(c, 'config reloaded').length, 1, 'the invalid config was not applied');
    await waitFor(
      () => (alive(), requests(logA, HEAP).length > aHeapBefore && requests(logB, HEAP).length > bHeapBefore),
      2 * INTERVAL_S * 1000,
      'A and B scraped again after the rejected reload',
    );

    // 4. B only: A is removed.
    writeConfig(cfg, dataDir, dk.url, [blockB]);
    const reload3At = Date.now();
    c.signal('SIGHUP');
    await waitFor(() => (alive(), logsWith(c, 'config reloaded').length === 2), 10_000, 'the second "config reloaded" line');
    const r3 = logsWith(c, 'config reloaded')[1]!;
    assert.deepEqual([r3.added, r3.removed, r3.changed], [0, 2, 0], "the last reload removes A's two jobs");
    await sleep(2_000); // a scrape of A already running at the reload may finish
    const aAll = () => readRequestLog(logA).length;
    const aAfterRemoval = aAll();
    const bAfterRemoval = readRequestLog(logB).length;
    await sleep(INTERVAL_S * 1000 + 2_000);
    alive();
    assert.equal(aAll(), aAfterRemoval, `A was requested after it was removed: ${JSON.stringify(readRequestLog(logA).slice(aAfterRemoval))}`);
    assert.ok(readRequestLog(logB).length > bAfterRemoval, 'B is still scraped');

    // 5. SIGTERM.
    c.signal('SIGTERM');
    assert.deepEqual(await c.waitExit(30_000), { code: 0, signal: null }, c.stderr.slice(-2000));
    const stopped = c.logLines().find((l) => l.msg === 'stopped');
    assert.equal(stopped?.undelivered, 0, 'nothing left undelivered');
    assert.deepEqual(dk.rejections.map((r) => r.reason), [], 'intake rejections');

    // Exactly one baseline for A: every heap scrape of A but the first became a delivered delta.
    const aHeap = requests(logA, HEAP);
    const aDeltas = heapDeltas(dk, a);
    t.diagnostic(`A: ${aHeap.length} heap requests, ${aDeltas.length} heap deltas; B: ${requests(logB, HEAP).length} heap requests, ${heapDeltas(dk, b).length} heap deltas`);
    assert.deepEqual(aHeap.map((l) => l.status), aHeap.map(() => 200), "A's heap requests all answered 200");
    assert.ok(aHeap.some((l) => Date.parse(l.time) > reload1At) && aHeap.some((l) => Date.parse(l.time) < reload1At), 'A was scraped before and after the first reload');
    assert.equal(aDeltas.length, aHeap.length - 1, `A: ${aHeap.length} heap scrapes must give ${aHeap.length - 1} deltas (one baseline), got ${aDeltas.length}`);
    // The deltas tile time across the reloads: each starts where the previous ended.
    for (let i = 1; i < aDeltas.length; i++) {
      assert.equal(aDeltas[i]!.startNs, aDeltas[i - 1]!.endNs, `A heap delta ${i} does not start where delta ${i - 1} ended`);
    }
    // No heap scrape of A after it was removed.
    assert.ok(aHeap.every((l) => Date.parse(l.time) < reload3At + 1_000), 'A heap scraped after its removal');

    // B: one baseline too (added once, never re-added).
    const bHeap = requests(logB, HEAP);
    assert.equal(heapDeltas(dk, b).length, bHeap.length - 1, 'B: one baseline, then a delta per scrape');

    // A's slots kept their phase through the reloads: consecutive scrapes stay ~one interval apart.
    for (const [name, path] of [['heap', HEAP], ['goroutine', GOROUTINE]] as const) {
      const times = requests(logA, path).map((l) => Date.parse(l.time));
      const gaps = times.slice(1).map((x, i) => (x - times[i]!) / 1000);
      assert.ok(gaps.length >= 3, `A ${name}: enough scrapes to judge the cadence (${gaps.length + 1})`);
      for (const g of gaps) assert.ok(g >= GAP_MIN_S && g <= GAP_MAX_S, `A ${name} gaps (s) ${gaps.map((x) => x.toFixed(2)).join(', ')}: ${g} is not ~${INTERVAL_S} s`);
      // The slot phase (time mod interval) is the same before and after the reloads.
      const period = INTERVAL_S * 1000;
      const offsets = times.map((x) => ((((x - times[0]!) % period) + period + period / 2) % period) - period / 2);
      assert.ok(
        offsets.every((o) => Math.abs(o) < 2_000),
        `A ${name}: scrapes off the first scrape's slot grid by (ms) ${offsets.join(', ')}`,
      );
    }
  });
});
