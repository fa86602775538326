// Builds the outputs of a config: one sender and one delivery queue each,
// each with its own connection pool, so a slow backend never holds a
// connection another output needs. `dispatch` hands a record to every queue
// and returns at once.

import { Agent } from 'undici';
import type { OutputConfig } from '../config/types.js';
import { LIMITS } from '../limits.js';
import type { Logger } from '../log.js';
import type { ProfileRecord } from '../profile/record.js';
import type { Clock } from '../schedule/clock.js';
import { DatakitSender } from './datakit.js';
import { FileSender } from './file.js';
import { PyroscopeSender } from './pyroscope.js';
import { DeliveryQueue, type DeliveryEvents, type ProfileSender, type QueueStats } from './queue.js';
import type { Backoff } from './retry.js';

export interface OutputDeps {
  readonly clock: Clock;
  readonly logger: Logger;
  readonly events?: DeliveryEvents;
  readonly backoff?: Backoff;
}

export class OutputSet {
  readonly queues: DeliveryQueue[];
  private readonly agents: Agent[] = [];

  constructor(
    readonly configs: readonly OutputConfig[],
    private readonly deps: OutputDeps,
  ) {
    this.queues = configs.map(
      (c) =>
        new DeliveryQueue({
          sender: this.senderFor(c),
          clock: deps.clock,
          logger: deps.logger,
          ...(deps.events ? { events: deps.events } : {}),
          ...(deps.backoff ? { backoff: deps.backoff } : {}),
        }),
    );
  }

  private agent(): Agent {
    const a = new Agent({ keepAliveTimeout: LIMITS.keepAliveMs, connections: LIMITS.outputConcurrency });
    this.agents.push(a);
    return a;
  }

  private senderFor(c: OutputConfig): ProfileSender {
    const now = () => this.deps.clock.now();
    switch (c.kind) {
      case 'datakit':
        return new DatakitSender(c, this.agent(), now);
      case 'pyroscope':
        return new PyroscopeSender(c, this.agent(), this.deps.logger, now);
      case 'file':
        return new FileSender(c);
    }
  }

  dispatch(record: ProfileRecord): void {
    for (const q of this.queues) q.enqueue(record);
  }

  stats(): Record<string, QueueStats> {
    return Object.fromEntries(this.queues.map((q) => [q.name, q.stats()]));
  }

  /** Waits (bounded) for every queue to empty; returns profiles still undelivered. */
  async drain(timeoutMs: number): Promise<number> {
    const left = await Promise.all(this.queues.map((q) => q.drain(timeoutMs)));
    return left.reduce((a, b) => a + b, 0);
  }

  async close(): Promise<number> {
    const left = await Promise.all(this.queues.map((q) => q.close()));
    await Promise.allSettled(this.agents.map((a) => a.destroy()));
    return left.reduce((a, b) => a + b, 0);
  }
}
