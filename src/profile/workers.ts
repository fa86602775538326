// Where profile jobs run: a pool of worker threads, so decoding, deltas and
// gzip of large profiles happen off the main thread (which only schedules,
// scrapes and ships), or inline (tests, --once, and profile_workers = 0).
// Each target's jobs always go to the same worker, which owns its baselines:
// nothing but the scraped body and the result crosses a thread.

import type { Worker } from 'node:worker_threads';
import type { Logger } from '../core/log.js';
import { stableHash } from '../core/hash.js';
import { startThread } from '../core/thread.js';
import type { ThreadHeap } from '../core/thread-heap.js';
import { BaselineStore } from './baselines.js';
import { fromJobError, ProfileJobRunner, type JobError, type ProfileJob, type ProfileJobResult } from './job.js';

export interface ProfileEngine {
  run(job: ProfileJob): Promise<ProfileJobResult>;
  /** Forgets the baselines of targets that are gone. */
  retainTargets(ids: ReadonlySet<string>): void;
  /** Which worker a target's jobs queue on (0 for an engine with one queue). */
  laneOf?(targetId: string): number;
  /** Each worker thread's heap as of its last report (none for an inline engine). */
  threadHeaps?(): Array<{ readonly thread: string } & ThreadHeap>;
  close(): Promise<void>;
}

export function makeRunner(baselines = new BaselineStore()): ProfileJobRunner {
  return new ProfileJobRunner({ baselines });
}

/** Runs jobs on the calling thread. */
export class InlineEngine implements ProfileEngine {
  constructor(private readonly runner: ProfileJobRunner) {}

  run(job: ProfileJob): Promise<ProfileJobResult> {
    return this.runner.run(job);
  }

  retainTargets(ids: ReadonlySet<string>): void {
    this.runner.retainTargets(ids);
  }

  async close(): Promise<void> {}
}

type Reply = ({ id: number; ok: true; result: ProfileJobResult } | { id: number; ok: false; error: JobError }) & { heap?: ThreadHeap };

interface Slot {
  worker: Worker;
  /** Its heap as of its last report. */
  heap?: ThreadHeap;
  pending: Map<number, { resolve: (r: ProfileJobResult) => void; reject: (e: Error) => void }>;
}

export class WorkerPool implements ProfileEngine {
  private readonly slots: Slot[] = [];
  private nextId = 1;
  private closed = false;

  /**
   * `onReplaced`: a worker died and a new one took its place, with no
   * baselines in memory; the caller hands it the saved ones again.
   */
  constructor(
    size: number,
    private readonly logger: Logger,
    private readonly onReplaced: () => void = () => undefined,
  ) {
    for (let i = 0; i < size; i++) this.slots.push(this.spawn(i));
  }

  private spawn(i: number): Slot {
    const worker = startThread(import.meta.url, './worker-thread.js');
    worker.unref();
    const slot: Slot = { worker, pending: new Map() };
    worker.on('message', (m: Reply) => {
      if (m.heap) slot.heap = m.heap;
      const p = slot.pending.get(m.id);
      if (!p) return;
      slot.pending.delete(m.id);
      if (m.ok) p.resolve(m.result);
      else p.reject(fromJobError(m.error));
    });
    let dead = false;
    const fail = (err: Error) => {
      if (dead) return;
      dead = true;
      for (const p of slot.pending.values()) p.reject(err);
      slot.pending.clear();
      if (!this.closed) {
        // A worker that died (out of memory, a bug) is replaced; its jobs fail
        // once, and its targets continue from their saved baselines (the
        // body of the last delta spooled), or take a new one.
        this.logger.error({ err: { message: err.message } }, `profile worker ${i} stopped (${err.message}); starting a new one`);
        this.slots[i] = this.spawn(i);
        this.onReplaced();
      }
    };
    worker.on('error', fail);
    worker.on('exit', (code) => {
      if (!this.closed) fail(new Error(`profile worker exited with code ${code}`));
    });
    return slot;
  }

  laneOf(targetId: string): number {
    return stableHash(targetId) % this.slots.length;
  }

  run(job: ProfileJob): Promise<ProfileJobResult> {
    if (this.closed) return Promise.reject(new Error('the profile workers are closed'));
    const slot = this.slots[this.laneOf(job.targetId)]!;
    const id = this.nextId++;
    return new Promise((resolve, reject) => {
      slot.pending.set(id, { resolve, reject });
      slot.worker.postMessage({ id, job });
    });
  }

  retainTargets(ids: ReadonlySet<string>): void {
    for (const s of this.slots) s.worker.postMessage({ retain: [...ids] });
  }

  threadHeaps(): Array<{ readonly thread: string } & ThreadHeap> {
    return this.slots.flatMap((s, i) => (s.heap ? [{ thread: `profile-worker-${i}`, ...s.heap }] : []));
  }

  /** Jobs waiting or running in the workers. */
  get busy(): number {
    return this.slots.reduce((n, s) => n + s.pending.size, 0);
  }

  async close(): Promise<void> {
    this.closed = true;
    await Promise.allSettled(this.slots.map((s) => s.worker.terminate()));
  }
}
