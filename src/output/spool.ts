// The durable spool under <data_dir>/spool. Every scraped profile is written
// here before it counts as scraped, and stays until every output it is meant
// for has accepted it (or given up on it). On start the collector replays it.
//
// Layout: one file per profile, hard-linked into one directory per output:
//   spool/tmp/<id>.prof              being written (fsync, then linked)
//   spool/outputs/<output>/<id>.prof what that output still has to deliver
//   spool/quarantine/                files that failed their checksum
// An output that delivered a profile unlinks its link; the data is freed by
// the file system when the last link goes. A crash leaves either a complete,
// checksummed file or a leftover in tmp/ (removed on start).
//
// File format: "PPSPOOL1", u32 header length, header JSON, u32 pprof length,
// pprof bytes, sha256 of everything before.

import { createHash } from 'node:crypto';
import { link, mkdir, readdir, readFile, rename, rm, stat, unlink } from 'node:fs/promises';
import { writeDurable } from '../core/files.js';
import { join } from 'node:path';
import type { Logger } from '../core/log.js';
import type { ProfileRecord } from '../profile/record.js';
import { isProfileTypeName } from '../profile/types.js';

const MAGIC = Buffer.from('PPSPOOL1');
const FILE_EXT = '.prof';

export class SpoolCorruptError extends Error {
  override name = 'SpoolCorruptError';
  readonly code = 'ERR_SPOOL_CORRUPT';
}

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
}

export interface SpoolDrop {
  readonly output: string;
  readonly id: string;
  readonly reason: 'spool_full' | 'too_old' | 'output_removed' | 'corrupt';
}

/** Directory name of an output: its name where safe, otherwise a safe form plus a hash. */
export function outputDirName(name: string): string {
  const safe = name.replace(/[^A-Za-z0-9._-]/g, '_');
  if (safe === name && !name.startsWith('.')) return name;
  return `${safe.replace(/^\.+/, '_')}-${createHash('sha256').update(name).digest('hex').slice(0, 8)}`;
}

export function encodeSpoolRecord(r: ProfileRecord): Buffer {
  const header = Buffer.from(
    JSON.stringify({
      v: 1,
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
    }),
  );
  const hl = Buffer.alloc(4);
  hl.writeUInt32BE(header.length);
  const pl = Buffer.alloc(4);
  pl.writeUInt32BE(r.pprof.length);
  const body = Buffer.concat([MAGIC, hl, header, pl, r.pprof]);
  return Buffer.concat([body, createHash('sha256').update(body).digest()]);
}

export function decodeSpoolRecord(buf: Buffer): ProfileRecord {
  const bad = (why: string) => new SpoolCorruptError(`spool file is corrupt: ${why}`);
  if (buf.length < MAGIC.length + 8 + 32 || !buf.subarray(0, MAGIC.length).equals(MAGIC)) throw bad('not a spool file');
  const body = buf.subarray(0, buf.length - 32);
  if (!createHash('sha256').update(body).digest().equals(buf.subarray(buf.length - 32))) throw bad('checksum mismatch (torn write?)');
  let off = MAGIC.length;
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
  if (h.v !== 1 || !isProfileTypeName(type)) throw bad('unknown version or type');
  return Object.freeze({
    id: String(h.id),
    targetId: String(h.targetId),
    type,
    service: String(h.service),
    env: String(h.env),
    version: String(h.version),
    instance: String(h.instance),
    startNs: BigInt(String(h.startNs)),
    endNs: BigInt(String(h.endNs)),
    tags: Object.freeze({ ...(h.tags as Record<string, string>) }),
    customTags: Object.freeze({ ...(h.customTags as Record<string, string>) }),
    pprof: Buffer.from(body.subarray(off, off + pl)),
    sampleCount: Number(h.sampleCount),
    isDelta: Boolean(h.isDelta),
  });
}

/** Unix ms of a UUIDv7 id; 0 when the id is not one. */
export function idTimeMs(id: string): number {
  const hex = id.replace(/-/g, '').slice(0, 12);
  return /^[0-9a-f]{12}$/i.test(hex) ? Number.parseInt(hex, 16) : 0;
}

interface Held {
  bytes: number;
  createdMs: number;
  /** Outputs whose directory still links this profile. */
  outputs: Set<string>;
}

export class Spool {
  private readonly tmpDir: string;
  private readonly outputsDir: string;
  private readonly quarantineDir: string;
  private readonly held = new Map<string, Held>();
  private totalBytes = 0;
  private readonly madeDirs = new Set<string>();
  private readonly now: () => number;
  private readonly log: Logger;

  private constructor(private readonly opts: SpoolOptions) {
    this.tmpDir = join(opts.dir, 'tmp');
    this.outputsDir = join(opts.dir, 'outputs');
    this.quarantineDir = join(opts.dir, 'quarantine');
    this.now = opts.now ?? Date.now;
    this.log = opts.logger.child({ spool: opts.dir });
  }

  get dir(): string {
    return this.opts.dir;
  }

  get bytes(): number {
    return this.totalBytes;
  }

  get profiles(): number {
    return this.held.size;
  }

  private outputDir(output: string): string {
    return join(this.outputsDir, outputDirName(output));
  }

  private path(output: string, id: string): string {
    return join(this.outputDir(output), `${id}${FILE_EXT}`);
  }

  /**
   * Opens (creating) the spool and lists what each configured output still
   * has to deliver, oldest first. Directories of outputs no longer configured
   * are emptied (their profiles are reported as dropped).
   */
  static async open(opts: SpoolOptions, outputs: readonly string[]): Promise<{ spool: Spool; pending: Map<string, SpoolEntry[]>; dropped: SpoolDrop[] }> {
    const spool = new Spool(opts);
    await mkdir(spool.outputsDir, { recursive: true });
    await mkdir(spool.quarantineDir, { recursive: true });
    // Leftovers of a write that never completed: never counted as scraped.
    await rm(spool.tmpDir, { recursive: true, force: true });
    await mkdir(spool.tmpDir, { recursive: true });

    const wanted = new Map(outputs.map((o) => [outputDirName(o), o]));
    const pending = new Map<string, SpoolEntry[]>(outputs.map((o) => [o, []]));
    const dropped: SpoolDrop[] = [];
    const inodes = new Map<number, string>();
    for (const dirName of await readdir(spool.outputsDir)) {
      const dir = join(spool.outputsDir, dirName);
      const output = wanted.get(dirName);
      const files = (await readdir(dir).catch(() => [] as string[])).filter((f) => f.endsWith(FILE_EXT));
      if (output === undefined) {
        for (const f of files) dropped.push({ output: dirName, id: f.slice(0, -FILE_EXT.length), reason: 'output_removed' });
        await rm(dir, { recursive: true, force: true });
        continue;
      }
      for (const f of files) {
        const id = f.slice(0, -FILE_EXT.length);
        let st;
        try {
          st = await stat(join(dir, f));
        } catch {
          continue;
        }
        const createdMs = idTimeMs(id) || st.mtimeMs;
        const h = spool.held.get(id);
        if (h) h.outputs.add(output);
        else {
          spool.held.set(id, { bytes: st.size, createdMs, outputs: new Set([output]) });
          if (!inodes.has(st.ino)) spool.totalBytes += st.size;
          inodes.set(st.ino, id);
        }
        pending.get(output)!.push({ id, bytes: st.size, createdMs });
      }
    }
    for (const list of pending.values()) list.sort((a, b) => a.createdMs - b.createdMs || (a.id < b.id ? -1 : 1));
    return { spool, pending, dropped };
  }

  /** Writes the profile once and links it for each output; resolves when it is on disk. */
  async put(record: ProfileRecord, outputs: readonly string[]): Promise<SpoolEntry> {
    const data = encodeSpoolRecord(record);
    const tmp = join(this.tmpDir, `${record.id}${FILE_EXT}`);
    await writeDurable(tmp, data);
    let moved = false;
    try {
      // Hard links for all outputs but the first, which gets the file itself.
      for (const [i, output] of outputs.entries()) {
        if (!this.madeDirs.has(output)) {
          await mkdir(this.outputDir(output), { recursive: true });
          this.madeDirs.add(output);
        }
        if (i > 0) await link(tmp, this.path(output, record.id));
      }
      if (outputs.length > 0) {
        await rename(tmp, this.path(outputs[0]!, record.id));
        moved = true;
      }
    } finally {
      if (!moved) await unlink(tmp).catch(() => undefined);
    }
    const createdMs = idTimeMs(record.id) || this.now();
    this.held.set(record.id, { bytes: data.length, createdMs, outputs: new Set(outputs) });
    this.totalBytes += data.length;
    return { id: record.id, bytes: data.length, createdMs };
  }

  /** Reads a spooled profile for an output; a corrupt file is quarantined and reported. */
  async load(output: string, id: string): Promise<ProfileRecord> {
    const p = this.path(output, id);
    const buf = await readFile(p);
    try {
      return decodeSpoolRecord(buf);
    } catch (err) {
      const q = join(this.quarantineDir, `${outputDirName(output)}-${id}${FILE_EXT}`);
      await rename(p, q).catch(() => undefined);
      this.forget(output, id);
      this.log.error({ output, id, quarantined: q, err: { message: (err as Error).message } }, `${(err as Error).message}: moved to ${q}; this profile is lost for ${output}`);
      throw err;
    }
  }

  /** The output is done with the profile (delivered, or given up on). */
  async release(output: string, id: string): Promise<void> {
    await unlink(this.path(output, id)).catch((err: NodeJS.ErrnoException) => {
      if (err.code !== 'ENOENT') this.log.warn({ output, id, err: { message: err.message } }, 'could not remove a delivered profile from the spool');
    });
    this.forget(output, id);
  }

  private forget(output: string, id: string): void {
    const h = this.held.get(id);
    if (!h) return;
    h.outputs.delete(output);
    if (h.outputs.size === 0) {
      this.held.delete(id);
      this.totalBytes -= h.bytes;
    }
  }

  /** Drops every profile an output still holds (the output was removed from the config). */
  async removeOutput(output: string): Promise<SpoolDrop[]> {
    const dropped: SpoolDrop[] = [];
    for (const [id, h] of this.held) {
      if (h.outputs.has(output)) {
        dropped.push({ output, id, reason: 'output_removed' });
        this.forget(output, id);
      }
    }
    await rm(this.outputDir(output), { recursive: true, force: true });
    this.madeDirs.delete(output);
    return dropped;
  }

  /**
   * Applies spool_max_age and spool_max_bytes: the oldest profiles go first.
   * Returns what was dropped, per output, so the queues forget them too.
   */
  async enforceBounds(checkAge = true): Promise<SpoolDrop[]> {
    const dropped: SpoolDrop[] = [];
    if (this.held.size === 0) return dropped;
    // Under the byte bound, only the (periodic) age check has anything to do.
    if (!checkAge && this.totalBytes <= this.opts.maxBytes) return dropped;
    const cutoff = checkAge ? this.now() - this.opts.maxAgeMs : -Infinity;
    const byAge = [...this.held.entries()].sort((a, b) => a[1].createdMs - b[1].createdMs || (a[0] < b[0] ? -1 : 1));
    for (const [id, h] of byAge) {
      const tooOld = h.createdMs < cutoff;
      if (!tooOld && this.totalBytes <= this.opts.maxBytes) break;
      const reason = tooOld ? 'too_old' : 'spool_full';
      for (const output of [...h.outputs]) {
        dropped.push({ output, id, reason });
        await this.release(output, id);
      }
    }
    return dropped;
  }
}
