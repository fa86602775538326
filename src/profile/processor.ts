// The profile stage: scraped bytes in, an immutable ProfileRecord (or a
// baseline) out. cpu and goroutine are validated and shipped as scraped;
// cumulative types become deltas against the previous scrape.

import type { Target } from '../discovery/static.js';
import { LIMITS } from '../limits.js';
import type { BaselineFiles, BaselineStore } from './baselines.js';
import { DELTA_GZIP_LEVEL, gzipProfile, inflateProfile, isGzip, parseRawProfile } from './codec.js';
import { freezeRecord, newRecordId, type ProfileRecord } from './record.js';
import { rawDelta, rawSampleTypeIndexes, sampleTypeNames, type RawBaseline } from './raw.js';
import type { ProfileStats } from './stats.js';
import { PROFILE_TYPES, type ProfileTypeName } from './types.js';

export interface ScrapedProfile {
  readonly target: Target;
  readonly type: ProfileTypeName;
  /** The response body as received (gzipped pprof from Go). */
  readonly body: Buffer;
  readonly contentType?: string;
  /** Collector clock, Unix ms: when the request started and when the body was complete. */
  readonly startedAtMs: number;
  readonly finishedAtMs: number;
}

interface Common {
  /** Samples in the profile as scraped (before any delta). */
  readonly scrapedSamples: number;
  /** Sums per sample type, for the runtime metrics derived from profiles. */
  readonly stats: ProfileStats;
  /** The scraped profile had no samples at all (for mutex/block: profiling is off). */
  readonly empty: boolean;
}

export type ProcessResult =
  | (Common & { readonly kind: 'shipped'; readonly record: ProfileRecord })
  | (Common & { readonly kind: 'baseline' })
  | (Common & { readonly kind: 'reset'; readonly reason: string });

export interface ProcessorOptions {
  readonly baselines: BaselineStore;
  /** Where baselines survive a restart of the collector (none for --once). */
  readonly baselineFiles?: BaselineFiles;
  readonly baselineMaxAgeMs?: number;
  readonly maxDecompressedBytes?: number;
  readonly now?: () => number;
}

const msToNs = (ms: number): bigint => BigInt(Math.round(ms)) * 1_000_000n;

export class ProfileProcessor {
  private readonly baselines: BaselineStore;
  private readonly baselineFiles: BaselineFiles | undefined;
  private readonly baselineMaxAgeMs: number;
  private readonly maxDecompressedBytes: number;
  private readonly now: () => number;

  constructor(opts: ProcessorOptions) {
    this.baselines = opts.baselines;
    this.baselineFiles = opts.baselineFiles;
    this.baselineMaxAgeMs = opts.baselineMaxAgeMs ?? LIMITS.baselineMaxAgeMs;
    this.maxDecompressedBytes = opts.maxDecompressedBytes ?? LIMITS.maxDecompressedBytes;
    this.now = opts.now ?? Date.now;
  }

  /** The baseline a previous run of the collector left on disk, if it is recent and readable. */
  private async savedBaseline(s: ScrapedProfile, deltaIdx: readonly number[]): Promise<RawBaseline | undefined> {
    const saved = await this.baselineFiles?.load(s.target.id, s.type);
    if (!saved || this.now() - saved.savedAtMs > this.baselineMaxAgeMs) return undefined;
    try {
      const { profile, index } = parseRawProfile(await inflateProfile(saved.body, this.maxDecompressedBytes), saved.body);
      const t = BigInt(profile.timeNanos);
      if (t <= 0n || sampleTypeNames(profile).join() === '') return undefined;
      return rawDelta(profile, index, undefined, deltaIdx, t).baseline;
    } catch {
      return undefined; // a torn or foreign file: this scrape becomes the baseline
    }
  }

  async process(s: ScrapedProfile): Promise<ProcessResult> {
    const spec = PROFILE_TYPES[s.type];
    const raw = await inflateProfile(s.body, this.maxDecompressedBytes);
    const { profile, index, sums } = parseRawProfile(raw, s.body, s.contentType);
    const scrapedSamples = profile.nSamples;
    const empty = scrapedSamples === 0;
    const { target } = s;

    const base = {
      targetId: target.id,
      type: s.type,
      service: target.service,
      env: target.env,
      version: target.version,
      instance: target.instance,
      tags: { ...target.tags },
      customTags: { ...target.customTags },
    };

    if (spec.deltaSampleTypes.length === 0) {
      const startNs = msToNs(s.startedAtMs);
      const dur = BigInt(profile.durationNanos);
      // CPU: the window Go measured, from when we asked. Snapshots: the request.
      const endNs = spec.isCpu && dur > 0n ? startNs + dur : msToNs(s.finishedAtMs);
      // Ship the bytes as scraped; Go's bytes are gzipped already.
      const pprof = isGzip(s.body) ? s.body : await gzipProfile(raw);
      const record = freezeRecord({ ...base, id: newRecordId(this.now()), startNs, endNs, pprof, sampleCount: scrapedSamples, isDelta: false });
      const windowSeconds = Number(endNs - startNs) / 1e9;
      return { kind: 'shipped', record, scrapedSamples, empty, stats: { scraped: sums, windowSeconds } };
    }

    const deltaIdx = rawSampleTypeIndexes(profile, spec.deltaSampleTypes, s.type);
    const timeNs = BigInt(profile.timeNanos);
    const timeNanos = timeNs > 0n ? timeNs : msToNs(s.finishedAtMs);
    const previous = this.baselines.get(target.id, s.type) ?? (await this.savedBaseline(s, deltaIdx));
    const outcome = rawDelta(profile, index, previous, deltaIdx, timeNanos);
    this.baselines.set(target.id, s.type, outcome.baseline);
    await this.baselineFiles?.save(target.id, s.type, s.body).catch(() => undefined);
    if (outcome.kind === 'baseline') return { kind: 'baseline', scrapedSamples, empty, stats: { scraped: sums } };
    if (outcome.kind === 'reset') return { kind: 'reset', reason: outcome.reason, scrapedSamples, empty, stats: { scraped: sums } };

    const pprof = await gzipProfile(outcome.profile, DELTA_GZIP_LEVEL);
    const record = freezeRecord({
      ...base,
      id: newRecordId(this.now()),
      startNs: outcome.windowStartNanos,
      endNs: timeNanos,
      pprof,
      sampleCount: outcome.samples,
      isDelta: true,
    });
    const stats: ProfileStats = { scraped: sums, delta: outcome.sums, windowSeconds: Number(timeNanos - outcome.windowStartNanos) / 1e9 };
    return { kind: 'shipped', record, scrapedSamples, empty, stats };
  }
}
