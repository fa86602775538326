// A manual clock for schedule tests: time moves only when the test says so.
// `advance(ms)` fires due timers one at a time in time order (ties in the
// order they were set), and lets pending promise continuations run between
// timers, so async jobs behave as they would on the real event loop, only
// exactly and instantly.

import type { Clock, TimerHandle } from '../../src/core/clock.js';

interface FakeTimer {
  readonly at: number;
  readonly seq: number;
  readonly fn: () => void;
}

/** Lets every queued microtask (and the ones they queue) run. */
export function flushMicrotasks(): Promise<void> {
  return new Promise((resolve) => setImmediate(resolve));
}

export class FakeClock implements Clock {
  private t: number;
  private seq = 0;
  private readonly timers = new Map<object, FakeTimer>();
  /** Every setTimer call, for tests that count timers. */
  timersSet = 0;

  constructor(startMs = 1_700_000_000_000) {
    this.t = startMs;
  }

  now(): number {
    return this.t;
  }

  setTimer(fn: () => void, delayMs: number): TimerHandle {
    const handle = {};
    this.timers.set(handle, { at: this.t + Math.max(0, delayMs), seq: this.seq++, fn });
    this.timersSet++;
    return handle;
  }

  clearTimer(handle: TimerHandle): void {
    this.timers.delete(handle);
  }

  /** Timers set and not yet fired or cleared. */
  get pending(): number {
    return this.timers.size;
  }

  /** Time of the earliest pending timer, or undefined. */
  nextTimerAt(): number | undefined {
    let best: FakeTimer | undefined;
    for (const t of this.timers.values()) if (!best || t.at < best.at || (t.at === best.at && t.seq < best.seq)) best = t;
    return best?.at;
  }

  /**
   * Moves time forward by `ms`, firing every timer that comes due on the way
   * (including ones set by the timers themselves), in time order.
   */
  async advance(ms: number, maxTimers = 100_000): Promise<void> {
    if (ms < 0) throw new Error('time does not go backwards here');
    const end = this.t + ms;
    let fired = 0;
    for (;;) {
      await flushMicrotasks();
      let next: [object, FakeTimer] | undefined;
      for (const e of this.timers) {
        const [, t] = e;
        if (t.at > end) continue;
        if (!next || t.at < next[1].at || (t.at === next[1].at && t.seq < next[1].seq)) next = e;
      }
      if (!next) break;
      if (++fired > maxTimers) throw new Error(`more than ${maxTimers} timers fired in one advance: a timer loop?`);
      this.timers.delete(next[0]);
      this.t = Math.max(this.t, next[1].at);
      next[1].fn();
    }
    this.t = end;
    await flushMicrotasks();
  }

  /**
   * The process was frozen for `ms` (GC pause, suspended VM, blocked event
   * loop): time passes and nothing fires. Overdue timers fire, late, on the
   * next `advance`.
   */
  stall(ms: number): void {
    this.t += ms;
  }

  /**
   * The wall clock is stepped (NTP, VM restore) by `deltaMs`, which may be
   * negative. Pending timers still fire after the same real delay, so their
   * due times move with the clock.
   */
  stepWallClock(deltaMs: number): void {
    this.t += deltaMs;
    for (const [h, timer] of this.timers) this.timers.set(h, { ...timer, at: timer.at + deltaMs });
  }
}
