// The one thing outputs ever see: an immutable record of one profile.

import { randomBytes } from 'node:crypto';
import type { ProfileTypeName } from './types.js';

export interface ProfileRecord {
  /** A UUIDv7: unique and time-ordered; a receiver can tell a redelivery by it. */
  readonly id: string;
  readonly targetId: string;
  readonly type: ProfileTypeName;
  readonly service: string;
  readonly env: string;
  readonly version: string;
  readonly instance: string;
  /** Window of the profile, Unix nanoseconds. */
  readonly startNs: bigint;
  readonly endNs: bigint;
  /** Every tag (service, env, version, host, instance, custom). */
  readonly tags: Readonly<Record<string, string>>;
  /** The tags the user wrote, alone. */
  readonly customTags: Readonly<Record<string, string>>;
  /** Gzipped pprof, ready to send. */
  readonly pprof: Buffer;
  readonly sampleCount: number;
  /**
   * A delta of cumulative values over this window: computed by the collector,
   * or by godeltaprof in the target and passed through.
   */
  readonly isDelta: boolean;
  /** The file name in a DataKit upload (from the type's spec, kept with the record). */
  readonly datakitFileName: string;
  /** Pyroscope's `__name__` (from the type's spec, kept with the record). */
  readonly pyroscopeName: string;
  /**
   * The target's tenant (`tenant_id`, or `__tenant_id__` from relabeling):
   * sent to Pyroscope as X-Scope-OrgID instead of the output's own tenant_id.
   * Absent: the output's.
   */
  readonly tenantId?: string;
}

/**
 * A UUIDv7 (RFC 9562): 48 bits of Unix ms, then random. Unique, sortable by
 * time, and in the form Pyroscope expects for a sample ID.
 */
export function newRecordId(nowMs: number): string {
  const b = randomBytes(16);
  const ms = BigInt(Math.max(0, Math.floor(nowMs)));
  for (let i = 0; i < 6; i++) b[i] = Number((ms >> BigInt(8 * (5 - i))) & 0xffn);
  b[6] = 0x70 | (b[6]! & 0x0f);
  b[8] = 0x80 | (b[8]! & 0x3f);
  const h = b.toString('hex');
  return `${h.slice(0, 8)}-${h.slice(8, 12)}-${h.slice(12, 16)}-${h.slice(16, 20)}-${h.slice(20)}`;
}

export function freezeRecord(r: ProfileRecord): ProfileRecord {
  Object.freeze(r.tags);
  Object.freeze(r.customTags);
  return Object.freeze(r);
}

/** Unix nanoseconds as RFC 3339 in UTC with nanoseconds, as DataKit parses it. */
export function rfc3339Nano(ns: bigint): string {
  const ms = ns / 1_000_000n;
  const frac = ((ns % 1_000_000_000n) + 1_000_000_000n) % 1_000_000_000n;
  const iso = new Date(Number(ms)).toISOString(); // 2026-11-22T00:45:12.345Z
  return `${iso.slice(0, 19)}.${frac.toString().padStart(9, '0')}Z`;
}
