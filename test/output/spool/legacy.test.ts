import assert from 'node:assert/strict';
import { cpSync, existsSync } from 'node:fs';
import { join } from 'node:path';
import { test } from 'node:test';
import { silentLogger } from '../../../src/core/log.js';
import { Spool } from '../../../src/output/spool/spool.js';
import { cleanupAfterEach, ROOT } from '../../helpers/processes.js';

const cleanup = cleanupAfterEach();
const OLD = join(ROOT, 'test', 'fixtures', 'spool-v1');
const A = '019aa905-a9c1-7000-8000-0000a0000001';
const B = '019aa905-a9c2-7000-8000-0000a0000002';
const C = '019aa905-a9c3-7000-8000-0000a0000003';

test('a spool in the old one-file-per-profile layout is moved into the segment log at start: nothing lost, nothing twice', async () => {
  const dir = cleanup.tempDir('spool-legacy-');
  cpSync(OLD, dir, { recursive: true });
  const opts = { dir, maxBytes: 1 << 30, maxAgeMs: 100 * 365 * 86_400_000, logger: silentLogger() };
  const first = await Spool.open(opts, ['datakit', 'files']);
  assert.deepEqual(first.pending.get('datakit')!.map((e) => e.id), [A, B]);
  assert.deepEqual(first.pending.get('files')!.map((e) => e.id), [A, C]);
  assert.deepEqual(
    first.dropped.map((d) => [d.output, d.id, d.reason]).sort(),
    [
      ['old_output-f05797fb', A, 'output_removed'],
      ['old_output-f05797fb', C, 'output_removed'],
    ],
    'an output no longer configured: its profiles are reported dropped',
  );
  const heap = await first.spool.load('files', A);
  assert.equal(heap.type, 'heap');
  assert.equal(heap.isDelta, true);
  assert.equal(heap.pprof[0], 0x1f, 'gzipped pprof, as spooled');
  assert.equal(existsSync(join(dir, 'outputs')), false, 'the old layout is gone');
  await first.spool.close();

  const second = await Spool.open(opts, ['datakit', 'files']);
  cleanup.add(() => second.spool.close());
  assert.deepEqual(second.pending.get('datakit')!.map((e) => e.id), [A, B], 'the moved profiles are in the log');
  assert.deepEqual(second.dropped, []);
});
