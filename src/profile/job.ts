// The CPU-heavy part of the profile stage: inflate, scan and validate, delta
// against the baseline of that target and type, encode and gzip. A runner
// owns the in-memory baselines of the targets routed to it, so a baseline
// never crosses a thread boundary (the spool persists their bodies): it runs
// in a worker thread (src/profile/workers.ts) or inline.

import { gzipSync } from 'node:zlib';
import { DELTA_GZIP_LEVEL, inflateProfile, isGzip, parseRawProfile } from './codec.js';
import type { BaselineStore } from './baselines.js';
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
  /**
   * The body the last spooled delta of this target and type left as its
   * baseline, for a runner that has none in memory (after a restart, or a
   * worker that was replaced): the next delta continues exactly from it.
   */
  readonly savedBaseline?: Uint8Array;
}

interface JobCommon {
  readonly scrapedSamples: number;
  readonly empty: boolean;
  readonly stats: ProfileStats;
}

export type ProfileJobResult =
  | (JobCommon & { readonly kind: 'snapshot'; readonly durationNanos: bigint; readonly gzipped?: Uint8Array })
  | (JobCommon & { readonly kind: 'baseline'; readonly timeNanos: bigint })
  | (JobCommon & { readonly kind: 'reset'; readonly reason: string; readonly timeNanos: bigint })
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
}

export class ProfileJobRunner {
  constructor(private readonly opts: ProfileJobRunnerOptions) {}

  /** The baseline a saved body stands for; undefined when it cannot be read (this scrape becomes the baseline). */
  private async savedBaseline(job: ProfileJob, body: Uint8Array, deltaIdx: readonly number[]): Promise<RawBaseline | undefined> {
    try {
      const { profile, index } = parseRawProfile(await inflateProfile(body, job.maxDecompressedBytes), body, undefined, { sums: false });
      const t = BigInt(profile.timeNanos);
      if (t <= 0n) return undefined;
      return rawDelta(profile, index, undefined, deltaIdx, t).baseline;
    } catch {
      return undefined;
    }
  }

  retainTargets(ids: ReadonlySet<string>): void {
    this.opts.baselines.retainTargets(ids);
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
    const { baselines } = this.opts;
    const previous = baselines.get(job.targetId, job.type) ?? (job.savedBaseline ? await this.savedBaseline(job, job.savedBaseline, deltaIdx) : undefined);
    const outcome = rawDelta(profile, index, previous, deltaIdx, timeNanos);
    // The caller persists this scrape's body as the new baseline together
    // with the delta (or alone): this runner only keeps it in memory.
    baselines.set(job.targetId, job.type, outcome.baseline);
    const scraped = outcome.scrapedSums;
    if (outcome.kind === 'baseline') return { kind: 'baseline', timeNanos, scrapedSamples, empty, stats: { scraped } };
    if (outcome.kind === 'reset') return { kind: 'reset', reason: outcome.reason, timeNanos, scrapedSamples, empty, stats: { scraped } };
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
