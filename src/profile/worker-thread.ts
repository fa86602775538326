// Runs the profile jobs of the targets routed to this worker (see workers.ts),
// and owns their baselines.

import { parentPort } from 'node:worker_threads';
import { heapReports } from '../core/thread-heap.js';
import { toJobError, type ProfileJob } from './job.js';
import { makeRunner } from './workers.js';

const port = parentPort;
if (!port) throw new Error('worker-thread.ts runs as a worker thread');
const runner = makeRunner();
const heapToSend = heapReports();

port.on('message', (msg: { id: number; job: ProfileJob } | { retain: string[] }) => {
  if ('retain' in msg) {
    runner.retainTargets(new Set(msg.retain));
    return;
  }
  const reply = (answer: { ok: true; result: unknown } | { ok: false; error: unknown }) => {
    const heap = heapToSend();
    port.postMessage({ id: msg.id, ...answer, ...(heap ? { heap } : {}) });
  };
  runner.run(msg.job).then(
    (result) => reply({ ok: true, result }),
    (err: unknown) => reply({ ok: false, error: toJobError(err) }),
  );
});
