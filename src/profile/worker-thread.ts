// Runs the profile jobs of the targets routed to this worker (see workers.ts),
// and owns their baselines.

import { parentPort } from 'node:worker_threads';
import { thisThreadHeap } from '../core/thread-heap.js';
import { toJobError, type ProfileJob } from './job.js';
import { makeRunner } from './workers.js';

const port = parentPort;
if (!port) throw new Error('worker-thread.ts runs as a worker thread');
const runner = makeRunner();

port.on('message', (msg: { id: number; job: ProfileJob } | { retain: string[] }) => {
  if ('retain' in msg) {
    runner.retainTargets(new Set(msg.retain));
    return;
  }
  runner.run(msg.job).then(
    (result) => port.postMessage({ id: msg.id, ok: true, result, heap: thisThreadHeap() }),
    (err: unknown) => port.postMessage({ id: msg.id, ok: false, error: toJobError(err), heap: thisThreadHeap() }),
  );
});
