// Where relabel rules run. JavaScript's regexes backtrack where RE2 (what
// Prometheus runs) does not: a rule like `(a+)+b` or `(.*)(.*)(.*)x`, on a
// long label value (an annotation can hold kilobytes), can take seconds to
// hours, and would stop everything on the thread that runs it. So the
// collector runs relabeling in a worker thread of its own with a watchdog:
// one rule on one target running longer than the deadline (1 s) is stopped
// (the worker is terminated and started again), that target is skipped and
// logged, and the rest of the update is relabeled. At most three targets of
// one update may time out; past that the update is abandoned and the block
// keeps the targets it had. The worker starts when a block with
// relabel_configs first reports targets; blocks without rules never use it.
//
// InlineRelabeler runs the same batches on the calling thread, unguarded
// (tests, and the batches of blocks whose rules are trivial to run).

import { performance } from 'node:perf_hooks';
import type { Worker } from 'node:worker_threads';
import type { RelabelConfigSpec } from '../config/types.js';
import { startThread } from '../core/thread.js';
import {
  PROGRESS_BATCH,
  PROGRESS_RULE,
  PROGRESS_TARGET,
  RuleCache,
  runBatch,
  type LabelPairs,
  type RelabelOutcome,
  type RelabelReply,
  type RelabelRequest,
} from './relabel-batch.js';

export type { RelabelOutcome } from './relabel-batch.js';

export interface Relabeler {
  /** Relabels every label set with `rules`; one outcome per input, in order. Rejects when the batch was abandoned. */
  run(rules: readonly RelabelConfigSpec[], inputs: readonly LabelPairs[]): Promise<RelabelOutcome[]>;
  close(): Promise<void>;
}

export class RelabelAbandonedError extends Error {
  override name = 'RelabelAbandonedError';
}

export class InlineRelabeler implements Relabeler {
  private readonly cache = new RuleCache();

  async run(rules: readonly RelabelConfigSpec[], inputs: readonly LabelPairs[]): Promise<RelabelOutcome[]> {
    return runBatch(this.cache.get(JSON.stringify(rules), rules), inputs);
  }

  async close(): Promise<void> {}
}

export interface WorkerRelabelerOptions {
  /** How long one rule may run on one target; default 1 s. */
  readonly deadlineMs?: number;
  /** Targets of one update that may time out before the update is abandoned; default 3. */
  readonly maxTimeouts?: number;
}

type Attempt = { readonly results: RelabelOutcome[] } | { readonly stuck: number; readonly rule: number; readonly ms: number };

export class WorkerRelabeler implements Relabeler {
  private worker: Worker | null = null;
  private readonly progress = new Int32Array(new SharedArrayBuffer(3 * Int32Array.BYTES_PER_ELEMENT));
  private nextId = 1;
  private queue: Promise<unknown> = Promise.resolve();
  private closed = false;
  private readonly deadlineMs: number;
  private readonly maxTimeouts: number;
  /** Workers started (the first, and one after each timeout), for tests. */
  started = 0;

  constructor(opts: WorkerRelabelerOptions = {}) {
    this.deadlineMs = opts.deadlineMs ?? 1_000;
    this.maxTimeouts = opts.maxTimeouts ?? 3;
  }

  /** Batches run one at a time, in the order asked. */
  run(rules: readonly RelabelConfigSpec[], inputs: readonly LabelPairs[]): Promise<RelabelOutcome[]> {
    const p = this.queue.then(() => this.runBatch(rules, inputs));
    this.queue = p.catch(() => undefined);
    return p;
  }

  private async runBatch(rules: readonly RelabelConfigSpec[], inputs: readonly LabelPairs[]): Promise<RelabelOutcome[]> {
    const out = new Array<RelabelOutcome | undefined>(inputs.length);
    const rulesText = JSON.stringify(rules);
    let pending = inputs.map((_, i) => i);
    let timeouts = 0;
    while (pending.length > 0) {
      if (this.closed) throw new RelabelAbandonedError('the collector is stopping');
      const a = await this.attempt(rulesText, rules, pending.map((i) => inputs[i]!));
      if ('results' in a) {
        a.results.forEach((r, j) => (out[pending[j]!] = r));
        break;
      }
      out[pending[a.stuck]!] = { kind: 'timeout', rule: a.rule, ms: a.ms };
      if (++timeouts >= this.maxTimeouts) {
        throw new RelabelAbandonedError(`${timeouts} targets of this update each ran a rule for over ${this.deadlineMs} ms (the last: rule ${a.rule + 1}); the update is abandoned`);
      }
      // The targets done before the stuck one are lost with the worker: all but it go again.
      pending = pending.filter((_, j) => j !== a.stuck);
    }
    return out as RelabelOutcome[];
  }

  private spawn(): Worker {
    const w = startThread(import.meta.url, './relabel-worker.js', { workerData: { progress: this.progress.buffer } });
    this.started++;
    w.unref();
    w.on('error', () => undefined); // reported through the batch waiting on it
    return w;
  }

  private kill(w: Worker): void {
    if (this.worker === w) this.worker = null;
    void w.terminate().catch(() => undefined);
    Atomics.store(this.progress, PROGRESS_BATCH, 0);
    Atomics.store(this.progress, PROGRESS_TARGET, 0);
    Atomics.store(this.progress, PROGRESS_RULE, 0);
  }

  private attempt(rulesText: string, rules: readonly RelabelConfigSpec[], inputs: readonly LabelPairs[]): Promise<Attempt> {
    const w = (this.worker ??= this.spawn());
    const id = this.nextId++;
    const p = this.progress;
    return new Promise<Attempt>((resolve, reject) => {
      let mark = '';
      let since = 0;
      // A ref'd timer while a batch runs keeps the process up for it (the worker itself is unref'd).
      const tick = setInterval(() => {
        const target = Atomics.load(p, PROGRESS_TARGET);
        if (Atomics.load(p, PROGRESS_BATCH) !== id || target <= 0) return; // still loading, or done
        const rule = Atomics.load(p, PROGRESS_RULE);
        const now = performance.now();
        const m = `${target}/${rule}`;
        if (m !== mark) {
          mark = m;
          since = now;
          return;
        }
        if (now - since < this.deadlineMs) return;
        finish();
        this.kill(w);
        resolve({ stuck: target - 1, rule, ms: Math.round(now - since) });
      }, Math.max(10, Math.min(250, Math.floor(this.deadlineMs / 4))));
      const onMessage = (m: RelabelReply): void => {
        if (m.id !== id) return;
        finish();
        if (m.ok) resolve({ results: m.results });
        else reject(new RelabelAbandonedError(`relabeling failed: ${m.error}`));
      };
      const onExit = (code: number): void => {
        finish();
        if (this.worker === w) this.worker = null;
        reject(new RelabelAbandonedError(`the relabel worker stopped (exit code ${code})`));
      };
      const finish = (): void => {
        clearInterval(tick);
        w.off('message', onMessage);
        w.off('exit', onExit);
      };
      w.on('message', onMessage);
      w.on('exit', onExit);
      w.postMessage({ id, rulesText, rules, inputs } satisfies RelabelRequest);
    });
  }

  async close(): Promise<void> {
    this.closed = true;
    const w = this.worker;
    this.worker = null;
    if (w) await w.terminate().catch(() => undefined);
  }
}
