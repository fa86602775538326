// A look into a collector's spool from outside, while it may be running:
// the ids each output still has to deliver, read from the segment files
// without writing anything.

import { join } from 'node:path';
import { silentLogger } from '../../src/core/log.js';
import { replaySegments } from '../../src/output/spool/replay.js';
import { listSegments, segmentName } from '../../src/output/spool/segment-log.js';

export async function spooledIds(dataDir: string, output: string): Promise<string[]> {
  const dir = join(dataDir, 'spool', 'segments');
  const seqs = await listSegments(dir);
  let state;
  try {
    state = await replaySegments(seqs, (s) => join(dir, segmentName(s)), silentLogger(), true);
  } catch {
    return []; // a segment deleted between listing and reading: look again
  }
  return [...state.records].filter(([, r]) => r.outputs.has(output)).map(([id]) => id);
}
