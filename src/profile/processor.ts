// The profile stage: scraped bytes in, an immutable ProfileRecord (or a
// baseline) out. cpu and goroutine are validated and shipped as scraped;
// cumulative types become deltas against the previous scrape.

import type { Target } from '../core/target.js';
import { LIMITS } from '../core/limits.js';
import type { BaselineStore } from './baselines.js';
import { freezeRecord, newRecordId, type ProfileRecord } from './record.js';
import type { ProfileStats } from './stats.js';
import { TargetTypeMap } from '../core/target-type-map.js';
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
  /** Tags of this profile alone, over the target's (a trigger's `trigger=<metric>`). */
  readonly extraTags?: Readonly<Record<string, string>>;
}

interface Common {
  /** Samples in the profile as scraped (before any delta). */
  readonly scrapedSamples: number;
  /** Sums per sample type, for the runtime metrics derived from profiles. */
  readonly stats: ProfileStats;
  /** The scraped profile had no samples at all (for mutex/block, over several windows: profiling may be off). */
  readonly empty: boolean;
}

/**
 * The body a cumulative scrape leaves as the delta baseline of its target
 * and type: to persist together with the delta computed against the one
 * before (or alone), so a restart continues exactly from the last delta.
 */
export interface NewBaseline {
  readonly targetId: string;
  readonly type: ProfileTypeName;
  readonly timeNs: bigint;
  readonly body: Uint8Array;
}

export type ProcessResult =
  | (Common & { readonly kind: 'shipped'; readonly record: ProfileRecord; readonly baseline?: NewBaseline })
  | (Common & { readonly kind: 'baseline'; readonly baseline: NewBaseline })
  | (Common & { readonly kind: 'reset'; readonly reason: string; readonly baseline: NewBaseline });

/** Where saved baselines come from (the spool); none: baselines live in memory only. */
export type SavedBaselines = (targetId: string, type: ProfileTypeName) => Promise<Uint8Array | undefined>;

export interface ProcessorOptions {
  /** Where the heavy work runs (and the baselines live); inline, in memory, by default. */
  readonly engine?: ProfileEngine;
  /** For the inline default: its baseline store. */
  readonly baselines?: BaselineStore;
  /** The persisted baselines, handed to the engine when it has none for a target and type. */
  readonly saved?: SavedBaselines;
  readonly maxDecompressedBytes?: number;
  readonly now?: () => number;
}

const msToNs = (ms: number): bigint => BigInt(Math.round(ms)) * 1_000_000n;

export class ProfileProcessor {
  private readonly maxDecompressedBytes: number;
  private readonly engine: ProfileEngine;
  private readonly now: () => number;
  private readonly saved: SavedBaselines | undefined;
  /** (target, type) pairs whose baseline the engine holds in memory. */
  private readonly inEngine = new TargetTypeMap<true>();

  constructor(opts: ProcessorOptions = {}) {
    this.maxDecompressedBytes = opts.maxDecompressedBytes ?? LIMITS.maxDecompressedBytes;
    this.now = opts.now ?? Date.now;
    this.engine = opts.engine ?? new InlineEngine(makeRunner(opts.baselines));
    this.saved = opts.saved;
  }

  /** The engine lost its baselines (a worker was replaced): hand it the saved ones again. */
  engineReset(): void {
    this.inEngine.clear();
  }

  retainTargets(ids: ReadonlySet<string>): void {
    this.inEngine.retainTargets(ids);
    this.engine.retainTargets(ids);
  }

  async process(s: ScrapedProfile): Promise<ProcessResult> {
    const spec = PROFILE_TYPES[s.type];
    const { target } = s;
    const cumulative = spec.deltaSampleTypes.length > 0;
    const savedBaseline = cumulative && this.saved && !this.inEngine.get(target.id, s.type) ? await this.saved(target.id, s.type) : undefined;
    const r = await this.engine.run({
      targetId: target.id,
      type: s.type,
      body: s.body,
      ...(s.contentType ? { contentType: s.contentType } : {}),
      maxDecompressedBytes: this.maxDecompressedBytes,
      fallbackTimeNanos: msToNs(s.finishedAtMs),
      ...(savedBaseline ? { savedBaseline } : {}),
    });
    if (cumulative) this.inEngine.set(target.id, s.type, true);
    const { scrapedSamples, empty, stats } = r;

    const base = {
      targetId: target.id,
      type: s.type,
      service: target.service,
      env: target.env,
      version: target.version,
      instance: target.instance,
      tags: { ...target.tags, ...s.extraTags },
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
    if (r.kind === 'baseline' || r.kind === 'reset') {
      const baseline = { targetId: target.id, type: s.type, timeNs: r.timeNanos, body: s.body };
      return r.kind === 'baseline' ? { kind: 'baseline', baseline, scrapedSamples, empty, stats } : { kind: 'reset', reason: r.reason, baseline, scrapedSamples, empty, stats };
    }

    const record = freezeRecord({
      ...base,
      id: newRecordId(this.now()),
      startNs: r.windowStartNanos,
      endNs: r.timeNanos,
      pprof: Buffer.from(r.gzipped.buffer, r.gzipped.byteOffset, r.gzipped.byteLength),
      sampleCount: r.samples,
      isDelta: true,
    });
    return { kind: 'shipped', record, baseline: { targetId: target.id, type: s.type, timeNs: r.timeNanos, body: s.body }, scrapedSamples, empty, stats };
  }
}
