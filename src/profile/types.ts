// The table that drives everything per profile type: what to request, which
// sample types become deltas, and what each backend calls the result. The
// built-in types are below; [[inputs.profile.go.custom]] blocks add types of
// the same shape to their target (GoTargetConfig.customTypes), so built-in
// and custom types go through the same code. Code elsewhere looks a type up
// here (typeSpec) instead of switching on its name.

/** A type's name: a built-in one, or a custom one from the config. */
export type ProfileTypeName = string;

/** Every built-in type, in scraping order. */
export const BUILTIN_TYPE_NAMES = ['cpu', 'heap', 'goroutine', 'mutex', 'block', 'allocs', 'threadcreate'] as const;
export type BuiltinTypeName = (typeof BUILTIN_TYPE_NAMES)[number];

/** What a target scrapes when its block has no enabled_types. */
export const DEFAULT_TYPE_NAMES = ['cpu', 'heap', 'goroutine', 'mutex', 'block'] as const;
export type DefaultTypeName = (typeof DEFAULT_TYPE_NAMES)[number];

export interface ProfileTypeSpec {
  readonly name: ProfileTypeName;
  /**
   * Where to request it: under the target's pprof prefix ("heap"), or from
   * the root of its host when it starts with "/" ("/debug/fgprof").
   */
  readonly path: string;
  /** The request carries `?seconds=<profile_duration>`: the profile covers a window from the request on. */
  readonly seconds: boolean;
  /** It is the process's CPU profiler: one in flight per process, shared with cpu. */
  readonly cpuProfiler: boolean;
  /**
   * Sample types (by `type` string) that are cumulative in the target and
   * become deltas against the previous scrape. Empty: shipped as scraped.
   */
  readonly deltaSampleTypes: readonly string[];
  /** File name in the DataKit / Datadog multipart upload. */
  readonly datakitFileName: string;
  /** Pyroscope `__name__` label. */
  readonly pyroscopeName: string;
  /**
   * godeltaprof's path for this type, under the pprof prefix: the same
   * deltas, computed in the target (see delta_source).
   */
  readonly godeltaprofPath?: string;
  /**
   * Advice when the scraped profile has had no samples at all for several
   * windows in a row (src/server/empty-windows.ts): for mutex and block,
   * profiling may be off in the target. Completes "no contention recorded
   * in N consecutive windows; ".
   */
  readonly emptyHint?: string;
  /** Declared by a [[inputs.profile.go.custom]] block. */
  readonly custom?: boolean;
}

const HEAP_DELTAS = ['alloc_objects', 'alloc_space'];
const LOCK_DELTAS = ['contentions', 'delay'];

export const PROFILE_TYPES: Readonly<Record<BuiltinTypeName, ProfileTypeSpec>> = {
  cpu: { name: 'cpu', path: 'profile', seconds: true, cpuProfiler: true, deltaSampleTypes: [], datakitFileName: 'cpu.pprof', pyroscopeName: 'process_cpu' },
  heap: {
    name: 'heap',
    path: 'heap',
    seconds: false,
    cpuProfiler: false,
    deltaSampleTypes: HEAP_DELTAS,
    datakitFileName: 'delta-heap.pprof',
    pyroscopeName: 'memory',
    godeltaprofPath: 'delta_heap',
  },
  goroutine: { name: 'goroutine', path: 'goroutine', seconds: false, cpuProfiler: false, deltaSampleTypes: [], datakitFileName: 'goroutines.pprof', pyroscopeName: 'goroutine' },
  mutex: {
    name: 'mutex',
    path: 'mutex',
    seconds: false,
    cpuProfiler: false,
    deltaSampleTypes: LOCK_DELTAS,
    datakitFileName: 'delta-mutex.pprof',
    pyroscopeName: 'mutex',
    godeltaprofPath: 'delta_mutex',
    emptyHint:
      'if you expected some, call runtime.SetMutexProfileFraction(5) in the target (e.g. in main): mutex profiling is off unless the process turns it on',
  },
  block: {
    name: 'block',
    path: 'block',
    seconds: false,
    cpuProfiler: false,
    deltaSampleTypes: LOCK_DELTAS,
    datakitFileName: 'delta-block.pprof',
    pyroscopeName: 'block',
    godeltaprofPath: 'delta_block',
    emptyHint:
      'if you expected some, call runtime.SetBlockProfileRate(10000) in the target (e.g. in main): block profiling is off unless the process turns it on',
  },
  // Go serves the heap profile under this name too, with alloc_space as its
  // default sample type. Its own names, so that a target with both heap and
  // allocs does not add the same allocations twice in one Pyroscope series.
  allocs: { name: 'allocs', path: 'allocs', seconds: false, cpuProfiler: false, deltaSampleTypes: HEAP_DELTAS, datakitFileName: 'delta-allocs.pprof', pyroscopeName: 'allocs' },
  // Threads created, by stack, since the process started: shipped as
  // scraped (a delta would be empty nearly always: Go rarely makes threads).
  threadcreate: { name: 'threadcreate', path: 'threadcreate', seconds: false, cpuProfiler: false, deltaSampleTypes: [], datakitFileName: 'threadcreate.pprof', pyroscopeName: 'threadcreate' },
};

export function isBuiltinType(s: string): s is BuiltinTypeName {
  return (BUILTIN_TYPE_NAMES as readonly string[]).includes(s);
}

/** A type's spec: a built-in one, or one of `custom` (a target's customTypes). Throws for a name that is neither. */
export function typeSpec(name: ProfileTypeName, custom: readonly ProfileTypeSpec[] | undefined): ProfileTypeSpec {
  const found = isBuiltinType(name) ? PROFILE_TYPES[name] : custom?.find((s) => s.name === name);
  if (!found) throw new Error(`unknown profile type "${name}"`);
  return found;
}

export function isCumulative(spec: ProfileTypeSpec): boolean {
  return spec.deltaSampleTypes.length > 0;
}

/** The names a profile of this type ships under. */
export function shipNames(spec: ProfileTypeSpec): { readonly datakitFileName: string; readonly pyroscopeName: string } {
  return { datakitFileName: spec.datakitFileName, pyroscopeName: spec.pyroscopeName };
}

/** The URL of a type's profile for a target whose base URL (origin plus pprof prefix) is `baseUrl`. */
export function profileUrl(baseUrl: string, path: string): string {
  return path.startsWith('/') ? `${new URL(baseUrl).origin}${path}` : `${baseUrl}/${path}`;
}

/** What a custom type's name may look like (it names files, metrics and Pyroscope series). */
export const CUSTOM_TYPE_NAME = /^[a-z][a-z0-9_]{0,31}$/;
