import { TargetTypeMap } from '../core/target-type-map.js';
import type { RawBaseline } from './raw/index.js';
import type { ProfileTypeName } from './types.js';

/**
 * The time of the last godeltaprof read of a target and type (collector
 * clock, Unix ns): the next read's delta starts there. godeltaprof keeps
 * the values in the target, so this is all the collector keeps.
 */
export interface ReadMark {
  readonly kind: 'godeltaprof-read';
  readonly timeNanos: bigint;
}

/** What the next scrape of a cumulative type continues from. */
export type StoredBaseline = RawBaseline | ReadMark;

export function isReadMark(b: StoredBaseline | undefined): b is ReadMark {
  return b !== undefined && 'kind' in b && b.kind === 'godeltaprof-read';
}

/**
 * Delta baselines by target identity and type. Lives outside any scheduler
 * job, so a reload that keeps a target keeps its baselines.
 */
export class BaselineStore {
  private readonly byTarget = new TargetTypeMap<StoredBaseline>();

  get(targetId: string, type: ProfileTypeName): StoredBaseline | undefined {
    return this.byTarget.get(targetId, type);
  }

  set(targetId: string, type: ProfileTypeName, b: StoredBaseline): void {
    this.byTarget.set(targetId, type, b);
  }

  /** Forgets targets that are gone (after a reload). */
  retainTargets(targetIds: ReadonlySet<string>): void {
    this.byTarget.retainTargets(targetIds);
  }

  get size(): number {
    return this.byTarget.size;
  }
}
