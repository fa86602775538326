// The profile stage: scraped bytes in, an immutable ProfileRecord (or a
// baseline) out. cpu and goroutine are validated and shipped as scraped;
// cumulative types become deltas against the previous scrape, or, read from
// godeltaprof, are deltas already and are validated and shipped as they are.

import type { Target } from '../core/target.js';
import { LIMITS } from '../core/limits.js';
import type { BaselineStore } from './baselines.js';
import { freezeRecord, newRecordId, type ProfileRecord } from './record.js';
import type { ProfileStats } from './stats.js';
import { TargetTypeMap } from '../core/target-type-map.js';
import { InlineEngine, makeRunner, type ProfileEngine } from './workers.js';
import type { SavedBody } from './job.js';
import { shipNames, typeSpec, type ProfileTypeName } from './types.js';

export interface ScrapedProfile {
  readonly target: Target;
  readonly type: ProfileTypeName;
  /** The response body as received (gzipped pprof from Go). */
  readonly body: Buffer;
  readonly contentType?: string;
  /** Read from godeltaprof: a delta already (see ProfileJob.godeltaprof). */
  readonly godeltaprof?: boolean;
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
 * A godeltaprof read leaves an empty body: its time is all the next read's
 * window needs.
 */
export interface NewBaseline {
  readonly targetId: string;
  readonly type: ProfileTypeName;
  readonly timeNs: bigint;
  readonly body: Uint8Array;
}

const NO_BODY = new Uint8Array(0);

export type ProcessResult =
  | (Common & { readonly kind: 'shipped'; readonly record: ProfileRecord; readonly baseline?: NewBaseline })
  | (Common & { readonly kind: 'baseline'; readonly baseline: NewBaseline })
  | (Common & { readonly kind: 'reset'; readonly reason: string; readonly baseline: NewBaseline });

/** Where saved baselines come from (the spool); none: baselines live in memory only. */
export type SavedBaselines = (targetId: string, type: ProfileTypeName) => Promise<SavedBody | undefined>;

export interface ProcessorOptions {
  /** Where the heavy work runs (and the baselines live); inline, in memory, by default. */
  readonly engine?: ProfileEngine;
  /** For the inline default: its baseline store. */
  readonly baselines?: BaselineStore;
  /** The persisted baselines, handed to the engine when it has none for a target and type. */
  readonly saved?: SavedBaselines;
  readonly maxDecompressedBytes?: number;
  /** zlib level of the gzip the engine writes ([agent] compression_level); the job's default when not given. */
  readonly gzipLevel?: number;
  readonly now?: () => number;
}

const msToNs = (ms: number): bigint => BigInt(Math.round(ms)) * 1_000_000n;

export class ProfileProcessor {
  private readonly maxDecompressedBytes: number;
  private readonly gzipLevel: number | undefined;
  private readonly engine: ProfileEngine;
  private readonly now: () => number;
  private readonly saved: SavedBaselines | undefined;
  /** (target, type) pairs whose baseline the engine holds in memory. */
  private readonly inEngine = new TargetTypeMap<true>();
  /** Per worker (lane): the jobs handed to it and not done, with when each came (oldest first). */
  private readonly queued = new Map<number, Map<number, number>>();
  private nextJob = 0;

  constructor(opts: ProcessorOptions = {}) {
    this.maxDecompressedBytes = opts.maxDecompressedBytes ?? LIMITS.maxDecompressedBytes;
    this.gzipLevel = opts.gzipLevel;
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

  /** The jobs waiting or running on the worker `targetId`'s jobs go to, and how long the oldest has waited. */
  backlog(targetId: string): { jobs: number; oldestWaitMs: number } {
    const lane = this.queued.get(this.engine.laneOf?.(targetId) ?? 0);
    if (!lane || lane.size === 0) return { jobs: 0, oldestWaitMs: 0 };
    const oldest = lane.values().next().value as number;
    return { jobs: lane.size, oldestWaitMs: Math.max(0, this.now() - oldest) };
  }

  async process(s: ScrapedProfile): Promise<ProcessResult> {
    const laneId = this.engine.laneOf?.(s.target.id) ?? 0;
    let lane = this.queued.get(laneId);
    if (!lane) this.queued.set(laneId, (lane = new Map()));
    const job = this.nextJob++;
    lane.set(job, this.now());
    try {
      return await this.processNow(s);
    } finally {
      lane.delete(job);
    }
  }

  private async processNow(s: ScrapedProfile): Promise<ProcessResult> {
    const { target } = s;
    const spec = typeSpec(s.type, target.config.customTypes);
    const cumulative = spec.deltaSampleTypes.length > 0;
    const saved = cumulative && this.saved && !this.inEngine.get(target.id, s.type) ? await this.saved(target.id, s.type) : undefined;
    const r = await this.engine.run({
      targetId: target.id,
      type: s.type,
      deltaSampleTypes: spec.deltaSampleTypes,
      ...(s.godeltaprof && cumulative ? { godeltaprof: true } : {}),
      body: s.body,
      ...(s.contentType ? { contentType: s.contentType } : {}),
      maxDecompressedBytes: this.maxDecompressedBytes,
      ...(this.gzipLevel !== undefined ? { gzipLevel: this.gzipLevel } : {}),
      scrapedAtNanos: msToNs(s.finishedAtMs),
      ...(saved ? { savedBaseline: { body: saved.body, timeNs: saved.timeNs } } : {}),
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
      ...shipNames(spec),
      ...(target.config.tenantId ? { tenantId: target.config.tenantId } : {}),
    };
    const gzipped = (g: Uint8Array | undefined): Buffer => (g ? Buffer.from(g.buffer, g.byteOffset, g.byteLength) : s.body);

    if (r.kind === 'snapshot') {
      const startNs = msToNs(s.startedAtMs);
      // A window profile (cpu, fgprof): the window the target measured, from
      // when we asked. Snapshots: the request.
      const endNs = spec.seconds && r.durationNanos > 0n ? startNs + r.durationNanos : msToNs(s.finishedAtMs);
      // Ship the bytes as scraped; Go's bytes are gzipped already.
      const record = freezeRecord({ ...base, id: newRecordId(this.now()), startNs, endNs, pprof: gzipped(r.gzipped), sampleCount: scrapedSamples, isDelta: false });
      return { kind: 'shipped', record, scrapedSamples, empty, stats: { ...stats, windowSeconds: Number(endNs - startNs) / 1e9 } };
    }
    // A godeltaprof read leaves its time; our own delta the scraped body.
    const baseline: NewBaseline = { targetId: target.id, type: s.type, timeNs: r.timeNanos, body: s.godeltaprof ? NO_BODY : s.body };
    if (r.kind === 'baseline') return { kind: 'baseline', baseline, scrapedSamples, empty, stats };
    if (r.kind === 'reset') return { kind: 'reset', reason: r.reason, baseline, scrapedSamples, empty, stats };
    const passed = r.kind === 'passed';
    const record = freezeRecord({
      ...base,
      id: newRecordId(this.now()),
      startNs: r.windowStartNanos,
      endNs: r.timeNanos,
      pprof: gzipped(r.gzipped),
      sampleCount: passed ? scrapedSamples : r.samples,
      isDelta: true,
    });
    return { kind: 'shipped', record, baseline, scrapedSamples, empty, stats };
  }
}
