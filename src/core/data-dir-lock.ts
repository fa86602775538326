// One collector per data_dir. Two on the same directory would replay and
// send the same spooled profiles twice and write each other's segments, so
// the second refuses to start, naming the first. A lock left by a process
// that is gone (a crash, a power cut) is taken over.

import { readFileSync } from 'node:fs';
import { mkdir, open, readFile, rm } from 'node:fs/promises';
import { hostname } from 'node:os';
import { join } from 'node:path';

export const LOCK_FILE = 'collector.lock';

export class DataDirLockedError extends Error {
  override name = 'DataDirLockedError';
  readonly code = 'ERR_DATA_DIR_LOCKED';
  constructor(
    message: string,
    readonly pid: number,
  ) {
    super(message);
  }
}

interface Holder {
  readonly pid: number;
  /** The process's start time in clock ticks since boot (Linux), so a reused pid is not taken for the holder. */
  readonly startTicks: string;
  readonly host: string;
  readonly since: string;
}

/** Field 22 of /proc/<pid>/stat: when the process started; '' where there is no /proc. */
function startTicks(pid: number | 'self'): string {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    return stat.slice(stat.lastIndexOf(')') + 2).split(' ')[19] ?? '';
  } catch {
    return '';
  }
}

function alive(h: Holder): boolean {
  if (h.host !== hostname()) return true; // another machine on shared storage: cannot tell, so assume so
  try {
    process.kill(h.pid, 0);
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code !== 'EPERM') return false;
  }
  const now = startTicks(h.pid);
  return h.startTicks === '' || now === '' || now === h.startTicks;
}

function parse(text: string): Holder | null {
  try {
    const h = JSON.parse(text) as Holder;
    return Number.isInteger(h.pid) && h.pid > 0 ? h : null;
  } catch {
    return null;
  }
}

export interface DataDirLock {
  release(): Promise<void>;
}

/** Takes data_dir for this process; throws DataDirLockedError when a live collector holds it. */
export async function lockDataDir(dir: string): Promise<DataDirLock> {
  await mkdir(dir, { recursive: true });
  const path = join(dir, LOCK_FILE);
  const me: Holder = { pid: process.pid, startTicks: startTicks('self'), host: hostname(), since: new Date().toISOString() };
  for (let attempt = 0; attempt < 3; attempt++) {
    try {
      const fh = await open(path, 'wx');
      try {
        await fh.writeFile(`${JSON.stringify(me)}\n`);
        await fh.sync();
      } finally {
        await fh.close();
      }
      return { release: () => rm(path, { force: true }) };
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code !== 'EEXIST') throw err;
    }
    const text = await readFile(path, 'utf8').catch(() => '');
    const holder = parse(text);
    if (holder && alive(holder)) {
      throw new DataDirLockedError(
        `data_dir ${dir} is in use by another collector (pid ${holder.pid}${holder.host !== me.host ? ` on ${holder.host}` : ''}, since ${holder.since}; lock file ${path}): stop that one, or give this one another [agent] data_dir`,
        holder.pid,
      );
    }
    // Left by a process that is gone (or half-written by one that died
    // while taking it): take it over.
    await rm(path, { force: true });
  }
  throw new DataDirLockedError(`data_dir ${dir}: could not take the lock file ${path} (another collector keeps taking it)`, 0);
}
