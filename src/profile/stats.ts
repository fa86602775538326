// Per-sample-type sums of a profile: what the derived runtime metrics (CPU
// cores, live heap, allocation rate, goroutines, lock wait) are made of.
// One pass over the samples, next to the decode it follows.

import type { Profile } from 'pprof-format';
import { int64, uint } from './codec.js';

export interface ProfileStats {
  /** Sum of each sample type (by type name) over the profile as scraped. */
  readonly scraped: Readonly<Record<string, number>>;
  /** Sums over the shipped delta (cumulative types only). */
  readonly delta?: Readonly<Record<string, number>>;
  /** The shipped profile's window, seconds (cpu: the profiling duration; deltas: between scrapes). */
  readonly windowSeconds?: number;
}

export function sumsBySampleType(p: Profile): Record<string, number> {
  const names = p.sampleType.map((st) => p.stringTable.strings[uint(st.type)] ?? '');
  const sums = names.map(() => 0n);
  for (const s of p.sample) {
    for (let i = 0; i < sums.length; i++) sums[i]! += int64(s.value[i] ?? 0);
  }
  const out: Record<string, number> = {};
  names.forEach((n, i) => {
    out[n] = Number(sums[i]);
  });
  return out;
}
