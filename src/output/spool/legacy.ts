// The spool layout of earlier versions (one file per profile, hard-linked
// into spool/outputs/<output>/, written through spool/tmp/): read once at
// start and moved into the segment log, so an upgrade loses nothing.

import { createHash } from 'node:crypto';
import { access, readdir, readFile, rm } from 'node:fs/promises';
import { join } from 'node:path';
import type { ProfileRecord } from '../../profile/record.js';
import { isBuiltinType, PROFILE_TYPES, shipNames } from '../../profile/types.js';
import { recordFields, SpoolCorruptError } from './format.js';

const MAGIC_V1 = Buffer.from('PPSPOOL1');
const FILE_EXT = '.prof';

/** Directory name of an output in the old layout: its name where safe, otherwise a safe form plus a hash. */
export function outputDirName(name: string): string {
  const safe = name.replace(/[^A-Za-z0-9._-]/g, '_');
  if (safe === name && !name.startsWith('.')) return name;
  return `${safe.replace(/^\.+/, '_')}-${createHash('sha256').update(name).digest('hex').slice(0, 8)}`;
}

/** A profile file of the old layout ("PPSPOOL1", header, pprof, sha256). */
export function decodeLegacyRecord(buf: Buffer): ProfileRecord {
  const bad = (why: string) => new SpoolCorruptError(`old spool file is corrupt: ${why}`);
  if (buf.length < MAGIC_V1.length + 8 + 32 || !buf.subarray(0, MAGIC_V1.length).equals(MAGIC_V1)) throw bad('not a spool file');
  const body = buf.subarray(0, buf.length - 32);
  if (!createHash('sha256').update(body).digest().equals(buf.subarray(buf.length - 32))) throw bad('checksum mismatch (torn write?)');
  let off = MAGIC_V1.length;
  const hl = body.readUInt32BE(off);
  off += 4;
  if (off + hl + 4 > body.length) throw bad('header length');
  let h: Record<string, unknown>;
  try {
    h = JSON.parse(body.subarray(off, off + hl).toString('utf8')) as Record<string, unknown>;
  } catch {
    throw bad('header is not JSON');
  }
  off += hl;
  const pl = body.readUInt32BE(off);
  off += 4;
  if (off + pl !== body.length) throw bad('profile length');
  const type = String(h.type);
  if (h.v !== 1 || !isBuiltinType(type)) throw bad('unknown version or type');
  return Object.freeze({
    ...recordFields(h, body.subarray(off, off + pl)),
    ...shipNames(PROFILE_TYPES[type]),
  });
}

export interface LegacyProfile {
  readonly record: ProfileRecord;
  /** Output directory names that still linked it. */
  readonly dirs: string[];
}

/**
 * The profiles an old-layout spool under `dir` still holds, oldest first,
 * with the output directories that link each; unreadable files are counted.
 */
export async function readLegacySpool(dir: string): Promise<{ profiles: LegacyProfile[]; unreadable: number } | null> {
  const outputsDir = join(dir, 'outputs');
  let dirNames: string[];
  try {
    dirNames = await readdir(outputsDir);
  } catch {
    return null;
  }
  const byId = new Map<string, LegacyProfile>();
  let unreadable = 0;
  for (const d of dirNames) {
    const files = (await readdir(join(outputsDir, d)).catch(() => [] as string[])).filter((f) => f.endsWith(FILE_EXT));
    for (const f of files) {
      const id = f.slice(0, -FILE_EXT.length);
      const seen = byId.get(id);
      if (seen) {
        seen.dirs.push(d);
        continue;
      }
      try {
        byId.set(id, { record: decodeLegacyRecord(await readFile(join(outputsDir, d, f))), dirs: [d] });
      } catch {
        unreadable++;
      }
    }
  }
  const profiles = [...byId.values()].sort((a, b) => (a.record.id < b.record.id ? -1 : 1));
  return { profiles, unreadable };
}

/** Removes the old layout once its profiles are in the segment log. */
export async function removeLegacySpool(dir: string): Promise<void> {
  await rm(join(dir, 'outputs'), { recursive: true, force: true });
  await rm(join(dir, 'tmp'), { recursive: true, force: true });
}

/**
 * Earlier versions kept a copy of each baseline under
 * <data_dir>/state/baselines, up to a minute old: not safe to continue a
 * delta from (it counts windows twice), so it goes. Returns the directory
 * when there was one.
 */
export async function removeLegacyBaselines(dataDir: string): Promise<string | null> {
  const old = join(dataDir, 'state', 'baselines');
  if (!(await access(old).then(() => true, () => false))) return null;
  await rm(old, { recursive: true, force: true }).catch(() => undefined);
  return old;
}
