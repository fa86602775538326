// Disk full and I/O errors at every step of a spool write: the write fails
// with the error, nothing of it stays on disk (no torn entry, no temp file),
// the profiles written before are intact, and the next write works.

import assert from 'node:assert/strict';
import { readdirSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { describe, test } from 'node:test';
import { silentLogger } from '../../../src/core/log.js';
import type { FaultHook } from '../../../src/output/spool/segment-log.js';
import { Spool } from '../../../src/output/spool/spool.js';
import { newRecordId } from '../../../src/profile/record.js';
import { cleanupAfterEach } from '../../helpers/processes.js';
import { fixtureProfile, makeRecord } from '../../helpers/records.js';

const cleanup = cleanupAfterEach();
const log = silentLogger();

type Step = Parameters<FaultHook>[0];

function errno(code: string): NodeJS.ErrnoException {
  return Object.assign(new Error(`${code}: injected`), { code });
}

async function openWithFault(dir: string) {
  const fault: { step: Step | null; code: string } = { step: null, code: 'ENOSPC' };
  const { spool } = await Spool.open(
    {
      dir,
      maxBytes: 1 << 30,
      maxAgeMs: 86_400_000,
      logger: log,
      segmentBytes: 64 << 10,
      fault: (step) => {
        if (step === fault.step) throw errno(fault.code);
      },
    },
    ['a'],
  );
  return { spool, fault };
}

describe('spool writes that fail', () => {
  for (const step of ['write', 'sync', 'create', 'dirsync'] as const) {
    for (const code of ['ENOSPC', 'EIO']) {
      test(`${code} at ${step}: the write fails, leaves nothing behind, and the next one works`, async () => {
        const dir = cleanup.tempDir('spool-fault-');
        const { spool, fault } = await openWithFault(dir);
        const before = makeRecord({ id: newRecordId(Date.now() - 3000) });
        // 'create' and 'dirsync' happen for a new segment: the first write of one.
        if (step !== 'create' && step !== 'dirsync') await spool.put(before, ['a']);
        const sizes = () => readdirSync(join(dir, 'segments')).map((f) => [f, statSync(join(dir, 'segments', f)).size] as const);
        const sizesBefore = sizes();

        fault.step = step;
        fault.code = code;
        const failed = makeRecord({ id: newRecordId(Date.now() - 2000), type: 'heap' });
        const baseline = { targetId: 't1', type: 'heap', timeNs: 5n, savedAtMs: Date.now(), body: fixtureProfile('heap-2.pb.gz') };
        await assert.rejects(spool.put(failed, ['a'], baseline), (err: NodeJS.ErrnoException) => err.code === code);
        assert.deepEqual(spool.heldFor('a'), step === 'create' || step === 'dirsync' ? [] : [before.id], 'the failed one is not held');
        assert.equal(await spool.savedBaseline('t1', 'heap'), undefined, 'nor its baseline');
        for (const [f, size] of sizes()) {
          const was = sizesBefore.find(([g]) => g === f);
          assert.equal(size, was ? was[1] : 0, `${f}: cut back to what it held before the failed write`);
        }
        assert.deepEqual(readdirSync(dir).sort(), ['segments'], 'no temp files or directories beside the segments');

        fault.step = null;
        const after = makeRecord({ id: newRecordId(Date.now() - 1000) });
        await spool.put(after, ['a']);
        await spool.close();
        const reopened = await Spool.open({ dir, maxBytes: 1 << 30, maxAgeMs: 86_400_000, logger: log }, ['a']);
        cleanup.add(() => reopened.spool.close());
        const expected = step === 'create' || step === 'dirsync' ? [after.id] : [before.id, after.id];
        assert.deepEqual(reopened.pending.get('a')!.map((e) => e.id), expected, 'what was written before and after, nothing of the failed one');
        assert.equal(await reopened.spool.savedBaseline('t1', 'heap'), undefined);
      });
    }
  }
});
