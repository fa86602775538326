import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import { hostname } from 'node:os';
import { join } from 'node:path';
import { test } from 'node:test';
import { DataDirLockedError, LOCK_FILE, lockDataDir } from '../../src/core/data-dir-lock.js';
import { cleanupAfterEach } from '../helpers/processes.js';

const cleanup = cleanupAfterEach();

/** A pid that was alive a moment ago and is not now. */
function deadPid(): number {
  const r = spawnSync(process.execPath, ['-e', 'console.log(process.pid)'], { encoding: 'utf8' });
  return Number(r.stdout.trim());
}

test('a second lock on a held data_dir is refused, naming the holder; after release it can be taken', async () => {
  const dir = cleanup.tempDir('lock-');
  const first = await lockDataDir(dir);
  await assert.rejects(lockDataDir(dir), (err: unknown) => {
    assert.ok(err instanceof DataDirLockedError);
    assert.equal(err.pid, process.pid);
    assert.match(err.message, new RegExp(`in use by another collector \\(pid ${process.pid}, since .*\\): stop that one, or give this one another \\[agent\\] data_dir`));
    return true;
  });
  await first.release();
  assert.equal(existsSync(join(dir, LOCK_FILE)), false);
  const again = await lockDataDir(dir);
  await again.release();
});

test('a lock left by a process that is gone, a half-written one, or one whose pid now belongs to another process is taken over', async () => {
  for (const stale of [
    JSON.stringify({ pid: deadPid(), startTicks: '1', host: hostname(), since: '2026-01-01T00:00:00.000Z' }),
    '{"pid": 12',
    JSON.stringify({ pid: process.pid, startTicks: 'not-my-start-time', host: hostname(), since: '2026-01-01T00:00:00.000Z' }),
  ]) {
    const dir = cleanup.tempDir('lock-');
    writeFileSync(join(dir, LOCK_FILE), stale);
    const lock = await lockDataDir(dir);
    assert.equal(JSON.parse(readFileSync(join(dir, LOCK_FILE), 'utf8')).pid, process.pid, `taken over from ${stale}`);
    await lock.release();
  }
});
