// Reading the spool's segments back at start: which profiles each output
// still has to deliver, and the newest delta baseline of every target and
// type. A torn tail (a crash in the middle of a write) ends the newest
// segment and is cut off; entries before it are intact (checksummed).

import { readFile, truncate } from 'node:fs/promises';
import type { Logger } from '../../core/log.js';
import { baselineFromEntry, EntryKind, idTimeMs, parseEntry, SEGMENT_MAGIC } from './format.js';
import type { Location } from './segment-log.js';

export interface ReplayedRecord {
  readonly loc: Location;
  /** Bytes counted against spool_max_bytes (the entry without any baseline it carries). */
  readonly bytes: number;
  readonly createdMs: number;
  /** Outputs that have not acknowledged it. */
  readonly outputs: Set<string>;
}

export interface BaselineRef {
  readonly targetId: string;
  readonly type: string;
  readonly loc: Location;
  readonly timeNs: bigint;
  readonly savedAtMs: number;
}

export interface ReplayState {
  readonly records: Map<string, ReplayedRecord>;
  readonly baselines: Map<string, BaselineRef>;
  /** Bytes of each segment as read (after any torn tail was cut). */
  readonly sizes: Map<number, number>;
}

export const baselineKey = (targetId: string, type: string): string => `${targetId}\u0000${type}`;

/**
 * Reads the segments `seqs` in order. `readOnly`: a look from outside (a
 * test, a tool) while a collector may be writing: a torn tail is not cut.
 */
export async function replaySegments(seqs: readonly number[], pathOf: (seq: number) => string, logger: Logger, readOnly = false): Promise<ReplayState> {
  const records = new Map<string, ReplayedRecord>();
  const baselines = new Map<string, BaselineRef>();
  const sizes = new Map<number, number>();
  for (const [i, seq] of seqs.entries()) {
    const path = pathOf(seq);
    const buf = await readFile(path);
    let off = SEGMENT_MAGIC.length;
    if (buf.length === 0) {
      sizes.set(seq, 0); // created, never written: reclaimed like any empty segment
      continue;
    }
    if (buf.length < off || !buf.subarray(0, off).equals(SEGMENT_MAGIC)) {
      logger.error({ segment: path }, `spool segment ${path} is not a spool segment; ignored`);
      sizes.set(seq, buf.length);
      continue;
    }
    while (off < buf.length) {
      const e = parseEntry(buf, off);
      if (!e) break;
      const loc = { seg: seq, off, size: e.size };
      const h = e.header;
      if (e.kind === EntryKind.Record) {
        const id = String(h.id);
        const baselineBytes = h.baseline ? Number((h.baseline as Record<string, unknown>).bodyLen) : 0;
        records.set(id, { loc, bytes: e.size - baselineBytes, createdMs: idTimeMs(id), outputs: new Set((h.outputs as string[]) ?? []) });
      } else if (e.kind === EntryKind.Ack) {
        const output = String(h.output);
        for (const id of (h.ids as string[]) ?? []) {
          const r = records.get(id);
          if (!r) continue;
          r.outputs.delete(output);
          if (r.outputs.size === 0) records.delete(id);
        }
      } else if (e.kind === EntryKind.Forget) {
        for (const [targetId, type] of (h.keys as Array<[string, string]>) ?? []) baselines.delete(baselineKey(targetId, type));
      }
      if (e.kind === EntryKind.Record || e.kind === EntryKind.Baseline) {
        const b = e.kind === EntryKind.Baseline || h.baseline ? baselineFromEntry(e) : null;
        if (b) baselines.set(baselineKey(b.targetId, b.type), { targetId: b.targetId, type: b.type, loc, timeNs: b.timeNs, savedAtMs: b.savedAtMs });
      }
      off += e.size;
    }
    if (off < buf.length) {
      const newest = i === seqs.length - 1;
      if (readOnly) {
        // being written, or damaged: the caller only looks
      } else if (newest) {
        // A write the crash interrupted: never acknowledged, so nothing is lost.
        await truncate(path, off);
        logger.info({ segment: path, bytes: buf.length - off }, `cut ${buf.length - off} byte(s) of an interrupted write off the spool's newest segment`);
      } else {
        logger.error({ segment: path, offset: off, bytes: buf.length - off }, `spool segment ${path} is damaged at offset ${off}: the ${buf.length - off} byte(s) after it are unreadable and what they held is lost`);
      }
    }
    sizes.set(seq, off < buf.length && i === seqs.length - 1 ? off : buf.length);
  }
  return { records, baselines, sizes };
}
