// Each job fires at a fixed offset inside its interval, derived from a stable
// hash of its key (target identity + type). A thousand targets spread over the
// interval instead of firing in the same second, and a restarted collector
// fires each job at the same offset as before.

import { stableHash } from '../core/hash.js';

export function phaseOf(key: string, intervalMs: number): number {
  return stableHash(key) % Math.max(1, Math.floor(intervalMs));
}

/** The first fire time strictly after `now` (or at `now` with inclusive) of the slot grid. */
export function nextSlot(now: number, intervalMs: number, phaseMs: number, inclusive = false): number {
  const offset = (((now - phaseMs) % intervalMs) + intervalMs) % intervalMs;
  if (offset === 0 && inclusive) return now;
  return now - offset + intervalMs;
}
