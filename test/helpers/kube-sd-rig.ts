// A KubernetesSd provider against the fake API server, on a fake clock, with
// its updates and log lines kept: what the kubernetes_sd tests share.

import assert from 'node:assert/strict';
import type { KubernetesSdConfig, KubernetesSdOptions } from '../../src/discovery/kubernetes/index.js';
import { KubernetesSd } from '../../src/discovery/kubernetes/index.js';
import type { TargetGroup } from '../../src/discovery/types.js';
import { createLogger } from '../../src/core/log.js';
import { FakeClock } from './fake-clock.js';
import { FakeKubeApi, type FakeKubeApiOptions } from './fake-kube-api.js';

export interface KubeSdRig {
  readonly api: FakeKubeApi;
  readonly clock: FakeClock;
  readonly sd: KubernetesSd;
  readonly updates: TargetGroup[][];
  /** Parsed log lines. */
  readonly logs: Array<{ level: string; msg: string; [k: string]: unknown }>;
  latest(): TargetGroup[];
  stop(): Promise<void>;
}

/** Polls `pred` every 10 ms, for at most `ms`. */
export async function eventually(pred: () => boolean, what: string, ms = 10_000): Promise<void> {
  const end = Date.now() + ms;
  while (!pred()) {
    if (Date.now() > end) assert.fail(`timed out after ${ms} ms waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 10));
  }
}

export async function kubeSdRig(o: { api?: FakeKubeApiOptions; cfg?: Partial<KubernetesSdConfig>; sd?: KubernetesSdOptions; start?: boolean } = {}): Promise<KubeSdRig> {
  const api = await FakeKubeApi.start(o.api);
  const clock = new FakeClock();
  const logs: KubeSdRig['logs'] = [];
  const log = createLogger({ level: 'debug', destination: { write: (s: string) => void logs.push(JSON.parse(s) as KubeSdRig['logs'][number]) } });
  const cfg: KubernetesSdConfig = { kind: 'kubernetes_sd', apiServer: api.url, namespaces: [], ...o.cfg };
  const sd = new KubernetesSd(cfg, clock, log, { watchTimeoutSeconds: 3600, env: {}, ...o.sd });
  const updates: TargetGroup[][] = [];
  if (o.start !== false) sd.start((g) => updates.push(structuredClone([...g])));
  return {
    api,
    clock,
    sd,
    updates,
    logs,
    latest: () => updates.at(-1) ?? [],
    stop: async () => {
      await sd.stop();
      await api.close();
    },
  };
}
