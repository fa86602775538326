// The relabel worker thread: runs batches (relabel-batch.ts) and marks where
// it is in a shared array, so the main thread can tell a rule that runs too
// long (JavaScript's regexes backtrack where RE2 does not) and stop it.

import { parentPort, workerData } from 'node:worker_threads';
import { PROGRESS_BATCH, PROGRESS_RULE, PROGRESS_TARGET, RuleCache, runBatch, type RelabelReply, type RelabelRequest } from './relabel-batch.js';

const port = parentPort;
if (port) {
  const progress = new Int32Array((workerData as { progress: SharedArrayBuffer }).progress);
  const cache = new RuleCache();
  port.on('message', (m: RelabelRequest) => {
    try {
      const rules = cache.get(m.rulesText, m.rules);
      Atomics.store(progress, PROGRESS_TARGET, 0);
      Atomics.store(progress, PROGRESS_BATCH, m.id);
      const results = runBatch(rules, m.inputs, {
        target: (i) => {
          Atomics.store(progress, PROGRESS_RULE, 0);
          Atomics.store(progress, PROGRESS_TARGET, i + 1);
        },
        rule: (i) => Atomics.store(progress, PROGRESS_RULE, i),
        done: () => Atomics.store(progress, PROGRESS_TARGET, -1),
      });
      port.postMessage({ id: m.id, ok: true, results } satisfies RelabelReply);
    } catch (err) {
      Atomics.store(progress, PROGRESS_TARGET, -1);
      port.postMessage({ id: m.id, ok: false, error: (err as Error).message } satisfies RelabelReply);
    }
  });
}
