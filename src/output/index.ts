// Builds the outputs of a config (DataKit, Datadog, Pyroscope, OTLP, file):
// one sender and one delivery queue each, each with its own connection pool,
// so a slow backend never holds a connection another output needs. With a
// spool, `dispatch` writes the profile to disk once (linked for every
// output) before queueing it.

import type { Agent } from 'undici';
import type { OutputConfig, TlsConfig } from '../config/types.js';
import { createAgent, readTlsFiles } from '../core/dispatcher.js';
import { LIMITS } from '../core/limits.js';
import type { Logger } from '../core/log.js';
import type { ProfileRecord } from '../profile/record.js';
import type { Clock, TimerHandle } from '../core/clock.js';
import { DatadogSender } from './datadog.js';
import { DatakitSender } from './datakit.js';
import { FileSender } from './file.js';
import { OtlpSender, type PartialSuccessHook } from './otlp.js';
import { PyroscopeSender } from './pyroscope.js';
import { DeliveryQueue, memoryStore, type DeliveryEvents, type ProfileSender, type QueueStats, type QueueStore } from './queue.js';
import type { Backoff } from './retry.js';
import type { FaultHook } from './spool/segment-log.js';
import { Spool, type SavedBaseline, type SpoolDrop } from './spool/spool.js';
import type { ThreadHeap } from '../core/thread-heap.js';

export interface OutputDeps {
  readonly clock: Clock;
  readonly logger: Logger;
  readonly events?: DeliveryEvents;
  readonly backoff?: Backoff;
  /** An OTLP backend accepted a request but rejected profiles of it, or warned (OTLP partial success). */
  readonly onPartialSuccess?: PartialSuccessHook;
}

export interface SpoolSettings {
  readonly dir: string;
  readonly maxBytes: number;
  readonly maxAgeMs: number;
  /** A saved delta baseline older than this is not used after a restart (default LIMITS.baselineMaxAgeMs). */
  readonly baselineMaxAgeMs?: number;
  /** Test seam: fails the named file-system step of the spool. */
  readonly fault?: FaultHook;
}

/** A cumulative scrape's body, to keep as the delta baseline of its target and type. */
export interface BaselineToSave {
  readonly targetId: string;
  readonly type: string;
  readonly timeNs: bigint;
  readonly body: Uint8Array;
}

/** How often spool_max_age is applied even when nothing new arrives. */
const SPOOL_BOUNDS_EVERY_MS = 60_000;

function spoolStore(spool: Spool): QueueStore {
  return {
    durable: true,
    load: (output, item) => (item.record ? Promise.resolve(item.record) : spool.load(output, item.id)),
    release: (output, id) => spool.release(output, id),
  };
}

export class OutputSet {
  private queues = new Map<string, { config: OutputConfig; queue: DeliveryQueue; agent?: Agent }>();
  private boundsTimer: TimerHandle | null = null;
  private readonly log: Logger;
  private writeErrorSaid = '';

  private constructor(
    private readonly deps: OutputDeps,
    private readonly spool: Spool | null,
  ) {
    this.log = deps.logger;
  }

  /** Opens the spool (when given), replays what it holds, and builds every output. */
  static async open(configs: readonly OutputConfig[], deps: OutputDeps, spoolSettings?: SpoolSettings): Promise<OutputSet> {
    let spool: Spool | null = null;
    let replay = new Map<string, Array<{ id: string }>>();
    if (spoolSettings) {
      const opened = await Spool.open(
        { baselineMaxAgeMs: LIMITS.baselineMaxAgeMs, ...spoolSettings, logger: deps.logger, now: () => deps.clock.now() },
        configs.map((c) => c.name),
      );
      spool = opened.spool;
      replay = opened.pending;
      if (opened.dropped.length > 0) {
        for (const d of opened.dropped) deps.events?.onDrop?.(d.output, { id: d.id }, d.reason);
        deps.logger.warn(
          { dropped: opened.dropped.length, outputs: [...new Set(opened.dropped.map((d) => d.output))] },
          `the spool held ${opened.dropped.length} profile(s) for outputs that are no longer configured; dropped`,
        );
      }
    }
    const set = new OutputSet(deps, spool);
    for (const c of configs) set.add(c);
    let replayed = 0;
    for (const [name, entries] of replay) {
      const q = set.queues.get(name)?.queue;
      for (const e of entries) q?.enqueue({ id: e.id });
      replayed += entries.length;
    }
    if (replayed > 0) deps.logger.info({ profiles: replayed, spool: spool?.dir }, `replaying ${replayed} profile delivery(ies) from the spool`);
    if (spool) {
      await set.applyBounds();
      set.scheduleBounds();
    }
    return set;
  }

  private add(c: OutputConfig): void {
    const { sender, agent } = this.senderFor(c);
    const queue = new DeliveryQueue({
      sender,
      clock: this.deps.clock,
      logger: this.deps.logger,
      ...(c.kind !== 'file' ? (c.concurrency !== undefined ? { concurrency: c.concurrency } : {}) : { concurrency: LIMITS.fileOutputConcurrency }),
      store: this.spool ? spoolStore(this.spool) : memoryStore,
      ...(this.deps.events ? { events: this.deps.events } : {}),
      ...(this.deps.backoff ? { backoff: this.deps.backoff } : {}),
    });
    this.queues.set(c.name, { config: c, queue, ...(agent ? { agent } : {}) });
  }

  private senderFor(c: OutputConfig): { sender: ProfileSender; agent?: Agent } {
    const now = () => this.deps.clock.now();
    const agent = (tls: TlsConfig | undefined, concurrency: number | undefined) =>
      createAgent(
        {
          keepAliveTimeout: LIMITS.keepAliveMs,
          connections: concurrency ?? LIMITS.outputConcurrency,
        },
        tls ? readTlsFiles(tls) : undefined,
      );
    switch (c.kind) {
      case 'datakit': {
        const a = agent(c.tls, c.concurrency);
        return { sender: new DatakitSender(c, a, now), agent: a };
      }
      case 'pyroscope': {
        const a = agent(c.tls, c.concurrency);
        return { sender: new PyroscopeSender(c, a, this.deps.logger, now), agent: a };
      }
      case 'otlp': {
        const a = agent(c.tls, c.concurrency);
        const hook = this.deps.onPartialSuccess;
        return { sender: new OtlpSender(c, a, this.deps.logger, { now, ...(hook ? { onPartialSuccess: hook } : {}) }), agent: a };
      }
      case 'datadog': {
        const a = agent(c.tls, c.concurrency);
        return { sender: new DatadogSender(c, a, now), agent: a };
      }
      case 'file':
        return { sender: new FileSender(c) };
    }
  }

  /** Ids the spool still holds for an output, oldest first (empty without a spool). */
  spooled(output: string): string[] {
    return this.spool?.heldFor(output) ?? [];
  }

  get names(): string[] {
    return [...this.queues.keys()];
  }

  /** The queues, for status pages and tests. */
  get all(): DeliveryQueue[] {
    return [...this.queues.values()].map((q) => q.queue);
  }

  /**
   * Writes the record to the spool (when there is one), with the baseline
   * its delta leaves behind in the same write, and queues it for every
   * output. Resolves once it is on disk; never waits for a send.
   */
  async dispatch(record: ProfileRecord, baseline?: BaselineToSave): Promise<void> {
    const names = this.names;
    if (this.spool) {
      try {
        await this.spool.put(record, names, baseline ? this.saved(baseline) : undefined);
        this.writeErrorSaid = '';
      } catch (err) {
        // Disk full or gone: still deliver from memory rather than lose it.
        this.writeFailed(err, baseline);
        for (const { queue } of this.queues.values()) queue.enqueue({ id: record.id, record, memoryOnly: true });
        return;
      }
      for (const { queue } of this.queues.values()) queue.enqueue(record);
      await this.applyBounds(false);
      return;
    }
    for (const { queue } of this.queues.values()) queue.enqueue(record);
  }

  /** Keeps a baseline alone (a first scrape, a reset), when there is a spool. */
  async saveBaseline(baseline: BaselineToSave): Promise<void> {
    if (!this.spool) return;
    try {
      await this.spool.putBaseline(this.saved(baseline));
      this.writeErrorSaid = '';
    } catch (err) {
      this.writeFailed(err, baseline);
    }
  }

  /** The newest saved baseline of a target and type (its body and time), if any. */
  async savedBaseline(targetId: string, type: string): Promise<SavedBaseline | undefined> {
    return this.spool?.savedBaseline(targetId, type);
  }

  /** Forgets the saved baselines of targets that are gone. */
  retainBaselines(targetIds: ReadonlySet<string>): void {
    this.spool?.retainBaselines(targetIds);
  }

  private saved(b: BaselineToSave): SavedBaseline {
    return { targetId: b.targetId, type: b.type, timeNs: b.timeNs, body: b.body, savedAtMs: this.deps.clock.now() };
  }

  private writeFailed(err: unknown, baseline: BaselineToSave | undefined): void {
    // The baseline on disk is now older than the one the deltas continue
    // from: a restart must not use it (it would count windows twice).
    if (baseline) this.spool?.invalidateBaseline(baseline.targetId, baseline.type);
    const code = (err as NodeJS.ErrnoException).code ?? (err as Error).message;
    if (this.writeErrorSaid !== code) {
      this.log.error({ err: { code, message: (err as Error).message }, spool: this.spool?.dir }, `cannot write to the spool (${code}): profiles are held in memory only until it works again`);
    }
    this.writeErrorSaid = code;
  }

  /** Applies the spool bounds; `checkAge` false: only spool_max_bytes (cheap, after each write). */
  private async applyBounds(checkAge = true): Promise<void> {
    if (!this.spool) return;
    const dropped = await this.spool.enforceBounds(checkAge);
    if (dropped.length === 0) return;
    this.forgetDropped(dropped);
    const byReason = new Map<string, number>();
    for (const d of dropped) byReason.set(d.reason, (byReason.get(d.reason) ?? 0) + 1);
    for (const [reason, n] of byReason) {
      this.log.warn(
        { dropped: n, reason, spool_bytes: this.spool.bytes },
        reason === 'too_old'
          ? `dropped ${n} profile delivery(ies) older than spool_max_age from the spool`
          : `the spool is over spool_max_bytes: dropped the ${n} oldest profile delivery(ies)`,
      );
    }
  }

  private forgetDropped(dropped: readonly SpoolDrop[]): void {
    const byOutput = new Map<string, Map<string, Set<string>>>();
    for (const d of dropped) {
      const perReason = byOutput.get(d.output) ?? new Map<string, Set<string>>();
      const ids = perReason.get(d.reason) ?? new Set<string>();
      ids.add(d.id);
      perReason.set(d.reason, ids);
      byOutput.set(d.output, perReason);
    }
    for (const [output, perReason] of byOutput) {
      const q = this.queues.get(output)?.queue;
      for (const [reason, ids] of perReason) q?.forget(ids, reason as SpoolDrop['reason']);
    }
  }

  private scheduleBounds(): void {
    this.boundsTimer = this.deps.clock.setTimer(() => {
      void this.applyBounds().finally(() => this.scheduleBounds());
    }, SPOOL_BOUNDS_EVERY_MS);
  }

  /**
   * Applies a reloaded config: unchanged outputs keep their queue; changed
   * ones get a new sender and keep their queue; removed ones are closed and
   * their spooled profiles dropped; new ones start empty.
   */
  async reconfigure(configs: readonly OutputConfig[]): Promise<void> {
    const wanted = new Map(configs.map((c) => [c.name, c]));
    for (const [name, entry] of [...this.queues]) {
      const next = wanted.get(name);
      if (!next) {
        this.queues.delete(name);
        await entry.queue.close();
        await entry.agent?.destroy().catch(() => undefined);
        if (this.spool) {
          const dropped = await this.spool.removeOutput(name);
          for (const d of dropped) this.deps.events?.onDrop?.(d.output, { id: d.id }, d.reason);
          if (dropped.length > 0) this.log.warn({ output: name, dropped: dropped.length }, `output "${name}" was removed: ${dropped.length} undelivered profile(s) for it dropped`);
        }
      } else if (JSON.stringify(next) !== JSON.stringify(entry.config) || (next.kind !== 'file' && next.tls)) {
        // Changed, or has TLS files that may have been rotated: a new sender
        // (and connection pool) reads them again; the queue stays.
        const { sender, agent } = this.senderFor(next);
        entry.queue.replaceSender(sender);
        const oldAgent = entry.agent;
        this.queues.set(name, { config: next, queue: entry.queue, ...(agent ? { agent } : {}) });
        void oldAgent?.close().catch(() => undefined);
      }
    }
    for (const c of configs) if (!this.queues.has(c.name)) this.add(c);
  }

  /**
   * /readyz: profiles are safe when they reach the spool, or, when the spool
   * cannot be written, when every output delivers them. Not ready: the spool
   * fails and an output is failing too, so profiles are only in memory.
   */
  readiness(): { ready: boolean; why: string } {
    const failing = [...this.queues].filter(([, q]) => q.queue.failing).map(([name]) => name);
    const delivering = failing.length === 0 ? 'every output delivers' : `failing, retried: ${failing.join(', ')}`;
    if (this.spool && this.writeErrorSaid === '') return { ready: true, why: `outputs deliver or spool (${delivering}; ${this.spool.profiles} profile(s) in the spool)` };
    if (failing.length === 0) return { ready: true, why: this.spool ? `${delivering} (the spool cannot be written: ${this.writeErrorSaid})` : delivering };
    return {
      ready: false,
      why: this.spool ? `the spool cannot be written (${this.writeErrorSaid}) and outputs are failing (${failing.join(', ')}): profiles are held in memory only` : `outputs are failing (${failing.join(', ')})`,
    };
  }

  /** The heaps of the outputs' own threads (a file output's writer), by thread name. */
  threadHeaps(): Array<{ readonly thread: string } & ThreadHeap> {
    return [...this.queues].flatMap(([name, { queue }]) => {
      const heap = queue.threadHeap();
      return heap ? [{ thread: `file-writer-${name}`, ...heap }] : [];
    });
  }

  stats(): Record<string, QueueStats> {
    return Object.fromEntries([...this.queues].map(([name, { queue }]) => [name, queue.stats()]));
  }

  /** Waits (bounded) for every queue to empty; returns profiles still undelivered. */
  async drain(timeoutMs: number): Promise<number> {
    const left = await Promise.all(this.all.map((q) => q.drain(timeoutMs)));
    return left.reduce((a, b) => a + b, 0);
  }

  /** Stops every output; returns how many deliveries were left (kept in the spool when there is one). */
  async close(): Promise<number> {
    if (this.boundsTimer) this.deps.clock.clearTimer(this.boundsTimer);
    this.boundsTimer = null;
    const left = await Promise.all(this.all.map((q) => q.close()));
    await Promise.allSettled([...this.queues.values()].map((q) => q.agent?.destroy()));
    await this.spool?.close();
    return left.reduce((a, b) => a + b, 0);
  }

  get durable(): boolean {
    return this.spool !== null;
  }
}
