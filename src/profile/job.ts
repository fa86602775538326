// The CPU-heavy part of the profile stage: inflate, scan and validate, delta
// against the baseline of that target and type, encode and gzip. A runner
// owns the baselines of the targets routed to it (and their copies on disk),
// so a baseline never crosses a thread boundary: it runs in a worker thread
// (src/profile/workers.ts) or inline.

import { gzipSync } from 'node:zlib';
import { DELTA_GZIP_LEVEL, inflateProfile, isGzip, parseRawProfile } from './codec.js';
import type { BaselineFiles, BaselineStore } from './baselines.js';
import { InvalidProfileError, ProfileTooLargeError } from './errors.js';
import { rawDelta, rawSampleTypeIndexes, type RawBaseline } from './raw/index.js';
import type { ProfileStats } from './stats.js';
import { PROFILE_TYPES, type ProfileTypeName } from './types.js';

export interface ProfileJob {
  readonly targetId: string;
  readonly type: ProfileTypeName;
  readonly body: Uint8Array;
  readonly contentType?: string;
  readonly maxDecompressedBytes: number;
  /** Profile time to use when the profile has none (the scrape's end), ns. */
  readonly fallbackTimeNanos: bigint;
}

interface JobCommon {
  readonly scrapedSamples: number;
  readonly empty: boolean;
  readonly stats: ProfileStats;
}

export type ProfileJobResult =
  | (JobCommon & { readonly kind: 'snapshot'; readonly durationNanos: bigint; readonly gzipped?: Uint8Array })
  | (JobCommon & { readonly kind: 'baseline' })
  | (JobCommon & { readonly kind: 'reset'; readonly reason: string })
  | (JobCommon & {
      readonly kind: 'delta';
      readonly gzipped: Uint8Array;
      readonly samples: number;
      readonly windowStartNanos: bigint;
      readonly timeNanos: bigint;
    });

/** An error as it crosses the worker boundary. */
export interface JobError {
  readonly name: string;
  readonly message: string;
}

export function toJobError(err: unknown): JobError {
  const e = err as Error;
  return { name: e?.name ?? 'Error', message: e?.message ?? String(err) };
}

export function fromJobError(e: JobError): Error {
  if (e.name === 'InvalidProfileError') return new InvalidProfileError(e.message);
  if (e.name === 'ProfileTooLargeError') return new ProfileTooLargeError(e.message);
  const err = new Error(e.message);
  err.name = e.name;
  return err;
}

export interface ProfileJobRunnerOptions {
  readonly baselines: BaselineStore;
  /** Baselines on disk, so a restarted collector continues its deltas. */
  readonly files?: BaselineFiles;
  /** A saved baseline older than this is not used. */
  readonly maxSavedAgeMs: number;
  readonly now?: () => number;
}

export class ProfileJobRunner {
  private readonly now: () => number;

  constructor(private readonly opts: ProfileJobRunnerOptions) {
    this.now = opts.now ?? Date.now;
    // Saved bodies too old to be a baseline (targets gone since an earlier run) go.
    void opts.files?.pruneOlderThan(opts.maxSavedAgeMs);
  }

  /** The baseline a previous run of the collector left on disk, if it is recent and readable. */
  private async savedBaseline(job: ProfileJob, deltaIdx: readonly number[]): Promise<RawBaseline | undefined> {
    const saved = await this.opts.files?.load(job.targetId, job.type);
    if (!saved || this.now() - saved.savedAtMs > this.opts.maxSavedAgeMs) return undefined;
    try {
      const { profile, index } = parseRawProfile(await inflateProfile(saved.body, job.maxDecompressedBytes), saved.body, undefined, { sums: false });
      const t = BigInt(profile.timeNanos);
      if (t <= 0n) return undefined;
      return rawDelta(profile, index, undefined, deltaIdx, t).baseline;
    } catch {
      return undefined; // a torn or foreign file: this scrape becomes the baseline
    }
  }

  retainTargets(ids: ReadonlySet<string>): void {
    this.opts.baselines.retainTargets(ids);
    void this.opts.files?.retainTargets(ids);
  }

  async run(job: ProfileJob): Promise<ProfileJobResult> {
    const spec = PROFILE_TYPES[job.type];
    const raw = await inflateProfile(job.body, job.maxDecompressedBytes);
    const cumulative = spec.deltaSampleTypes.length > 0;
    const { profile, index, sums } = parseRawProfile(raw, job.body, job.contentType, { sums: !cumulative });
    const scrapedSamples = profile.nSamples;
    const empty = scrapedSamples === 0;

    if (!cumulative) {
      const durationNanos = BigInt(profile.durationNanos);
      // Go's bytes are gzipped already and shipped as they are; others are gzipped here.
      const gzipped = isGzip(job.body) ? undefined : gzipSync(raw);
      return { kind: 'snapshot', scrapedSamples, empty, stats: { scraped: sums }, durationNanos, ...(gzipped ? { gzipped } : {}) };
    }

    const deltaIdx = rawSampleTypeIndexes(profile, spec.deltaSampleTypes, job.type);
    const timeNs = BigInt(profile.timeNanos);
    const timeNanos = timeNs > 0n ? timeNs : job.fallbackTimeNanos;
    const { baselines, files } = this.opts;
    const previous = baselines.get(job.targetId, job.type) ?? (await this.savedBaseline(job, deltaIdx));
    const outcome = rawDelta(profile, index, previous, deltaIdx, timeNanos);
    baselines.set(job.targetId, job.type, outcome.baseline);
    // A new baseline is saved at once; during steady deltas, once a minute.
    await (outcome.kind === 'delta' ? files?.maybeSave(job.targetId, job.type, job.body) : files?.save(job.targetId, job.type, job.body))?.catch(() => undefined);
    const scraped = outcome.scrapedSums;
    if (outcome.kind === 'baseline') return { kind: 'baseline', scrapedSamples, empty, stats: { scraped } };
    if (outcome.kind === 'reset') return { kind: 'reset', reason: outcome.reason, scrapedSamples, empty, stats: { scraped } };
    const gzipped = gzipSync(outcome.profile, { level: DELTA_GZIP_LEVEL });
    return {
      kind: 'delta',
      gzipped,
      samples: outcome.samples,
      windowStartNanos: outcome.windowStartNanos,
      timeNanos,
      scrapedSamples,
      empty,
      stats: { scraped, delta: outcome.sums, windowSeconds: Number(timeNanos - outcome.windowStartNanos) / 1e9 },
    };
  }
}
