// One job per (target, type), each on its own fixed slots: an interval grid
// (phase + k * interval) or a cron pattern's runs (run + phase, see cron.ts).
// A single timer serves all jobs from a min-heap of next fire times, so a
// thousand targets cost one timer, and a fake clock drives it exactly in tests.
//
// No overlap: when a job's slot comes while its previous run is still going,
// that slot is skipped (and reported), never queued. Slots missed while the
// process was stalled are skipped too, not fired in a burst. A run asked for
// out of its slots (a trigger, runNow) waits for a run in flight to finish.

import type { Clock, TimerHandle } from '../core/clock.js';
import type { CronSlots } from './cron.js';
import { nextSlot, phaseOf } from './phase.js';

export interface JobRunContext {
  /** The slot this run belongs to (Unix ms). */
  readonly scheduledAt: number;
  /** Aborted when the scheduler stops and the grace period is over. */
  readonly signal: AbortSignal;
  /** Set on a run asked for by runNow (a trigger): why. */
  readonly reason?: string;
}

interface JobCommon {
  /** Stable identity of the job: target id + type. */
  readonly key: string;
  run(ctx: JobRunContext): Promise<void>;
}

/** A job on an interval grid, or on a cron pattern's runs. */
export type JobSpec = JobCommon & ({ readonly intervalMs: number; readonly cron?: undefined } | { readonly cron: CronSlots; readonly intervalMs?: undefined });

/** When a job's slots are: its phase, and its next fire time from a moment. */
interface Cadence {
  readonly id: string;
  phaseOf(key: string): number;
  next(now: number, phaseMs: number, inclusive: boolean): number;
}

function cadenceOf(spec: JobSpec): Cadence {
  if (spec.cron) return spec.cron;
  const intervalMs = spec.intervalMs;
  return {
    id: `every ${intervalMs}`,
    phaseOf: (key) => phaseOf(key, intervalMs),
    next: (now, phaseMs, inclusive) => nextSlot(now, intervalMs, phaseMs, inclusive),
  };
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
  cadence: Cadence;
  phaseMs: number;
  nextAt: number;
  generation: number;
  /** A runNow that came while a run was in flight: its reason, run when that one ends. */
  pending?: string;
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
      const cadence = cadenceOf(spec);
      if (!job) {
        const phaseMs = cadence.phaseOf(spec.key);
        const j: Job = { spec, cadence, phaseMs, nextAt: cadence.next(now, phaseMs, true), generation: 0 };
        this.jobs.set(spec.key, j);
        this.push(j);
        added.push(spec.key);
      } else if (job.cadence.id !== cadence.id) {
        job.spec = spec;
        job.cadence = cadence;
        job.phaseMs = cadence.phaseOf(spec.key);
        job.generation++;
        job.nextAt = cadence.next(now, job.phaseMs, true);
        this.push(job);
        changed.push(spec.key);
      } else {
        job.spec = spec; // new run() closure, same slots
        job.cadence = cadence;
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

  /** Next fire time of a job (for status pages and tests); undefined when it has none. */
  nextRun(key: string): number | undefined {
    const at = this.jobs.get(key)?.nextAt;
    return at === Infinity ? undefined : at;
  }

  /**
   * Runs a job now, outside its slots (a trigger): at once when it is idle;
   * when a run of it is in flight, right after that one ends (several asks
   * meanwhile make one run, the last reason wins). Its slots stay as they
   * are; a slot that comes while this run goes on is skipped as usual.
   * False when there is no such job or the scheduler is stopped.
   */
  runNow(key: string, reason: string): boolean {
    const job = this.jobs.get(key);
    if (!job || this.stopped) return false;
    if (this.running.has(key)) job.pending = reason;
    else this.start(job, this.clock.now(), reason);
    return true;
  }

  /** A heap entry for the job's next fire time (none when it never fires again). */
  private push(job: Job): void {
    if (job.nextAt !== Infinity) this.heap.push({ at: job.nextAt, key: job.spec.key, generation: job.generation });
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
      job.nextAt = job.cadence.next(now, job.phaseMs, false);
      this.push(job);
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
      job.nextAt = job.cadence.next(now, job.phaseMs, true);
      this.push(job);
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
    this.start(job, scheduledAt);
  }

  private start(job: Job, scheduledAt: number, reason?: string): void {
    const { key } = job.spec;
    let p: Promise<void>;
    try {
      p = job.spec.run({ scheduledAt, signal: this.abort.signal, ...(reason !== undefined ? { reason } : {}) });
    } catch (err) {
      p = Promise.reject(err);
    }
    const running = p
      .catch((err) => this.events.onError?.(key, err))
      .finally(() => {
        if (this.running.get(key) !== running) return;
        this.running.delete(key);
        // A run asked for while this one went on; only while the job is still wanted.
        const current = this.jobs.get(key);
        const pending = current?.pending;
        if (current && pending !== undefined) {
          current.pending = undefined;
          if (!this.stopped) this.start(current, this.clock.now(), pending);
        }
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
