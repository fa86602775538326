// What an output says about profiles its backend refused for good (not
// retried). A misconfigured output (401, 403, 404: wrong token, tenant or
// URL) refuses every profile: it gets one line with a hint when it starts, a
// summary every few minutes while it lasts, and one line when it is over.
// Other refusals (400 "invalid profile" and the like) are about a profile's
// content, so each distinct answer is worth a line once; its repeats are
// summed up the same way (a backend refusing everything with a 400 must not
// flood either), and at most MAX_REJECTION_LINES_PER_PERIOD distinct answers
// are logged per period. Every drop is counted by the caller
// (collector_output_dropped_total{reason="rejected"}), whatever is logged.

import type { Clock } from '../core/clock.js';
import { LIMITS } from '../core/limits.js';
import type { Logger } from '../core/log.js';
import type { DeliveryError } from './retry.js';

/** Distinct answers logged one by one per summary period, at most; the rest are counted. */
export const MAX_REJECTION_LINES_PER_PERIOD = 10;
/** Distinct answers remembered, at most (answers that name a profile are normalised, but a backend may vary more). */
const MAX_KEYS = 256;

type Misconfiguration = 'credentials' | 'forbidden' | 'url';

/** A refusal that means the output is set up wrong, not that this profile is bad. */
function misconfiguration(err: DeliveryError): Misconfiguration | undefined {
  switch (err.opts.code) {
    case 'unauthenticated':
      return 'credentials';
    case 'permission_denied':
      return 'forbidden';
    case 'not_found':
    case 'unimplemented':
      return 'url';
  }
  switch (err.opts.status) {
    case 401:
      return 'credentials';
    case 403:
      return 'forbidden';
    case 404:
      return 'url';
  }
  return undefined;
}

/** What to check, per cause and backend. */
export function misconfigurationHint(cause: Misconfiguration, kind: string): string {
  if (kind === 'datadog') {
    // The intake answers 403 to a wrong API key; an Agent needs none.
    return cause === 'url'
      ? 'wrong URL: a Datadog Agent listens on http://HOST:8126/profiling/v1/input; agentless, set site instead of url'
      : 'the intake refuses the API key: check api_key (or its file) and that it belongs to the site set (datadoghq.com, datadoghq.eu, ...)';
  }
  if (kind === 'otlp') {
    switch (cause) {
      case 'credentials':
        return 'wrong or missing credentials: check basic_auth / bearer_token (or its file) and headers, and tenant_id for a multi-tenant backend';
      case 'forbidden':
        return 'the credentials are known but not allowed to write here: check their permissions and the tenant (tenant_id)';
      case 'url':
        return 'wrong URL: OTLP/HTTP profiles go to BASE/v1development/profiles (the OpenTelemetry Collector on :4318, Pyroscope on :4040); check the host, port and path of url';
    }
  }
  const pyroscope = kind === 'pyroscope';
  switch (cause) {
    case 'credentials':
      return pyroscope
        ? 'wrong or missing credentials: check basic_auth / bearer_token (or its file), and tenant_id: a multi-tenant Pyroscope answers 401 to a request without X-Scope-OrgID'
        : 'wrong or missing credentials: check the token (?token= in url, or bearer_token) and the user:password of url';
    case 'forbidden':
      return pyroscope
        ? 'the credentials are known but not allowed to write here: check the permissions of the token and the tenant it belongs to (tenant_id)'
        : 'the credentials are known but not allowed to write here: check the permissions of the token, or the workspace it belongs to';
    case 'url':
      return pyroscope
        ? 'wrong URL: url must be the Pyroscope server\'s base address (the collector adds the path), and api = "push" (Pyroscope 1.x, Grafana Cloud) or "ingest" (older servers) must match it'
        : 'wrong URL: a DataKit listens on http://HOST:9529/profiling/v1/input; check the host, port and path of url';
  }
}

/** The cause of a refusal, for logs. */
function statusWords(err: DeliveryError): string {
  return [err.opts.status, err.opts.code].filter((x) => x !== undefined).join(' ') || 'a refusal';
}

/** One answer, with what differs per profile (ids, numbers) left out. */
function answerKey(err: DeliveryError): string {
  const body = (err.opts.body ?? '').replace(/[0-9a-f]{8,}(?:-[0-9a-f]{2,})*/gi, '#').replace(/\d+/g, '#').trim().slice(0, 200);
  return `${err.opts.status ?? ''}|${err.opts.code ?? ''}|${body}`;
}

interface Repeats {
  /** When its last line was logged. */
  since: number;
  /** Refusals since that line. */
  count: number;
  /** Every refusal since the first line (a misconfiguration's total). */
  total: number;
  readonly cause?: Misconfiguration;
  last: DeliveryError;
}

export interface RejectedProfile {
  readonly id: string;
  readonly type: string;
  readonly service: string;
}

export class RejectionLog {
  private readonly answers = new Map<string, Repeats>();
  /** Distinct answers beyond the per-period cap. */
  private overflow = { since: 0, count: 0 };
  private periodStart = -Infinity;
  private linesInPeriod = 0;

  constructor(
    private readonly log: Logger,
    private readonly clock: Clock,
    /** The output's kind (datakit, pyroscope): the hints differ. */
    private readonly kind: string,
    private readonly everyMs: number = LIMITS.repeatSummaryEveryMs,
  ) {}

  /** A profile the backend refused for good (the caller dropped and counted it). */
  rejected(err: DeliveryError, record: RejectedProfile): void {
    const now = this.clock.now();
    const cause = misconfiguration(err);
    // A misconfiguration is one thing whatever the body says (it may name the profile).
    const key = cause ? `misconfigured|${statusWords(err)}` : answerKey(err);
    const fields = { err: { message: err.message, status: err.opts.status, code: err.opts.code }, response: err.opts.body, profile_id: record.id, type: record.type, service: record.service };
    const hint = cause ? misconfigurationHint(cause, this.kind) : undefined;
    if (now - this.periodStart >= this.everyMs) {
      if (this.overflow.count > 0) {
        this.log.error(
          { rejected: this.overflow.count, minutes: Math.round((now - this.overflow.since) / 60_000) },
          `${this.overflow.count} more profile(s) rejected with other answers in the last ${Math.round((now - this.overflow.since) / 60_000)} min (not logged one by one)`,
        );
      }
      this.periodStart = now;
      this.linesInPeriod = 0;
      this.overflow = { since: now, count: 0 };
    }
    const r = this.answers.get(key);
    if (r) {
      r.count++;
      r.total++;
      r.last = err;
      if (now - r.since < this.everyMs) {
        this.log.debug(fields, `backend rejected the profile again (${statusWords(err)}), dropped`);
        return;
      }
      const minutes = Math.round((now - r.since) / 60_000);
      if (cause) {
        this.log.error({ ...fields, hint, rejected: r.count, minutes }, `backend still rejects profiles with ${statusWords(err)}: ${r.count} more dropped in the last ${minutes} min: ${err.message}`);
      } else {
        this.log.error({ ...fields, rejected: r.count, minutes }, `${r.count} more profile(s) rejected the same way in the last ${minutes} min: ${err.message}`);
      }
      r.since = now;
      r.count = 0;
      return;
    }
    // A misconfiguration is always said; other answers up to the cap.
    if (!cause && this.linesInPeriod >= MAX_REJECTION_LINES_PER_PERIOD) {
      this.overflow.count++;
      this.log.debug(fields, `backend rejected the profile, dropped (not retried): ${err.message}`);
      return;
    }
    this.linesInPeriod++;
    this.remember(key, { since: now, count: 0, total: 1, ...(cause ? { cause } : {}), last: err });
    if (cause) {
      const minutes = Math.round(this.everyMs / 60_000);
      this.log.error(
        { ...fields, hint },
        `backend rejects profiles with ${statusWords(err)}: ${hint}. Each is dropped (not retried) and counted in collector_output_dropped_total{reason="rejected"}, summed up here every ${minutes} min while it lasts. The answer: ${err.message}`,
      );
    } else {
      this.log.error(fields, `backend rejected the profile, dropped (not retried): ${err.message}`);
    }
  }

  /** The backend took a profile: a misconfiguration that was reported is over. */
  accepted(): void {
    if (this.answers.size === 0) return;
    for (const [key, r] of this.answers) {
      if (!r.cause) continue;
      this.answers.delete(key);
      this.log.info({ rejected: r.total }, `backend accepts profiles again after rejecting ${r.total} with ${statusWords(r.last)}`);
    }
  }

  private remember(key: string, r: Repeats): void {
    if (this.answers.size >= MAX_KEYS) {
      // Quiet answers go first; if every one is recent, start over (the per-period cap still holds).
      const now = this.clock.now();
      for (const [k, x] of this.answers) if (!x.cause && x.count === 0 && now - x.since >= this.everyMs) this.answers.delete(k);
      if (this.answers.size >= MAX_KEYS) for (const [k, x] of this.answers) if (!x.cause) this.answers.delete(k);
    }
    this.answers.set(key, r);
  }
}
