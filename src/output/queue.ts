// Per-output delivery: a bounded queue, a few sends at a time, and one
// backoff for the whole output when its backend fails (a dead backend gets one
// probe per backoff step, not a burst per profile). A slow or dead output
// only ever delays itself: enqueue never waits.
//
// This queue is in memory; it is the seam where the on-disk spool plugs in.

import { LIMITS } from '../limits.js';
import type { Logger } from '../log.js';
import type { ProfileRecord } from '../profile/record.js';
import type { Clock, TimerHandle } from '../schedule/clock.js';
import { Backoff, DeliveryError } from './retry.js';

export interface ProfileSender {
  readonly kind: string;
  readonly name: string;
  /** Resolves when the backend accepted the profile; throws DeliveryError otherwise. */
  send(record: ProfileRecord, signal: AbortSignal): Promise<void>;
  close?(): Promise<void>;
}

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
  onDrop?(output: string, record: ProfileRecord, reason: 'rejected' | 'queue_full' | 'shutdown', err?: DeliveryError): void;
}

export interface DeliveryQueueOptions {
  readonly sender: ProfileSender;
  readonly clock: Clock;
  readonly logger: Logger;
  readonly maxQueued?: number;
  readonly concurrency?: number;
  readonly backoff?: Backoff;
  readonly events?: DeliveryEvents;
}

export class DeliveryQueue {
  readonly name: string;
  private readonly sender: ProfileSender;
  private readonly clock: Clock;
  private readonly log: Logger;
  private readonly maxQueued: number;
  private readonly concurrency: number;
  private readonly backoff: Backoff;
  private readonly events: DeliveryEvents;

  private readonly pending: ProfileRecord[] = [];
  private inFlight = 0;
  private failures = 0;
  private backoffUntil = 0;
  private wakeTimer: TimerHandle | null = null;
  private closed = false;
  private readonly abort = new AbortController();
  private idleWaiters: Array<() => void> = [];
  private counts = { sent: 0, retried: 0, dropped: 0 };
  private fullSinceLastLog = 0;

  constructor(opts: DeliveryQueueOptions) {
    this.sender = opts.sender;
    this.name = opts.sender.name;
    this.clock = opts.clock;
    this.log = opts.logger.child({ output: opts.sender.name, output_kind: opts.sender.kind });
    this.maxQueued = opts.maxQueued ?? LIMITS.outputQueueProfiles;
    this.concurrency = opts.concurrency ?? LIMITS.outputConcurrency;
    this.backoff = opts.backoff ?? new Backoff();
    this.events = opts.events ?? {};
  }

  enqueue(record: ProfileRecord): void {
    if (this.closed) {
      this.drop(record, 'shutdown');
      return;
    }
    if (this.pending.length >= this.maxQueued) {
      const oldest = this.pending.shift()!;
      this.drop(oldest, 'queue_full');
      if (this.fullSinceLastLog++ === 0) {
        this.log.warn(
          { max_queued: this.maxQueued },
          `output queue is full (${this.maxQueued} profiles): dropping the oldest; the backend is down or slower than the scrape rate`,
        );
      }
    }
    this.pending.push(record);
    this.pump();
  }

  stats(): QueueStats {
    return { ...this.counts, depth: this.pending.length, inFlight: this.inFlight };
  }

  private drop(record: ProfileRecord, reason: 'rejected' | 'queue_full' | 'shutdown', err?: DeliveryError): void {
    this.counts.dropped++;
    this.events.onDrop?.(this.name, record, reason, err);
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
      const record = this.pending.shift()!;
      this.inFlight++;
      void this.sendOne(record);
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

  private async sendOne(record: ProfileRecord): Promise<void> {
    try {
      await this.sender.send(record, this.abort.signal);
      this.inFlight--;
      this.counts.sent++;
      if (this.failures > 0) {
        this.log.info({ failures: this.failures }, `output recovered after ${this.failures} failed attempt(s)`);
        this.failures = 0;
      }
      if (this.fullSinceLastLog > 1) {
        this.log.warn({ dropped: this.fullSinceLastLog - 1 }, `${this.fullSinceLastLog - 1} more profile(s) were dropped while the queue was full`);
      }
      this.fullSinceLastLog = 0;
      this.events.onSent?.(this.name, record);
    } catch (e) {
      this.inFlight--;
      const err = e instanceof DeliveryError ? e : new DeliveryError(`${this.name}: ${(e as Error)?.message ?? String(e)}`, true);
      if (this.closed && this.abort.signal.aborted) {
        this.drop(record, 'shutdown', err);
      } else if (err.retryable) {
        this.failures++;
        this.counts.retried++;
        const delay = Math.min(LIMITS.retryAfterMaxMs, Math.max(this.backoff.delayMs(this.failures), err.opts.retryAfterMs ?? 0));
        this.backoffUntil = Math.max(this.backoffUntil, this.clock.now() + delay);
        this.pending.unshift(record);
        const fields = { err: { message: err.message, status: err.opts.status, code: err.opts.code }, attempt: this.failures, retry_in_ms: Math.round(delay) };
        if (this.failures === 1) this.log.warn(fields, `send failed, will retry: ${err.message}`);
        else this.log.debug(fields, 'send failed again');
        this.events.onRetry?.(this.name, record, err, delay);
      } else {
        this.drop(record, 'rejected', err);
        this.log.error(
          { err: { message: err.message, status: err.opts.status }, response: err.opts.body, profile_id: record.id, type: record.type, service: record.service },
          `backend rejected the profile, dropped (not retried): ${err.message}`,
        );
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

  /** Stops sending: aborts sends in flight and drops what is left (the spool keeps it once it exists). */
  async close(): Promise<number> {
    this.closed = true;
    if (this.wakeTimer) this.clock.clearTimer(this.wakeTimer);
    this.wakeTimer = null;
    this.abort.abort();
    const left = this.pending.splice(0);
    for (const r of left) this.drop(r, 'shutdown');
    await this.sender.close?.();
    return left.length;
  }
}
