// The table that drives everything per profile type: what to request, which
// sample types become deltas, and what each backend calls the result. Code
// elsewhere looks things up here instead of switching on the type name.

export const PROFILE_TYPE_NAMES = ['cpu', 'heap', 'goroutine', 'mutex', 'block'] as const;
export type ProfileTypeName = (typeof PROFILE_TYPE_NAMES)[number];

export interface ProfileTypeSpec {
  readonly name: ProfileTypeName;
  /** Path under the pprof prefix. */
  readonly path: string;
  /** The request carries `?seconds=<profile_duration>` and holds the CPU. */
  readonly isCpu: boolean;
  /**
   * Sample types (by `type` string) that are cumulative in Go and become
   * deltas against the previous scrape. Empty: shipped as scraped.
   */
  readonly deltaSampleTypes: readonly string[];
  /** File name in the DataKit / Datadog multipart upload. */
  readonly datakitFileName: string;
  /** Pyroscope `__name__` label. */
  readonly pyroscopeName: string;
  /**
   * Advice when the scraped profile has had no samples at all for several
   * windows in a row (src/server/empty-windows.ts): for mutex and block,
   * profiling may be off in the target. Completes "no contention recorded
   * in N consecutive windows; ".
   */
  readonly emptyHint?: string;
}

export const PROFILE_TYPES: Readonly<Record<ProfileTypeName, ProfileTypeSpec>> = {
  cpu: {
    name: 'cpu',
    path: 'profile',
    isCpu: true,
    deltaSampleTypes: [],
    datakitFileName: 'cpu.pprof',
    pyroscopeName: 'process_cpu',
  },
  heap: {
    name: 'heap',
    path: 'heap',
    isCpu: false,
    deltaSampleTypes: ['alloc_objects', 'alloc_space'],
    datakitFileName: 'delta-heap.pprof',
    pyroscopeName: 'memory',
  },
  goroutine: {
    name: 'goroutine',
    path: 'goroutine',
    isCpu: false,
    deltaSampleTypes: [],
    datakitFileName: 'goroutines.pprof',
    pyroscopeName: 'goroutine',
  },
  mutex: {
    name: 'mutex',
    path: 'mutex',
    isCpu: false,
    deltaSampleTypes: ['contentions', 'delay'],
    datakitFileName: 'delta-mutex.pprof',
    pyroscopeName: 'mutex',
    emptyHint:
      'if you expected some, call runtime.SetMutexProfileFraction(5) in the target (e.g. in main): mutex profiling is off unless the process turns it on',
  },
  block: {
    name: 'block',
    path: 'block',
    isCpu: false,
    deltaSampleTypes: ['contentions', 'delay'],
    datakitFileName: 'delta-block.pprof',
    pyroscopeName: 'block',
    emptyHint:
      'if you expected some, call runtime.SetBlockProfileRate(10000) in the target (e.g. in main): block profiling is off unless the process turns it on',
  },
};

export function isProfileTypeName(s: string): s is ProfileTypeName {
  return (PROFILE_TYPE_NAMES as readonly string[]).includes(s);
}

export function isCumulative(type: ProfileTypeName): boolean {
  return PROFILE_TYPES[type].deltaSampleTypes.length > 0;
}
