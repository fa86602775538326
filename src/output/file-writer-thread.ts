// The file writer thread: receives batches of profiles' files from the main
// thread (file-writer.ts) and writes them all at once, so writes into one
// directory share its sync. It answers as writes finish: those that finished
// in one turn of its event loop go back together.

import { parentPort } from 'node:worker_threads';
import { blockingFsOps } from '../core/files.js';
import { heapReports, type ThreadHeap } from '../core/thread-heap.js';
import { DurableProfileWriter, type ProfileFiles } from './file-writes.js';

export interface WriteBatch {
  /** Each write's id, in the order of `files`. */
  readonly ids: number[];
  readonly files: ProfileFiles[];
}

/** Per write: null when on disk, else why not. */
export type WriteResult = null | { readonly code?: string; readonly message: string };

export interface WritesDone {
  readonly done: Array<[id: number, result: WriteResult]>;
  /** This thread's heap as it answers (at most once a second). */
  readonly heap?: ThreadHeap;
}

// This thread only writes files: its quick calls block it, not the pool (core/files.ts).
const writer = new DurableProfileWriter(blockingFsOps);
let finished: WritesDone['done'] = [];
const heapToSend = heapReports();

function answer(id: number, result: WriteResult): void {
  if (finished.length === 0) {
    setImmediate(() => {
      const done = finished;
      finished = [];
      const heap = heapToSend();
      parentPort!.postMessage({ done, ...(heap ? { heap } : {}) } satisfies WritesDone);
    });
  }
  finished.push([id, result]);
}

parentPort?.on('message', (msg: WriteBatch) => {
  msg.files.forEach((f, i) => {
    const id = msg.ids[i]!;
    writer.write(f).then(
      () => answer(id, null),
      (err: NodeJS.ErrnoException) => answer(id, { ...(err.code ? { code: err.code } : {}), message: err.message }),
    );
  });
});
