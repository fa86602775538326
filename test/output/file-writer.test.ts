// output/file-writer.ts: [[outputs.file]]'s writes go to one writer thread,
// in batches (the sends of one event-loop turn), and come back one result
// per profile. A failure of one profile fails only that one, with its code;
// a writer thread that dies (or a disk that hangs past close) fails what it
// held, retryably, and the next write starts a new thread.

import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { constants, closeSync, mkdirSync, openSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { FileSender } from '../../src/output/file.js';
import { ThreadProfileWriter } from '../../src/output/file-writer.js';
import type { ProfileFiles } from '../../src/output/file-writes.js';
import { DeliveryError } from '../../src/output/retry.js';
import { cleanupAfterEach, sleep } from '../helpers/processes.js';
import { makeRecord } from '../helpers/records.js';

const cleanup = cleanupAfterEach();

function files(root: string, service: string, name: string, bytes: number): ProfileFiles {
  const dir = join(root, service);
  const pprof = new Uint8Array(bytes).map((_, i) => (i * 7 + name.length) & 0xff);
  return { root, dir, stem: join(dir, name), pprof, json: `{"name":${JSON.stringify(name)}}\n` };
}

/** A named pipe: opening it to read blocks until someone opens it to write, as a hung disk would. */
function hangingDir(dir: string): { path: string; release: () => void } {
  const path = join(dir, 'hangs');
  execFileSync('mkfifo', [path]);
  return {
    path,
    // Lets a reader blocked in open() go (none waiting: ENXIO, nothing to do).
    release: () => {
      try {
        closeSync(openSync(path, constants.O_WRONLY | constants.O_NONBLOCK));
      } catch {
        /* no reader */
      }
    },
  };
}

describe('ThreadProfileWriter', () => {
  it('the writes of one turn go to the thread as one batch; every file is on disk with its bytes; the caller keeps its buffers', async () => {
    const root = cleanup.tempDir('file-writer-');
    const writer = new ThreadProfileWriter();
    cleanup.add(() => writer.close());
    const all = Array.from({ length: 40 }, (_, i) => files(root, `svc-${i % 3}`, `p${i}`, 1000 + i));
    // One profile's bytes as a view into a larger buffer: only its own bytes are written.
    const big = new Uint8Array(100_000).fill(9);
    all.push({ ...files(root, 'svc-0', 'view', 0), pprof: big.subarray(10, 20) });
    await Promise.all(all.map((f) => writer.write(f)));
    assert.equal(writer.batchesPosted, 1, 'one batch for 41 writes started in one turn');
    for (const f of all) {
      assert.deepEqual(new Uint8Array(readFileSync(`${f.stem}.pprof`)), f.pprof, `${f.stem}.pprof`);
      assert.equal(readFileSync(`${f.stem}.json`, 'utf8'), f.json);
    }
    assert.equal(big.length, 100_000, 'the caller’s buffer is not handed away (other outputs send the same record)');
    for (const s of ['svc-0', 'svc-1', 'svc-2']) assert.ok(readdirSync(join(root, s)).every((n) => !n.includes('.tmp-')), 'no temp file left');
    await writer.write(files(root, 'svc-0', 'later', 10));
    assert.equal(writer.batchesPosted, 2, 'a write in a later turn is a new batch');
  });

  it('a profile that cannot be written fails alone, with its code; the rest of its batch is written', async () => {
    const root = cleanup.tempDir('file-writer-');
    writeFileSync(join(root, 'not-a-dir'), 'a file where a service directory should be');
    const writer = new ThreadProfileWriter();
    cleanup.add(() => writer.close());
    const good = files(root, 'svc', 'good', 100);
    const bad = files(root, 'not-a-dir', 'bad', 100);
    const [g, b] = await Promise.allSettled([writer.write(good), writer.write(bad)]);
    assert.equal(g.status, 'fulfilled');
    assert.equal(b.status, 'rejected');
    assert.match(String((b as PromiseRejectedResult).reason.code), /^(EEXIST|ENOTDIR)$/);
    assert.equal(writer.batchesPosted, 1);
    assert.ok(readFileSync(`${good.stem}.pprof`).length === 100);
  });

  it('a failure half-way (the rename: a directory has the name) leaves no temp file, and says why', async () => {
    const root = cleanup.tempDir('file-writer-');
    const f = files(root, 'svc', 'taken', 100);
    mkdirSync(`${f.stem}.pprof`, { recursive: true });
    const writer = new ThreadProfileWriter();
    cleanup.add(() => writer.close());
    await assert.rejects(writer.write(f), (err: NodeJS.ErrnoException) => err.code === 'EISDIR');
    assert.deepEqual(readdirSync(f.dir), ['taken.pprof'], 'only the directory that was there: no temp file, no .json');
  });

  it('through the file output, a failed write is a retryable DeliveryError with the code', async () => {
    const root = cleanup.tempDir('file-writer-');
    const record = makeRecord({ service: 'svc' });
    writeFileSync(join(root, 'svc'), 'a file where the service directory should be');
    const sender = new FileSender({ kind: 'file', name: 'files', source: { file: 't', line: 1 }, dir: root });
    cleanup.add(() => sender.close());
    await assert.rejects(sender.send(record), (err: unknown) => err instanceof DeliveryError && err.retryable && /^(EEXIST|ENOTDIR)$/.test(String(err.opts.code)));
  });

  it('a thread that dies with a batch out fails that batch (retryably, through the output); the next write starts a new thread', async () => {
    const root = cleanup.tempDir('file-writer-');
    const hang = hangingDir(root);
    cleanup.add(() => hang.release());
    const writer = new ThreadProfileWriter();
    cleanup.add(() => writer.close());
    await writer.write(files(root, 'svc', 'warm', 10)); // the thread is up
    // The root's sync opens the pipe and waits there: the batch cannot finish on its own.
    const stuck = writer.write({ ...files(root, 'other', 'stuck', 10), root: hang.path });
    await sleep(200); // the thread is in open() on the pipe
    const thread = writer.runningThread;
    assert.ok(thread, 'the batch is out to a thread');
    // Stopped while blocked: it stops once the call returns (the pipe let go), before the write can finish.
    const stopped = thread.terminate();
    hang.release();
    await stopped;
    await assert.rejects(stuck, (err: NodeJS.ErrnoException) => err.code === 'EWRITERTHREAD');
    const next = files(root, 'svc', 'next', 10);
    await writer.write(next);
    assert.notEqual(writer.runningThread, thread, 'a new thread');
    assert.equal(readFileSync(`${next.stem}.pprof`).length, 10);
    assert.ok(!readdirSync(root).includes('other') || readdirSync(join(root, 'other')).length === 0, 'nothing of the stuck write');
  });

  it("a dead thread's late events ('error', then 'exit') fail only its own writes, not those a new thread holds", async () => {
    const root = cleanup.tempDir('file-writer-');
    const writer = new ThreadProfileWriter();
    cleanup.add(() => writer.close());
    await writer.write(files(root, 'svc', 'first', 10));
    const old = writer.runningThread!;
    cleanup.add(() => old.terminate());
    // The old thread reports a failure: it is gone for the writer.
    old.emit('error', new Error('boom'));
    assert.equal(writer.runningThread, null);
    const next = writer.write(files(root, 'svc', 'next', 10));
    await new Promise((r) => setImmediate(r));
    assert.ok(writer.runningThread && writer.runningThread !== old, 'the write went to a new thread');
    // Its 'exit' follows, while the new thread holds the write.
    old.emit('exit', 1);
    await next;
    assert.equal(readFileSync(join(root, 'svc', 'next.pprof')).length, 10);
  });

  it('close() gives up on a batch the disk does not answer: after its wait it fails the writes and returns, though the thread is stuck in a system call', async () => {
    const root = cleanup.tempDir('file-writer-');
    const hang = hangingDir(root);
    const writer = new ThreadProfileWriter({ closeWaitMs: 200 });
    await writer.write(files(root, 'svc', 'warm', 10)); // the thread is up
    const thread = writer.runningThread!;
    const exited = new Promise((r) => thread.once('exit', r));
    const stuck = writer.write({ ...files(root, 'other', 'stuck', 10), root: hang.path });
    const failed = stuck.then(
      () => null,
      (err: NodeJS.ErrnoException) => err,
    );
    await sleep(200); // the thread is in open() on the pipe
    // Returns though the thread is still blocked (the pipe is released only below).
    await writer.close();
    assert.equal((await failed)?.code, 'EWRITERTHREAD');
    assert.equal(writer.runningThread, null);
    await assert.rejects(writer.write(files(root, 'svc', 'after', 10)), /closed/);
    // The disk answers: the thread finishes stopping (else this test's process could not exit).
    hang.release();
    await exited;
  });

  it('close() waits for a batch out to finish', async () => {
    const root = cleanup.tempDir('file-writer-');
    const writer = new ThreadProfileWriter();
    const f = files(root, 'svc', 'x', 5000);
    const written = writer.write(f);
    await writer.close();
    await written;
    assert.equal(readFileSync(`${f.stem}.pprof`).length, 5000);
  });

  it("reports its thread's own heap after it answers, and none once closed", async () => {
    const root = cleanup.tempDir('file-writer-');
    const writer = new ThreadProfileWriter();
    cleanup.add(() => writer.close());
    assert.equal(writer.threadHeap(), undefined, 'no thread before the first write');
    await writer.write(files(root, 'svc', 'one', 4096));
    const heap = writer.threadHeap();
    assert.ok(heap && heap.usedBytes > 0 && heap.totalBytes >= heap.usedBytes && heap.externalBytes >= 0, JSON.stringify(heap));
    await writer.close();
    assert.equal(writer.threadHeap(), undefined);
  });
});
