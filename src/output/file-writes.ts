// The file-system work of [[outputs.file]] for one profile: its gzipped
// pprof and its JSON sidecar, each written to a temp name, synced and
// renamed (pprof first, so a reader that sees the .json sees a complete
// profile beside it), then the directory synced so the names survive a
// power cut. Writes in progress at once into one directory share its sync
// (DirectorySyncs, a group commit). This runs in the file writer thread
// (file-writer.ts); tests run it in their own thread with failing FileOps.

import { mkdir, rm } from 'node:fs/promises';
import { fsOps, writeFileDurably, type FileOps } from '../core/files.js';
import { DirectorySyncs } from './dir-sync.js';
import type { ThreadHeap } from '../core/thread-heap.js';

/** One profile's files, as the sender hands them to a writer. */
export interface ProfileFiles {
  /** The output's directory: synced once when a service directory is made in it. */
  readonly root: string;
  /** The service directory both files go in. */
  readonly dir: string;
  /** Path of both files without the extension. */
  readonly stem: string;
  readonly pprof: Uint8Array;
  /** The sidecar's text. */
  readonly json: string;
}

/** Writes a profile's files durably; resolves only once both are on disk. */
export interface ProfileFileWriter {
  write(files: ProfileFiles): Promise<void>;
  /** Lets writes in progress finish, then stops. */
  close(): Promise<void>;
  /** The heap of the thread doing the writes, when that is not the caller's. */
  threadHeap?(): ThreadHeap | undefined;
}

/** The writer that does the work in the calling thread. */
export class DurableProfileWriter implements ProfileFileWriter {
  private readonly madeDirs = new Set<string>();
  private readonly dirSyncs: DirectorySyncs;

  constructor(private readonly ops: FileOps = fsOps) {
    this.dirSyncs = new DirectorySyncs(ops);
  }

  async write(f: ProfileFiles): Promise<void> {
    try {
      if (!this.madeDirs.has(f.dir)) {
        await mkdir(f.dir, { recursive: true });
        await this.dirSyncs.sync(f.root);
        this.madeDirs.add(f.dir);
      }
      await writeFileDurably(`${f.stem}.pprof`, f.pprof, this.ops);
      await writeFileDurably(`${f.stem}.json`, Buffer.from(f.json), this.ops);
      await this.dirSyncs.sync(f.dir);
    } catch (err) {
      // Neither file stays: a pprof without its .json (or one whose name may
      // not survive a power cut) is not delivered; the retry writes both.
      await rm(`${f.stem}.pprof`, { force: true }).catch(() => undefined);
      await rm(`${f.stem}.json`, { force: true }).catch(() => undefined);
      this.madeDirs.clear(); // the directory may be what went missing
      throw err;
    }
  }

  async close(): Promise<void> {}
}
