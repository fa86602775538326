// Cron patterns with seconds, read by croner: parsing with errors in words,
// the next runs, and the shortest gap between runs. Shared by the config
// (validation, --check) and the scheduler (src/schedule/cron.ts).

import { Cron } from 'croner';

/** How far ahead the shortest gap between runs is looked for (bounded work per pattern). */
const GAP_LOOKAHEAD_RUNS = 500;
const GAP_LOOKAHEAD_MS = 8 * 24 * 3600_000;

export interface CronCheck {
  /** The shortest gap between two runs in the lookahead (Infinity when it runs once). */
  readonly minGapMs: number;
  /** The first runs after `from`, Unix ms. */
  readonly next: readonly number[];
}

/**
 * Parses a six-field pattern (second minute hour day-of-month month
 * day-of-week). Throws an Error whose message says what is wrong (the
 * caller says how to write one).
 */
export function parseCron(pattern: string, timezone?: string): Cron {
  const fields = pattern.trim().split(/\s+/).filter((f) => f !== '');
  if (fields.length !== 6) {
    throw new Error(pattern.trim().startsWith('@') ? 'a nickname like @hourly has no seconds field' : `${fields.length} field(s), not six`);
  }
  try {
    return new Cron(pattern, { paused: true, mode: '6-part', ...(timezone ? { timezone } : {}) });
  } catch (err) {
    throw new Error((err as Error).message.replace(/^CronPattern: /, ''));
  }
}

/** The next `n` runs after `from` and the shortest gap between runs (bounded lookahead). */
export function checkCron(cron: Cron, from: number, n = 3): CronCheck {
  const runs: number[] = [];
  let minGapMs = Infinity;
  let at: Date | null = new Date(from);
  while (runs.length < GAP_LOOKAHEAD_RUNS) {
    at = cron.nextRun(at);
    if (!at) break;
    const t = at.getTime();
    const prev = runs[runs.length - 1];
    if (prev !== undefined) minGapMs = Math.min(minGapMs, t - prev);
    runs.push(t);
    if (runs.length >= Math.max(2, n) && t - runs[0]! > GAP_LOOKAHEAD_MS) break;
  }
  return { minGapMs, next: runs.slice(0, n) };
}

