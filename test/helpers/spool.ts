// A look into a collector's spool from outside, while it may be running:
// the ids each output still has to deliver, or every entry (what a crash
// test prints when a profile went missing), read from the segment files
// without writing anything.

import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { silentLogger } from '../../src/core/log.js';
import { EntryKind, parseEntry, SEGMENT_MAGIC } from '../../src/output/spool/format.js';
import { replaySegments } from '../../src/output/spool/replay.js';
import { listSegments, segmentName } from '../../src/output/spool/segment-log.js';

export async function spooledIds(dataDir: string, output: string): Promise<string[]> {
  const dir = join(dataDir, 'spool', 'segments');
  const seqs = await listSegments(dir);
  let state;
  try {
    state = await replaySegments(seqs, (s) => join(dir, segmentName(s)), silentLogger(), true);
  } catch {
    return []; // a segment deleted between listing and reading: look again
  }
  return [...state.records].filter(([, r]) => r.outputs.has(output)).map(([id]) => id);
}

/** One entry of a spool as read from outside: what a crash test needs to say where a profile went. */
export interface SpoolDumpEntry {
  readonly segment: number;
  readonly kind: 'record' | 'baseline' | 'ack' | 'forget';
  readonly id?: string;
  readonly type?: string;
  readonly endNs?: bigint;
  readonly outputs?: readonly string[];
  readonly ackIds?: readonly string[];
}

/** Every intact entry of every segment, in order (a torn tail ends its segment). */
export async function dumpSpool(dataDir: string): Promise<SpoolDumpEntry[]> {
  const dir = join(dataDir, 'spool', 'segments');
  const out: SpoolDumpEntry[] = [];
  for (const seq of await listSegments(dir)) {
    const buf = await readFile(join(dir, segmentName(seq))).catch(() => Buffer.alloc(0));
    let off = SEGMENT_MAGIC.length;
    for (let e = parseEntry(buf, off); e; off += e.size, e = parseEntry(buf, off)) {
      const h = e.header;
      if (e.kind === EntryKind.Record) out.push({ segment: seq, kind: 'record', id: String(h.id), type: String(h.type), endNs: BigInt(String(h.endNs)), outputs: h.outputs as string[] });
      else if (e.kind === EntryKind.Ack) out.push({ segment: seq, kind: 'ack', ackIds: h.ids as string[] });
      else out.push({ segment: seq, kind: e.kind === EntryKind.Baseline ? 'baseline' : 'forget', ...(typeof h.type === 'string' ? { type: h.type } : {}) });
    }
  }
  return out;
}
