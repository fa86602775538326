// A stable hash of a string: the same number in every process and on every
// platform, for decisions that must not move between restarts (a job's
// phase, a target's profile worker).

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
