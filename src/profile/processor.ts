// The profile stage: scraped bytes in, an immutable ProfileRecord (or a
// baseline) out. cpu and goroutine are validated and shipped as scraped;
// cumulative types become deltas against the previous scrape.

import type { Target } from '../discovery/static.js';
import { LIMITS } from '../limits.js';
import type { BaselineFiles, BaselineStore } from './baselines.js';
import type { DeltaBaseline } from './delta.js';
import { decodeProfile, encodeProfile, gzipProfile, inflateProfile, int64, isGzip } from './codec.js';
import { computeDelta } from './delta.js';
import { freezeRecord, newRecordId, type ProfileRecord } from './record.js';
import { sumsBySampleType, type ProfileStats } from './stats.js';
import { PROFILE_TYPES, type ProfileTypeName } from './types.js';
import { sampleTypeIndexes, validateProfile } from './validate.js';

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
  private async savedBaseline(s: ScrapedProfile): Promise<DeltaBaseline | undefined> {
    const saved = await this.baselineFiles?.load(s.target.id, s.type);
    if (!saved || this.now() - saved.savedAtMs > this.baselineMaxAgeMs) return undefined;
    try {
      const raw = await inflateProfile(saved.body, this.maxDecompressedBytes);
      const p = decodeProfile(raw);
      validateProfile(p);
      const idx = sampleTypeIndexes(p, PROFILE_TYPES[s.type].deltaSampleTypes, s.type);
      const t = int64(p.timeNanos);
      if (t <= 0n) return undefined;
      const first = computeDelta(undefined, p, idx, t);
      return first.baseline;
    } catch {
      return undefined; // a torn or foreign file: this scrape becomes the baseline
    }
  }

  async process(s: ScrapedProfile): Promise<ProcessResult> {
    const spec = PROFILE_TYPES[s.type];
    const raw = await inflateProfile(s.body, this.maxDecompressedBytes);
    const profile = decodeProfile(raw, s.body, s.contentType);
    validateProfile(profile);
    const scrapedSamples = profile.sample.length;
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
      const dur = int64(profile.durationNanos);
      // CPU: the window Go measured, from when we asked. Snapshots: the request.
      const endNs = spec.isCpu && dur > 0n ? startNs + dur : msToNs(s.finishedAtMs);
      // Ship the bytes as scraped; Go's bytes are gzipped already.
      const pprof = isGzip(s.body) ? s.body : await gzipProfile(raw);
      const record = freezeRecord({ ...base, id: newRecordId(this.now()), startNs, endNs, pprof, sampleCount: scrapedSamples, isDelta: false });
      const windowSeconds = Number(endNs - startNs) / 1e9;
      return { kind: 'shipped', record, scrapedSamples, empty, stats: { scraped: sumsBySampleType(profile), windowSeconds } };
    }

    const scrapedSums = sumsBySampleType(profile);
    const deltaIdx = sampleTypeIndexes(profile, spec.deltaSampleTypes, s.type);
    const timeNs = int64(profile.timeNanos);
    const timeNanos = timeNs > 0n ? timeNs : msToNs(s.finishedAtMs);
    const previous = this.baselines.get(target.id, s.type) ?? (await this.savedBaseline(s));
    const outcome = computeDelta(previous, profile, deltaIdx, timeNanos);
    this.baselines.set(target.id, s.type, outcome.baseline);
    await this.baselineFiles?.save(target.id, s.type, s.body).catch(() => undefined);
    if (outcome.kind === 'baseline') return { kind: 'baseline', scrapedSamples, empty, stats: { scraped: scrapedSums } };
    if (outcome.kind === 'reset') return { kind: 'reset', reason: outcome.reason, scrapedSamples, empty, stats: { scraped: scrapedSums } };

    const pprof = await gzipProfile(encodeProfile(outcome.profile));
    const record = freezeRecord({
      ...base,
      id: newRecordId(this.now()),
      startNs: outcome.windowStartNanos,
      endNs: timeNanos,
      pprof,
      sampleCount: outcome.profile.sample.length,
      isDelta: true,
    });
    const stats: ProfileStats = {
      scraped: scrapedSums,
      delta: sumsBySampleType(outcome.profile),
      windowSeconds: Number(timeNanos - outcome.windowStartNanos) / 1e9,
    };
    return { kind: 'shipped', record, scrapedSamples, empty, stats };
  }
}
