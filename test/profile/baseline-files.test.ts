// BaselineFiles: the saved bodies under data_dir/state/baselines do not pile
// up. A target that is gone takes its files with it; bodies too old to be a
// baseline (from targets an earlier run scraped) are removed at start.
//
//   node --import tsx --test test/profile/baseline-files.test.ts

import assert from 'node:assert/strict';
import { existsSync, mkdirSync, readdirSync, utimesSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { BaselineFiles, BaselineStore } from '../../src/profile/baselines.js';
import { ProfileJobRunner } from '../../src/profile/job.js';
import { cleanupAfterEach, waitFor } from '../helpers/processes.js';

const cleanup = cleanupAfterEach();
const BODY = Buffer.from('a saved body');

describe('BaselineFiles', () => {
  it('retainTargets removes the files of the targets that are gone, and only those', async () => {
    const dir = join(cleanup.tempDir('baseline-files-'), 'baselines');
    const files = new BaselineFiles(dir);
    for (const id of ['pod-a', 'pod-b']) for (const type of ['heap', 'mutex', 'block'] as const) await files.save(id, type, BODY);
    assert.equal(readdirSync(dir).length, 6);
    await files.retainTargets(new Set(['pod-a']));
    assert.deepEqual(readdirSync(dir).sort(), ['pod-a-block.pb.gz', 'pod-a-heap.pb.gz', 'pod-a-mutex.pb.gz']);
    assert.ok(await files.load('pod-a', 'heap'));
    assert.equal(await files.load('pod-b', 'heap'), null);
  });

  it('bodies older than the baseline age are pruned when a runner starts; fresh ones and other files stay', async () => {
    const dir = join(cleanup.tempDir('baseline-prune-'), 'baselines');
    mkdirSync(dir, { recursive: true });
    const old = join(dir, 'gone-pod-heap.pb.gz');
    const fresh = join(dir, 'live-pod-heap.pb.gz');
    const other = join(dir, 'README');
    for (const f of [old, fresh, other]) writeFileSync(f, BODY);
    const twoHoursAgo = (Date.now() - 2 * 3600_000) / 1000;
    utimesSync(old, twoHoursAgo, twoHoursAgo);
    utimesSync(other, twoHoursAgo, twoHoursAgo);
    new ProfileJobRunner({ baselines: new BaselineStore(), files: new BaselineFiles(dir), maxSavedAgeMs: 3600_000 });
    await waitFor(() => !existsSync(old), 5_000, 'the stale body to be pruned');
    assert.ok(existsSync(fresh), 'a body within the age stays');
    assert.ok(existsSync(other), 'files that are not saved bodies are left alone');
  });
});
