// One job per (target, type), each on its own fixed slot grid
// (phase + k * interval). A single timer serves all jobs from a min-heap of
// next fire times, so a thousand targets cost one timer, and a fake clock
// drives it exactly in tests.
//
// No overlap: when a job's slot comes while its previous run is still going,
// that slot is skipped (and reported), never queued. Slots missed while the
// process was stalled are skipped too, not fired in a burst.

import type { Clock, TimerHandle } from '../core/clock.js';
import { nextSlot, phaseOf } from './phase.js';

export interface JobRunContext {
  /** The slot this run belongs to (Unix ms). */
  readonly scheduledAt: number;
  /** Aborted when the scheduler stops and the grace period is over. */
  readonly signal: AbortSignal;
}

export interface JobSpec {
  /** Stable identity of the job: target id + type. */
  readonly key: string;
  readonly intervalMs: number;
  run(ctx: JobRunContext): Promise<void>;
}

export interface SchedulerEvents {
  /** A run started; `lateMs` is how long after its slot. */
  onStart?(key: string, scheduledAt: number, lateMs: number): void;
  /** A slot was skipped because the previous run had not finished. */
  onOverlap?(key: string, scheduledAt: number): void;
  /** A run threw (runs are expected to handle their own errors). */
  onError?(key: string, err: unknown): void;
  /** The wall clock stepped back; every job moved to its next slot from now. */
  onClockJump?(now: number): void;
}

interface Job {
  spec: JobSpec;
  phaseMs: number;
  nextAt: number;
  generation: number;
}

interface HeapEntry {
  readonly at: number;
  readonly key: string;
  readonly generation: number;
}

class MinHeap {
  private readonly items: HeapEntry[] = [];

  get size(): number {
    return this.items.length;
  }

  peek(): HeapEntry | undefined {
    return this.items[0];
  }

  push(e: HeapEntry): void {
    const a = this.items;
    a.push(e);
    let i = a.length - 1;
    while (i > 0) {
      const p = (i - 1) >> 1;
      if (a[p]!.at <= a[i]!.at) break;
      [a[p], a[i]] = [a[i]!, a[p]!];
      i = p;
    }
  }

  pop(): HeapEntry | undefined {
    const a = this.items;
    const top = a[0];
    const last = a.pop();
    if (a.length > 0 && last) {
      a[0] = last;
      let i = 0;
      for (;;) {
        const l = 2 * i + 1;
        const r = l + 1;
        let m = i;
        if (l < a.length && a[l]!.at < a[m]!.at) m = l;
        if (r < a.length && a[r]!.at < a[m]!.at) m = r;
        if (m === i) break;
        [a[m], a[i]] = [a[i]!, a[m]!];
        i = m;
      }
    }
    return top;
  }
}

/** A wall clock reading this much earlier than the previous one is a step back. */
const CLOCK_STEP_BACK_MS = 1000;

export class Scheduler {
  private readonly jobs = new Map<string, Job>();
  /**
   * Runs in flight by key. Kept apart from the job so that a job removed by
   * one sync and added back by the next, while its old run still goes on,
   * does not start a second run beside it (and so shutdown waits for it).
   */
  private readonly running = new Map<string, Promise<void>>();
  private readonly heap = new MinHeap();
  private timer: TimerHandle | null = null;
  private timerAt = Infinity;
  private stopped = false;
  private lastFireNow = -Infinity;
  private readonly abort = new AbortController();

  constructor(
    private readonly clock: Clock,
    private readonly events: SchedulerEvents = {},
  ) {}

  /**
   * Makes the job set equal to `specs`: new keys are added, missing keys
   * removed (a running job finishes), kept keys keep their slot grid unless
   * their interval changed.
   */
  sync(specs: readonly JobSpec[]): { added: string[]; removed: string[]; changed: string[] } {
    if (this.stopped) throw new Error('scheduler is stopped');
    const now = this.clock.now();
    const added: string[] = [];
    const changed: string[] = [];
    const wanted = new Set<string>();
    for (const spec of specs) {
      wanted.add(spec.key);
      const job = this.jobs.get(spec.key);
      if (!job) {
        const phaseMs = phaseOf(spec.key, spec.intervalMs);
        const j: Job = { spec, phaseMs, nextAt: nextSlot(now, spec.intervalMs, phaseMs, true), generation: 0 };
        this.jobs.set(spec.key, j);
        this.heap.push({ at: j.nextAt, key: spec.key, generation: 0 });
        added.push(spec.key);
      } else if (job.spec.intervalMs !== spec.intervalMs) {
        job.spec = spec;
        job.phaseMs = phaseOf(spec.key, spec.intervalMs);
        job.generation++;
        job.nextAt = nextSlot(now, spec.intervalMs, job.phaseMs, true);
        this.heap.push({ at: job.nextAt, key: spec.key, generation: job.generation });
        changed.push(spec.key);
      } else {
        job.spec = spec; // new run() closure, same grid
      }
    }
    const removed: string[] = [];
    for (const key of this.jobs.keys()) {
      if (!wanted.has(key)) {
        this.jobs.delete(key);
        removed.push(key);
      }
    }
    this.arm();
    return { added, removed, changed };
  }

  get size(): number {
    return this.jobs.size;
  }

  /** Next fire time of a job (for status pages and tests). */
  nextRun(key: string): number | undefined {
    return this.jobs.get(key)?.nextAt;
  }

  private arm(): void {
    if (this.stopped) return;
    // Drop stale heap entries (removed or rescheduled jobs) from the top.
    for (;;) {
      const top = this.heap.peek();
      if (!top) break;
      const job = this.jobs.get(top.key);
      if (job && job.generation === top.generation && job.nextAt === top.at) break;
      this.heap.pop();
    }
    const top = this.heap.peek();
    const at = top ? top.at : Infinity;
    if (at === this.timerAt && this.timer) return;
    if (this.timer) this.clock.clearTimer(this.timer);
    this.timer = null;
    this.timerAt = at;
    if (at !== Infinity) this.timer = this.clock.setTimer(() => this.fire(), at - this.clock.now());
  }

  private fire(): void {
    this.timer = null;
    this.timerAt = Infinity;
    if (this.stopped) return;
    const now = this.clock.now();
    this.regridIfClockWentBack(now);
    for (;;) {
      const top = this.heap.peek();
      if (!top || top.at > now) break;
      this.heap.pop();
      const job = this.jobs.get(top.key);
      if (!job || job.generation !== top.generation || job.nextAt !== top.at) continue;
      this.runSlot(job, top.at, now);
      job.nextAt = nextSlot(now, job.spec.intervalMs, job.phaseMs);
      this.heap.push({ at: job.nextAt, key: job.spec.key, generation: job.generation });
    }
    this.arm();
  }

  /**
   * The slot grid is on the wall clock. When the clock steps back (NTP, a VM
   * restore), the next slot of some job lies more than one interval ahead;
   * without this every job would wait out the jump. Each job moves to the
   * first slot at or after the new now.
   */
  private regridIfClockWentBack(now: number): void {
    // Timers fire in order, so the clock reading only goes back when the
    // clock itself did (a second of slack for timer jitter).
    const last = this.lastFireNow;
    this.lastFireNow = now;
    if (now >= last - CLOCK_STEP_BACK_MS) return;
    for (const job of this.jobs.values()) {
      job.generation++;
      job.nextAt = nextSlot(now, job.spec.intervalMs, job.phaseMs, true);
      this.heap.push({ at: job.nextAt, key: job.spec.key, generation: job.generation });
    }
    this.events.onClockJump?.(now);
  }

  private runSlot(job: Job, scheduledAt: number, now: number): void {
    const { key } = job.spec;
    if (this.running.has(key)) {
      this.events.onOverlap?.(key, scheduledAt);
      return;
    }
    this.events.onStart?.(key, scheduledAt, now - scheduledAt);
    let p: Promise<void>;
    try {
      p = job.spec.run({ scheduledAt, signal: this.abort.signal });
    } catch (err) {
      p = Promise.reject(err);
    }
    const running = p
      .catch((err) => this.events.onError?.(key, err))
      .finally(() => {
        if (this.running.get(key) === running) this.running.delete(key);
      });
    this.running.set(key, running);
  }

  /** Runs still going (for a bounded wait at shutdown). */
  inFlight(): Promise<void>[] {
    return [...this.running.values()];
  }

  /** Stops firing. Running jobs go on until `abortRunning()`. */
  stop(): void {
    this.stopped = true;
    if (this.timer) this.clock.clearTimer(this.timer);
    this.timer = null;
  }

  abortRunning(): void {
    this.abort.abort();
  }
}
