// Where the newest delta baseline of each target and type is in the spool's
// segments. Tells the spool when a segment gains or loses a live baseline,
// so it knows when the segment can go.

import type { SavedBaseline } from './format.js';
import { baselineKey, type BaselineRef } from './replay.js';
import type { Location } from './segment-log.js';

export class BaselineIndex {
  private readonly refs = new Map<string, BaselineRef>();
  /** Keys written by this run (only these are forgotten with their target). */
  private readonly touched = new Set<string>();

  /** `live(seg, +1 | -1)`: a live baseline was added to, or left, segment `seg`. */
  constructor(private readonly live: (seg: number, change: 1 | -1) => void) {}

  get(targetId: string, type: string): BaselineRef | undefined {
    return this.refs.get(baselineKey(targetId, type));
  }

  /** A baseline read back at start. */
  restore(ref: BaselineRef): void {
    this.refs.set(baselineKey(ref.targetId, ref.type), ref);
    this.live(ref.loc.seg, 1);
  }

  /** A baseline just written at `loc`; it replaces the one before. */
  set(b: SavedBaseline, loc: Location): void {
    const key = baselineKey(b.targetId, b.type);
    const old = this.refs.get(key);
    this.refs.set(key, { targetId: b.targetId, type: b.type, loc, timeNs: b.timeNs, savedAtMs: b.savedAtMs });
    this.touched.add(key);
    this.live(loc.seg, 1);
    if (old) this.live(old.loc.seg, -1);
  }

  /** Forgets `ref` if it is still the newest of its target and type. */
  drop(ref: BaselineRef): boolean {
    const key = baselineKey(ref.targetId, ref.type);
    if (this.refs.get(key) !== ref) return false;
    this.refs.delete(key);
    this.touched.delete(key);
    this.live(ref.loc.seg, -1);
    return true;
  }

  /** Forgets the baselines this run wrote for targets not in `targetIds`; returns their keys. */
  dropGone(targetIds: ReadonlySet<string>): Array<[string, string]> {
    const gone: Array<[string, string]> = [];
    for (const key of [...this.touched]) {
      const ref = this.refs.get(key);
      if (!ref) this.touched.delete(key);
      else if (!targetIds.has(ref.targetId) && this.drop(ref)) gone.push([ref.targetId, ref.type]);
    }
    return gone;
  }

  /** The live baselines in segment `seq`. */
  inSegment(seq: number): BaselineRef[] {
    return [...this.refs.values()].filter((r) => r.loc.seg === seq);
  }
}
