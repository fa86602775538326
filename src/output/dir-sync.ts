// Group commit of directory syncs for [[outputs.file]]: the deliveries that
// wait to have their new names synced in the same directory share one
// fsync. A caller is only answered by a sync that began after it asked (its
// renames were done by then), so one arriving while a sync is in flight
// joins the next one, which starts when that one ends, together with every
// other caller that arrived meanwhile. A failed sync fails all who shared it.

import { syncDirectory, type FileOps } from '../core/files.js';

interface DirState {
  /** The sync running now. */
  inFlight?: Promise<void>;
  /** The one after it, shared by those who asked while inFlight ran. */
  queued?: Promise<void>;
}

const ignore = () => undefined;

export class DirectorySyncs {
  private readonly dirs = new Map<string, DirState>();

  constructor(private readonly ops: FileOps) {}

  /** Resolves once an fsync of `dir` that began after this call has completed. */
  sync(dir: string): Promise<void> {
    let s = this.dirs.get(dir);
    if (!s) {
      s = {};
      this.dirs.set(dir, s);
    }
    const running = s.inFlight;
    if (!running) return this.start(dir, s);
    const state = s;
    state.queued ??= running.then(ignore, ignore).then(() => {
      state.queued = undefined;
      return this.start(dir, state);
    });
    return state.queued;
  }

  private start(dir: string, s: DirState): Promise<void> {
    const p: Promise<void> = syncDirectory(dir, this.ops).finally(() => {
      if (s.inFlight === p) s.inFlight = undefined;
      if (!s.inFlight && !s.queued && this.dirs.get(dir) === s) this.dirs.delete(dir);
    });
    s.inFlight = p;
    return p;
  }
}
