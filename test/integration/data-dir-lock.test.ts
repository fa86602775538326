// One collector per data_dir: a second one on the same directory refuses to
// start, naming the first one's pid, and touches nothing of its spool; once
// the first is gone (even SIGKILLed, leaving its lock behind) the next one
// takes the directory over.

import assert from 'node:assert/strict';
import { readdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { test } from 'node:test';
import { cleanupAfterEach, spawnCollector, waitFor, type CollectorProcess } from '../helpers/processes.js';

const cleanup = cleanupAfterEach();

test('a second collector on the same data_dir exits 1 naming the holder; after a crash the lock is taken over', { timeout: 60_000 }, async () => {
  const dir = cleanup.tempDir('pprof-lock-');
  const cfg = join(dir, 'profile.conf');
  writeFileSync(
    cfg,
    [
      '[agent]',
      'listen = ""',
      `data_dir = ${JSON.stringify(join(dir, 'data'))}`,
      '[[inputs.profile.go]]',
      'url = "http://127.0.0.1:9"', // nothing listens: scrapes fail, the collector runs on
      'service = "lock"',
      '',
    ].join('\n'),
  );
  const start = () => {
    const c = spawnCollector(['-c', cfg]);
    cleanup.add(() => c.kill());
    return c;
  };
  const started = (c: CollectorProcess) => waitFor(() => !c.running || c.logLines().some((l) => String(l.msg).startsWith('collector started')), 15_000, 'the collector to start');

  const first = start();
  await started(first);
  assert.ok(first.running, first.stdout.slice(-2000));
  const spoolBefore = readdirSync(join(dir, 'data', 'spool', 'segments')).sort();

  const second = start();
  const exit = await second.waitExit(15_000);
  assert.equal(exit.code, 1, `the second one refuses to start: ${JSON.stringify(exit)}`);
  const fatal = second.logLines().find((l) => l.level === 'fatal');
  assert.ok(fatal, `a fatal line; stdout:\n${second.stdout.slice(-2000)}`);
  assert.match(String(fatal.msg), new RegExp(`data_dir .* is in use by another collector \\(pid ${first.pid}, since `));
  assert.ok(first.running, 'the first one runs on');
  assert.deepEqual(readdirSync(join(dir, 'data', 'spool', 'segments')).sort(), spoolBefore, 'the second one did not touch the spool');

  await first.kill(); // a crash: the lock file stays behind
  const third = start();
  await started(third);
  assert.ok(third.running, `a dead holder's lock is taken over:\n${third.stdout.slice(-2000)}`);
  third.signal('SIGTERM');
  assert.equal((await third.waitExit(20_000)).code, 0);
});
