// At most one CPU profile in flight per target process (host:port), even when
// the same process is listed twice: Go allows one CPU profiler per process,
// and a second request would fail with "cpu profiling already in use" after
// doubling the load we put on the service. Listings of one process take
// their windows in turn (first come, first served) instead of one of them
// never getting a window.

import { whenAborted } from '../core/abort-listeners.js';
import type { Clock, TimerHandle } from '../core/clock.js';

export type ReleaseCpu = () => void;

interface Waiter {
  readonly grant: (release: ReleaseCpu | null) => void;
}

export interface AcquireOptions {
  /** Give up (null) when the process is still busy after this long. */
  readonly maxWaitMs: number;
  readonly signal?: AbortSignal;
}

export class CpuProfileGate {
  private readonly held = new Set<string>();
  private readonly waiters = new Map<string, Waiter[]>();

  constructor(private readonly clock: Clock) {}

  /** A release function now, or null when a CPU profile of `instance` is in flight. */
  tryAcquire(instance: string): ReleaseCpu | null {
    if (this.held.has(instance)) return null;
    this.held.add(instance);
    return this.releaser(instance);
  }

  /** Waits (bounded, FIFO) for the process's CPU; null when the wait ran out or was aborted. */
  acquire(instance: string, opts: AcquireOptions): Promise<ReleaseCpu | null> {
    const now = this.tryAcquire(instance);
    if (now || opts.maxWaitMs <= 0 || opts.signal?.aborted) return Promise.resolve(now);
    return new Promise((resolve) => {
      let timer: TimerHandle | null = null;
      let stopWaiting = (): void => undefined;
      const finish = (release: ReleaseCpu | null, remove: boolean) => {
        if (timer) this.clock.clearTimer(timer);
        timer = null;
        stopWaiting();
        if (remove) {
          const q = this.waiters.get(instance) ?? [];
          const i = q.indexOf(waiter);
          if (i >= 0) q.splice(i, 1);
          if (q.length === 0) this.waiters.delete(instance);
        }
        resolve(release);
      };
      const waiter: Waiter = { grant: (release) => finish(release, false) };
      const q = this.waiters.get(instance) ?? [];
      q.push(waiter);
      this.waiters.set(instance, q);
      timer = this.clock.setTimer(() => finish(null, true), opts.maxWaitMs);
      if (opts.signal) stopWaiting = whenAborted(opts.signal, () => finish(null, true));
    });
  }

  private releaser(instance: string): ReleaseCpu {
    let released = false;
    return () => {
      if (released) return;
      released = true;
      const q = this.waiters.get(instance);
      const next = q?.shift();
      if (q && q.length === 0) this.waiters.delete(instance);
      if (next) next.grant(this.releaser(instance)); // hand over; the instance stays held
      else this.held.delete(instance);
    };
  }

  isHeld(instance: string): boolean {
    return this.held.has(instance);
  }

  waiting(instance: string): number {
    return this.waiters.get(instance)?.length ?? 0;
  }
}

/** How long a shortened CPU window stays before a longer one is tried again. */
export const CPU_WINDOW_REGROW_MS = 10 * 60_000;

/**
 * The CPU window per target. Starts at profile_duration; a 400 "profile
 * duration exceeds server's WriteTimeout" halves it (Go does not say its
 * WriteTimeout, so halving finds a window that fits in a few scrapes). A
 * shortened window is not for ever: every CPU_WINDOW_REGROW_MS the next scrape
 * tries twice the window (up to profile_duration), so a service whose
 * WriteTimeout was raised gets its full window back without a restart; a
 * probe that still does not fit costs one window and is tried again later.
 */
export class CpuWindows {
  private readonly shortened = new Map<string, { seconds: number; sinceMs: number }>();

  constructor(private readonly now: () => number = Date.now) {}

  seconds(targetId: string, configuredMs: number): number {
    const configured = Math.max(1, Math.round(configuredMs / 1000));
    const s = this.shortened.get(targetId);
    if (!s) return configured;
    const probing = this.now() - s.sinceMs >= CPU_WINDOW_REGROW_MS;
    return Math.min(configured, probing ? s.seconds * 2 : s.seconds);
  }

  /** Whether a window of `seconds` is a probe past the window known to fit. */
  isProbe(targetId: string, seconds: number): boolean {
    const s = this.shortened.get(targetId);
    return s !== undefined && seconds > s.seconds;
  }

  /**
   * A 400 for a window of `currentSeconds`: returns the window to use next,
   * or null when it cannot get shorter than 1s. A failed probe goes back to
   * the window known to fit, for another CPU_WINDOW_REGROW_MS.
   */
  shorten(targetId: string, currentSeconds: number): number | null {
    const s = this.shortened.get(targetId);
    if (s && currentSeconds > s.seconds) {
      s.sinceMs = this.now();
      return s.seconds;
    }
    if (currentSeconds <= 1) return null;
    const next = Math.max(1, Math.floor(currentSeconds / 2));
    this.shortened.set(targetId, { seconds: next, sinceMs: this.now() });
    return next;
  }

  /** A CPU profile of `seconds` worked: a probe that fit becomes the window (or the full one). */
  fits(targetId: string, seconds: number, configuredMs: number): void {
    const s = this.shortened.get(targetId);
    if (!s || seconds <= s.seconds) return;
    if (seconds >= Math.max(1, Math.round(configuredMs / 1000))) this.shortened.delete(targetId);
    else this.shortened.set(targetId, { seconds, sinceMs: this.now() });
  }

  retainTargets(ids: ReadonlySet<string>): void {
    for (const id of this.shortened.keys()) if (!ids.has(id)) this.shortened.delete(id);
  }
}
