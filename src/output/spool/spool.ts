// The durable spool under <data_dir>/spool: every scraped profile is written
// here before it counts as scraped, and stays until every output it is meant
// for has accepted it (or given up on it). On start the collector replays it.
// It also keeps the delta baselines, in the same write as the delta computed
// from them (see format.ts), so a restart continues every delta exactly.
//
// Layout: spool/segments/<seq>.seg, append-only (segment-log.ts). A segment
// is deleted once nothing in it is live: every profile in it delivered or
// dropped, every baseline in it replaced by a newer one.
//
// The bounds are kept in O(1) per profile: profiles are held in the order
// they were written (a FIFO), so spool_max_bytes and spool_max_age drop from
// its head without sorting anything.

import { mkdir } from 'node:fs/promises';
import { join } from 'node:path';
import type { Logger } from '../../core/log.js';
import type { ProfileRecord } from '../../profile/record.js';
import {
  ackEntry,
  baselineEntry,
  baselineFromEntry,
  entryBytes,
  forgetEntry,
  idTimeMs,
  parseEntry,
  recordEntry,
  recordFromEntry,
  SpoolCorruptError,
  type SavedBaseline,
} from './format.js';
import { outputDirName, readLegacySpool, removeLegacySpool } from './legacy.js';
import { BaselineIndex } from './baseline-index.js';
import { replaySegments } from './replay.js';
import { listSegments, SegmentLog, type FaultHook, type Location } from './segment-log.js';

export { SpoolCorruptError, idTimeMs, spooledBytes, type SavedBaseline } from './format.js';

/** One spooled profile as an output's queue sees it, before its bytes are read. */
export interface SpoolEntry {
  readonly id: string;
  readonly bytes: number;
  /** Unix ms the profile was recorded (from its UUIDv7 id). */
  readonly createdMs: number;
}

export interface SpoolOptions {
  readonly dir: string;
  readonly maxBytes: number;
  readonly maxAgeMs: number;
  readonly logger: Logger;
  readonly now?: () => number;
  /** A saved baseline older than this is not used (and not kept). */
  readonly baselineMaxAgeMs?: number;
  /** Segment size; default from maxBytes (1/16th, between 64 KiB and 8 MiB). */
  readonly segmentBytes?: number;
  /** Test seam: fails the named file-system step. */
  readonly fault?: FaultHook;
}

export interface SpoolDrop {
  readonly output: string;
  readonly id: string;
  readonly reason: 'spool_full' | 'too_old' | 'output_removed' | 'corrupt';
}

interface Held {
  readonly loc: Location;
  readonly bytes: number;
  readonly createdMs: number;
  /** Outputs that still have to deliver it. */
  readonly outputs: Set<string>;
}

/** A segment whose only live entries are baselines is rewritten after this long. */
const COMPACT_AFTER_MS = 2 * 60_000;

export class Spool {
  private readonly held = new Map<string, Held>();
  /** Ids in the order they were written; the head may hold ids already gone. */
  private fifo: string[] = [];
  private head = 0;
  private heldBytes = 0;
  private readonly baselines = new BaselineIndex((seg, change) => {
    this.counts(seg).baselines += change;
    if (change < 0) void this.reclaim(seg);
  });
  /** Live entries per segment, and when each was started. */
  private readonly live = new Map<number, { records: number; baselines: number; sinceMs: number }>();
  private acks = new Map<string, string[]>();
  private acksScheduled = false;
  private readonly now: () => number;
  private readonly log: Logger;
  private readonly baselineMaxAgeMs: number;

  private constructor(
    private readonly opts: SpoolOptions,
    private readonly segments: SegmentLog,
  ) {
    this.now = opts.now ?? Date.now;
    this.log = opts.logger.child({ spool: opts.dir });
    this.baselineMaxAgeMs = opts.baselineMaxAgeMs ?? Infinity;
  }

  get dir(): string {
    return this.opts.dir;
  }

  /** Bytes of the profiles held (what spool_max_bytes bounds). */
  get bytes(): number {
    return this.heldBytes;
  }

  /** Bytes of the segment files on disk (profiles, baselines, and space not yet reclaimed). */
  get diskBytes(): number {
    return this.segments.totalBytes;
  }

  get profiles(): number {
    return this.held.size;
  }

  /** Ids of the profiles an output still has to deliver, oldest first. */
  heldFor(output: string): string[] {
    const ids: string[] = [];
    for (let i = this.head; i < this.fifo.length; i++) {
      const id = this.fifo[i]!;
      if (this.held.get(id)?.outputs.has(output)) ids.push(id);
    }
    return ids;
  }

  /**
   * Opens (creating) the spool and lists what each configured output still
   * has to deliver, oldest first. Profiles only for outputs no longer
   * configured are dropped (reported, and acknowledged so they stay gone).
   */
  static async open(opts: SpoolOptions, outputs: readonly string[]): Promise<{ spool: Spool; pending: Map<string, SpoolEntry[]>; dropped: SpoolDrop[] }> {
    const segDir = join(opts.dir, 'segments');
    await mkdir(segDir, { recursive: true });
    const seqs = await listSegments(segDir);
    const segmentBytes = opts.segmentBytes ?? Math.min(8 << 20, Math.max(64 << 10, Math.floor(opts.maxBytes / 16)));
    const log = new SegmentLog(segDir, segmentBytes, seqs[seqs.length - 1] ?? 0, opts.fault);
    const spool = new Spool(opts, log);
    const state = await replaySegments(seqs, (s) => log.path(s), spool.log);
    for (const [seq, size] of state.sizes) {
      log.sizes.set(seq, size);
      spool.live.set(seq, { records: 0, baselines: 0, sinceMs: spool.now() });
    }
    const wanted = new Set(outputs);
    const dropped: SpoolDrop[] = [];
    const replayed = [...state.records].sort((a, b) => a[1].createdMs - b[1].createdMs || (a[0] < b[0] ? -1 : 1));
    for (const [id, r] of replayed) {
      for (const o of [...r.outputs]) {
        if (wanted.has(o)) continue;
        r.outputs.delete(o);
        dropped.push({ output: o, id, reason: 'output_removed' });
        spool.queueAck(o, id);
      }
      if (r.outputs.size === 0) continue;
      spool.hold(id, { loc: r.loc, bytes: r.bytes, createdMs: r.createdMs || spool.now(), outputs: r.outputs });
    }
    const oldest = spool.now() - spool.baselineMaxAgeMs;
    for (const b of state.baselines.values()) if (b.savedAtMs >= oldest) spool.baselines.restore(b);
    for (const seq of seqs) await spool.reclaim(seq);
    await spool.importLegacy(wanted, dropped);
    const pending = new Map<string, SpoolEntry[]>(outputs.map((o) => [o, []]));
    for (const id of spool.fifo) {
      const h = spool.held.get(id)!;
      for (const o of h.outputs) pending.get(o)!.push({ id, bytes: h.bytes, createdMs: h.createdMs });
    }
    return { spool, pending, dropped };
  }

  /** Moves what an old-layout spool held into the log. */
  private async importLegacy(wanted: ReadonlySet<string>, dropped: SpoolDrop[]): Promise<void> {
    const legacy = await readLegacySpool(this.opts.dir);
    if (!legacy) return;
    const byDir = new Map([...wanted].map((o) => [outputDirName(o), o]));
    for (const { record, dirs } of legacy.profiles) {
      const outs = dirs.map((d) => byDir.get(d)).filter((o): o is string => o !== undefined);
      for (const d of dirs) if (!byDir.has(d)) dropped.push({ output: d, id: record.id, reason: 'output_removed' });
      if (outs.length > 0) await this.put(record, outs);
    }
    await removeLegacySpool(this.opts.dir);
    this.log.info({ profiles: legacy.profiles.length, unreadable: legacy.unreadable }, `moved ${legacy.profiles.length} profile(s) from the old spool layout into the segment log`);
  }

  private counts(seq: number): { records: number; baselines: number; sinceMs: number } {
    let c = this.live.get(seq);
    if (!c) {
      c = { records: 0, baselines: 0, sinceMs: this.now() };
      this.live.set(seq, c);
    }
    return c;
  }

  private hold(id: string, h: Held): void {
    this.held.set(id, h);
    this.fifo.push(id);
    this.heldBytes += h.bytes;
    this.counts(h.loc.seg).records++;
  }

  /** Deletes a segment once nothing in it is live (never the one being written). */
  private async reclaim(seq: number): Promise<void> {
    const c = this.live.get(seq);
    if (seq === this.segments.currentSeq || (c && (c.records > 0 || c.baselines > 0))) return;
    this.live.delete(seq);
    await this.segments.remove(seq);
  }

  /** A new segment was started: the one before may be done with. */
  private afterWrite(loc: Location): void {
    for (const seq of this.live.keys()) if (seq < loc.seg) void this.reclaim(seq);
  }

  /**
   * Writes the profile once for every output (and, for a delta, the body it
   * leaves as the new baseline, in the same entry); resolves when it is on
   * disk.
   */
  async put(record: ProfileRecord, outputs: readonly string[], baseline?: SavedBaseline): Promise<SpoolEntry> {
    const parts = recordEntry(record, outputs, baseline);
    const size = entryBytes(parts);
    const loc = await this.segments.append(parts, true);
    const bytes = size - (baseline?.body.length ?? 0);
    const createdMs = idTimeMs(record.id) || this.now();
    this.hold(record.id, { loc, bytes, createdMs, outputs: new Set(outputs) });
    if (baseline) this.baselines.set(baseline, loc);
    this.afterWrite(loc);
    return { id: record.id, bytes, createdMs };
  }

  /** Writes a baseline alone (a first scrape, or a reset); resolves when it is on disk. */
  async putBaseline(b: SavedBaseline): Promise<void> {
    const loc = await this.segments.append(baselineEntry(b), true);
    this.baselines.set(b, loc);
    this.afterWrite(loc);
  }

  /** The newest saved baseline of a target and type, unless too old or unreadable. */
  async savedBaseline(targetId: string, type: string): Promise<SavedBaseline | undefined> {
    const ref = this.baselines.get(targetId, type);
    if (!ref || this.now() - ref.savedAtMs > this.baselineMaxAgeMs) return undefined;
    try {
      const e = parseEntry(await this.segments.read(ref.loc.seg, ref.loc.off, ref.loc.size), 0);
      return (e && baselineFromEntry(e)) ?? undefined;
    } catch {
      return undefined; // unreadable: the next scrape becomes the baseline
    }
  }

  /**
   * Forgets the baselines this run wrote for targets that are gone (pods
   * churn through discovery), so their segments can be reclaimed.
   */
  retainBaselines(targetIds: ReadonlySet<string>): void {
    const gone = this.baselines.dropGone(targetIds);
    if (gone.length > 0) void this.segments.append(forgetEntry(gone), false).catch(() => undefined);
  }

  /**
   * The newest baseline of a target and type on disk is no longer the one
   * its deltas continue from (writing the new one failed): forget it, so a
   * restart takes a fresh baseline instead of counting a window twice.
   */
  invalidateBaseline(targetId: string, type: string): void {
    const ref = this.baselines.get(targetId, type);
    if (!ref || !this.baselines.drop(ref)) return;
    void this.segments.append(forgetEntry([[targetId, type]]), true).catch(() => undefined);
  }

  /** Reads a spooled profile for an output; an entry that fails its checksum is dropped for it. */
  async load(output: string, id: string): Promise<ProfileRecord> {
    const h = this.held.get(id);
    if (!h || !h.outputs.has(output)) throw new SpoolCorruptError(`profile ${id} is no longer in the spool for ${output}`);
    let record: ProfileRecord | null = null;
    let why = '';
    try {
      const e = parseEntry(await this.segments.read(h.loc.seg, h.loc.off, h.loc.size), 0);
      if (e) record = recordFromEntry(e);
      else why = 'checksum mismatch';
    } catch (err) {
      why = (err as Error).message;
    }
    if (record && record.id === id) return record;
    const msg = `spool entry of profile ${id} is corrupt (${why || 'another profile'}); this profile is lost for ${output}`;
    this.log.error({ output, id, segment: this.segments.path(h.loc.seg), offset: h.loc.off }, msg);
    await this.release(output, id);
    throw new SpoolCorruptError(msg);
  }

  /** The output is done with the profile (delivered, or given up on). */
  async release(output: string, id: string): Promise<void> {
    const h = this.held.get(id);
    if (!h || !h.outputs.delete(output)) return;
    this.queueAck(output, id);
    if (h.outputs.size > 0) return;
    this.held.delete(id);
    this.heldBytes -= h.bytes;
    this.counts(h.loc.seg).records--;
    await this.reclaim(h.loc.seg);
  }

  /**
   * Acknowledgements go out in one entry per output per tick, without a
   * sync of their own: one lost in a power cut means a redelivery (with
   * the same profile id), never a loss.
   */
  private queueAck(output: string, id: string): void {
    const list = this.acks.get(output) ?? [];
    list.push(id);
    this.acks.set(output, list);
    if (this.acksScheduled) return;
    this.acksScheduled = true;
    setImmediate(() => void this.flushAcks());
  }

  private async flushAcks(): Promise<void> {
    this.acksScheduled = false;
    const acks = this.acks;
    this.acks = new Map();
    await Promise.all([...acks].map(([output, ids]) => this.segments.append(ackEntry(output, ids), false).catch(() => undefined)));
  }

  /** Drops every profile an output still holds (the output was removed from the config). */
  async removeOutput(output: string): Promise<SpoolDrop[]> {
    const dropped: SpoolDrop[] = [];
    for (const [id, h] of [...this.held]) {
      if (!h.outputs.has(output)) continue;
      dropped.push({ output, id, reason: 'output_removed' });
      await this.release(output, id);
    }
    return dropped;
  }

  /**
   * Applies spool_max_age and spool_max_bytes, oldest first, from the head
   * of the FIFO: each profile is looked at once, so the cost per put is O(1)
   * however full the spool is. With `checkAge`, also rewrites old segments
   * kept alive only by a few baselines. Returns what was dropped.
   */
  async enforceBounds(checkAge = true): Promise<SpoolDrop[]> {
    const dropped: SpoolDrop[] = [];
    const cutoff = checkAge ? this.now() - this.opts.maxAgeMs : -Infinity;
    while (this.head < this.fifo.length) {
      const id = this.fifo[this.head]!;
      const h = this.held.get(id);
      if (!h) {
        this.head++;
        continue;
      }
      const tooOld = h.createdMs < cutoff;
      if (!tooOld && this.heldBytes <= this.opts.maxBytes) break;
      this.head++;
      const reason = tooOld ? 'too_old' : 'spool_full';
      for (const output of [...h.outputs]) {
        dropped.push({ output, id, reason });
        await this.release(output, id);
      }
    }
    if (this.head > 1024 && this.head * 2 > this.fifo.length) {
      this.fifo = this.fifo.slice(this.head);
      this.head = 0;
    }
    if (checkAge) await this.compact();
    return dropped;
  }

  /**
   * Old segments whose only live entries are baselines (targets on a long
   * interval, or failing ones): the baselines move to the newest segment,
   * those too old to use are forgotten, and the segment goes.
   */
  private async compact(): Promise<void> {
    const now = this.now();
    for (const [seq, c] of [...this.live]) {
      if (seq === this.segments.currentSeq || c.records > 0 || c.baselines === 0 || now - c.sinceMs < COMPACT_AFTER_MS) continue;
      for (const ref of this.baselines.inSegment(seq)) {
        const b = now - ref.savedAtMs <= this.baselineMaxAgeMs ? await this.savedBaseline(ref.targetId, ref.type) : undefined;
        if (this.baselines.get(ref.targetId, ref.type) !== ref) continue; // replaced meanwhile
        if (!b) {
          this.baselines.drop(ref);
          continue;
        }
        try {
          await this.putBaseline(b);
        } catch {
          return; // the disk is failing: try again at the next check
        }
      }
    }
  }

  async close(): Promise<void> {
    await this.flushAcks();
    await this.segments.close();
  }
}
