// The file output's group commit of directory syncs (src/output/dir-sync.ts):
// callers waiting on the same directory share an fsync, a caller is only
// answered by a sync that began after it asked, and a failed sync fails
// every caller that shared it (each send then cleans up and is retried).

import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { fsOps, type FileOps } from '../../src/core/files.js';
import { DirectorySyncs } from '../../src/output/dir-sync.js';
import { cleanupAfterEach } from '../helpers/processes.js';

const cleanup = cleanupAfterEach();

/** fsOps whose fsyncs wait until released, counted; `fail` makes the next ones fail. */
function heldOps() {
  const held: Array<() => void> = [];
  let started = 0;
  let fail = false;
  const ops: FileOps = {
    ...fsOps,
    fsync: async (fd) => {
      started++;
      const failing = fail;
      await new Promise<void>((r) => held.push(r));
      if (failing) throw Object.assign(new Error('EIO: injected'), { code: 'EIO' });
      return fsOps.fsync(fd);
    },
  };
  const tick = () => new Promise((r) => setTimeout(r, 2));
  return {
    ops,
    started: () => started,
    failNext: () => void (fail = true),
    /** Waits (bounded) until an fsync is held, lets the held ones go on, and gives them time to end. */
    release: async () => {
      for (let i = 0; i < 2500 && held.length === 0; i++) await tick();
      assert.ok(held.length > 0, 'an fsync was started');
      for (const r of held.splice(0)) r();
      for (let i = 0; i < 5; i++) await tick();
    },
  };
}

describe('DirectorySyncs', () => {
  it('callers that arrive while a sync runs share the next one, which starts after it', async () => {
    const dir = cleanup.tempDir('dir-sync-');
    const h = heldOps();
    const syncs = new DirectorySyncs(h.ops);
    const done: string[] = [];
    const first = syncs.sync(dir).then(() => done.push('first'));
    const later = [1, 2, 3].map((i) => syncs.sync(dir).then(() => done.push(`later${i}`)));
    await h.release(); // the first ends; the shared one starts
    await first;
    assert.deepEqual(done, ['first']);
    await h.release(); // the shared one ends
    assert.equal(h.started(), 2, 'one more sync for all three, begun after the first ended');
    await Promise.all([first, ...later]);
    assert.deepEqual(done.sort(), ['first', 'later1', 'later2', 'later3']);
    assert.equal(h.started(), 2);
  });

  it('directories do not share a sync', async () => {
    const [a, b] = [cleanup.tempDir('dir-sync-'), cleanup.tempDir('dir-sync-')];
    const h = heldOps();
    const syncs = new DirectorySyncs(h.ops);
    const all = Promise.all([syncs.sync(a), syncs.sync(b)]);
    for (let i = 0; i < 2500 && h.started() < 2; i++) await new Promise((r) => setTimeout(r, 2));
    assert.equal(h.started(), 2, 'both run at once');
    await h.release();
    await all;
    assert.equal(h.started(), 2);
  });

  it('a failed sync fails every caller that shared it; the next caller gets a new one', async () => {
    const dir = cleanup.tempDir('dir-sync-');
    const h = heldOps();
    const syncs = new DirectorySyncs(h.ops);
    h.failNext();
    const outcomes = [syncs.sync(dir), syncs.sync(dir), syncs.sync(dir)].map((p) => p.then(() => 'ok', (e: NodeJS.ErrnoException) => e.code));
    await h.release(); // the first fails
    await h.release(); // the one the other two share fails
    assert.deepEqual(await Promise.all(outcomes), ['EIO', 'EIO', 'EIO']);
    assert.equal(h.started(), 2);
    const ok = heldOps();
    const fresh = new DirectorySyncs(ok.ops);
    const again = fresh.sync(dir);
    await ok.release();
    await again;
  });
});
