// Last outcome per (target, type): what /targets, --once and the logs report.
// Keyed by target identity so a reload that keeps a target keeps its health.
// It also decides what is worth a log line: a failure is logged when it
// starts or changes, not on every scrape; a recovery is logged once.

import type { ProfileStats } from '../profile/stats.js';
import type { ProfileTypeName } from '../profile/types.js';
import { TargetTypeMap } from '../core/target-type-map.js';

export const COLLECT_RESULTS = ['shipped', 'baseline', 'reset', 'skipped', 'failed'] as const;
export type CollectResult = (typeof COLLECT_RESULTS)[number];

export interface CollectOutcome {
  readonly targetId: string;
  readonly type: ProfileTypeName;
  readonly result: CollectResult;
  readonly startedAtMs: number;
  readonly durationMs: number;
  /** Bytes of the scraped body (0 when nothing was received). */
  readonly bytes: number;
  /** Samples shipped, or scraped for a baseline. */
  readonly samples: number;
  readonly error?: { readonly code: string; readonly message: string };
  /**
   * Why a skipped scrape did not run (memory_budget, workers_behind,
   * service_budget, shutdown; otherwise its error code): the reason label of
   * collector_scrapes_total{result="skipped"}.
   */
  readonly reason?: string;
  /** What to do about it, in words. */
  readonly hint?: string;
  readonly recordId?: string;
  /** heap, mutex, block: read from godeltaprof (true) or our own delta of the plain path (false). */
  readonly godeltaprof?: boolean;
  /** Sums of the scraped (and shipped) profile, for derived runtime metrics. */
  readonly stats?: ProfileStats;
}

export interface TypeHealth {
  readonly last: CollectOutcome;
  /** The last outcome that was not a skip: what failures and recoveries are judged against. */
  readonly lastRun?: CollectOutcome;
  readonly consecutiveFailures: number;
  readonly lastSuccessAtMs?: number;
}

export type Transition = 'ok' | 'new_failure' | 'same_failure' | 'recovered';

export class HealthStore {
  private readonly byTarget = new TargetTypeMap<TypeHealth>();

  update(o: CollectOutcome): Transition {
    const prev = this.byTarget.get(o.targetId, o.type);
    // A skip (the CPU busy with another profiler, a budget turn) is neither
    // success nor failure: it keeps the failure count, the last success, and
    // what the next outcome is compared with.
    if (o.result === 'skipped') {
      this.byTarget.set(o.targetId, o.type, { ...(prev ?? { consecutiveFailures: 0 }), last: o });
      return 'ok';
    }
    const failed = o.result === 'failed';
    const before = prev?.lastRun;
    const lastSuccessAtMs = failed ? prev?.lastSuccessAtMs : o.startedAtMs;
    this.byTarget.set(o.targetId, o.type, {
      last: o,
      lastRun: o,
      consecutiveFailures: failed ? (prev?.consecutiveFailures ?? 0) + 1 : 0,
      ...(lastSuccessAtMs !== undefined ? { lastSuccessAtMs } : {}),
    });
    const beforeFailed = before?.result === 'failed';
    if (!failed) return beforeFailed ? 'recovered' : 'ok';
    // News is a new error code, not new wording: a message that varies from
    // scrape to scrape (the head of a garbage body, an error body with a
    // request id) is the same failure.
    if (beforeFailed && before.error?.code === o.error?.code) return 'same_failure';
    return 'new_failure';
  }

  get(targetId: string, type: ProfileTypeName): TypeHealth | undefined {
    return this.byTarget.get(targetId, type);
  }

  /** Every type's health of one target (one lookup for the status page's pass over all targets). */
  ofTarget(targetId: string): ReadonlyMap<string, TypeHealth> {
    return this.byTarget.ofTarget(targetId);
  }

  /** Every type of the target currently failing with this error code. */
  allFailingWith(targetId: string, types: readonly ProfileTypeName[], code: string): boolean {
    return types.every((t) => this.get(targetId, t)?.last.error?.code === code);
  }

  retainTargets(ids: ReadonlySet<string>): void {
    this.byTarget.retainTargets(ids);
  }
}
