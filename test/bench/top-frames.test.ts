import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { mkdtempSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'node:test';
import { declarationLine, formatCpuSummary, roleOf, summarizeCpuProfile, summarizeFile, threadOfFile, type CpuProfile, type CpuProfileNode } from '../../bench/top-frames.js';
import { ROOT } from '../helpers/processes.js';

const frame = (id: number, functionName: string, url: string, line: number, children: number[] = []): CpuProfileNode => ({
  id,
  callFrame: { functionName, url, lineNumber: line, columnNumber: 4 },
  children,
});

// (root) -> main -> work -> hash; main -> work -> work (recursion); plus idle, GC and program.
const PROFILE: CpuProfile = {
  nodes: [
    frame(1, '(root)', '', -1, [2, 6, 7, 8]),
    frame(2, 'main', 'file:///app/main.js', 9, [3]),
    frame(3, 'work', 'file:///app/work.js', 19, [4, 5]),
    frame(4, 'hash', 'node:crypto', 99),
    frame(5, 'work', 'file:///app/work.js', 19),
    frame(6, '(idle)', '', -1),
    frame(7, '(garbage collector)', '', -1),
    frame(8, '(program)', '', -1),
  ],
  startTime: 1_000_000,
  // Samples 1 ms apart; the last one lasts until endTime (1 ms).
  samples: [4, 4, 4, 5, 5, 3, 2, 6, 6, 6, 6, 7, 8],
  timeDeltas: [0, 1000, 1000, 1000, 1000, 1000, 1000, 1000, 1000, 1000, 1000, 1000, 1000],
  endTime: 1_013_000,
};

test('self and total time per function, with the shares of idle, GC and program', () => {
  const s = summarizeCpuProfile(PROFILE, '/app');
  assert.equal(s.sampledMs, 13);
  assert.equal(s.idleMs, 4);
  assert.equal(s.gcMs, 1);
  assert.equal(s.programMs, 1);
  assert.equal(s.busyMs, 9);
  assert.deepEqual(
    s.bySelf.map((f) => [f.name, f.where, f.selfMs]),
    [
      ['hash', 'node:crypto:100', 3],
      ['work', 'work.js:20', 3],
      ['main', 'main.js:10', 1],
    ],
  );
  // work's recursion is counted once: 3 (hash) + 2 (inner work) + 1 (its own) = 6.
  assert.deepEqual(
    s.byTotal.map((f) => [f.name, f.totalMs]),
    [
      ['main', 7],
      ['work', 6],
      ['hash', 3],
    ],
  );
  const text = formatCpuSummary(s, 2);
  assert.match(text, /sampled 0\.0 s: idle 30\.8 %, busy 69\.2 % \(GC 7\.7 %, program 7\.7 %, functions 53\.8 %\)/);
  assert.match(text, /top 2 by self time/);
  assert.match(text, /\n\s+3\s+23\.1\s+33\.3\s+hash\s+node:crypto:100\n/);
});

test('the thread of a profile comes from node\'s file name', () => {
  assert.equal(threadOfFile('/x/CPU.20261206.001901.15843.0.001.cpuprofile'), 'main thread');
  assert.equal(threadOfFile('CPU.20261206.001901.15843.2.003.cpuprofile'), 'worker thread 2');
  assert.equal(threadOfFile('mine.cpuprofile'), undefined);
});

test('the role of a thread comes from the collector\'s modules it ran, compiled (dist/) or through tsx (src/)', () => {
  const ran = (...urls: string[]): CpuProfile => ({
    nodes: urls.map((url, i) => ({ id: i + 1, callFrame: { functionName: 'f', url, lineNumber: 0, columnNumber: 0 } })),
    startTime: 0,
    endTime: 1,
  });
  for (const tree of ['dist', 'src']) {
    const ext = tree === 'dist' ? 'js' : 'ts';
    assert.equal(roleOf(ran(`file:///opt/c/${tree}/profile/worker-thread.${ext}`)), 'profile worker');
    assert.equal(roleOf(ran(`file:///opt/c/${tree}/profile/raw/delta.${ext}`)), 'profile worker');
    assert.equal(roleOf(ran(`file:///opt/c/${tree}/discovery/relabel-worker.${ext}`)), 'relabel worker');
    assert.equal(roleOf(ran(`file:///opt/c/${tree}/output/file-writer-thread.${ext}`)), 'file writer');
    assert.equal(roleOf(ran('file:///opt/c/bin/collector.js', `file:///opt/c/${tree}/cli.${ext}`)), 'collector main');
  }
  assert.equal(roleOf(ran('file:///opt/c/node_modules/tsx/dist/esm/index.mjs')), 'module loader hooks');
  assert.equal(roleOf(ran('node:internal/main')), undefined);
});

test('a TypeScript function run through tsx is placed at its declaration', () => {
  const file = join(ROOT, 'src', 'profile', 'raw', 'delta.ts');
  const line = declarationLine(file, 'rawDelta');
  assert.ok(line !== undefined && line > 1);
  assert.equal(declarationLine(file, 'no_such_function_here'), undefined);
});

test('a real profile from node --cpu-prof: a main thread and a worker, each with its busy function on top', () => {
  const dir = mkdtempSync(join(tmpdir(), 'top-frames-'));
  try {
    const script = join(dir, 'busy.mjs');
    writeFileSync(
      script,
      [
        "import { Worker, isMainThread } from 'node:worker_threads';",
        'function spinMain(ms) { const end = Date.now() + ms; let x = 0; while (Date.now() < end) x += Math.sqrt(x + 1); return x; }',
        'function spinWorker(ms) { const end = Date.now() + ms; let x = 0; while (Date.now() < end) x += Math.sqrt(x + 2); return x; }',
        'if (isMainThread) { const w = new Worker(new URL(import.meta.url)); spinMain(300); w.on("exit", () => {}); }',
        'else { spinWorker(300); }',
      ].join('\n'),
    );
    const r = spawnSync(process.execPath, ['--cpu-prof', `--cpu-prof-dir=${dir}`, script], { encoding: 'utf8', timeout: 30_000 });
    assert.equal(r.status, 0, r.stderr);
    const files = readdirSync(dir).filter((f) => f.endsWith('.cpuprofile')).sort();
    assert.equal(files.length, 2, files.join(', '));
    const main = summarizeFile(join(dir, files.find((f) => threadOfFile(f) === 'main thread')!), 5);
    const worker = summarizeFile(join(dir, files.find((f) => threadOfFile(f) !== 'main thread')!), 5);
    assert.match(main, /\(main thread\)\n/);
    assert.match(main, /by self time[^\n]*\n\s+\d+\s+[\d.]+\s+[\d.]+\s+spinMain\s+\S*busy\.mjs:2\n/);
    assert.match(worker, /\(worker thread 1\)\n/);
    assert.match(worker, /by self time[^\n]*\n\s+\d+\s+[\d.]+\s+[\d.]+\s+spinWorker\s+\S*busy\.mjs:3\n/);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});
