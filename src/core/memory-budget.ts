// [agent] memory_limit: an upper bound on the bytes of scraped bodies,
// decoded profiles and queued work the collector holds at once. A scrape
// reserves an estimate before it is fetched; when the reservation does not
// fit, the scrape waits briefly or is skipped, never fetched and then
// dropped (a godeltaprof read moves the target's baseline: reading it and
// dropping the result would lose that window for good).
//
// Once the body is read its bytes are held whatever the budget says, so
// resizing a reservation always succeeds: in-use may pass the limit for a
// moment, the peak shows it, and new scrapes wait until it is back under.

import { whenAborted } from './abort-listeners.js';
import type { Clock, TimerHandle } from './clock.js';

export interface Reservation {
  /** Bytes this reservation holds now. */
  readonly bytes: number;
  /** The real size is known (the body was read): hold `n` instead. Always succeeds. */
  resize(n: number): void;
  /** Gives the bytes back; once (later calls do nothing). */
  release(): void;
}

interface Waiter {
  readonly bytes: number;
  readonly resolve: (r: Reservation | null) => void;
  timer?: TimerHandle;
}

export class MemoryBudget {
  private limitBytes: number;
  private used = 0;
  private peakBytes = 0;
  /** Reservations waiting for room, oldest first (taken in order, so a large one is not starved). */
  private readonly waiters: Waiter[] = [];

  constructor(limitBytes: number) {
    this.limitBytes = limitBytes;
  }

  get limit(): number {
    return this.limitBytes;
  }

  get inUse(): number {
    return this.used;
  }

  /** The most held at once since the start. */
  get peak(): number {
    return this.peakBytes;
  }

  /** A new limit (a reload): waiters that fit now go ahead. */
  resize(limitBytes: number): void {
    this.limitBytes = limitBytes;
    this.wake();
  }

  /**
   * Holds `n` bytes now, or null when they do not fit beside what is held.
   * A request larger than the whole limit is cut to the limit: it runs when
   * nothing else is held, rather than never.
   */
  reserve(n: number): Reservation | null {
    const bytes = this.clamp(n);
    if (this.waiters.length > 0 || !this.fits(bytes)) return null;
    return this.take(bytes);
  }

  /**
   * Like reserve, but waits up to `waitMs` on `clock` for room (reservations
   * released meanwhile); null when there is still none, or `signal` aborts.
   */
  reserveWithin(n: number, clock: Clock, waitMs: number, signal?: AbortSignal): Promise<Reservation | null> {
    const now = this.reserve(n);
    if (now || waitMs <= 0 || signal?.aborted) return Promise.resolve(now);
    return new Promise((resolve) => {
      let forget: () => unknown = () => undefined;
      const w: Waiter = {
        bytes: this.clamp(n),
        resolve: (r) => {
          if (w.timer !== undefined) clock.clearTimer(w.timer);
          forget();
          resolve(r);
        },
      };
      const giveUp = () => {
        const i = this.waiters.indexOf(w);
        if (i < 0) return;
        this.waiters.splice(i, 1);
        w.resolve(null);
        // The head may have been the one holding the others back.
        this.wake();
      };
      w.timer = clock.setTimer(giveUp, waitMs);
      // Every scheduled job shares the scheduler's one signal: one listener on it for all waiters.
      if (signal) forget = whenAborted(signal, giveUp);
      this.waiters.push(w);
    });
  }

  private clamp(n: number): number {
    return Math.max(0, Math.min(Math.ceil(n), this.limitBytes));
  }

  private fits(bytes: number): boolean {
    return this.used + bytes <= this.limitBytes;
  }

  private take(initial: number): Reservation {
    let held = initial;
    let released = false;
    this.add(held);
    const budget = this;
    return {
      get bytes() {
        return released ? 0 : held;
      },
      resize(n: number) {
        if (released) return;
        const next = Math.max(0, Math.ceil(n));
        budget.add(next - held);
        held = next;
        budget.wake();
      },
      release() {
        if (released) return;
        released = true;
        budget.add(-held);
        held = 0;
        budget.wake();
      },
    };
  }

  private add(delta: number): void {
    this.used += delta;
    if (this.used > this.peakBytes) this.peakBytes = this.used;
  }

  /** Hands room to the waiters that fit, oldest first. */
  private wake(): void {
    while (this.waiters.length > 0) {
      const w = this.waiters[0]!;
      const bytes = Math.min(w.bytes, this.limitBytes);
      if (!this.fits(bytes)) return;
      this.waiters.shift();
      w.resolve(this.take(bytes));
    }
  }
}
