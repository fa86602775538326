// State kept per (target, profile type) that must outlive scheduler jobs and
// reloads, and go with its target: health, baselines, log bookkeeping.

/** A map keyed by (target id, type) that forgets whole targets at once. */
export class TargetTypeMap<V> {
  private readonly byTarget = new Map<string, Map<string, V>>();

  get(targetId: string, type: string): V | undefined {
    return this.byTarget.get(targetId)?.get(type);
  }

  set(targetId: string, type: string, value: V): void {
    let m = this.byTarget.get(targetId);
    if (!m) this.byTarget.set(targetId, (m = new Map()));
    m.set(type, value);
  }

  delete(targetId: string, type: string): void {
    const m = this.byTarget.get(targetId);
    if (!m) return;
    m.delete(type);
    if (m.size === 0) this.byTarget.delete(targetId);
  }

  /** Forgets every target not in `ids`; returns the ids it forgot. */
  retainTargets(ids: ReadonlySet<string>): string[] {
    const gone = [...this.byTarget.keys()].filter((id) => !ids.has(id));
    for (const id of gone) this.byTarget.delete(id);
    return gone;
  }

  clear(): void {
    this.byTarget.clear();
  }

  /** Entries of one target, by type. */
  ofTarget(targetId: string): ReadonlyMap<string, V> {
    return this.byTarget.get(targetId) ?? new Map();
  }

  get size(): number {
    let n = 0;
    for (const m of this.byTarget.values()) n += m.size;
    return n;
  }
}

/** Things said once per target (a hint is not news the second time). */
export class SaidOnce {
  private readonly said = new TargetTypeMap<true>();

  first(targetId: string, what: string): boolean {
    if (this.said.get(targetId, what)) return false;
    this.said.set(targetId, what, true);
    return true;
  }

  retainTargets(ids: ReadonlySet<string>): void {
    this.said.retainTargets(ids);
  }
}
