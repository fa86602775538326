import assert from 'node:assert/strict';
import { mkdirSync } from 'node:fs';
import { join } from 'node:path';
import { describe, test } from 'node:test';
import { SegmentLog, type Location } from '../../../src/output/spool/segment-log.js';
import { cleanupAfterEach } from '../../helpers/processes.js';

const cleanup = cleanupAfterEach();

function entry(i: number): Buffer {
  return Buffer.from(`entry ${i} `.repeat(50 + i));
}

describe('SegmentLog', () => {
  test('reads of a segment from before a restart, many at once, each get their own bytes (a read never uses a descriptor another read closed)', async () => {
    const dir = join(cleanup.tempDir('segment-log-'), 'segments');
    mkdirSync(dir);
    const first = new SegmentLog(dir, 1 << 20, 0);
    const locs: Location[] = [];
    for (let i = 0; i < 8; i++) locs.push(await first.append([entry(i)], true));
    await first.close();

    // A restarted collector: appends go to a new segment, reads of the old
    // one open it on demand and close it when the last read is done.
    const log = new SegmentLog(dir, 1 << 20, 1);
    cleanup.add(() => log.close());
    await log.append([entry(99)], true);
    assert.equal(log.currentSeq, 2);
    const failures: string[] = [];
    for (let round = 0; round < 300; round++) {
      const picks = [round % 8, (round + 3) % 8, (round + 5) % 8];
      const got = await Promise.allSettled(picks.map((i) => log.read(locs[i]!.seg, locs[i]!.off, locs[i]!.size)));
      got.forEach((g, k) => {
        if (g.status === 'rejected') failures.push(`round ${round}: ${(g.reason as Error).message}`);
        else if (!g.value.equals(entry(picks[k]!))) failures.push(`round ${round}: entry ${picks[k]} read back other bytes`);
      });
    }
    assert.deepEqual(failures.slice(0, 5), []);
  });
});
