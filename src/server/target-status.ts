// The rows of /targets and /api/targets: every target and type with its
// health, last scrape, next slot, last error and hint, and the last shipped
// profile when it is still kept.

import type { Target } from '../core/target.js';
import { redactedUrl, redactUrlSecrets } from '../core/redact.js';
import type { ProfileTypeName } from '../profile/types.js';
import type { CollectOutcome, HealthStore, TypeHealth } from './health.js';
import { wholeTargetHint } from './hints.js';
import type { LastProfiles } from './last-profiles.js';

/** Worst first: a target's health is that of its worst type. */
export const HEALTHS = ['down', 'skipped', 'pending', 'up'] as const;
export type Health = (typeof HEALTHS)[number];
const RANK: Readonly<Record<Health, number>> = { down: 0, skipped: 1, pending: 2, up: 3 };

export interface TypeStatus {
  readonly type: ProfileTypeName;
  /** up: the last scrape worked; down: it failed; skipped: it did not run (CPU busy); pending: not scraped yet. */
  readonly health: Health;
  readonly result?: CollectOutcome['result'];
  /** The last outcome in words: the result, and for a skip its reason ("skipped: memory budget"). */
  readonly outcome?: string;
  readonly lastScrapeAtMs?: number;
  readonly durationMs?: number;
  readonly nextScrapeAtMs?: number;
  readonly samples?: number;
  readonly bytes?: number;
  readonly error?: { readonly code: string; readonly message: string };
  readonly hint?: string;
  readonly consecutiveFailures: number;
  readonly lastSuccessAtMs?: number;
  /** The last shipped profile, when it is still kept for download. */
  readonly profile?: { readonly id: string; readonly bytes: number; readonly startNs: string; readonly endNs: string };
}

export interface TargetStatus {
  readonly id: string;
  readonly url: string;
  readonly service: string;
  readonly env: string;
  readonly version: string;
  readonly instance: string;
  readonly tags: Readonly<Record<string, string>>;
  readonly intervalMs: number;
  readonly types: TypeStatus[];
}

/** Where the rows come from: the collector's health, kept profiles and schedule. */
export interface StatusInputs {
  readonly health: HealthStore;
  readonly lastProfiles: LastProfiles;
  /** When the job of a (target, type) runs next; undefined when it is not scheduled. */
  nextRun(key: string): number | undefined;
}

/** One page of the targets that match a query: only its rows are built. */
export function targetStatusPage(targets: readonly Target[], inputs: StatusInputs, q: TargetQuery): TargetPage {
  return selectPage(
    targets,
    q,
    (t) => {
      const byType = inputs.health.ofTarget(t.id);
      return { service: t.service, healths: t.config.enabledTypes.map((type) => healthOf(byType.get(type))) };
    },
    (t) => targetStatus(t, inputs),
  );
}

function targetStatus(t: Target, inputs: StatusInputs): TargetStatus {
  return {
    id: t.id,
    url: redactedUrl(t.baseUrl),
    service: t.service,
    env: t.env,
    version: t.version,
    instance: t.instance,
    tags: t.tags,
    intervalMs: t.config.intervalMs,
    types: typeStatuses(t, inputs),
  };
}

function healthOf(h: TypeHealth | undefined): Health {
  const last = h?.last;
  return !last ? 'pending' : last.result === 'failed' ? 'down' : last.result === 'skipped' ? 'skipped' : 'up';
}

/** Which targets /targets and /api/targets show. */
export interface TargetQuery {
  /** Part of the service name, any case. */
  readonly service?: string;
  /** The target's health: that of its worst type (down, skipped, pending, up). */
  readonly health?: Health;
  /** From 1; past the last page, the last page. */
  readonly page: number;
  /** Infinity: all on one page. */
  readonly perPage: number;
}

export interface TargetPage {
  readonly targets: TargetStatus[];
  /** Targets that match the query, on every page. */
  readonly matched: number;
  readonly page: number;
  readonly pages: number;
  readonly perPage: number;
  /** Over all targets, whatever the query: targets by their health, and (target, type) jobs by theirs. */
  readonly total: number;
  readonly targetsByHealth: Readonly<Record<Health, number>>;
  readonly jobsByHealth: Readonly<Record<Health, number>>;
}

/**
 * The page of `items` that match `q`. One pass over every item reads only
 * its service and type healths (`view`); the full rows (`build`) are made for
 * the page alone, so a page costs about the same at 10 or 5,000 targets.
 */
export function selectPage<T>(items: readonly T[], q: TargetQuery, view: (item: T) => { service: string; healths: readonly Health[] }, build: (item: T) => TargetStatus): TargetPage {
  const needle = q.service?.toLowerCase() ?? '';
  const wanted = q.health === undefined ? -1 : RANK[q.health];
  // Counts by rank (HEALTHS order): plain arrays keep the pass cheap.
  const targetCounts = [0, 0, 0, 0];
  const jobCounts = [0, 0, 0, 0];
  const matching: T[] = [];
  for (const item of items) {
    const v = view(item);
    let worst = 3;
    for (const h of v.healths) {
      const r = RANK[h];
      jobCounts[r]!++;
      if (r < worst) worst = r;
    }
    targetCounts[worst]!++;
    if ((wanted < 0 || wanted === worst) && (needle === '' || v.service.toLowerCase().includes(needle))) matching.push(item);
  }
  const byHealth = (c: number[]) => ({ down: c[0]!, skipped: c[1]!, pending: c[2]!, up: c[3]! });
  const targetsByHealth = byHealth(targetCounts);
  const jobsByHealth = byHealth(jobCounts);
  const perPage = q.perPage;
  const pages = Math.max(1, Math.ceil(matching.length / perPage));
  const page = Math.min(Math.max(1, q.page), pages);
  const from = Number.isFinite(perPage) ? (page - 1) * perPage : 0;
  const shown = Number.isFinite(perPage) ? matching.slice(from, from + perPage) : matching;
  return { targets: shown.map(build), matched: matching.length, page, pages, perPage, total: items.length, targetsByHealth, jobsByHealth };
}

/** "shipped", "failed", "skipped: memory budget", "skipped: workers behind". */
export function outcomeText(o: CollectOutcome): string {
  const reason = o.result === 'skipped' ? (o.reason ?? o.error?.code) : undefined;
  return reason ? `${o.result}: ${reason.replace(/_/g, ' ')}` : o.result;
}

function typeStatuses(t: Target, inputs: StatusInputs): TypeStatus[] {
  const healths = t.config.enabledTypes.map((type) => inputs.health.get(t.id, type));
  const targetHint = wholeTargetHint(healths.map((h) => h?.last));
  return t.config.enabledTypes.map((type, i): TypeStatus => {
    const h = healths[i];
    const next = inputs.nextRun(`${t.id}/${type}`);
    const last = h?.last;
    const hint = targetHint ?? last?.hint;
    const profile = inputs.lastProfiles.get(t.id, type);
    return {
      type,
      health: healthOf(h),
      ...(last
        ? {
            result: last.result,
            outcome: outcomeText(last),
            lastScrapeAtMs: last.startedAtMs,
            durationMs: last.durationMs,
            samples: last.samples,
            bytes: last.bytes,
            ...(last.error ? { error: { code: last.error.code, message: redactUrlSecrets(last.error.message) } } : {}),
            ...(hint ? { hint } : {}),
          }
        : {}),
      consecutiveFailures: h?.consecutiveFailures ?? 0,
      ...(h?.lastSuccessAtMs !== undefined ? { lastSuccessAtMs: h.lastSuccessAtMs } : {}),
      ...(next !== undefined ? { nextScrapeAtMs: next } : {}),
      ...(profile ? { profile: { id: profile.id, bytes: profile.pprof.length, startNs: profile.startNs.toString(), endNs: profile.endNs.toString() } } : {}),
    };
  });
}
