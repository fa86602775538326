// The fake API server (fake-kube-api.ts) serving a farm of pods
// (kube-pod-farm.ts) from a worker thread, so that what it costs to build
// and serialise its pages does not land on the event loop of the test that
// measures the collector's own delay. Started by startKubeApiThread().

import { isMainThread, parentPort, workerData } from 'node:worker_threads';
import { startThread } from '../../src/core/thread.js';
import { FakeKubeApi, type RecordedRequest } from './fake-kube-api.js';
import { farmPods, type FarmPodOptions } from './kube-pod-farm.js';

interface ThreadData {
  readonly pods: number;
  readonly farm: FarmPodOptions;
}

type Command = { readonly id: number; readonly op: 'requests' | 'close' };
type Reply = { readonly id: number; readonly requests?: RecordedRequest[] };

if (!isMainThread && parentPort) {
  const port = parentPort;
  const data = workerData as ThreadData;
  const api = await FakeKubeApi.start({ pods: farmPods(data.pods, data.farm), resourceVersion: 1000 });
  port.postMessage({ url: api.url });
  port.on('message', async (c: Command) => {
    if (c.op === 'requests') port.postMessage({ id: c.id, requests: api.requests } satisfies Reply);
    else {
      await api.close();
      port.postMessage({ id: c.id } satisfies Reply);
      port.close();
    }
  });
}

export interface KubeApiThread {
  readonly url: string;
  requests(): Promise<RecordedRequest[]>;
  close(): Promise<void>;
}

export async function startKubeApiThread(pods: number, farm: FarmPodOptions): Promise<KubeApiThread> {
  const w = startThread(import.meta.url, './kube-api-thread.js', { workerData: { pods, farm } satisfies ThreadData });
  const url = await new Promise<string>((resolve, reject) => {
    w.once('error', reject);
    w.once('message', (m: { url: string }) => resolve(m.url));
  });
  let next = 1;
  const ask = (op: Command['op']) =>
    new Promise<Reply>((resolve) => {
      const id = next++;
      const on = (m: Reply) => {
        if (m.id !== id) return;
        w.off('message', on);
        resolve(m);
      };
      w.on('message', on);
      w.postMessage({ id, op } satisfies Command);
    });
  return {
    url,
    requests: async () => (await ask('requests')).requests ?? [],
    close: async () => {
      await ask('close');
      await w.terminate();
    },
  };
}
