// Per-output delivery: a queue, a few sends at a time, and one backoff for
// the whole output when its backend fails (a dead backend gets one probe per
// backoff step, not a burst per profile). A slow or dead output only ever
// delays itself: enqueue never waits.
//
// The queue holds ids; the profiles themselves live in a QueueStore: the
// on-disk spool (durable, bounded by bytes and age) or, for --once and when
// no spool is given, memory (bounded by count).

import { LIMITS } from '../core/limits.js';
import type { ThreadHeap } from '../core/thread-heap.js';
import type { Logger } from '../core/log.js';
import type { ProfileRecord } from '../profile/record.js';
import type { Clock, TimerHandle } from '../core/clock.js';
import { RejectionLog } from './rejections.js';
import { Backoff, DeliveryError } from './retry.js';

export interface ProfileSender {
  readonly kind: string;
  readonly name: string;
  /** Resolves when the backend accepted the profile; throws DeliveryError otherwise. */
  send(record: ProfileRecord, signal: AbortSignal): Promise<void>;
  close?(): Promise<void>;
  /** The heap of a thread the sender works in (the file output's writer), as of its last report. */
  threadHeap?(): ThreadHeap | undefined;
}

/** A profile waiting for an output: its id, and the record when it is in memory. */
export interface QueueItem {
  readonly id: string;
  readonly record?: ProfileRecord;
  /** In a durable queue: the spool could not take it, so memory is all there is. */
  readonly memoryOnly?: boolean;
}

/** Where queued profiles live. */
export interface QueueStore {
  /** The record of an item (from memory or disk); throws when it cannot be read. */
  load(output: string, item: QueueItem): Promise<ProfileRecord>;
  /** The output is done with the item (delivered or given up on). */
  release(output: string, id: string): Promise<void>;
  /** Whether profiles left in the queue at close survive (the spool) or are lost (memory). */
  readonly durable: boolean;
}

export const memoryStore: QueueStore = {
  load: async (_output, item) => {
    if (!item.record) throw new Error(`profile ${item.id} is not in memory`);
    return item.record;
  },
  release: async () => undefined,
  durable: false,
};

/** Records a durable queue keeps in memory beside the spool (beyond: ids only). */
const DURABLE_MEMORY_BUDGET_BYTES = 16 * 1024 * 1024;

export type DropReason = 'rejected' | 'queue_full' | 'shutdown' | 'spool_full' | 'too_old' | 'output_removed' | 'corrupt';

export interface QueueStats {
  readonly sent: number;
  readonly retried: number;
  readonly dropped: number;
  readonly depth: number;
  readonly inFlight: number;
}

export interface DeliveryEvents {
  onSent?(output: string, record: ProfileRecord): void;
  onRetry?(output: string, record: ProfileRecord, err: DeliveryError, delayMs: number): void;
  /** `record` is the full record when it was in memory, else only its id. */
  onDrop?(output: string, record: ProfileRecord | { readonly id: string }, reason: DropReason, err?: DeliveryError): void;
}

export interface DeliveryQueueOptions {
  readonly sender: ProfileSender;
  readonly clock: Clock;
  readonly logger: Logger;
  readonly store?: QueueStore;
  /**
   * Count bound of what is only in memory: every item with the memory store;
   * with the spool (which bounds itself by bytes and age), the items it could
   * not take.
   */
  readonly maxQueued?: number;
  readonly concurrency?: number;
  readonly backoff?: Backoff;
  readonly events?: DeliveryEvents;
}

function isRecord(x: ProfileRecord | QueueItem): x is ProfileRecord {
  return 'pprof' in x;
}

export class DeliveryQueue {
  readonly name: string;
  private sender: ProfileSender;
  private readonly clock: Clock;
  private readonly log: Logger;
  private readonly store: QueueStore;
  private readonly maxQueued: number;
  private readonly concurrency: number;
  private readonly backoff: Backoff;
  private readonly events: DeliveryEvents;

  private pending: QueueItem[] = [];
  /**
   * Ids being sent now. The value is set when the store dropped the profile
   * meanwhile (spool bounds): if this send does not deliver it, it is
   * dropped for that reason, not retried from a file that is gone.
   */
  private readonly sending = new Map<string, DropReason | undefined>();
  private failures = 0;
  private backoffUntil = 0;
  private wakeTimer: TimerHandle | null = null;
  private closed = false;
  private readonly abort = new AbortController();
  private idleWaiters: Array<() => void> = [];
  private counts = { sent: 0, retried: 0, dropped: 0 };
  private fullSinceLastLog = 0;
  /** Bytes of records held in memory by a durable queue. */
  private heldBytes = 0;
  /** Items of a durable queue that are not in the spool (pending or in flight). */
  private memoryOnly = 0;
  /** What is said about refused profiles (a misconfigured backend refuses them all). */
  private readonly rejections: RejectionLog;

  constructor(opts: DeliveryQueueOptions) {
    this.sender = opts.sender;
    this.name = opts.sender.name;
    this.clock = opts.clock;
    this.log = opts.logger.child({ output: opts.sender.name, output_kind: opts.sender.kind });
    this.store = opts.store ?? memoryStore;
    this.maxQueued = opts.maxQueued ?? LIMITS.outputQueueProfiles;
    this.concurrency = opts.concurrency ?? LIMITS.outputConcurrency;
    this.backoff = opts.backoff ?? new Backoff();
    this.events = opts.events ?? {};
    this.rejections = new RejectionLog(this.log, this.clock, opts.sender.kind);
  }

  /** A new sender for the same output (reload changed its settings); the queue stays. */
  replaceSender(sender: ProfileSender): void {
    const old = this.sender;
    this.sender = sender;
    void old.close?.();
  }

  enqueue(entry: ProfileRecord | QueueItem): void {
    // A durable store has the bytes on disk. The queue keeps a record in
    // memory too while that stays within a small budget (no read back for
    // the usual prompt send), and only the id beyond it, so a long outage
    // costs disk, not memory.
    let item: QueueItem;
    if (!isRecord(entry)) item = entry;
    else if (!this.store.durable) item = { id: entry.id, record: entry };
    else if (this.heldBytes + entry.pprof.length <= DURABLE_MEMORY_BUDGET_BYTES) {
      item = { id: entry.id, record: entry };
      this.heldBytes += entry.pprof.length;
    } else item = { id: entry.id };
    if (this.closed) {
      if (this.lostAtClose(item)) this.drop(item, 'shutdown');
      return;
    }
    if (item.memoryOnly) this.memoryOnly++;
    // What is only in memory is bounded by count (the spool bounds itself by bytes and age).
    const over = this.store.durable ? this.memoryOnly > this.maxQueued : this.pending.length >= this.maxQueued;
    let victim: QueueItem | undefined;
    if (over) {
      const at = this.store.durable ? this.pending.findIndex((p) => p.memoryOnly) : 0;
      // When every older one is in flight, the new one is what does not fit.
      victim = at >= 0 ? this.pending.splice(at, 1)[0]! : item;
      this.done(victim);
      void this.store.release(this.name, victim.id);
      this.drop(victim, 'queue_full');
      if (this.fullSinceLastLog++ === 0) {
        this.log.warn(
          { max_queued: this.maxQueued },
          this.store.durable
            ? `output queue holds ${this.maxQueued} profiles the spool could not take, in memory: dropping the oldest of them; the backend is down and the spool cannot be written`
            : `output queue is full (${this.maxQueued} profiles): dropping the oldest; the backend is down or slower than the scrape rate`,
        );
      }
    }
    if (victim !== item) this.pending.push(item);
    this.pump();
  }

  /** Whether a profile left at close is lost: in memory only (the spool keeps the rest for the next start). */
  private lostAtClose(item: QueueItem): boolean {
    return !this.store.durable || item.memoryOnly === true;
  }

  /** The item is out of the queue for good (sent, dropped, forgotten). */
  private done(item: QueueItem): void {
    this.unhold(item);
    if (item.memoryOnly) this.memoryOnly--;
  }

  private get inFlight(): number {
    return this.sending.size;
  }

  /** Forgets items the store dropped (spool bounds, removed output). */
  forget(ids: ReadonlySet<string>, reason: DropReason): void {
    for (const id of ids) if (this.sending.has(id)) this.sending.set(id, reason);
    const keep: QueueItem[] = [];
    for (const item of this.pending) {
      if (ids.has(item.id)) {
        this.done(item);
        this.drop(item, reason);
      } else keep.push(item);
    }
    this.pending = keep;
    this.notifyIfIdle();
  }

  /** The heap of the sender's own thread, if it has one. */
  threadHeap(): ThreadHeap | undefined {
    return this.sender.threadHeap?.();
  }

  /** The backend's last answer was a failure (it is being retried with backoff). */
  get failing(): boolean {
    return this.failures > 0;
  }

  stats(): QueueStats {
    return { ...this.counts, depth: this.pending.length, inFlight: this.inFlight };
  }

  private drop(item: QueueItem, reason: DropReason, err?: DeliveryError): void {
    this.counts.dropped++;
    this.events.onDrop?.(this.name, item.record ?? { id: item.id }, reason, err);
  }

  private pump(): void {
    if (this.closed) return;
    const now = this.clock.now();
    if (now < this.backoffUntil) {
      this.wakeAt(this.backoffUntil);
      return;
    }
    while (this.inFlight < this.concurrency && this.pending.length > 0) {
      // While the backend is failing, probe with one send at a time.
      if (this.failures > 0 && this.inFlight > 0) break;
      const item = this.pending.shift()!;
      this.sending.set(item.id, undefined);
      void this.sendOne(item);
    }
    this.notifyIfIdle();
  }

  private wakeAt(at: number): void {
    if (this.wakeTimer) return;
    this.wakeTimer = this.clock.setTimer(() => {
      this.wakeTimer = null;
      this.pump();
    }, at - this.clock.now());
  }

  /** The item is done with (sent, dropped) or back on disk only. */
  private unhold(item: QueueItem): void {
    if (this.store.durable && item.record) this.heldBytes -= item.record.pprof.length;
  }

  private async sendOne(item: QueueItem): Promise<void> {
    let record: ProfileRecord;
    try {
      record = await this.store.load(this.name, item);
    } catch (err) {
      // A spool entry that cannot be read (corrupt, or dropped by the
      // spool bounds meanwhile) cannot be sent, ever.
      const forgotten = this.sending.get(item.id);
      this.sending.delete(item.id);
      this.done(item);
      this.drop(item, forgotten ?? 'corrupt');
      if (!forgotten) this.log.error({ profile_id: item.id, err: { message: (err as Error).message } }, `cannot read a queued profile, dropped: ${(err as Error).message}`);
      this.pump();
      return;
    }
    try {
      await this.sender.send(record, this.abort.signal);
      await this.store.release(this.name, item.id);
      this.done(item);
      // Delivered after all, even if the spool dropped its file meanwhile.
      this.sending.delete(item.id);
      this.counts.sent++;
      if (this.failures > 0) {
        this.log.info({ failures: this.failures }, `output recovered after ${this.failures} failed attempt(s)`);
        this.failures = 0;
      }
      if (this.fullSinceLastLog > 1) {
        this.log.warn({ dropped: this.fullSinceLastLog - 1 }, `${this.fullSinceLastLog - 1} more profile(s) were dropped while the queue was full`);
      }
      this.fullSinceLastLog = 0;
      this.rejections.accepted();
      this.events.onSent?.(this.name, record);
    } catch (e) {
      const forgotten = this.sending.get(item.id);
      this.sending.delete(item.id);
      const err = e instanceof DeliveryError ? e : new DeliveryError(`${this.name}: ${(e as Error)?.message ?? String(e)}`, true);
      if (this.closed && this.abort.signal.aborted) {
        // Abandoned at shutdown: the spool keeps it for the next start.
        if (this.lostAtClose(item)) this.drop({ id: item.id, record }, 'shutdown', err);
      } else if (err.retryable) {
        this.failures++;
        const delay = Math.min(LIMITS.retryAfterMaxMs, Math.max(this.backoff.delayMs(this.failures), err.opts.retryAfterMs ?? 0));
        this.backoffUntil = Math.max(this.backoffUntil, this.clock.now() + delay);
        const fields = { err: { message: err.message, status: err.opts.status, code: err.opts.code }, attempt: this.failures, retry_in_ms: Math.round(delay) };
        if (this.failures === 1) this.log.warn(fields, `send failed, will retry: ${err.message}`);
        else this.log.debug(fields, 'send failed again');
        if (forgotten) {
          // The spool dropped it while it was being sent: the backend is
          // retried with the next profile, this one is gone.
          this.done(item);
          this.drop({ id: item.id, record }, forgotten, err);
        } else {
          this.counts.retried++;
          this.pending.unshift(item);
          this.events.onRetry?.(this.name, record, err, delay);
        }
      } else {
        await this.store.release(this.name, item.id);
        this.done(item);
        this.drop({ id: item.id, record }, 'rejected', err);
        this.rejections.rejected(err, record);
      }
    }
    this.pump();
  }

  private notifyIfIdle(): void {
    if (this.pending.length === 0 && this.inFlight === 0 && this.idleWaiters.length > 0) {
      const w = this.idleWaiters;
      this.idleWaiters = [];
      for (const f of w) f();
    }
  }

  /** Resolves when nothing is queued or in flight, or after `timeoutMs`; returns what is left. */
  async drain(timeoutMs: number): Promise<number> {
    if (this.pending.length === 0 && this.inFlight === 0) return 0;
    await new Promise<void>((resolve) => {
      const t = this.clock.setTimer(resolve, timeoutMs);
      this.idleWaiters.push(() => {
        this.clock.clearTimer(t);
        resolve();
      });
    });
    return this.pending.length + this.inFlight;
  }

  /**
   * Stops sending and aborts sends in flight. What is left stays in a
   * durable store for the next start, or is dropped from memory. Returns how
   * many profiles were left.
   */
  async close(): Promise<number> {
    this.closed = true;
    if (this.wakeTimer) this.clock.clearTimer(this.wakeTimer);
    this.wakeTimer = null;
    const left = this.pending.length + this.inFlight;
    this.abort.abort();
    const rest = this.pending.splice(0);
    for (const item of rest) if (this.lostAtClose(item)) this.drop(item, 'shutdown');
    await this.sender.close?.();
    return left;
  }
}
