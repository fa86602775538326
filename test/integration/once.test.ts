// `collector --once`: the command an operator runs against a staging host
// before deploying. One real Go fixture plus one broken target (a login page
// where pprof should be): a table with a row per target and type, the
// fixture's rows shipped and delivered, the broken target's rows failed with
// the error and the hint in words, exit 1. The fixture alone: exit 0.
//
//   node --import tsx --test --test-concurrency=1 test/integration/once.test.ts

import assert from 'node:assert/strict';
import { readdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { before, describe, it, type TestContext } from 'node:test';
import { goFixtureProblem, startGoTarget, type RunningGoTarget } from '../../fixtures/go-target/harness.js';
import { startHostileServer, type HostileServer } from '../helpers/hostile-server.js';
import { parseTable } from '../helpers/once-table.js';
import { cleanupAfterEach, spawnCollector, waitFor, type CollectorProcess } from '../helpers/processes.js';

const TYPES = ['cpu', 'goroutine', 'heap', 'mutex', 'block'] as const;
const HTML_HINT = 'an HTML page answers here: the url points at the wrong port (a web UI), or a proxy or login page sits in between';

const cleanup = cleanupAfterEach();
let goProblem: string | null = null;
before(() => {
  goProblem = goFixtureProblem();
});

const tempDir = () => cleanup.tempDir('pprof-once-');

async function goTarget(): Promise<RunningGoTarget> {
  const t = await startGoTarget({ parked: 5 });
  cleanup.add(() => t.kill());
  // A process a few ms old may not have had a contended lock or a blocking
  // channel receive yet: its mutex and block profiles are empty. Wait until
  // both show the fixture's functions, as a service that has run a while would.
  await waitFor(
    async () => {
      const texts = await Promise.all(['mutex', 'block'].map(async (p) => (await fetch(`${t.url}/debug/pprof/${p}?debug=1`)).text()));
      return texts[0]!.includes('main.lockContender') && texts[1]!.includes('main.channelBlocker');
    },
    10_000,
    'the fixture to have mutex and block samples',
  );
  return t;
}

async function htmlServer(): Promise<HostileServer> {
  const s = await startHostileServer('html');
  cleanup.add(() => s.close());
  return s;
}

function collector(args: string[]): CollectorProcess {
  const c = spawnCollector(args);
  cleanup.add(() => c.kill());
  return c;
}

function writeConfig(dir: string, targets: Array<{ url: string; service: string }>): { file: string; filesDir: string } {
  const q = (s: string) => JSON.stringify(s);
  const filesDir = join(dir, 'profiles');
  const lines = ['[agent]', 'hostname = "once-host"', 'listen = ""', `data_dir = ${q(join(dir, 'data'))}`, 'log_level = "info"', ''];
  for (const t of targets) {
    // A 3 s CPU window (and 3 s between the two scrapes of cumulative types) keeps --once short.
    lines.push('[[inputs.profile.go]]', `url = ${q(t.url)}`, 'interval = "10s"', 'profile_duration = "3s"', `service = ${q(t.service)}`, '');
  }
  lines.push('[[outputs.file]]', `dir = ${q(filesDir)}`, '');
  const file = join(dir, 'profile.conf');
  writeFileSync(file, lines.join('\n'));
  return { file, filesDir };
}

describe('--once', () => {
  it('the fixture plus a login page: a row per target and type, shipped vs failed with the HTML hint, exit 1', { timeout: 90_000 }, async (t: TestContext) => {
    if (goProblem) assert.fail(goProblem);
    const dir = tempDir();
    const target = await goTarget();
    const html = await htmlServer();
    const { file, filesDir } = writeConfig(dir, [
      { url: target.url, service: 'once-svc' },
      { url: html.url, service: 'once-broken' },
    ]);
    const c = collector(['-c', file, '--once']);
    const exit = await c.waitExit(60_000);
    t.diagnostic(`--once output:\n${c.stdout}`);
    assert.deepEqual(exit, { code: 1, signal: null }, `exit; stdout:\n${c.stdout}\nstderr tail:\n${c.stderr.slice(-2000)}`);

    const { rows, summary } = parseTable(c.stdout);
    assert.equal(rows.length, 2 * TYPES.length, `a row per target and type:\n${c.stdout}`);
    const goUrl = `${target.url}/debug/pprof`;
    const htmlUrl = `${html.url}/debug/pprof`;
    for (const type of TYPES) {
      const ok = rows.filter((r) => r.target === goUrl && r.type === type);
      assert.equal(ok.length, 1, `one row for the fixture's ${type}:\n${c.stdout}`);
      const r = ok[0]!;
      assert.equal(r.result, 'shipped', r.line);
      assert.match(r.samples, /^\d+$/, r.line);
      // Every type has samples in this workload (mutex and block are on).
      assert.ok(Number(r.samples) > 0, `samples: ${r.line}`);
      assert.ok(Number(r.bytes) > 0, `bytes: ${r.line}`);
      assert.equal(r.delivered, 'yes', r.line);
      assert.equal(r.problem, '', r.line);

      const bad = rows.filter((x) => x.target === htmlUrl && x.type === type);
      assert.equal(bad.length, 1, `one row for the broken target's ${type}:\n${c.stdout}`);
      const b = bad[0]!;
      assert.equal(b.result, 'failed', b.line);
      assert.equal(b.samples, '0', b.line);
      assert.equal(b.delivered, '-', b.line);
      assert.match(b.problem, /HTML page/i, `the error says what answered: ${b.line}`);
      assert.ok(b.problem.includes(HTML_HINT), `the hint says what to change: ${b.line}`);
    }
    assert.equal(summary, 'some profiles were not scraped or not delivered (see ERROR / HINT)');
    const written = readdirSync(join(filesDir, 'once-svc')).filter((f) => f.endsWith('.pprof'));
    assert.equal(written.length, TYPES.length, `one file per type of the fixture: ${written.join(', ')}`);
    assert.deepEqual(readdirSync(filesDir), ['once-svc'], 'nothing written for the broken target');
    // The log (stderr) says it too, once per failing type, at warn.
    const warns = c.logLines('stderr').filter((l) => l.level === 'warn' && l.service === 'once-broken');
    assert.deepEqual(warns.map((l) => l.type).sort(), [...TYPES].sort(), 'one warn line per failing type');
    for (const w of warns) assert.ok(String(w.hint).includes(HTML_HINT), JSON.stringify(w));
  });

  it('a Go server without net/http/pprof: every row names the whole-target cause, not a per-path guess', { timeout: 90_000 }, async (t: TestContext) => {
    if (goProblem) assert.fail(goProblem);
    const dir = tempDir();
    // The same Go program with pprof left off its mux: 404 on every path.
    const bare = await startGoTarget({ pprof: false });
    cleanup.add(() => bare.kill());
    const { file } = writeConfig(dir, [{ url: bare.url, service: 'once-bare' }]);
    const c = collector(['-c', file, '--once']);
    const exit = await c.waitExit(60_000);
    t.diagnostic(`--once output:\n${c.stdout}`);
    assert.deepEqual(exit, { code: 1, signal: null }, `exit; stdout:\n${c.stdout}\nstderr tail:\n${c.stderr.slice(-2000)}`);
    const { rows } = parseTable(c.stdout);
    assert.deepEqual(rows.map((r) => r.type).sort(), [...TYPES].sort(), c.stdout);
    for (const r of rows) {
      assert.equal(r.result, 'failed', r.line);
      assert.match(r.problem, /404 Not Found/, r.line);
      // The types are scraped at once, so no single failure saw the others;
      // the table is written when every answer is in and says it for all.
      assert.match(r.problem, /every pprof path answers 404: net\/http\/pprof is not registered/, r.line);
    }
  });

  it('the fixture alone: every row shipped and delivered, exit 0', { timeout: 90_000 }, async () => {
    if (goProblem) assert.fail(goProblem);
    const dir = tempDir();
    const target = await goTarget();
    const { file } = writeConfig(dir, [{ url: target.url, service: 'once-svc' }]);
    const c = collector(['-c', file, '--once']);
    const exit = await c.waitExit(60_000);
    assert.deepEqual(exit, { code: 0, signal: null }, `exit; stdout:\n${c.stdout}\nstderr tail:\n${c.stderr.slice(-2000)}`);
    const { rows, summary } = parseTable(c.stdout);
    assert.deepEqual(rows.map((r) => r.type).sort(), [...TYPES].sort(), c.stdout);
    for (const r of rows) {
      assert.equal(r.result, 'shipped', r.line);
      assert.equal(r.delivered, 'yes', r.line);
      assert.equal(r.problem, '', r.line);
    }
    assert.equal(summary, 'all profiles scraped and delivered');
    assert.deepEqual(c.logLines('stderr').filter((l) => l.level === 'warn' || l.level === 'error'), [], 'no warn or error lines');
  });
});
