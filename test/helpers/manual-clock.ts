// A Clock (src/schedule/clock.ts) that moves only when the test says so.

import type { Clock, TimerHandle } from '../../src/schedule/clock.js';

interface Timer {
  readonly at: number;
  readonly fn: () => void;
  readonly seq: number;
}

export class ManualClock implements Clock {
  private t: number;
  private seq = 0;
  private readonly timers = new Map<object, Timer>();
  /** Every delay ever passed to setTimer, in order. */
  readonly requestedDelays: number[] = [];

  constructor(startMs = 1_763_772_312_000) {
    this.t = startMs;
  }

  now(): number {
    return this.t;
  }

  setTimer(fn: () => void, delayMs: number): TimerHandle {
    const h = {};
    this.requestedDelays.push(delayMs);
    this.timers.set(h, { at: this.t + Math.max(0, delayMs), fn, seq: this.seq++ });
    return h;
  }

  clearTimer(handle: TimerHandle): void {
    this.timers.delete(handle);
  }

  get pendingTimers(): number {
    return this.timers.size;
  }

  /** Moves time forward, firing due timers in order. */
  advance(ms: number): void {
    const end = this.t + ms;
    for (let guard = 0; guard < 10_000; guard++) {
      let next: [object, Timer] | undefined;
      for (const e of this.timers) if (e[1].at <= end && (!next || e[1].at < next[1].at || (e[1].at === next[1].at && e[1].seq < next[1].seq))) next = e;
      if (!next) break;
      this.timers.delete(next[0]);
      this.t = Math.max(this.t, next[1].at);
      next[1].fn();
    }
    this.t = end;
  }
}
