// The spool's on-disk format: segment files of framed entries.
//
//   segment := "PPSPOOL2" entry*
//   entry   := u32 length(kind + payload) | u8 kind | payload | u32 crc32(kind + payload)
//
// A RECORD carries one profile for the outputs it names and, when it is a
// delta, the scraped body it leaves as the new delta baseline: one entry,
// one checksum, so after a crash either both are on disk or neither is, and
// the next delta starts exactly where the last spooled one ended. BASELINE
// is a baseline alone (a first scrape, a reset); ACK says outputs are done
// with profiles; FORGET drops the baselines of targets that are gone. The
// baseline of a godeltaprof read has an empty body: its time is the start of
// the next read's window.

import { crc32 } from 'node:zlib';
import type { ProfileRecord } from '../../profile/record.js';
import { CUSTOM_TYPE_NAME, isBuiltinType, PROFILE_TYPES, shipNames } from '../../profile/types.js';

export const SEGMENT_MAGIC = Buffer.from('PPSPOOL2');

export const EntryKind = { Record: 1, Baseline: 2, Ack: 3, Forget: 4 } as const;
export type EntryKind = (typeof EntryKind)[keyof typeof EntryKind];

export class SpoolCorruptError extends Error {
  override name = 'SpoolCorruptError';
  readonly code = 'ERR_SPOOL_CORRUPT';
}

/** A delta baseline as the spool keeps it: the scraped body and its profile time. */
export interface SavedBaseline {
  readonly targetId: string;
  readonly type: string;
  /** Profile time of the body, Unix ns. */
  readonly timeNs: bigint;
  /** When it was written, Unix ms (a baseline too old is not used). */
  readonly savedAtMs: number;
  /** The scraped body as received (gzipped pprof). */
  readonly body: Uint8Array;
}

/** Frame overhead: length, kind, crc. */
export const FRAME_BYTES = 4 + 1 + 4;

function frame(kind: EntryKind, parts: readonly Uint8Array[]): Buffer[] {
  const payloadLen = parts.reduce((n, p) => n + p.length, 0);
  const head = Buffer.alloc(5);
  head.writeUInt32BE(payloadLen + 1, 0);
  head[4] = kind;
  let crc = crc32(head.subarray(4, 5));
  // Empty parts are skipped: zlib's crc32 of a view with no memory behind it
  // (a new Uint8Array(0), like a godeltaprof read's baseline body) is its
  // initial value 0, not the running crc, and the entry would read as torn.
  for (const p of parts) if (p.length > 0) crc = crc32(p, crc);
  const tail = Buffer.alloc(4);
  tail.writeUInt32BE(crc >>> 0, 0);
  return [head, ...parts.map((p) => (Buffer.isBuffer(p) ? p : Buffer.from(p.buffer, p.byteOffset, p.byteLength))), tail];
}

function withHeader(header: unknown): Buffer[] {
  const json = Buffer.from(JSON.stringify(header));
  const len = Buffer.alloc(4);
  len.writeUInt32BE(json.length, 0);
  return [len, json];
}

function baselineHeader(b: SavedBaseline): Record<string, unknown> {
  return { targetId: b.targetId, type: b.type, timeNs: b.timeNs.toString(), savedAtMs: b.savedAtMs, bodyLen: b.body.length };
}

/** A RECORD entry, as buffers to write in order. */
export function recordEntry(r: ProfileRecord, outputs: readonly string[], baseline?: SavedBaseline): Buffer[] {
  const header = {
    v: 2,
    id: r.id,
    targetId: r.targetId,
    type: r.type,
    service: r.service,
    env: r.env,
    version: r.version,
    instance: r.instance,
    startNs: r.startNs.toString(),
    endNs: r.endNs.toString(),
    tags: r.tags,
    customTags: r.customTags,
    sampleCount: r.sampleCount,
    isDelta: r.isDelta,
    datakitFileName: r.datakitFileName,
    pyroscopeName: r.pyroscopeName,
    ...(r.tenantId ? { tenantId: r.tenantId } : {}),
    outputs,
    pprofLen: r.pprof.length,
    ...(baseline ? { baseline: baselineHeader(baseline) } : {}),
  };
  return frame(EntryKind.Record, [...withHeader(header), r.pprof, ...(baseline ? [baseline.body] : [])]);
}

export function baselineEntry(b: SavedBaseline): Buffer[] {
  return frame(EntryKind.Baseline, [...withHeader(baselineHeader(b)), b.body]);
}

export function ackEntry(output: string, ids: readonly string[]): Buffer[] {
  return frame(EntryKind.Ack, withHeader({ output, ids }));
}

export function forgetEntry(keys: ReadonlyArray<readonly [string, string]>): Buffer[] {
  return frame(EntryKind.Forget, withHeader({ keys }));
}

export function entryBytes(parts: readonly Uint8Array[]): number {
  return parts.reduce((n, p) => n + p.length, 0);
}

/** Bytes a profile counts against spool_max_bytes when spooled for `outputs`. */
export function spooledBytes(r: ProfileRecord, outputs: readonly string[]): number {
  return entryBytes(recordEntry(r, outputs));
}

/** One entry read back: its kind, header and the bytes after the header. */
export interface ParsedEntry {
  readonly kind: EntryKind;
  readonly header: Record<string, unknown>;
  /** Payload after the header (a view into the buffer read). */
  readonly rest: Uint8Array;
  /** Bytes the whole entry takes in the segment. */
  readonly size: number;
}

/**
 * Parses the entry at `off` of `buf`. Returns null when the bytes there are
 * not a whole, intact entry (the torn tail of a crash, or the end).
 */
export function parseEntry(buf: Uint8Array, off: number): ParsedEntry | null {
  if (off + FRAME_BYTES > buf.length) return null;
  const view = Buffer.from(buf.buffer, buf.byteOffset, buf.byteLength);
  const len = view.readUInt32BE(off);
  if (len < 1 || off + 4 + len + 4 > buf.length) return null;
  const body = view.subarray(off + 4, off + 4 + len);
  if ((crc32(body) >>> 0) !== view.readUInt32BE(off + 4 + len)) return null;
  const kind = body[0] as EntryKind;
  if (kind < EntryKind.Record || kind > EntryKind.Forget || len < 5) return null;
  const hl = body.readUInt32BE(1);
  if (5 + hl > body.length) return null;
  let header: Record<string, unknown>;
  try {
    header = JSON.parse(body.subarray(5, 5 + hl).toString('utf8')) as Record<string, unknown>;
  } catch {
    return null;
  }
  return { kind, header, rest: body.subarray(5 + hl), size: 4 + len + 4 };
}

function bad(why: string): never {
  throw new SpoolCorruptError(`spool entry is corrupt: ${why}`);
}

/**
 * The fields every spooled record header has (this format's and the old
 * layout's), as a record would carry them: the type's ship names and the
 * tenant are the caller's.
 */
export function recordFields(h: Record<string, unknown>, pprof: Uint8Array): Omit<ProfileRecord, 'datakitFileName' | 'pyroscopeName' | 'tenantId'> {
  return {
    id: String(h.id),
    targetId: String(h.targetId),
    type: String(h.type),
    service: String(h.service),
    env: String(h.env),
    version: String(h.version),
    instance: String(h.instance),
    startNs: BigInt(String(h.startNs)),
    endNs: BigInt(String(h.endNs)),
    tags: Object.freeze({ ...(h.tags as Record<string, string>) }),
    customTags: Object.freeze({ ...(h.customTags as Record<string, string>) }),
    pprof: Buffer.from(pprof),
    sampleCount: Number(h.sampleCount),
    isDelta: Boolean(h.isDelta),
  };
}

/** The profile of a RECORD entry. */
export function recordFromEntry(e: ParsedEntry): ProfileRecord {
  const h = e.header;
  const pprofLen = Number(h.pprofLen);
  const type = String(h.type);
  if (e.kind !== EntryKind.Record || h.v !== 2 || !(isBuiltinType(type) || CUSTOM_TYPE_NAME.test(type))) bad('not a profile record');
  if (!(pprofLen >= 0 && pprofLen <= e.rest.length)) bad('profile length');
  // Entries written before the names were kept are of built-in types.
  const names =
    typeof h.datakitFileName === 'string' && typeof h.pyroscopeName === 'string'
      ? { datakitFileName: h.datakitFileName, pyroscopeName: h.pyroscopeName }
      : isBuiltinType(type)
        ? shipNames(PROFILE_TYPES[type])
        : bad('a custom type without the names it ships under');
  return Object.freeze({
    ...recordFields(h, e.rest.subarray(0, pprofLen)),
    ...names,
    ...(typeof h.tenantId === 'string' && h.tenantId !== '' ? { tenantId: h.tenantId } : {}),
  });
}

/** The baseline of a BASELINE entry or of a RECORD entry that carries one; null when it carries none. */
export function baselineFromEntry(e: ParsedEntry): SavedBaseline | null {
  let meta: Record<string, unknown>;
  let body: Uint8Array;
  if (e.kind === EntryKind.Baseline) {
    meta = e.header;
    body = e.rest;
  } else if (e.kind === EntryKind.Record && e.header.baseline && typeof e.header.baseline === 'object') {
    meta = e.header.baseline as Record<string, unknown>;
    body = e.rest.subarray(Number(e.header.pprofLen));
  } else return null;
  if (Number(meta.bodyLen) !== body.length) bad('baseline length');
  return { targetId: String(meta.targetId), type: String(meta.type), timeNs: BigInt(String(meta.timeNs)), savedAtMs: Number(meta.savedAtMs), body: Buffer.from(body) };
}

/** Unix ms of a UUIDv7 id; 0 when the id is not one. */
export function idTimeMs(id: string): number {
  const hex = id.replace(/-/g, '').slice(0, 12);
  return /^[0-9a-f]{12}$/i.test(hex) ? Number.parseInt(hex, 16) : 0;
}
