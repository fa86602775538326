// Each job fires at a fixed offset inside its interval, derived from a stable
// hash of its key (target identity + type). A thousand targets spread over the
// interval instead of firing in the same second, and a restarted collector
// fires each job at the same offset as before.

/** FNV-1a, 32 bit: stable across processes and platforms. */
export function stableHash(s: string): number {
  let h = 0x811c9dc5;
  for (let i = 0; i < s.length; i++) {
    h ^= s.charCodeAt(i);
    h = Math.imul(h, 0x01000193);
  }
  // Final avalanche so similar keys land far apart.
  h ^= h >>> 16;
  h = Math.imul(h, 0x85ebca6b);
  h ^= h >>> 13;
  return h >>> 0;
}

export function phaseOf(key: string, intervalMs: number): number {
  return stableHash(key) % Math.max(1, Math.floor(intervalMs));
}

/** The first fire time strictly after `now` (or at `now` with inclusive) of the slot grid. */
export function nextSlot(now: number, intervalMs: number, phaseMs: number, inclusive = false): number {
  const offset = (((now - phaseMs) % intervalMs) + intervalMs) % intervalMs;
  if (offset === 0 && inclusive) return now;
  return now - offset + intervalMs;
}
