// Durable file writes: a temp name, every byte, fdatasync, then rename, and
// the directory fsynced once the names are in place, so "written" survives
// a power cut. A write that fails at any step removes its temp file.
// On the callback fs API: the same syscalls as fs/promises with less work
// per call (no FileHandle objects), which shows at hundreds a second.

import { close, closeSync, fdatasync, fsync, open, openSync, rename, renameSync, unlink, unlinkSync, write, writeSync } from 'node:fs';
import { promisify } from 'node:util';

/** The file-system calls a durable write makes (tests inject failures). */
export interface FileOps {
  open(path: string, flags: string): Promise<number>;
  write(fd: number, buf: Uint8Array, offset: number, length: number): Promise<number>;
  fdatasync(fd: number): Promise<void>;
  fsync(fd: number): Promise<void>;
  close(fd: number): Promise<void>;
  rename(from: string, to: string): Promise<void>;
  unlink(path: string): Promise<void>;
}

export const fsOps: FileOps = {
  open: promisify(open) as (path: string, flags: string) => Promise<number>,
  write: (fd, buf, offset, length) => new Promise((resolve, reject) => write(fd, buf, offset, length, null, (err, n) => (err ? reject(err) : resolve(n)))),
  fdatasync: promisify(fdatasync),
  fsync: promisify(fsync),
  close: promisify(close),
  rename: promisify(rename),
  unlink: promisify(unlink),
};

/**
 * The same calls for a thread whose only job is writing files (the file
 * output's writer thread): open, write, close, rename and unlink made
 * directly, each a quick system call that blocks only that thread, instead
 * of a round trip through libuv's pool (queueing one costs the calling
 * thread about as much as the call itself); the syncs, which wait on the
 * disk, still go to the pool so that many run at once.
 */
export const blockingFsOps: FileOps = {
  open: async (path, flags) => openSync(path, flags),
  write: async (fd, buf, offset, length) => writeSync(fd, buf, offset, length),
  fdatasync: fsOps.fdatasync,
  fsync: fsOps.fsync,
  close: async (fd) => closeSync(fd),
  rename: async (from, to) => renameSync(from, to),
  unlink: async (path) => unlinkSync(path),
};

let tmpSeq = 0;

/** Writes `data` to `path` through a temp file: on disk (fdatasync) before it has the name. */
export async function writeFileDurably(path: string, data: Uint8Array, ops: FileOps = fsOps): Promise<void> {
  const tmp = `${path}.tmp-${process.pid}-${++tmpSeq}`;
  let fd: number | null = null;
  try {
    fd = await ops.open(tmp, 'wx');
    let off = 0;
    while (off < data.length) off += await ops.write(fd, data, off, data.length - off);
    await ops.fdatasync(fd);
    const f = fd;
    fd = null;
    await ops.close(f);
    await ops.rename(tmp, path);
  } catch (err) {
    if (fd !== null) await ops.close(fd).catch(() => undefined);
    await ops.unlink(tmp).catch(() => undefined);
    throw err;
  }
}

/** Makes the names in `dir` (new files, renames) survive a power cut. */
export async function syncDirectory(dir: string, ops: FileOps = fsOps): Promise<void> {
  const fd = await ops.open(dir, 'r');
  try {
    await ops.fsync(fd);
  } finally {
    await ops.close(fd);
  }
}
