// Append-only segment files with group commit: every append waiting while
// a write is in progress goes out in the next single writev, followed by one
// fdatasync for the whole batch, so a thousand profiles a second cost a few
// syscalls each second, not five per profile. A failed batch is cut off
// again (ftruncate) so no torn entry stays behind, and its appends fail.

import { close, fdatasync, fsync, ftruncate, open, read, readdir, unlink, writev } from 'node:fs';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { SEGMENT_MAGIC } from './format.js';

const openP = promisify(open);
const closeP = promisify(close);
const fdatasyncP = promisify(fdatasync);
const fsyncP = promisify(fsync);
const ftruncateP = promisify(ftruncate);
const unlinkP = promisify(unlink);
const readdirP = promisify(readdir);
const writevP = (fd: number, bufs: Buffer[], pos: number) =>
  new Promise<number>((resolve, reject) => writev(fd, bufs, pos, (err, n) => (err ? reject(err) : resolve(n))));
const readP = (fd: number, buf: Buffer, pos: number) =>
  new Promise<number>((resolve, reject) => read(fd, buf, 0, buf.length, pos, (err, n) => (err ? reject(err) : resolve(n))));

const SEGMENT_EXT = '.seg';

/** Where an entry landed. */
export interface Location {
  readonly seg: number;
  readonly off: number;
  readonly size: number;
}

export function segmentName(seq: number): string {
  return `${String(seq).padStart(10, '0')}${SEGMENT_EXT}`;
}

/** Sequence numbers of the segment files in `dir`, oldest first. */
export async function listSegments(dir: string): Promise<number[]> {
  const names = await readdirP(dir).catch(() => [] as string[]);
  return names
    .filter((n) => /^\d{10}\.seg$/.test(n))
    .map((n) => Number(n.slice(0, 10)))
    .sort((a, b) => a - b);
}

/** Writes everything, however many calls the kernel wants. */
async function writeAll(fd: number, bufs: Buffer[], pos: number): Promise<void> {
  let rest = bufs;
  while (rest.length > 0) {
    const n = await writevP(fd, rest, pos);
    if (n <= 0) throw Object.assign(new Error('write made no progress'), { code: 'EIO' });
    pos += n;
    let skip = n;
    const next: Buffer[] = [];
    for (const b of rest) {
      if (skip >= b.length) skip -= b.length;
      else {
        next.push(skip > 0 ? b.subarray(skip) : b);
        skip = 0;
      }
    }
    rest = next;
  }
}

interface Pending {
  readonly parts: readonly Buffer[];
  readonly size: number;
  readonly sync: boolean;
  resolve(l: Location): void;
  reject(e: Error): void;
}

interface OpenFile {
  fd: number;
  readers: number;
  removed: boolean;
}

/** Test seam: every fs step the log takes that can fail, by name. */
export type FaultHook = (step: 'write' | 'sync' | 'create' | 'dirsync') => void;

export class SegmentLog {
  private seq: number;
  private fd: number | null = null;
  private size = 0;
  private dirSynced = true;
  private broken = false;
  private pending: Pending[] = [];
  private flushing: Promise<void> | null = null;
  private readonly files = new Map<number, OpenFile>();
  /** Bytes of every segment this log knows of, by sequence. */
  readonly sizes = new Map<number, number>();

  constructor(
    readonly dir: string,
    private readonly segmentBytes: number,
    /** The newest segment already on disk; appends start a new one after it. */
    lastSeq: number,
    private readonly fault?: FaultHook,
  ) {
    this.seq = lastSeq;
  }

  get currentSeq(): number {
    return this.seq;
  }

  /** Bytes of all segments on disk. */
  get totalBytes(): number {
    let n = 0;
    for (const s of this.sizes.values()) n += s;
    return n;
  }

  path(seq: number): string {
    return join(this.dir, segmentName(seq));
  }

  /**
   * Appends one entry. Resolves once it is written (and, with `sync`, on
   * the disk) with where it landed; rejects when the write failed, leaving
   * nothing of it in the file.
   */
  append(parts: readonly Buffer[], sync: boolean): Promise<Location> {
    return new Promise((resolve, reject) => {
      this.pending.push({ parts, size: parts.reduce((n, p) => n + p.length, 0), sync, resolve, reject });
      if (!this.flushing) this.flushing = this.flushLoop();
    });
  }

  /** Resolves when everything appended so far is written. */
  async idle(): Promise<void> {
    while (this.flushing) await this.flushing;
  }

  private async flushLoop(): Promise<void> {
    try {
      while (this.pending.length > 0) {
        const batch = this.pending;
        this.pending = [];
        await this.flush(batch);
      }
    } finally {
      this.flushing = null;
    }
  }

  private async newSegment(): Promise<void> {
    if (this.fd !== null) {
      const old = this.seq;
      this.fd = null;
      this.seq++;
      this.release(old);
    } else this.seq++;
    this.fault?.('create');
    const fd = await openP(this.path(this.seq), 'wx+');
    this.files.set(this.seq, { fd, readers: 1, removed: false });
    this.fd = fd;
    this.size = 0;
    this.sizes.set(this.seq, 0);
    this.dirSynced = false;
    this.broken = false;
  }

  private async flush(batch: Pending[]): Promise<void> {
    const size = batch.reduce((n, p) => n + p.size, 0);
    try {
      if (this.fd === null || this.broken || (this.size > 0 && this.size + size > this.segmentBytes)) await this.newSegment();
    } catch (err) {
      for (const p of batch) p.reject(err as Error);
      return;
    }
    const fd = this.fd!;
    const start = this.size;
    const head = start === 0 ? [SEGMENT_MAGIC] : [];
    const bufs = [...head, ...batch.flatMap((p) => p.parts)];
    try {
      this.fault?.('write');
      await writeAll(fd, bufs, start);
      if (batch.some((p) => p.sync)) {
        this.fault?.('sync');
        await fdatasyncP(fd);
        if (!this.dirSynced) {
          // The new file's name must survive a power cut too.
          this.fault?.('dirsync');
          const dfd = await openP(this.dir, 'r');
          try {
            await fsyncP(dfd);
          } finally {
            await closeP(dfd);
          }
          this.dirSynced = true;
        }
      }
    } catch (err) {
      // Nothing of a failed batch may stay: cut the file back. After a
      // failed fsync the page cache cannot be trusted, so the next batch
      // goes to a new segment either way.
      if (start === 0) {
        // A segment that never held anything: no empty file stays behind.
        this.fd = null;
        this.files.delete(this.seq);
        this.sizes.delete(this.seq);
        await closeP(fd).catch(() => undefined);
        await unlinkP(this.path(this.seq)).catch(() => undefined);
      } else {
        this.broken = true;
        await ftruncateP(fd, start).catch(() => undefined);
      }
      for (const p of batch) p.reject(err as Error);
      return;
    }
    let off = start + head.reduce((n, b) => n + b.length, 0);
    this.size = off + size;
    this.sizes.set(this.seq, this.size);
    for (const p of batch) {
      p.resolve({ seg: this.seq, off, size: p.size });
      off += p.size;
    }
  }

  /** Reads `size` bytes at `off` of segment `seg`. */
  async read(seg: number, off: number, size: number): Promise<Buffer> {
    let f = this.files.get(seg);
    if (!f) {
      const fd = await openP(this.path(seg), 'r');
      // Another read opened it meanwhile: share that one, and take our
      // reference before anything else can run (awaiting the close of our
      // own descriptor first let that read finish and close the shared one
      // under us: EBADF, or another file's descriptor number reused).
      const raced = this.files.get(seg);
      if (raced) {
        void closeP(fd).catch(() => undefined);
        f = raced;
      } else {
        f = { fd, readers: 0, removed: false };
        this.files.set(seg, f);
      }
    }
    f.readers++;
    try {
      const buf = Buffer.allocUnsafe(size);
      let got = 0;
      while (got < size) {
        const n = await readP(f.fd, got === 0 ? buf : buf.subarray(got), off + got);
        if (n === 0) throw Object.assign(new Error(`segment ${segmentName(seg)} ends before offset ${off + size}`), { code: 'ERR_SPOOL_SHORT' });
        got += n;
      }
      return buf;
    } finally {
      this.release(seg, f);
    }
  }

  /** Drops one reference to `f` (the file of `seg` this caller holds), closing it after the last. */
  private release(seg: number, f: OpenFile | undefined = this.files.get(seg)): void {
    if (!f) return;
    f.readers--;
    if (f.readers <= 0 && (f.removed || seg !== this.seq)) {
      if (this.files.get(seg) === f) this.files.delete(seg);
      void closeP(f.fd).catch(() => undefined);
    }
  }

  /** Deletes a segment no longer needed (never the one being written). */
  async remove(seg: number): Promise<void> {
    if (seg === this.seq && this.fd !== null) return;
    this.sizes.delete(seg);
    const f = this.files.get(seg);
    if (f) {
      f.removed = true;
      if (f.readers <= 0) {
        this.files.delete(seg);
        await closeP(f.fd).catch(() => undefined);
      }
    }
    await unlinkP(this.path(seg)).catch(() => undefined);
  }

  async close(): Promise<void> {
    await this.idle();
    for (const [seg, f] of this.files) {
      this.files.delete(seg);
      await closeP(f.fd).catch(() => undefined);
    }
    this.fd = null;
  }
}
