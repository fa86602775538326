// The rows of /targets and /api/targets: every target and type with its
// health, last scrape, next slot, last error and hint, and the last shipped
// profile when it is still kept.

import type { Target } from '../core/target.js';
import type { ProfileTypeName } from '../profile/types.js';
import type { CollectOutcome, HealthStore } from './health.js';
import { wholeTargetHint } from './hints.js';
import type { LastProfiles } from './last-profiles.js';

export interface TypeStatus {
  readonly type: ProfileTypeName;
  /** up: the last scrape worked; down: it failed; skipped: it did not run (CPU busy); pending: not scraped yet. */
  readonly health: 'up' | 'down' | 'skipped' | 'pending';
  readonly result?: CollectOutcome['result'];
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

/** What /targets and /api/targets show: every target and type, as of now. */
export function targetStatuses(targets: readonly Target[], inputs: StatusInputs): TargetStatus[] {
  return targets.map((t) => ({
    id: t.id,
    url: t.baseUrl,
    service: t.service,
    env: t.env,
    version: t.version,
    instance: t.instance,
    tags: t.tags,
    intervalMs: t.config.intervalMs,
    types: typeStatuses(t, inputs),
  }));
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
      health: !last ? 'pending' : last.result === 'failed' ? 'down' : last.result === 'skipped' ? 'skipped' : 'up',
      ...(last
        ? {
            result: last.result,
            lastScrapeAtMs: last.startedAtMs,
            durationMs: last.durationMs,
            samples: last.samples,
            bytes: last.bytes,
            ...(last.error ? { error: last.error } : {}),
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
