// The file output on a failing disk: ENOSPC or EIO at any step of writing a
// profile (open, write, fdatasync, close, rename of either file, the
// directory sync) fails the send as retryable, leaves no temp file and no
// half of a profile behind, and nothing is counted as delivered; and a
// profile reported delivered was synced (file and directory) first.

import assert from 'node:assert/strict';
import { readdirSync } from 'node:fs';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { FileSender } from '../../src/output/file.js';
import { DurableProfileWriter } from '../../src/output/file-writes.js';
import { DeliveryError } from '../../src/output/retry.js';
import { fsOps, type FileOps } from '../../src/core/files.js';
import { cleanupAfterEach } from '../helpers/processes.js';
import { makeRecord } from '../helpers/records.js';

const cleanup = cleanupAfterEach();

type Call = { op: keyof FileOps; path?: string };

/** Real file-system calls, recorded; the n-th call of `failOp` (1-based) fails with `code`. */
function recordingOps(failOp: keyof FileOps | null, nth: number, code: string) {
  const calls: Call[] = [];
  const seen = new Map<string, number>();
  const paths = new Map<number, string>();
  const maybeFail = (op: keyof FileOps) => {
    const n = (seen.get(op) ?? 0) + 1;
    seen.set(op, n);
    if (op === failOp && n === nth) throw Object.assign(new Error(`${code}: injected at ${op}`), { code });
  };
  const ops: FileOps = {
    open: async (path, flags) => {
      calls.push({ op: 'open', path });
      maybeFail('open');
      const fd = await fsOps.open(path, flags);
      paths.set(fd, path);
      return fd;
    },
    write: async (fd, buf, off, len) => (calls.push({ op: 'write', path: paths.get(fd)! }), maybeFail('write'), fsOps.write(fd, buf, off, len)),
    fdatasync: async (fd) => (calls.push({ op: 'fdatasync', path: paths.get(fd)! }), maybeFail('fdatasync'), fsOps.fdatasync(fd)),
    fsync: async (fd) => (calls.push({ op: 'fsync', path: paths.get(fd)! }), maybeFail('fsync'), fsOps.fsync(fd)),
    close: async (fd) => (calls.push({ op: 'close', path: paths.get(fd)! }), maybeFail('close'), fsOps.close(fd)),
    rename: async (from, to) => (calls.push({ op: 'rename', path: to }), maybeFail('rename'), fsOps.rename(from, to)),
    unlink: async (path) => (calls.push({ op: 'unlink', path }), fsOps.unlink(path)),
  };
  return { ops, calls };
}

function allFiles(dir: string): string[] {
  return readdirSync(dir, { recursive: true, withFileTypes: true })
    .filter((d) => d.isFile())
    .map((d) => join(d.parentPath, d.name).slice(dir.length + 1))
    .sort();
}

describe('FileSender on a failing disk', () => {
  const steps: Array<[keyof FileOps, number, string]> = [
    ['open', 2, 'the pprof temp file'],
    ['write', 1, 'the pprof bytes'],
    ['fdatasync', 1, 'the pprof sync'],
    ['close', 1, 'the pprof close'],
    ['rename', 1, 'the pprof rename'],
    ['open', 3, 'the json temp file'],
    ['write', 2, 'the json bytes'],
    ['fdatasync', 2, 'the json sync'],
    ['rename', 2, 'the json rename'],
    ['fsync', 2, 'the directory sync'],
  ];
  for (const code of ['ENOSPC', 'EIO']) {
    for (const [op, nth, what] of steps) {
      it(`${code} at ${what}: the send fails (retryable), and no file of it is left`, async () => {
        const dir = cleanup.tempDir('file-fault-');
        const { ops } = recordingOps(op, nth, code);
        const sender = new FileSender({ kind: 'file', name: 'files', source: { file: 't', line: 1 }, dir }, new DurableProfileWriter(ops));
        await assert.rejects(sender.send(makeRecord()), (err: unknown) => err instanceof DeliveryError && err.retryable && err.opts.code === code);
        assert.deepEqual(allFiles(dir), [], 'nothing: no temp file, no pprof without its json');
        // The retry, on a working disk, writes both.
        const ok = new FileSender({ kind: 'file', name: 'files', source: { file: 't', line: 1 }, dir });
        await ok.send(makeRecord());
        await ok.close();
        assert.equal(allFiles(dir).length, 2);
      });
    }
  }

  it('a delivered profile was synced first: each file before its rename, the directory after both', async () => {
    const dir = cleanup.tempDir('file-fault-');
    const { ops, calls } = recordingOps(null, 0, '');
    await new FileSender({ kind: 'file', name: 'files', source: { file: 't', line: 1 }, dir }, new DurableProfileWriter(ops)).send(makeRecord());
    const seq = calls.filter((c) => c.op !== 'write' && c.op !== 'unlink').map((c) => `${c.op}:${c.path!.endsWith('.json') || /\.json\.tmp/.test(c.path!) ? 'json' : /\.pprof/.test(c.path!) ? 'pprof' : 'dir'}`);
    assert.deepEqual(seq, [
      'open:dir', // the new service directory's name, synced in its parent
      'fsync:dir',
      'close:dir',
      'open:pprof',
      'fdatasync:pprof',
      'close:pprof',
      'rename:pprof',
      'open:json',
      'fdatasync:json',
      'close:json',
      'rename:json',
      'open:dir',
      'fsync:dir',
      'close:dir',
    ]);
  });
});
