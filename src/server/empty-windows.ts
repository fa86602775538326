// Whether an empty mutex or block profile is worth a hint. Go's mutex and
// block profiles stay empty unless the process turns them on, but an empty
// one is no proof of that: a process may have had no contention yet. So the
// hint comes only once the scraped profile (everything since the process
// started, not the delta) has had no samples in EMPTY_WINDOWS_BEFORE_HINT
// windows in a row, and never while it has samples: a zero delta of a
// profile with samples only means nothing happened in that window.

import { TargetTypeMap } from '../core/target-type-map.js';
import { isBuiltinType, PROFILE_TYPES, type ProfileTypeName } from '../profile/types.js';
import { EMPTY_WINDOWS_BEFORE_HINT, emptyProfileHint } from './hints.js';

export interface ScrapeOfType {
  /** shipped: a window ended; baseline and reset start one (not a window). */
  readonly kind: 'shipped' | 'baseline' | 'reset';
  /** Samples in the profile as scraped (before any delta). */
  readonly scrapedSamples: number;
  /**
   * The scraped profile holds only this window's changes (godeltaprof, which
   * leaves unchanged stacks out): no samples there is no evidence either way.
   */
  readonly deltaOnly?: boolean;
}

export interface EmptyVerdict {
  /** The hint for this outcome, once the run of empty windows is long enough. */
  readonly hint?: string;
  /** The run just reached the bound: worth a log line (once per run). */
  readonly news: boolean;
  /** Empty windows in a row so far, when there is a hint. */
  readonly windows?: number;
}

const QUIET: EmptyVerdict = { news: false };

export class EmptyWindows {
  /** Per (target, type): windows in a row whose scraped profile had no samples. */
  private readonly runs = new TargetTypeMap<number>();

  observe(targetId: string, type: ProfileTypeName, s: ScrapeOfType): EmptyVerdict {
    const advice = isBuiltinType(type) ? PROFILE_TYPES[type].emptyHint : undefined;
    if (advice === undefined || (s.deltaOnly && s.scrapedSamples === 0)) return QUIET;
    if (s.scrapedSamples > 0) {
      this.runs.delete(targetId, type);
      return QUIET;
    }
    let run = this.runs.get(targetId, type) ?? 0;
    // A target restart (reset) is not a window, nor the end of the run: a
    // process restarted with profiling still off stays empty.
    if (s.kind === 'shipped') this.runs.set(targetId, type, ++run);
    if (run < EMPTY_WINDOWS_BEFORE_HINT) return QUIET;
    return { hint: emptyProfileHint(run, advice), news: s.kind === 'shipped' && run === EMPTY_WINDOWS_BEFORE_HINT, windows: run };
  }

  /** Forgets targets that are gone. */
  retainTargets(ids: ReadonlySet<string>): void {
    this.runs.retainTargets(ids);
  }
}
