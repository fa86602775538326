// Per-sample-type sums of a profile: what the derived runtime metrics (CPU
// cores, live heap, allocation rate, goroutines, lock wait) are made of.
// Computed by src/profile/raw/ in the same pass that validates the samples.


export interface ProfileStats {
  /** Sum of each sample type (by type name) over the profile as scraped. */
  readonly scraped: Readonly<Record<string, number>>;
  /** Sums over the shipped delta (cumulative types only). */
  readonly delta?: Readonly<Record<string, number>>;
  /** The shipped profile's window, seconds (cpu: the profiling duration; deltas: between scrapes). */
  readonly windowSeconds?: number;
}
