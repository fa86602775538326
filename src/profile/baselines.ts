import { TargetTypeMap } from '../core/target-type-map.js';
import type { RawBaseline as DeltaBaseline } from './raw/index.js';
import type { ProfileTypeName } from './types.js';

/**
 * Delta baselines by target identity and type. Lives outside any scheduler
 * job, so a reload that keeps a target keeps its baselines.
 */
export class BaselineStore {
  private readonly byTarget = new TargetTypeMap<DeltaBaseline>();

  get(targetId: string, type: ProfileTypeName): DeltaBaseline | undefined {
    return this.byTarget.get(targetId, type);
  }

  set(targetId: string, type: ProfileTypeName, b: DeltaBaseline): void {
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
