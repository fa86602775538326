// The profile stage: scraped bytes in, an immutable ProfileRecord (or a
// baseline) out. cpu and goroutine are validated and shipped as scraped;
// cumulative types become deltas against the previous scrape.

import type { Target } from '../core/target.js';
import { LIMITS } from '../core/limits.js';
import type { BaselineStore } from './baselines.js';
import { freezeRecord, newRecordId, type ProfileRecord } from './record.js';
import type { ProfileStats } from './stats.js';
import { InlineEngine, makeRunner, type ProfileEngine } from './workers.js';
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
  /** Where the heavy work runs (and the baselines live); inline, in memory, by default. */
  readonly engine?: ProfileEngine;
  /** For the inline default: its baseline store. */
  readonly baselines?: BaselineStore;
  readonly maxDecompressedBytes?: number;
  readonly now?: () => number;
}

const msToNs = (ms: number): bigint => BigInt(Math.round(ms)) * 1_000_000n;

export class ProfileProcessor {
  private readonly maxDecompressedBytes: number;
  private readonly engine: ProfileEngine;
  private readonly now: () => number;

  constructor(opts: ProcessorOptions = {}) {
    this.maxDecompressedBytes = opts.maxDecompressedBytes ?? LIMITS.maxDecompressedBytes;
    this.now = opts.now ?? Date.now;
    this.engine = opts.engine ?? new InlineEngine(makeRunner({ maxSavedAgeMs: LIMITS.baselineMaxAgeMs }, opts.baselines, this.now));
  }

  async process(s: ScrapedProfile): Promise<ProcessResult> {
    const spec = PROFILE_TYPES[s.type];
    const { target } = s;
    const r = await this.engine.run({
      targetId: target.id,
      type: s.type,
      body: s.body,
      ...(s.contentType ? { contentType: s.contentType } : {}),
      maxDecompressedBytes: this.maxDecompressedBytes,
      fallbackTimeNanos: msToNs(s.finishedAtMs),
    });
    const { scrapedSamples, empty, stats } = r;

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

    if (r.kind === 'snapshot') {
      const startNs = msToNs(s.startedAtMs);
      // CPU: the window Go measured, from when we asked. Snapshots: the request.
      const endNs = spec.isCpu && r.durationNanos > 0n ? startNs + r.durationNanos : msToNs(s.finishedAtMs);
      // Ship the bytes as scraped; Go's bytes are gzipped already.
      const pprof = r.gzipped ? Buffer.from(r.gzipped.buffer, r.gzipped.byteOffset, r.gzipped.byteLength) : s.body;
      const record = freezeRecord({ ...base, id: newRecordId(this.now()), startNs, endNs, pprof, sampleCount: scrapedSamples, isDelta: false });
      return { kind: 'shipped', record, scrapedSamples, empty, stats: { ...stats, windowSeconds: Number(endNs - startNs) / 1e9 } };
    }
    if (r.kind === 'baseline') return { kind: 'baseline', scrapedSamples, empty, stats };
    if (r.kind === 'reset') return { kind: 'reset', reason: r.reason, scrapedSamples, empty, stats };

    const record = freezeRecord({
      ...base,
      id: newRecordId(this.now()),
      startNs: r.windowStartNanos,
      endNs: r.timeNanos,
      pprof: Buffer.from(r.gzipped.buffer, r.gzipped.byteOffset, r.gzipped.byteLength),
      sampleCount: r.samples,
      isDelta: true,
    });
    return { kind: 'shipped', record, scrapedSamples, empty, stats };
  }
}
