// Cron schedules ([inputs.profile.go.schedule]): croner reads the pattern
// and says when it runs next; the scheduler's one timer does the firing.
// croner's own timers are not used: they run on the real clock (schedule
// tests drive a fake one), one timer per job, and have no per-job offset, so
// a thousand targets on "0 */5 * * * *" would all fire in second 0. Here each
// job runs at a stable phase after every scheduled second, within a bounded
// spread window (the same stable hash as interval jobs), and the no-overlap
// rule is the scheduler's (what croner's `protect` does).

import type { Cron } from 'croner';
import { parseCron } from '../core/cron-pattern.js';
import { stableHash } from '../core/hash.js';

export interface CronSlotsOptions {
  /** Jobs are spread over this much after each scheduled second (capped by the shortest gap). */
  readonly spreadMs: number;
  /** The shortest gap between runs (from checkCron at config time). */
  readonly minGapMs: number;
  /** IANA zone the pattern is read in; default: the process's local time. */
  readonly timezone?: string;
}

/**
 * The slots of one pattern, shared by every job on it: job `key` runs at
 * `run + phase(key)` for every run of the pattern.
 */
export class CronSlots {
  private readonly cron: Cron;
  /** Width of the phase window, ms (at least 1). */
  readonly windowMs: number;
  /** Identity: jobs whose slots' id changes are moved to the new slots. */
  readonly id: string;
  /** Memo of the last answer: every `after` in [lo, run) has the next run `run`. */
  private memo = { lo: Infinity, run: Infinity };

  constructor(
    readonly pattern: string,
    opts: CronSlotsOptions,
  ) {
    this.cron = parseCron(pattern, opts.timezone);
    this.windowMs = Math.max(1, Math.floor(Math.min(opts.spreadMs, opts.minGapMs)));
    this.id = `cron ${pattern} tz=${opts.timezone ?? ''} window=${this.windowMs}`;
  }

  phaseOf(key: string): number {
    return stableHash(key) % this.windowMs;
  }

  /** The first run strictly after `after` (Unix ms), or Infinity when there is none. */
  runAfter(after: number): number {
    const m = this.memo;
    if (after >= m.lo && after < m.run) return m.run;
    // croner drops the milliseconds of its reference and answers strictly
    // after that whole second, which is what "after `after`" needs.
    const next = this.cron.nextRun(new Date(after));
    const run = next ? next.getTime() : Infinity;
    this.memo = run === m.run ? { lo: Math.min(m.lo, after), run } : { lo: after, run };
    return run;
  }

  /** The job's first fire time after `now` (or at `now`, inclusive). */
  next(now: number, phaseMs: number, inclusive: boolean): number {
    return this.runAfter(now - phaseMs - (inclusive ? 1 : 0)) + phaseMs;
  }

  /** The next `n` runs of the pattern after `from` (without any phase). */
  nextRuns(from: number, n: number): number[] {
    const out: number[] = [];
    let t = from;
    while (out.length < n) {
      t = this.runAfter(t);
      if (t === Infinity) break;
      out.push(t);
    }
    return out;
  }
}
