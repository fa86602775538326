import type { DeltaBaseline } from './delta.js';
import type { ProfileTypeName } from './types.js';

/**
 * Delta baselines by target identity and type. Lives outside any scheduler
 * job, so a reload that keeps a target keeps its baselines.
 */
export class BaselineStore {
  private readonly byKey = new Map<string, DeltaBaseline>();

  private static key(targetId: string, type: ProfileTypeName): string {
    return `${targetId}/${type}`;
  }

  get(targetId: string, type: ProfileTypeName): DeltaBaseline | undefined {
    return this.byKey.get(BaselineStore.key(targetId, type));
  }

  set(targetId: string, type: ProfileTypeName, b: DeltaBaseline): void {
    this.byKey.set(BaselineStore.key(targetId, type), b);
  }

  /** Forgets targets that are gone (after a reload). */
  retainTargets(targetIds: ReadonlySet<string>): void {
    for (const key of this.byKey.keys()) {
      if (!targetIds.has(key.slice(0, key.lastIndexOf('/')))) this.byKey.delete(key);
    }
  }

  get size(): number {
    return this.byKey.size;
  }
}
