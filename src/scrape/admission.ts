// Whether a scrape may be fetched now, decided before a byte is asked for:
// the memory budget ([agent] memory_limit) has room for what it will hold,
// and the profile workers are not so far behind that its body would only
// wait in their queue. A skip is safe for cumulative types: nothing is read,
// the delta baseline stays, and the next delta covers the longer window.
// What is never done is to fetch and then drop (a godeltaprof read moves
// the target's own baseline).

import type { Clock } from '../core/clock.js';
import { LIMITS } from '../core/limits.js';
import type { MemoryBudget, Reservation } from '../core/memory-budget.js';
import type { Target } from '../core/target.js';
import { TargetTypeMap } from '../core/target-type-map.js';
import type { ProfileTypeSpec } from '../profile/types.js';

/** The profile jobs waiting or running on the worker a target's jobs go to. */
export interface WorkerBacklog {
  readonly jobs: number;
  /** How long the oldest of them has waited (0 when none). */
  readonly oldestWaitMs: number;
}

export interface AdmissionDeps {
  readonly clock: Clock;
  readonly budget?: MemoryBudget;
  readonly backlog?: (targetId: string) => WorkerBacklog;
  /** Longest wait for room in the budget (default: LIMITS.memoryBudgetMaxWaitMs, at most a tenth of the slot gap). */
  readonly maxWaitMs?: number;
}

export type SkipReason = 'memory_budget' | 'workers_behind';

export type Admission =
  | { readonly ok: true; readonly reservation: Reservation | null }
  | { readonly ok: false; readonly reason: SkipReason; readonly message: string; readonly hint: string };

const MiB = 1024 * 1024;
const mib = (n: number) => `${(n / MiB).toFixed(1)} MiB`;

export class ScrapeAdmission {
  /** Per (target, type): the last body's size, what the next one is guessed from. */
  private readonly lastBody = new TargetTypeMap<number>();

  constructor(private readonly deps: AdmissionDeps) {}

  /**
   * What a scrape of (target, type) is expected to hold: its last body times
   * LIMITS.memoryEstimateFactor (the body, its decoded form, the delta and the
   * record queued for the outputs), or a default before the first one;
   * never more than the target's body cap allows. A CPU window holds only a
   * connection while the target records (seconds, and with hundreds of
   * targets most of them are recording at any moment): it reserves its body
   * alone, and the rest once the body is read.
   */
  estimate(target: Target, spec: ProfileTypeSpec): number {
    const first = spec.seconds ? LIMITS.memoryEstimateFirstWindowBytes : LIMITS.memoryEstimateFirstBodyBytes;
    const body = Math.min(this.lastBody.get(target.id, spec.name) ?? first, target.config.bodySizeLimitBytes);
    return spec.seconds ? body : body * LIMITS.memoryEstimateFactor;
  }

  /**
   * Admits a scrape or says why not. `gapMs` is the time between the type's
   * scrapes: the workers are behind when the oldest job on the target's
   * worker has waited more than LIMITS.workersBehindFraction of it.
   */
  async admit(target: Target, spec: ProfileTypeSpec, gapMs: number, signal?: AbortSignal): Promise<Admission> {
    // CPU windows are not cumulative (a skipped window is lost), and a
    // snapshot type has no longer window to catch up with: only cumulative
    // types step aside for a queue that is behind.
    const cumulative = spec.deltaSampleTypes.length > 0 && !spec.seconds;
    const backlog = cumulative ? this.deps.backlog?.(target.id) : undefined;
    if (backlog && (backlog.oldestWaitMs > gapMs * LIMITS.workersBehindFraction || backlog.jobs > LIMITS.workersBehindJobs)) {
      return {
        ok: false,
        reason: 'workers_behind',
        message: `workers behind: the profile worker for this target holds ${backlog.jobs} job(s), the oldest waiting ${(backlog.oldestWaitMs / 1000).toFixed(1)}s; this ${spec.name} scrape is skipped before it is fetched and the next delta covers the longer window`,
        hint: 'the profile workers cannot keep up with the targets: raise [agent] profile_workers (and give the collector the cores), lengthen the interval of cumulative types, or split the targets over more collectors ([agent] shard)',
      };
    }
    const budget = this.deps.budget;
    if (!budget) return { ok: true, reservation: null };
    const need = this.estimate(target, spec);
    const waitMs = this.deps.maxWaitMs ?? Math.min(LIMITS.memoryBudgetMaxWaitMs, gapMs / 10);
    const reservation = await budget.reserveWithin(need, this.deps.clock, waitMs, signal);
    if (reservation) return { ok: true, reservation };
    return {
      ok: false,
      reason: 'memory_budget',
      message: `memory budget: this ${spec.name} scrape needs about ${mib(Math.min(need, budget.limit))} and ${mib(budget.inUse)} of memory_limit ${mib(budget.limit)} are held; skipped before it is fetched${cumulative ? ' (the next delta covers the longer window)' : ''}`,
      hint: 'raise [agent] memory_limit (the peak in use is collector_memory_budget_in_use_peak_bytes), or split the targets over more collectors ([agent] shard)',
    };
  }

  /** The body is read: its size is what the next scrape is guessed from, and what this one holds. */
  bodyRead(target: Target, spec: ProfileTypeSpec, bytes: number, reservation: Reservation | null): void {
    this.lastBody.set(target.id, spec.name, bytes);
    reservation?.resize(bytes * LIMITS.memoryEstimateFactor);
  }

  retainTargets(ids: ReadonlySet<string>): void {
    this.lastBody.retainTargets(ids);
  }
}
