// The kubernetes_sd provider's selectors and namespaces (issue 10 item 8)
// against the fake API server, which applies the selectors as the real one
// does, on lists and on watches: a pod that stops matching comes as
// DELETED, one that starts matching as ADDED. own_namespace reads the
// service account's namespace, as Prometheus's kubernetes_sd does.

import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { IN_CLUSTER_NAMESPACE_FILE } from '../../../src/discovery/kubernetes/client.js';
import { makePod, type PodJson } from '../../helpers/fake-kube-api.js';
import { eventually, kubeSdRig, type KubeSdRig } from '../../helpers/kube-sd-rig.js';

const annotated = { 'profiles.grafana.com/cpu.scrape': 'true', 'profiles.grafana.com/cpu.port': '6060' };

function pod(name: string, o: { namespace?: string; tier?: string; phase?: string; ip: string }): PodJson {
  return makePod({ name, namespace: o.namespace ?? 'shop', ip: o.ip, annotations: annotated, labels: { app: name, ...(o.tier ? { tier: o.tier } : {}) }, ...(o.phase ? { phase: o.phase } : {}) });
}

const pods = (r: KubeSdRig) => r.latest().map((g) => g.labels.pod).sort();

describe('kubernetes_sd selectors', () => {
  test('label and field selectors on the list and the watch: pods come and go as they start and stop matching', async () => {
    const r = await kubeSdRig({
      api: { pods: [pod('a', { tier: 'backend', ip: '10.0.0.1' }), pod('b', { tier: 'frontend', ip: '10.0.0.2' }), pod('c', { tier: 'backend', ip: '10.0.0.3', phase: 'Pending' }), pod('d', { ip: '10.0.0.4' })] },
      cfg: { labelSelector: 'tier=backend' },
    });
    try {
      await eventually(() => r.updates.length === 1 && r.api.openWatches === 1, 'the list and the watch');
      assert.deepEqual(pods(r), ['a'], 'tier=backend and Running (the default field selector)');
      assert.equal(r.api.lists()[0]!.query.labelSelector, 'tier=backend');
      assert.equal(r.api.lists()[0]!.query.fieldSelector, 'status.phase=Running');

      // b turns backend: ADDED by the server's filter.
      r.api.modify(pod('b', { tier: 'backend', ip: '10.0.0.2' }));
      await eventually(() => pods(r).includes('b'), 'b to start matching');
      // c starts running.
      r.api.modify(pod('c', { tier: 'backend', ip: '10.0.0.3' }));
      await eventually(() => pods(r).includes('c'), 'c running');
      // a turns frontend, b finishes: both DELETED by the filter.
      r.api.modify(pod('a', { tier: 'frontend', ip: '10.0.0.1' }));
      r.api.modify(pod('b', { tier: 'backend', ip: '10.0.0.2', phase: 'Succeeded' }));
      await eventually(() => pods(r).join() === 'c', 'a and b to stop matching');
      // Changes of pods that never match are never sent.
      r.api.add(pod('e', { tier: 'cache', ip: '10.0.0.5' }));
      r.api.add(pod('f', { tier: 'backend', ip: '10.0.0.6' }));
      await eventually(() => pods(r).includes('f'), 'f');
      assert.deepEqual(pods(r), ['c', 'f']);
      assert.equal(r.api.lists().length, 1, 'all of it from one list and its watch');
    } finally {
      await r.stop();
    }
  });

  test('field_selector = "" watches pods in every phase; the provider still keeps only running ones with an IP', async () => {
    const r = await kubeSdRig({ api: { pods: [pod('a', { ip: '10.0.0.1', phase: 'Pending' }), pod('b', { ip: '10.0.0.2' })] }, cfg: { fieldSelector: '' } });
    try {
      await eventually(() => r.updates.length === 1 && r.api.openWatches === 1, 'the list and the watch');
      assert.equal(r.api.lists()[0]!.query.fieldSelector, undefined, 'no field selector sent');
      assert.deepEqual(pods(r), ['b']);
      r.api.modify(pod('a', { ip: '10.0.0.1' }));
      await eventually(() => pods(r).length === 2, 'a running');
    } finally {
      await r.stop();
    }
  });

  test('a selector the server refuses (400) is logged with its words and retried with backoff, never taken for an empty cluster', async () => {
    // The config check refuses it first; a newer or older server may still disagree.
    const r = await kubeSdRig({ api: { pods: [pod('a', { ip: '10.0.0.1' })] }, cfg: { fieldSelector: 'status.hostIP=1.2.3.4' } });
    try {
      await eventually(() => r.clock.pending === 1, 'the backoff');
      assert.equal(r.updates.length, 0);
      assert.ok(r.logs.some((l) => l.level === 'warn' && /answered 400: field label not supported: status\.hostIP/.test(l.msg)), JSON.stringify(r.logs.map((l) => l.msg)));
    } finally {
      await r.stop();
    }
  });
});

describe('kubernetes_sd namespaces', () => {
  const files = (ns: string | Error) => (p: string): Buffer => {
    if (p !== IN_CLUSTER_NAMESPACE_FILE) throw Object.assign(new Error(`ENOENT: ${p}`), { code: 'ENOENT' });
    if (ns instanceof Error) throw ns;
    return Buffer.from(`${ns}\n`);
  };
  const many = [pod('s', { namespace: 'shop', ip: '10.0.1.1' }), pod('w', { namespace: 'web', ip: '10.0.1.2' }), pod('k', { namespace: 'kube-system', ip: '10.0.1.3' })];

  test('own_namespace: the namespace of the service account, beside the configured ones', async () => {
    const r = await kubeSdRig({ api: { pods: many }, cfg: { namespaces: ['web'], ownNamespace: true }, sd: { readFile: files('shop') } });
    try {
      await eventually(() => r.api.openWatches === 2 && r.updates.length > 0 && pods(r).length === 2, 'two namespaces');
      assert.deepEqual([...new Set(r.api.lists().map((q) => q.path))].sort(), ['/api/v1/namespaces/shop/pods', '/api/v1/namespaces/web/pods']);
      assert.deepEqual(pods(r), ['s', 'w']);
      assert.match(r.sd.description, /^kubernetes_sd pods in namespaces web, its own matching status\.phase=Running/);
    } finally {
      await r.stop();
    }
  });

  test('own_namespace outside a pod: an error that says so, and never all namespaces instead', async () => {
    const r = await kubeSdRig({ api: { pods: many }, cfg: { ownNamespace: true }, sd: { readFile: files(Object.assign(new Error('no such file'), { code: 'ENOENT' })) } });
    try {
      await eventually(() => r.logs.some((l) => l.level === 'error'), 'the error');
      const e = r.logs.find((l) => l.level === 'error')!;
      assert.match(e.msg, /own_namespace: cannot read the collector's namespace from \/var\/run\/secrets\/kubernetes\.io\/serviceaccount\/namespace \(ENOENT\)/);
      await new Promise((res) => setTimeout(res, 100));
      assert.equal(r.api.requests.length, 0, 'nothing listed');
    } finally {
      await r.stop();
    }
  });
});
