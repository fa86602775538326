// One collection of one (target, type): scrape -> profile -> hand the record
// to the outputs. Never throws: every outcome, good or bad, comes back as a
// CollectOutcome, is kept in the health store and is logged when it is news.

import { formatDuration } from './config/duration.js';
import type { Target } from './core/target.js';
import { EmptyWindows } from './server/empty-windows.js';
import { hintFor } from './server/hints.js';
import { redactSecrets, redactUrlSecrets } from './core/redact.js';
import type { CollectOutcome, CollectResult, HealthStore } from './server/health.js';
import type { Logger } from './core/log.js';
import { LIMITS } from './core/limits.js';
import { InvalidProfileError } from './profile/errors.js';
import type { NewBaseline, ProfileProcessor } from './profile/processor.js';
import type { ProfileRecord } from './profile/record.js';
import { profileUrl, typeSpec, type ProfileTypeName } from './profile/types.js';
import type { Clock } from './core/clock.js';
import type { BudgetDecision } from './scrape/cpu-budget.js';
import type { CpuProfileGate, CpuWindows } from './scrape/cpu-gate.js';
import type { DispatcherPool } from './scrape/dispatchers.js';
import { SaidOnce, TargetTypeMap } from './core/target-type-map.js';
import { readDelta } from './scrape/delta-read.js';
import type { DeltaSources } from './scrape/delta-source.js';
import { httpScrape, ScrapeError } from './scrape/http-scrape.js';
import { failureOf } from './scrape/failure.js';
import type { ScrapeAdmission } from './scrape/admission.js';
import type { Reservation } from './core/memory-budget.js';
import { TargetCredentials } from './scrape/target-auth.js';

export interface PipelineDeps {
  readonly clock: Clock;
  readonly logger: Logger;
  readonly dispatchers: DispatcherPool;
  readonly processor: ProfileProcessor;
  readonly cpuGate: CpuProfileGate;
  readonly cpuWindows: CpuWindows;
  /** Where heap, mutex and block deltas come from (delta_source); none: always our own. */
  readonly deltaSources?: DeltaSources;
  /**
   * cpu_budget and <type>_budget: may this target spend `cost` now (the CPU
   * window in ms, or 1 scrape)? null: no budget applies.
   */
  readonly budget?: (target: Target, type: ProfileTypeName, cost: number) => BudgetDecision | null;
  readonly health: HealthStore;
  /** The memory budget and the workers' backlog: may this scrape be fetched now? none: always. */
  readonly admission?: ScrapeAdmission;
  /**
   * Hands a finished record to every output, with the baseline a delta
   * leaves behind (persisted in the same write): resolves once it is safe
   * (in the spool), never waits for a send.
   */
  readonly emit: (record: ProfileRecord, baseline?: NewBaseline) => Promise<void>;
  /** Keeps a baseline that ships nothing (a first scrape, a reset). */
  readonly saveBaseline?: (baseline: NewBaseline) => Promise<void>;
  /** Called with every outcome (metrics, --once). */
  readonly observe?: (outcome: CollectOutcome, target: Target) => void;
  /** Reads the targets' token and password files (default: a cache of its own). */
  readonly credentials?: TargetCredentials;
}

export interface CollectOptions {
  /** Taken because this metric crossed its threshold: the profile is tagged trigger=<metric>. */
  readonly trigger?: string;
}

/** The time between a type's scrapes: its interval, or the shortest gap of its cron schedule. */
function slotGapMs(target: Target, type: ProfileTypeName): number {
  return target.config.schedule?.[type]?.minGapMs ?? target.config.intervalMs;
}

/** A failure that goes on is summed up in one log line this often. */
export const REPEAT_SUMMARY_EVERY_MS = LIMITS.repeatSummaryEveryMs;

export class ProfilePipeline {
  private readonly once = new SaidOnce();
  /** Per (target, type): repeats of the current failure since it was last logged. */
  private readonly repeats = new TargetTypeMap<{ since: number; count: number }>();

  /** Per (target, "type/code"): when a skip (CPU in use elsewhere) was last logged. */
  private readonly skipsSaid = new TargetTypeMap<number>();

  /** Runs of empty mutex/block windows: when an empty profile is worth the profiling-off hint. */
  private readonly emptyWindows = new EmptyWindows();

  private readonly credentials: TargetCredentials;

  constructor(private readonly deps: PipelineDeps) {
    this.credentials = deps.credentials ?? new TargetCredentials();
  }

  /**
   * A skip is news when it starts (the scrape before was not skipped the
   * same way); one that comes and goes with another profiler's windows is
   * said at most once per REPEAT_SUMMARY_EVERY_MS.
   */
  private skipIsNews(targetId: string, type: ProfileTypeName, code: string, prev: CollectOutcome | undefined): boolean {
    if (prev?.result === 'skipped' && prev.error?.code === code) return false;
    const key = `${type}/${code}`;
    const now = this.deps.clock.now();
    const last = this.skipsSaid.get(targetId, key);
    if (last !== undefined && now - last < REPEAT_SUMMARY_EVERY_MS) return false;
    this.skipsSaid.set(targetId, key, now);
    return true;
  }

  /** Forgets what was said about targets that are gone (discovery churns through many). */
  retainTargets(ids: ReadonlySet<string>): void {
    this.once.retainTargets(ids);
    this.skipsSaid.retainTargets(ids);
    this.repeats.retainTargets(ids);
    this.emptyWindows.retainTargets(ids);
  }

  /** Forgets the cached token and password files no target names any more. */
  retainCredentialFiles(targets: readonly Target[]): void {
    const files = new Set<string>();
    for (const t of targets) {
      const a = t.config.auth;
      const f = a?.kind === 'basic' ? a.passwordFile : a?.tokenFile;
      if (f !== undefined) files.add(f);
    }
    this.credentials.retainFiles(files);
  }

  async collect(target: Target, type: ProfileTypeName, signal?: AbortSignal, opts: CollectOptions = {}): Promise<CollectOutcome> {
    const startedAtMs = this.deps.clock.now();
    const log = this.deps.logger.child({ target: target.baseUrl, service: target.service, instance: target.instance, type, ...(opts.trigger ? { trigger: opts.trigger } : {}) });
    if (target.config.credentialsRefused !== undefined) {
      // Discovered over http by a block with credentials: nothing is sent to it.
      return this.finish(target, type, log, { result: 'failed', startedAtMs, error: { code: 'insecure_credentials', message: target.config.credentialsRefused } });
    }
    // Decided before anything is fetched: a skip leaves the delta baseline
    // where it is, so the next delta covers the longer window.
    const spec = typeSpec(type, target.config.customTypes);
    const admitted = await this.deps.admission?.admit(target, spec, slotGapMs(target, type), signal);
    if (admitted && !admitted.ok) {
      return this.finish(target, type, log, { result: 'skipped', startedAtMs, reason: admitted.reason, error: { code: admitted.reason, message: admitted.message }, hint: admitted.hint });
    }
    const reservation = admitted?.reservation ?? null;
    try {
      return await this.collectAdmitted(target, type, log, startedAtMs, reservation, signal, opts);
    } finally {
      // The profile is in the outputs' hands (the spool), or was never made.
      reservation?.release();
    }
  }

  private async collectAdmitted(target: Target, type: ProfileTypeName, log: Logger, startedAtMs: number, reservation: Reservation | null, signal?: AbortSignal, opts: CollectOptions = {}): Promise<CollectOutcome> {
    const { clock } = this.deps;
    const spec = typeSpec(type, target.config.customTypes);

    let release: (() => void) | null = null;
    let windowSeconds = 0;
    let url = profileUrl(target.baseUrl, spec.path);
    const cost = spec.seconds ? this.deps.cpuWindows.seconds(target.id, target.config.profileDurationMs) * 1000 : 1;
    const budget = this.deps.budget?.(target, type, cost);
    if (budget && !budget.ok) {
      // Not a failure: the service's budget goes to another replica or is spent.
      log.debug({ why: budget.why }, budget.why === 'spent' ? `${type} budget of the service is spent for this period; skipped` : `another replica of the service has waited longer for its ${type} turn; skipped`);
      return this.finish(target, type, log, { result: 'skipped', startedAtMs, reason: 'service_budget', quiet: true });
    }
    if (spec.cpuProfiler) {
      release = this.deps.cpuGate.tryAcquire(target.instance);
      if (!release) {
        // The same process is listed more than once (or has a custom CPU
        // profiler type too): they take the CPU in turn; one that cannot get
        // it within one interval skips.
        if (this.once.first(target.id, 'cpu-shared')) {
          log.info(
            `a CPU profile of ${target.instance} is in flight for another listing of the same process (or another CPU profiler type of this one); CPU windows are taken in turn`,
          );
        }
        release = await this.deps.cpuGate.acquire(target.instance, { maxWaitMs: slotGapMs(target, type), ...(signal ? { signal } : {}) });
      }
      if (!release) {
        return this.finish(target, type, log, {
          result: 'skipped',
          startedAtMs,
          error: {
            code: 'cpu_busy',
            message: `the CPU of ${target.instance} stayed busy with other listings of the same process for a whole interval; this window is skipped`,
          },
        });
      }
    }
    if (spec.seconds) {
      windowSeconds = this.deps.cpuWindows.seconds(target.id, target.config.profileDurationMs);
      url += `${url.includes('?') ? '&' : '?'}seconds=${windowSeconds}`;
    }

    let bytes = 0;
    const plan = this.deps.deltaSources?.plan(target, spec);
    let godeltaprof = plan?.godeltaprof ?? false;
    try {
      const headers = await this.credentials.headers(target.config.auth);
      const get = (u: string) => {
        url = u;
        return httpScrape({
          url: u,
          dispatcher: this.deps.dispatchers.get(target.config.tls),
          timeoutMs: target.config.httpTimeoutMs,
          maxBodyBytes: target.config.bodySizeLimitBytes,
          headers,
          ...(signal ? { signal } : {}),
          now: () => clock.now(),
        });
      };
      const res = plan
        ? await readDelta({ target, spec, plan, plainUrl: url, get, log, sources: this.deps.deltaSources!, first: (what) => this.once.first(target.id, what) })
        : { ...(await get(url)), godeltaprof: false };
      godeltaprof = res.godeltaprof;
      release?.();
      release = null;
      bytes = res.body.length;
      this.deps.admission?.bodyRead(target, spec, bytes, reservation);
      if (spec.seconds) this.deps.cpuWindows.fits(target.id, windowSeconds, target.config.profileDurationMs);
      const processed = await this.deps.processor.process({
        target,
        type,
        body: res.body,
        ...(res.contentType ? { contentType: res.contentType } : {}),
        ...(godeltaprof ? { godeltaprof } : {}),
        startedAtMs: res.startedAtMs,
        finishedAtMs: res.finishedAtMs,
        ...(opts.trigger ? { extraTags: { trigger: opts.trigger } } : {}),
      });
      // A mutex/block profile with no samples at all over several windows:
      // profiling may be off (one empty window is no proof; a zero delta of a
      // profile with samples is just a quiet window).
      const empty = this.emptyWindows.observe(target.id, type, { kind: processed.kind, scrapedSamples: processed.scrapedSamples, ...(godeltaprof ? { deltaOnly: true } : {}) });
      const hint = empty.hint;
      if (empty.news) log.warn({ hint, windows: empty.windows }, `${type} profile has had no samples in ${empty.windows} consecutive windows`);
      if (processed.kind === 'reset') {
        if (!godeltaprof) this.deps.deltaSources?.askAgain(target.id);
        log.info({ reason: processed.reason }, `${type} baseline reset: ${processed.reason}; this scrape is the new baseline and nothing is shipped for it`);
      }
      if (processed.kind === 'shipped') await this.deps.emit(processed.record, processed.baseline);
      else await this.deps.saveBaseline?.(processed.baseline);
      const result: CollectResult = processed.kind;
      return this.finish(target, type, log, {
        result,
        startedAtMs,
        bytes,
        samples: processed.kind === 'shipped' ? processed.record.sampleCount : processed.scrapedSamples,
        ...(hint ? { hint } : {}),
        ...(processed.kind === 'shipped' ? { recordId: processed.record.id } : {}),
        ...(plan ? { godeltaprof } : {}),
        stats: processed.stats,
      });
    } catch (err) {
      // Unreachable (or gone quiet): it may come back as a new binary.
      if (err instanceof ScrapeError && (err.code === 'network' || err.code === 'timeout')) this.deps.deltaSources?.askAgain(target.id);
      // godeltaprof's path answered, but not with a profile (a catch-all
      // route): auto takes it for "not served", and reads the plain path next.
      if (godeltaprof && plan?.fallback && err instanceof InvalidProfileError) {
        this.deps.deltaSources?.notServed(target, spec);
        err = new InvalidProfileError(`${err.message} (the next scrape reads ${profileUrl(target.baseUrl, spec.path)} instead)`);
      }
      return this.failed(target, type, log, err, startedAtMs, bytes, windowSeconds, url);
    } finally {
      release?.();
    }
  }

  private failed(
    target: Target,
    type: ProfileTypeName,
    log: Logger,
    err: unknown,
    startedAtMs: number,
    bytes: number,
    windowSeconds: number,
    url: string,
  ): CollectOutcome {
    let code: string;
    let message: string;
    let result: CollectResult = 'failed';
    /** A shortened CPU window to tell about, once the hint is known. */
    let windowNews: { next: number | null } | undefined;
    if (err instanceof ScrapeError) {
      code = err.code;
      message = err.message;
      if (err.code === 'cpu_in_use') result = 'skipped';
      // Cut off by our own shutdown: not the target's fault, and not news.
      if (err.code === 'aborted') {
        log.info(`${type} scrape abandoned at the end of the shutdown grace period`);
        return this.finish(target, type, log, { result: 'skipped', startedAtMs, bytes, reason: 'shutdown', quiet: true });
      }
      if (err.code === 'write_timeout') {
        const probe = this.deps.cpuWindows.isProbe(target.id, windowSeconds);
        const next = this.deps.cpuWindows.shorten(target.id, windowSeconds);
        if (probe) {
          // Trying a longer window again (the target's WriteTimeout may have
          // been raised): it still does not fit. Not news, not a failure of the target.
          log.debug({ window_seconds: windowSeconds, next_window_seconds: next }, `a ${windowSeconds}s CPU window still exceeds the target's WriteTimeout; back to ${next}s`);
          return this.finish(target, type, log, { result: 'skipped', startedAtMs, bytes, error: { code, message: `${err.message}: a ${windowSeconds}s window still does not fit` }, quiet: true });
        }
        message =
          next === null
            ? `${err.message}: the target's WriteTimeout is under 1s, so no CPU profile fits in it`
            : `${err.message}: CPU window shortened from ${windowSeconds}s to ${next}s for the next scrapes`;
        // Each window size is news once (the window halves a few times at
        // most); a target where even 1s does not fit repeats like any other
        // failure: counted, and summed up in the log every few minutes.
        if (this.once.first(target.id, `write_timeout/${windowSeconds}`)) windowNews = { next };
      }
    } else ({ code, message } = failureOf(err, url));
    // A target may echo what it was sent (its credentials) in an error body;
    // any URL in the message keeps its query secrets to itself.
    message = redactUrlSecrets(redactSecrets(message, this.secretsOf(target)));
    const hint = hintFor({
      code,
      message,
      ...(err instanceof ScrapeError && err.status !== undefined ? { status: err.status } : {}),
      allTypesNotFound: code === 'not_found' && this.allOthersNotFound(target, type),
      notFromPprof: err instanceof ScrapeError && err.code === 'not_found' && !err.fromGoPprof,
      cpuWindowSeconds: windowSeconds,
      profileDurationMs: target.config.profileDurationMs,
    });
    if (windowNews) {
      const { next } = windowNews;
      log.warn(
        { err: { code, message }, hint, window_seconds: windowSeconds, next_window_seconds: next },
        `CPU profile window ${windowSeconds}s exceeds the target's http.Server WriteTimeout; ${next === null ? 'cannot shorten below 1s' : `next window is ${next}s`}. Raise WriteTimeout above profile_duration (${formatDuration(target.config.profileDurationMs)}) or lower profile_duration`,
      );
    }
    return this.finish(target, type, log, { result, startedAtMs, bytes, error: { code, message }, ...(hint ? { hint } : {}), logged: windowNews !== undefined });
  }

  /** The target's credentials as last sent (a rotated token too), in every form they travel in. */
  private secretsOf(target: Target): string[] {
    return this.credentials.secrets(target.config.auth);
  }

  private allOthersNotFound(target: Target, type: ProfileTypeName): boolean {
    const others = target.config.enabledTypes.filter((t) => t !== type);
    return others.length > 0 && this.deps.health.allFailingWith(target.id, others, 'not_found');
  }

  private finish(
    target: Target,
    type: ProfileTypeName,
    log: Logger,
    partial: Omit<CollectOutcome, 'targetId' | 'type' | 'durationMs' | 'bytes' | 'samples'> & {
      bytes?: number;
      samples?: number;
      /** Not logged at all (the caller said it, or it is not news). */
      quiet?: boolean;
      /** The caller has logged this failure in its own words: repeats count from here. */
      logged?: boolean;
    },
  ): CollectOutcome {
    const { quiet, logged, ...rest } = partial;
    const outcome: CollectOutcome = {
      targetId: target.id,
      type,
      durationMs: this.deps.clock.now() - partial.startedAtMs,
      bytes: partial.bytes ?? 0,
      samples: partial.samples ?? 0,
      ...rest,
    };
    if (quiet) {
      this.deps.observe?.(outcome, target);
      return outcome;
    }
    const prev = this.deps.health.get(target.id, type)?.last;
    const transition = this.deps.health.update(outcome);
    if (outcome.error) {
      if (logged) this.repeats.set(target.id, type, { since: this.deps.clock.now(), count: 0 });
      else if (transition === 'new_failure' || (outcome.result === 'skipped' && this.skipIsNews(target.id, type, outcome.error.code, prev))) {
        log.warn({ err: outcome.error, hint: outcome.hint }, `${type} scrape ${outcome.result}: ${outcome.error.message}`);
        this.repeats.set(target.id, type, { since: this.deps.clock.now(), count: 0 });
      } else if (transition === 'same_failure') {
        // Repeats are counted, and summed up in one line every few minutes;
        // the metrics count every one.
        const r = this.repeats.get(target.id, type) ?? { since: this.deps.clock.now(), count: 0 };
        r.count++;
        this.repeats.set(target.id, type, r);
        const now = this.deps.clock.now();
        if (now - r.since >= REPEAT_SUMMARY_EVERY_MS) {
          log.warn(
            { err: outcome.error, hint: outcome.hint, failures: r.count, minutes: Math.round((now - r.since) / 60_000) },
            `${type} scrape still failing: ${r.count} more failure(s) in the last ${Math.round((now - r.since) / 60_000)} min: ${outcome.error.message}`,
          );
          this.repeats.set(target.id, type, { since: now, count: 0 });
        } else {
          log.debug({ err: outcome.error }, `${type} scrape still failing`);
        }
      }
    }
    if (transition === 'recovered' && !outcome.error) {
      this.repeats.delete(target.id, type);
      log.info(`${type} scrape recovered`);
    }
    if (!outcome.error) log.debug({ result: outcome.result, samples: outcome.samples, bytes: outcome.bytes, duration_ms: outcome.durationMs }, `${type} ${outcome.result}`);
    this.deps.observe?.(outcome, target);
    return outcome;
  }
}

