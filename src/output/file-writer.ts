// [[outputs.file]]'s writes, off the main thread. Each profile costs ten
// file-system calls (open, write, fdatasync, close, rename, for the pprof
// and its JSON) and a share of a directory sync; issued from the main
// thread, their dispatch and completions were the biggest item of its CPU
// profile at 1,000 targets. Here the main thread only collects the sends of
// one event-loop turn into a batch and posts it; one writer thread does the
// file work (file-writes.ts, with the quick calls made directly: only the
// syncs go to libuv's pool) and answers each write as it finishes (those
// finished together in one message). bench/file-output.ts compares the two.
//
// The thread starts with the first write and holds the process open only
// while a batch is out. If it dies, the writes it held fail (the output
// retries them, as after any failed write) and the next write starts a new one.

import type { Worker } from 'node:worker_threads';
import { startThread } from '../core/thread.js';
import type { ThreadHeap } from '../core/thread-heap.js';
import type { WriteBatch, WritesDone } from './file-writer-thread.js';
import type { ProfileFileWriter, ProfileFiles } from './file-writes.js';

interface PendingWrite {
  readonly files: ProfileFiles;
  readonly resolve: () => void;
  readonly reject: (err: Error) => void;
}

/** A write posted to a thread, waiting for its answer. */
interface PostedWrite {
  readonly write: PendingWrite;
  readonly thread: Worker;
}

export interface ThreadProfileWriterOptions {
  /** How long close() lets batches out finish before it stops the thread anyway (a hung disk). */
  readonly closeWaitMs?: number;
}

export class ThreadProfileWriter implements ProfileFileWriter {
  private thread: Worker | null = null;
  private queued: PendingWrite[] = [];
  private flushScheduled = false;
  /** Writes posted to the thread and not answered yet, by id. */
  private readonly out = new Map<number, PostedWrite>();
  private nextId = 0;
  private closed = false;
  private idleWaiters: Array<() => void> = [];
  private readonly closeWaitMs: number;
  /** Batches posted to the thread so far (tests see the batching). */
  batchesPosted = 0;
  /** The running thread's heap as of its last report. */
  private heap: ThreadHeap | undefined;

  constructor(opts: ThreadProfileWriterOptions = {}) {
    this.closeWaitMs = opts.closeWaitMs ?? 10_000;
  }

  write(files: ProfileFiles): Promise<void> {
    if (this.closed) return Promise.reject(new Error('the file writer is closed'));
    return new Promise((resolve, reject) => {
      this.queued.push({ files, resolve, reject });
      if (!this.flushScheduled) {
        this.flushScheduled = true;
        // Every send started in this turn goes in one batch.
        setImmediate(() => this.flush());
      }
    });
  }

  async close(): Promise<void> {
    this.closed = true;
    this.flush();
    if (this.out.size > 0) await within(new Promise<void>((r) => this.idleWaiters.push(r)), this.closeWaitMs);
    const t = this.thread;
    this.thread = null;
    if (!t) return;
    // Writes still out after the wait failed (a durable queue keeps them for the next start).
    this.lost(t, 'the file writer closed with writes in progress (is the disk answering?)');
    // A thread blocked in a system call on a disk that does not answer stops
    // only when the call returns (and Node cannot exit before that either):
    // do not wait for it beyond a moment.
    await within(t.terminate(), 1_000);
  }

  /** The running thread, if any (tests stop it to see a dead writer handled). */
  get runningThread(): Worker | null {
    return this.thread;
  }

  private flush(): void {
    this.flushScheduled = false;
    const batch = this.queued;
    if (batch.length === 0) return;
    this.queued = [];
    let thread: Worker;
    try {
      thread = this.thread ?? this.start();
    } catch (err) {
      for (const p of batch) p.reject(err as Error);
      return;
    }
    const ids = batch.map((write) => {
      const id = ++this.nextId;
      this.out.set(id, { write, thread });
      return id;
    });
    // Copies of exactly the profile's bytes, handed over to the thread: the
    // record's own buffer stays whole for the other outputs, and a view into
    // a larger buffer does not send all of it.
    const files = batch.map((p) => ({ ...p.files, pprof: new Uint8Array(p.files.pprof) }));
    thread.ref();
    thread.postMessage({ ids, files } satisfies WriteBatch, files.map((f) => f.pprof.buffer as ArrayBuffer));
    this.batchesPosted++;
  }

  private start(): Worker {
    const thread = startThread(import.meta.url, './file-writer-thread.js', { name: 'file-writer' });
    thread.on('message', (msg: WritesDone) => this.done(thread, msg));
    thread.on('error', (err) => this.lost(thread, `the file writer thread failed: ${err.message}`));
    thread.on('exit', (code) => this.lost(thread, `the file writer thread exited (code ${code})`));
    this.thread = thread;
    return thread;
  }

  /** The running thread's heap as of its last report (with an answer, at most once a second); undefined while none runs. */
  threadHeap(): ThreadHeap | undefined {
    return this.thread ? this.heap : undefined;
  }

  private done(thread: Worker, msg: WritesDone): void {
    if (thread === this.thread && msg.heap) this.heap = msg.heap;
    for (const [id, r] of msg.done) {
      const p = this.out.get(id)?.write;
      if (!p) continue;
      this.out.delete(id);
      if (r === null) p.resolve();
      else p.reject(Object.assign(new Error(r.message), r.code ? { code: r.code } : {}));
    }
    this.settleIdle(thread);
  }

  /**
   * The thread is gone ('error' then 'exit', or stopped by close): what it
   * held failed (the output retries it); the next write starts another.
   * Only its own writes: a new thread may already hold others.
   */
  private lost(thread: Worker, why: string): void {
    if (this.thread === thread) this.thread = null;
    for (const [id, posted] of this.out) {
      if (posted.thread !== thread) continue;
      this.out.delete(id);
      posted.write.reject(Object.assign(new Error(why), { code: 'EWRITERTHREAD' }));
    }
    this.settleIdle(thread);
  }

  private settleIdle(thread: Worker): void {
    if (this.out.size > 0) return;
    // Idle: the thread does not keep the process up.
    thread.unref();
    const waiters = this.idleWaiters;
    this.idleWaiters = [];
    for (const w of waiters) w();
  }
}

/** Resolves when `p` settles or after `ms`, whichever comes first; the timer does not hold the process. */
function within(p: Promise<unknown>, ms: number): Promise<void> {
  return new Promise((resolve) => {
    const timer = setTimeout(resolve, ms);
    timer.unref();
    const done = () => {
      clearTimeout(timer);
      resolve();
    };
    p.then(done, done);
  });
}
