// The last shipped profile of each (target, type), for the status page's
// download links and flame graph. Bounded by bytes: when over budget the
// least recently updated profiles are forgotten (the page then says so).

import type { ProfileRecord } from '../profile/record.js';

/** Default memory budget for kept profiles. */
export const LAST_PROFILES_BUDGET_BYTES = 32 * 1024 * 1024;

export class LastProfiles {
  private readonly byKey = new Map<string, ProfileRecord>();
  private bytes = 0;

  constructor(private readonly budgetBytes = LAST_PROFILES_BUDGET_BYTES) {}

  static key(targetId: string, type: string): string {
    return `${targetId}/${type}`;
  }

  put(record: ProfileRecord): void {
    const key = LastProfiles.key(record.targetId, record.type);
    const prev = this.byKey.get(key);
    if (prev) {
      this.bytes -= prev.pprof.length;
      this.byKey.delete(key);
    }
    this.byKey.set(key, record); // newest last: Map keeps insertion order
    this.bytes += record.pprof.length;
    for (const [k, r] of this.byKey) {
      if (this.bytes <= this.budgetBytes || k === key) break;
      this.byKey.delete(k);
      this.bytes -= r.pprof.length;
    }
  }

  get(targetId: string, type: string): ProfileRecord | undefined {
    return this.byKey.get(LastProfiles.key(targetId, type));
  }

  retainTargets(ids: ReadonlySet<string>): void {
    for (const [k, r] of this.byKey) {
      if (!ids.has(r.targetId)) {
        this.byKey.delete(k);
        this.bytes -= r.pprof.length;
      }
    }
  }

  get size(): number {
    return this.byKey.size;
  }
}
