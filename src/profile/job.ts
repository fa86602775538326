// The CPU-heavy part of the profile stage: inflate, scan and validate, delta
// against the baseline of that target and type, encode and gzip. A runner
// owns the in-memory baselines of the targets routed to it, so a baseline
// never crosses a thread boundary (the spool persists their bodies): it runs
// in a worker thread (src/profile/workers.ts) or inline.

import { gzipSync } from 'node:zlib';
import { DELTA_GZIP_LEVEL, inflateProfile, isGzip, parseRawProfile } from './codec.js';
import { isReadMark, type BaselineStore, type ReadMark, type StoredBaseline } from './baselines.js';
import { InvalidProfileError, ProfileTooLargeError } from './errors.js';
import { rawDelta, rawSampleTypeIndexes } from './raw/index.js';
import type { ProfileStats } from './stats.js';
import type { ProfileTypeName } from './types.js';

/** A baseline as the spool keeps it: the scraped body (empty for a godeltaprof read) and its time. */
export interface SavedBody {
  readonly body: Uint8Array;
  readonly timeNs: bigint;
}

export interface ProfileJob {
  readonly targetId: string;
  readonly type: ProfileTypeName;
  /** The type's cumulative sample types (its spec's deltaSampleTypes); empty: a snapshot. */
  readonly deltaSampleTypes: readonly string[];
  /**
   * The body is godeltaprof's: its cumulative values are deltas since the
   * previous read already. It is validated and shipped as it is, over the
   * window from the previous read to this one.
   */
  readonly godeltaprof?: boolean;
  readonly body: Uint8Array;
  readonly contentType?: string;
  readonly maxDecompressedBytes: number;
  /** zlib level of the gzip written here ([agent] compression_level); DELTA_GZIP_LEVEL when not given. */
  readonly gzipLevel?: number;
  /**
   * When the body was complete (collector clock, Unix ns): the profile time
   * when the profile has none, and the time of a godeltaprof read.
   */
  readonly scrapedAtNanos: bigint;
  /**
   * The baseline the last spooled delta of this target and type left, for a
   * runner that has none in memory (after a restart, or a worker that was
   * replaced): the next delta continues exactly from it.
   */
  readonly savedBaseline?: SavedBody;
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
  /** A godeltaprof delta, shipped as scraped (gzipped here only if it came uncompressed). */
  | (JobCommon & { readonly kind: 'passed'; readonly windowStartNanos: bigint; readonly timeNanos: bigint; readonly gzipped?: Uint8Array })
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

  /**
   * The baseline a saved one stands for: a godeltaprof read (an empty body)
   * or a scraped body; undefined when it cannot be read (this scrape becomes
   * the baseline).
   */
  private async savedBaseline(job: ProfileJob, saved: SavedBody, deltaIdx: readonly number[]): Promise<StoredBaseline | undefined> {
    if (saved.body.length === 0) return { kind: 'godeltaprof-read', timeNanos: saved.timeNs };
    const body = saved.body;
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
    const raw = await inflateProfile(job.body, job.maxDecompressedBytes);
    const cumulative = job.deltaSampleTypes.length > 0;
    if (job.godeltaprof) return this.passThrough(job, raw);
    const { profile, index, sums } = parseRawProfile(raw, job.body, job.contentType, { sums: !cumulative });
    const scrapedSamples = profile.nSamples;
    const empty = scrapedSamples === 0;

    if (!cumulative) {
      const durationNanos = BigInt(profile.durationNanos);
      // Go's bytes are gzipped already and shipped as they are; others are gzipped here.
      const gzipped = isGzip(job.body) ? undefined : gzipSync(raw, { level: job.gzipLevel ?? DELTA_GZIP_LEVEL });
      return { kind: 'snapshot', scrapedSamples, empty, stats: { scraped: sums }, durationNanos, ...(gzipped ? { gzipped } : {}) };
    }

    const deltaIdx = rawSampleTypeIndexes(profile, job.deltaSampleTypes, job.type);
    const timeNs = BigInt(profile.timeNanos);
    const timeNanos = timeNs > 0n ? timeNs : job.scrapedAtNanos;
    const stored = await this.previous(job, deltaIdx);
    // A godeltaprof read mark is no baseline for our own delta (the source
    // changed): this scrape becomes the baseline.
    const previous = isReadMark(stored) ? undefined : stored;
    const outcome = rawDelta(profile, index, previous, deltaIdx, timeNanos);
    // The caller persists this scrape's body as the new baseline together
    // with the delta (or alone): this runner only keeps it in memory.
    this.opts.baselines.set(job.targetId, job.type, outcome.baseline);
    const scraped = outcome.scrapedSums;
    if (outcome.kind === 'baseline') return { kind: 'baseline', timeNanos, scrapedSamples, empty, stats: { scraped } };
    if (outcome.kind === 'reset') return { kind: 'reset', reason: outcome.reason, timeNanos, scrapedSamples, empty, stats: { scraped } };
    const gzipped = gzipSync(outcome.profile, { level: job.gzipLevel ?? DELTA_GZIP_LEVEL });
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

  /** What this target and type continues from: in memory, or the saved one handed over. */
  private async previous(job: ProfileJob, deltaIdx: readonly number[]): Promise<StoredBaseline | undefined> {
    return this.opts.baselines.get(job.targetId, job.type) ?? (job.savedBaseline ? await this.savedBaseline(job, job.savedBaseline, deltaIdx) : undefined);
  }

  /**
   * A godeltaprof read: validated (every sample, and the sample types of the
   * type), then shipped as it is over [previous read, this read], both
   * collector times. The first read of a process, or the first after our
   * own deltas, holds everything since an unknown point: the baseline.
   */
  private async passThrough(job: ProfileJob, raw: Buffer): Promise<ProfileJobResult> {
    const { profile, sums } = parseRawProfile(raw, job.body, job.contentType);
    rawSampleTypeIndexes(profile, job.deltaSampleTypes, job.type);
    const scrapedSamples = profile.nSamples;
    const empty = scrapedSamples === 0;
    const timeNanos = job.scrapedAtNanos;
    // A saved scraped body is our own delta's baseline: not a read to continue from.
    const saved = job.savedBaseline;
    const previous = this.opts.baselines.get(job.targetId, job.type) ?? (saved?.body.length === 0 ? await this.savedBaseline(job, saved, []) : undefined);
    const mark: ReadMark = { kind: 'godeltaprof-read', timeNanos };
    this.opts.baselines.set(job.targetId, job.type, mark);
    if (!isReadMark(previous)) return { kind: 'baseline', timeNanos, scrapedSamples, empty, stats: { scraped: sums } };
    if (timeNanos <= previous.timeNanos) {
      return { kind: 'reset', reason: `the collector's clock went back or stood still since the previous godeltaprof read (${previous.timeNanos} -> ${timeNanos})`, timeNanos, scrapedSamples, empty, stats: { scraped: sums } };
    }
    const gzipped = isGzip(job.body) ? undefined : gzipSync(raw, { level: job.gzipLevel ?? DELTA_GZIP_LEVEL });
    const windowSeconds = Number(timeNanos - previous.timeNanos) / 1e9;
    return {
      kind: 'passed',
      windowStartNanos: previous.timeNanos,
      timeNanos,
      scrapedSamples,
      empty,
      stats: { scraped: sums, delta: sums, windowSeconds },
      ...(gzipped ? { gzipped } : {}),
    };
  }
}
