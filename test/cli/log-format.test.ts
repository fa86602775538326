// --log-format: json (one object per line, the default when stdout is not a
// terminal) or pretty (pino-pretty, for people); anything else is a usage
// error (exit 2). Run against a port nobody listens on, so there is a
// failure to log, with `--once` (logs on stderr, the table on stdout) and as
// the daemon (logs on stdout) for a few seconds.

import assert from 'node:assert/strict';
import { spawnSync, type SpawnSyncReturns } from 'node:child_process';
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { before, describe, it } from 'node:test';
import { cleanupAfterAll, ROOT, spawnCollector, waitFor, type CollectorProcess } from '../helpers/processes.js';
import { unusedPort } from '../helpers/servers.js';

const cleanup = cleanupAfterAll();
let dir = '';
let deadUrl = '';
let cfg = '';

before(async () => {
  dir = cleanup.tempDir('collector-log-format-');
  deadUrl = `http://127.0.0.1:${await unusedPort()}`;
  cfg = join(dir, 'profile.conf');
  writeFileSync(
    cfg,
    [
      '[agent]',
      'listen = ""',
      `data_dir = ${JSON.stringify(join(dir, 'data'))}`,
      'log_level = "info"',
      'shutdown_grace = "2s"',
      '[[inputs.profile.go]]',
      `url = ${JSON.stringify(deadUrl)}`,
      'interval = "10s"',
      // Short: --once waits one CPU window between the two scrapes of cumulative types.
      'profile_duration = "1s"',
      'service = "log-format"',
      '',
    ].join('\n'),
  );
});

function once(args: string[]): SpawnSyncReturns<string> {
  const res = spawnSync(process.execPath, ['bin/collector.js', '-c', cfg, '--once', ...args], { cwd: ROOT, encoding: 'utf8', timeout: 30_000 });
  if (res.error) throw res.error;
  return res;
}

const lines = (s: string) => s.split('\n').filter((l) => l.trim() !== '');
const isJson = (l: string) => {
  try {
    return typeof JSON.parse(l) === 'object';
  } catch {
    return false;
  }
};
/** pino-pretty's line as configured in src/core/log.ts: "[HH:MM:ss.l] LEVEL: message {fields}". */
const PRETTY_LINE = /^\[\d{2}:\d{2}:\d{2}\.\d{3}\] (TRACE|DEBUG|INFO|WARN|ERROR|FATAL): \S/;

/** The daemon until it has logged a scrape failure (the first slot is within one interval), then SIGTERM. */
async function daemon(args: string[]): Promise<CollectorProcess> {
  const c = spawnCollector(['-c', cfg, ...args]);
  cleanup.add(() => c.kill());
  await waitFor(() => !c.running || /scrape failed/.test(c.stdout), 15_000, 'a "scrape failed" line');
  c.signal('SIGTERM');
  const exit = await c.waitExit(15_000);
  assert.deepEqual(exit, { code: 0, signal: null }, `exit after SIGTERM; stdout:\n${c.stdout.slice(-2000)}\nstderr:\n${c.stderr.slice(-2000)}`);
  return c;
}

describe('--log-format', () => {
  it('--once --log-format json: JSON lines on stderr, the table on stdout, exit 1', () => {
    const res = once(['--log-format', 'json']);
    assert.equal(res.status, 1, res.stderr);
    assert.match(res.stdout, /^TARGET\s+TYPE\s+RESULT/m);
    assert.match(res.stdout, /connection refused/);
    const ls = lines(res.stderr);
    assert.ok(ls.length >= 5, `log lines:\n${res.stderr}`);
    for (const l of ls) assert.ok(isJson(l), `not JSON: ${l}`);
    const warns = ls.map((l) => JSON.parse(l) as { level: string; msg: string; type: string; err?: { code: string } }).filter((l) => l.level === 'warn');
    assert.deepEqual(warns.map((w) => w.type).sort(), ['block', 'cpu', 'goroutine', 'heap', 'mutex'], 'a warn line per failing type');
    for (const w of warns) {
      assert.match(w.msg, /scrape failed: .*connection refused/);
      assert.equal(w.err?.code, 'network');
    }
  });

  it(
    '--once --log-format pretty: human-readable lines on stderr',
    {},
    () => {
      const res = once(['--log-format', 'pretty']);
      assert.equal(res.status, 1, res.stderr);
      assert.match(res.stdout, /^TARGET\s+TYPE\s+RESULT/m, 'the table is on stdout as with json');
      const ls = lines(res.stderr);
      assert.ok(ls.length >= 5, `log lines:\n${res.stderr}`);
      for (const l of ls) assert.ok(!isJson(l), `a JSON line with --log-format pretty: ${l}`);
      assert.ok(ls.some((l) => PRETTY_LINE.test(l) && /WARN: \w+ scrape failed: .*connection refused/.test(l)), `no pretty warn line:\n${res.stderr}`);
    },
  );

  it('the daemon with --log-format pretty: human-readable lines on stdout, no JSON', { timeout: 40_000 }, async () => {
    const c = await daemon(['--log-format', 'pretty']);
    const ls = lines(c.stdout);
    for (const l of ls) assert.ok(!isJson(l), `a JSON line with --log-format pretty: ${l}`);
    const events = ls.filter((l) => PRETTY_LINE.test(l));
    assert.ok(events.some((l) => /INFO: collector started: 1 target\(s\), 5 job\(s\)/.test(l)), `start line:\n${c.stdout}`);
    assert.ok(events.some((l) => /WARN: \w+ scrape failed: .*connection refused/.test(l)), `failure line:\n${c.stdout}`);
    assert.ok(events.some((l) => /INFO: stopped/.test(l)), `stop line:\n${c.stdout}`);
    // Fields follow the message on the same line.
    assert.ok(events.some((l) => l.includes(`"target":"${deadUrl}/debug/pprof"`)), `fields on the line:\n${c.stdout}`);
  });

  it(
    'the daemon with --log-format pretty: one line per event, as src/log.ts asks (singleLine)',
    { timeout: 40_000 },
    async () => {
      const c = await daemon(['--log-format', 'pretty']);
      const ls = lines(c.stdout);
      const other = ls.filter((l) => !PRETTY_LINE.test(l));
      assert.deepEqual(other, [], 'lines that do not start an event');
    },
  );

  it('the daemon with --log-format json (and by default, stdout not being a terminal): JSON lines on stdout', { timeout: 40_000 }, async () => {
    for (const args of [['--log-format', 'json'], []]) {
      const c = await daemon(args);
      const ls = lines(c.stdout);
      for (const l of ls) assert.ok(isJson(l), `not JSON (${args.join(' ') || 'default'}): ${l}`);
      const parsed = c.logLines();
      assert.ok(parsed.some((l) => l.level === 'warn' && /scrape failed/.test(String(l.msg))), `a warn line (${args.join(' ') || 'default'})`);
      assert.ok(parsed.some((l) => l.msg === 'stopped'));
    }
  });

  it('by default, --once logs pretty when stderr (where its logs go) is a terminal, JSON when it is not', () => {
    // `script` (util-linux) runs the command on a pseudo-terminal; the
    // redirections inside decide which stream stays on it.
    const onPty = (redirect: string) => {
      const cmd = `${JSON.stringify(process.execPath)} bin/collector.js -c ${JSON.stringify(cfg)} --once ${redirect}`;
      const res = spawnSync('script', ['-qec', cmd, '/dev/null'], { cwd: ROOT, encoding: 'utf8', timeout: 30_000 });
      if (res.error) throw res.error;
      return res;
    };
    const tableFile = join(dir, 'table.txt');
    // stdout to a file, stderr on the terminal: the logs are for a person.
    const toFile = onPty(`> ${JSON.stringify(tableFile)}`);
    assert.equal(toFile.status, 1, toFile.stdout);
    assert.match(readFileSync(tableFile, 'utf8'), /^TARGET\s+TYPE\s+RESULT/m);
    const ttyLines = lines(toFile.stdout.replace(/\r/g, ''));
    assert.ok(ttyLines.some((l) => PRETTY_LINE.test(l) && /WARN: \w+ scrape failed/.test(l)), `pretty lines on the terminal:\n${toFile.stdout}`);
    assert.ok(!ttyLines.some(isJson), `no JSON on the terminal:\n${toFile.stdout}`);
    // stderr to a file, stdout on the terminal: the logs are for a program.
    const logFile = join(dir, 'log.jsonl');
    const logsToFile = onPty(`2> ${JSON.stringify(logFile)}`);
    assert.equal(logsToFile.status, 1, logsToFile.stdout);
    const fileLines = lines(readFileSync(logFile, 'utf8'));
    assert.ok(fileLines.length >= 5, `log lines:\n${fileLines.join('\n')}`);
    for (const l of fileLines) assert.ok(isJson(l), `not JSON in the log file: ${l}`);
  });

  it('a bad value is a usage error: exit 2, says what is allowed, logs nothing', () => {
    const res = once(['--log-format', 'xml']);
    assert.equal(res.status, 2);
    assert.equal(res.stdout, '');
    assert.match(res.stderr, /--log-format must be json or pretty, got "xml"/);
    assert.match(res.stderr, /^Usage: collector/m);
  });
});
