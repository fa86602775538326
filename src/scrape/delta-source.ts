// Where a target's heap, mutex and block deltas come from (delta_source):
// godeltaprof's <prefix>/delta_heap, delta_mutex, delta_block (deltas the
// target computes itself), or our own delta of /heap, /mutex, /block.
//
// "auto" reads godeltaprof's path and, on a 404, the plain one; it remembers
// the answer per target and type, and asks again after the target may have
// restarted (our delta saw a reset, or the target was unreachable) and every
// GODELTAPROF_REPROBE_MS.
//
// Each godeltaprof read moves the baseline in the target for every reader,
// so a process has one reader: listings of the same process (host:port, like
// the CPU gate) share it. The first listing to read it owns it; the others
// take our own deltas from the plain path, which disturbs nobody.

import type { Target } from '../core/target.js';
import { TargetTypeMap } from '../core/target-type-map.js';
import type { ProfileTypeSpec } from '../profile/types.js';

/** How long "godeltaprof is not served here" is believed before asking again. */
export const GODELTAPROF_REPROBE_MS = 3600_000;

export interface DeltaPlan {
  /** Read godeltaprof's path this time. */
  readonly godeltaprof: boolean;
  /** A 404 from godeltaprof's path means "not served": read the plain path now (auto). */
  readonly fallback: boolean;
  /** Another listing of the same process reads its godeltaprof endpoint (that listing's base URL). */
  readonly readBy?: string;
}

const CLIENT: DeltaPlan = { godeltaprof: false, fallback: false };

export class DeltaSources {
  /** Per (target, type): whether godeltaprof answered, and when. */
  private readonly answers = new TargetTypeMap<{ readonly served: boolean; readonly atMs: number }>();
  /** Per process and type ("host:port delta_heap"): the listing that reads it. */
  private readonly readers = new Map<string, { readonly targetId: string; readonly baseUrl: string }>();

  constructor(private readonly now: () => number = Date.now) {}

  /** How to read (target, type) now; undefined for a type godeltaprof does not serve. */
  plan(target: Target, spec: ProfileTypeSpec): DeltaPlan | undefined {
    if (!spec.godeltaprofPath) return undefined;
    const setting = target.config.deltaSource ?? 'auto';
    if (setting === 'client') return CLIENT;
    if (setting === 'auto') {
      const a = this.answers.get(target.id, spec.name);
      if (a && !a.served && this.now() - a.atMs < GODELTAPROF_REPROBE_MS) return CLIENT;
    }
    const key = `${target.instance} ${spec.godeltaprofPath}`;
    const reader = this.readers.get(key);
    if (reader && reader.targetId !== target.id) return { ...CLIENT, readBy: reader.baseUrl };
    this.readers.set(key, { targetId: target.id, baseUrl: target.baseUrl });
    return { godeltaprof: true, fallback: setting === 'auto' };
  }

  /** godeltaprof answered for (target, type). */
  served(target: Target, spec: ProfileTypeSpec): void {
    this.answers.set(target.id, spec.name, { served: true, atMs: this.now() });
  }

  /** godeltaprof's path answered 404: not served; its reader slot is free again. */
  notServed(target: Target, spec: ProfileTypeSpec): void {
    this.answers.set(target.id, spec.name, { served: false, atMs: this.now() });
    const key = `${target.instance} ${spec.godeltaprofPath}`;
    if (this.readers.get(key)?.targetId === target.id) this.readers.delete(key);
  }

  /**
   * The target may have restarted (a delta reset, or it was unreachable):
   * a new binary may serve godeltaprof now, or no longer. Ask again at its
   * next scrape.
   */
  askAgain(targetId: string): void {
    for (const type of [...this.answers.ofTarget(targetId).keys()]) this.answers.delete(targetId, type);
  }

  /** Forgets targets that are gone; their reader slots go to the next listing that asks. */
  retainTargets(ids: ReadonlySet<string>): void {
    this.answers.retainTargets(ids);
    for (const [key, r] of this.readers) if (!ids.has(r.targetId)) this.readers.delete(key);
  }
}
