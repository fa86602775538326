// http_sd: Prometheus HTTP service discovery. The URL answers 200 with a JSON
// array of target groups; it is fetched every refresh_interval. When a fetch
// fails, the last good list stays (as Prometheus does), and the log says why.
// Every group gets the label __meta_url (the SD URL, its password hidden),
// as in Prometheus, for relabel rules.

import { request, type Dispatcher } from 'undici';
import type { Logger } from '../core/log.js';
import { redactedUrl } from '../core/redact.js';
import type { Clock, TimerHandle } from '../core/clock.js';
import { readCapped } from '../core/body.js';
import { USER_AGENT } from '../core/version.js';
import { changesOnly, parseTargetGroups, type DiscoveryProvider, type TargetGroup } from './types.js';

/** An SD answer larger than this is refused. */
const MAX_SD_BODY_BYTES = 16 * 1024 * 1024;

export class HttpSd implements DiscoveryProvider {
  readonly description: string;
  private timer: TimerHandle | null = null;
  private stopped = false;
  private lastError = '';
  private send: (groups: readonly TargetGroup[]) => void = () => undefined;

  constructor(
    private readonly url: string,
    private readonly refreshIntervalMs: number,
    private readonly timeoutMs: number,
    private readonly dispatcher: Dispatcher,
    private readonly clock: Clock,
    private readonly log: Logger,
  ) {
    this.description = `http_sd ${redactedUrl(url)}`;
  }

  start(update: (groups: readonly TargetGroup[]) => void): void {
    this.send = changesOnly(update);
    void this.refresh();
  }

  async refresh(): Promise<void> {
    if (this.timer) this.clock.clearTimer(this.timer);
    this.timer = null;
    try {
      const res = await request(this.url, {
        dispatcher: this.dispatcher,
        signal: AbortSignal.timeout(this.timeoutMs),
        headers: { accept: 'application/json', 'user-agent': USER_AGENT, 'x-prometheus-refresh-interval-seconds': String(Math.round(this.refreshIntervalMs / 1000)) },
      });
      const body = await readCapped(res.body, MAX_SD_BODY_BYTES);
      if (res.statusCode !== 200) throw new Error(`answered ${res.statusCode}`);
      if (body === null) throw new Error(`the answer is larger than ${MAX_SD_BODY_BYTES / 1048576} MiB`);
      const metaUrl = redactedUrl(this.url);
      const groups = parseTargetGroups(JSON.parse(body.toString('utf8')) as unknown, this.description).map((g) => ({ targets: g.targets, labels: { ...g.labels, __meta_url: metaUrl } }));
      if (this.lastError) this.log.info(`${this.description} answers again`);
      this.lastError = '';
      this.send(groups);
    } catch (err) {
      const msg = (err as Error).message;
      if (msg !== this.lastError) this.log.warn({ err: { message: msg } }, `${this.description}: ${msg}; keeping the last good targets`);
      this.lastError = msg;
    }
    if (!this.stopped) this.timer = this.clock.setTimer(() => void this.refresh(), this.refreshIntervalMs);
  }

  async stop(): Promise<void> {
    this.stopped = true;
    if (this.timer) this.clock.clearTimer(this.timer);
  }
}
