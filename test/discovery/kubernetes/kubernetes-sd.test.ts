// kubernetes_sd against the fake API server (test/helpers/fake-kube-api.ts)
// on loopback, serving the recorded pod list and a watch stream the tests
// drive. The provider runs on a fake clock, so backoff delays are read off
// its pending timer instead of measured.

import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync, rmSync, writeFileSync, copyFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, afterEach, before, describe, test } from 'node:test';
import {
  backoffMs,
  IN_CLUSTER_CA_FILE,
  IN_CLUSTER_TOKEN_FILE,
  KubeConfigError,
  KubernetesSd,
  parseKubeconfig,
  podServiceName,
  podTargets,
  resolveConnection,
  type KubernetesSdConfig,
  type KubernetesSdOptions,
} from '../../../src/discovery/kubernetes/index.js';
import { expandTemplate } from '../../../src/discovery/template.js';
import type { TargetGroup } from '../../../src/discovery/types.js';
import { createLogger, silentLogger } from '../../../src/core/log.js';
import { FakeKubeApi, makePod, recordedPodList, type FakeKubeApiOptions, type PodJson } from '../../helpers/fake-kube-api.js';
import { FakeClock } from '../../helpers/fake-clock.js';
import { goTargetConfig } from '../../helpers/targets.js';
import { makeTlsMaterial, type TlsMaterial } from '../../helpers/tls.js';
import { withoutMeta } from '../../helpers/sd.js';

const cleanups: Array<() => unknown> = [];
afterEach(async () => {
  while (cleanups.length > 0) await cleanups.pop()!();
});

const sleep = (ms: number) => new Promise<void>((r) => setTimeout(r, ms));

/** Polls `pred` every 10 ms, for at most `ms`. */
async function eventually(pred: () => boolean, what: string, ms = 5_000): Promise<void> {
  const end = Date.now() + ms;
  while (!pred()) {
    if (Date.now() > end) assert.fail(`timed out after ${ms} ms waiting for ${what}`);
    await sleep(10);
  }
}

function tempDir(): string {
  const d = mkdtempSync(join(tmpdir(), 'kube-sd-'));
  cleanups.push(() => rmSync(d, { recursive: true, force: true }));
  return d;
}

/** What the recorded list must give: three pods, four groups (see test/fixtures/kubernetes/pod-list.json). */
const RECORDED_GROUPS: TargetGroup[] = [
  {
    targets: ['10.244.1.17:6060'],
    labels: { __types__: 'cpu,heap,goroutine', service: 'checkout', namespace: 'shop', pod: 'checkout-7d9f8b6c5d-x2x9k', node: 'node-a' },
  },
  { targets: ['10.244.2.8:6060'], labels: { __types__: 'cpu', service: 'payments', namespace: 'shop', pod: 'payments-0', node: 'node-b' } },
  {
    targets: ['10.244.2.8:7070'],
    labels: { __types__: 'mutex', __pprof_path__: '/internal/pprof', service: 'payments', namespace: 'shop', pod: 'payments-0', node: 'node-b' },
  },
  {
    targets: ['10.244.1.23:6061'],
    labels: { __types__: 'heap', __pprof_path__: '/debug/pprof', service: 'frontend', namespace: 'web', pod: 'frontend-5c8d7b9f4-q7wzt', node: 'node-a' },
  },
];

interface Rig {
  readonly api: FakeKubeApi;
  readonly clock: FakeClock;
  readonly sd: KubernetesSd;
  readonly updates: TargetGroup[][];
  readonly logs: string[];
  latest(): TargetGroup[];
  /** The groups of one pod in the latest update. */
  podGroups(pod: string): TargetGroup[];
  /** Waits until the backoff timer is set; returns its delay. */
  backoff(): Promise<number>;
}

async function rig(o: { api?: FakeKubeApiOptions; cfg?: Partial<KubernetesSdConfig>; sd?: KubernetesSdOptions } = {}): Promise<Rig> {
  const api = await FakeKubeApi.start(o.api);
  cleanups.push(() => api.close());
  const clock = new FakeClock();
  const logs: string[] = [];
  const log = createLogger({ level: 'debug', destination: { write: (s: string) => void logs.push(s) } });
  const cfg: KubernetesSdConfig = { kind: 'kubernetes_sd', apiServer: api.url, namespaces: [], ...o.cfg };
  const sd = new KubernetesSd(cfg, clock, log, { watchTimeoutSeconds: 3600, env: {}, ...o.sd });
  cleanups.push(() => sd.stop());
  const updates: TargetGroup[][] = [];
  sd.start((g) => updates.push(withoutMeta(structuredClone([...g]))));
  return {
    api,
    clock,
    sd,
    updates,
    logs,
    latest: () => updates.at(-1) ?? [],
    podGroups: (pod) => (updates.at(-1) ?? []).filter((g) => g.labels.pod === pod),
    backoff: async () => {
      await eventually(() => clock.pending === 1, 'the backoff timer');
      return clock.nextTimerAt()! - clock.now();
    },
  };
}

/** Started, listed, and watching. */
async function running(o: Parameters<typeof rig>[0] = {}): Promise<Rig> {
  const r = await rig(o);
  await eventually(() => r.updates.length >= 1 && r.api.openWatches >= Math.max(1, o.cfg?.namespaces?.length ?? 1), 'the first list and the watch');
  return r;
}

const annotated = (types: Record<string, string>): Record<string, string> => {
  const out: Record<string, string> = {};
  for (const [t, port] of Object.entries(types)) {
    out[`profiles.grafana.com/${t}.scrape`] = 'true';
    out[`profiles.grafana.com/${t}.port`] = port;
  }
  return out;
};

describe('pods to target groups', () => {
  test('the recorded list: annotations give types, port, path and service; other pods are ignored', async () => {
    const r = await running();
    assert.deepEqual(r.latest(), RECORDED_GROUPS);
    // Pending (no IP), Succeeded, terminating, kube-system and the Prometheus-only pod are not there.
    const pods = new Set(r.latest().map((g) => g.labels.pod));
    for (const p of ['checkout-7d9f8b6c5d-pn4lc', 'db-migrate-8m2xq', 'frontend-6f9d8c7b5-l9r2s', 'coredns-76f75df574-9xq2d', 'legacy-api-6b7c8d9e0f-h2k4m']) assert.ok(!pods.has(p), p);
    const list = r.api.lists();
    assert.equal(list.length, 1);
    assert.equal(list[0]!.path, '/api/v1/pods');
    const w = r.api.watchRequests()[0]!;
    assert.equal(w.path, '/api/v1/pods');
    assert.equal(w.query.resourceVersion, '48360');
    assert.equal(w.query.allowWatchBookmarks, 'true');
    assert.equal(w.authorization, undefined, 'no credentials were configured');
  });

  test('podTargets: port names, Pyroscope-style full paths, scheme, ignored pods', () => {
    const base = { name: 'svc-abc12', namespace: 'ns', ip: '10.0.0.9', ports: [{ name: 'pprof', containerPort: 6060 }, { name: 'http', containerPort: 8080 }] };
    // A port by name, via .port and via Pyroscope's .port_name.
    let t = podTargets(makePod({ ...base, annotations: { 'profiles.grafana.com/cpu.scrape': 'true', 'profiles.grafana.com/cpu.port': 'pprof', 'profiles.grafana.com/goroutine.scrape': 'true', 'profiles.grafana.com/goroutine.port_name': 'pprof' } }));
    assert.deepEqual(t.groups.map((g) => [g.targets, g.labels.__types__]), [[['10.0.0.9:6060'], 'cpu,goroutine']]);
    assert.deepEqual(t.problems, []);
    // Pyroscope's .path names the whole path of the type: the prefix is kept.
    t = podTargets(makePod({ ...base, annotations: { ...annotated({ cpu: '6060', memory: '6060', mutex: '6060' }), 'profiles.grafana.com/cpu.path': '/x/pprof/profile', 'profiles.grafana.com/memory.path': '/x/pprof/allocs', 'profiles.grafana.com/mutex.path': '/x/pprof/' } }));
    assert.deepEqual(t.groups.map((g) => [g.labels.__types__, g.labels.__pprof_path__]), [['cpu,heap,mutex', '/x/pprof']]);
    // Different paths or schemes on one port: separate groups.
    t = podTargets(makePod({ ...base, annotations: { ...annotated({ cpu: '6060', block: '6060' }), 'profiles.grafana.com/block.path': '/other', 'profiles.grafana.com/cpu.scheme': 'https' } }));
    assert.deepEqual(
      withoutMeta(t.groups).map((g) => g.labels),
      [
        { __types__: 'cpu', __scheme__: 'https', service: 'svc', namespace: 'ns', pod: 'svc-abc12', node: 'node-a' },
        { __types__: 'block', __pprof_path__: '/other', service: 'svc', namespace: 'ns', pod: 'svc-abc12', node: 'node-a' },
      ],
    );
    // Missing, unknown or out-of-range ports: that type is skipped, and said why.
    t = podTargets(makePod({ ...base, annotations: { 'profiles.grafana.com/cpu.scrape': 'true', 'profiles.grafana.com/memory.scrape': 'true', 'profiles.grafana.com/memory.port': 'nope', ...{ 'profiles.grafana.com/block.scrape': 'true', 'profiles.grafana.com/block.port': '70000' }, 'profiles.grafana.com/goroutine.scrape': 'true', 'profiles.grafana.com/goroutine.port': '6060' } }));
    assert.deepEqual(t.groups.map((g) => g.labels.__types__), ['goroutine']);
    assert.equal(t.problems.length, 3);
    assert.match(t.problems.join('\n'), /cpu: set profiles\.grafana\.com\/cpu\.port \(the pod declares 2 container ports\)/);
    assert.match(t.problems.join('\n'), /heap: no container port is named "nope"/);
    assert.match(t.problems.join('\n'), /block: port "70000" is out of range/);
    // No port annotation and exactly one declared port: that one.
    t = podTargets(makePod({ ...base, ports: [{ containerPort: 6061 }], annotations: { 'profiles.grafana.com/cpu.scrape': 'true' } }));
    assert.deepEqual(t.groups.map((g) => g.targets), [['10.0.0.9:6061']]);
    // IPv6 pod IPs are bracketed.
    t = podTargets(makePod({ ...base, ip: 'fd00:10:244::17', annotations: annotated({ cpu: '6060' }) }));
    assert.deepEqual(t.groups.map((g) => g.targets), [['[fd00:10:244::17]:6060']]);
    // scrape must be "true"; Pending, no IP, terminating: nothing.
    assert.deepEqual(podTargets(makePod({ ...base, annotations: { 'profiles.grafana.com/cpu.scrape': 'yes', 'profiles.grafana.com/cpu.port': '6060' } })).groups, []);
    assert.deepEqual(podTargets(makePod({ ...base, phase: 'Pending', annotations: annotated({ cpu: '6060' }) })).groups, []);
    const { ip: _ip, ...noIp } = base;
    assert.deepEqual(podTargets(makePod({ ...noIp, annotations: annotated({ cpu: '6060' }) })).groups, []);
    const terminating = makePod({ ...base, annotations: annotated({ cpu: '6060' }) });
    terminating.metadata.deletionTimestamp = '2024-05-14T10:00:00Z';
    assert.deepEqual(podTargets(terminating).groups, []);
    assert.deepEqual(podTargets({ nonsense: true }).groups, []);
    assert.deepEqual(podTargets(null).groups, []);
  });

  test('service: the annotation, else app.kubernetes.io/name, else app, else the pod name without its hash', () => {
    const ann = annotated({ cpu: '6060' });
    const svc = (o: Parameters<typeof makePod>[0]) => podTargets(makePod({ ip: '10.0.0.1', ...o })).groups[0]!.labels.service;
    assert.equal(svc({ name: 'a-1', annotations: { ...ann, 'profiles.grafana.com/service_name': 'named' }, labels: { app: 'x' } }), 'named');
    assert.equal(svc({ name: 'a-1', annotations: ann, labels: { 'app.kubernetes.io/name': 'k8s-name', app: 'x' } }), 'k8s-name');
    assert.equal(svc({ name: 'a-1', annotations: ann, labels: { app: 'x' } }), 'x');
    assert.equal(svc({ name: 'search-6d5f7c8b9a-zz9kq', generateName: 'search-6d5f7c8b9a-', annotations: ann, labels: { 'pod-template-hash': '6d5f7c8b9a' } }), 'search');
    assert.equal(podServiceName('fluent-bit-x7k2p', 'fluent-bit-', {}), 'fluent-bit');
    assert.equal(podServiceName('web-2', 'web-', {}), 'web');
    assert.equal(podServiceName('checkout-7d9f8b6c5d-x2x9k', undefined, {}), 'checkout');
    assert.equal(podServiceName('web-2', undefined, {}), 'web');
    assert.equal(podServiceName('debug', undefined, {}), 'debug');
  });

  test('a group becomes a target with the block\'s settings, its types limited to __types__', () => {
    const template = goTargetConfig({ discovery: { kind: 'kubernetes_sd', namespaces: [] }, baseUrl: '', goTags: { team: 'perf' } });
    const g = RECORDED_GROUPS[0]!;
    const t = expandTemplate(template, g, g.targets[0]!);
    assert.equal(t.baseUrl, 'http://10.244.1.17:6060/debug/pprof');
    assert.deepEqual([...t.enabledTypes], ['cpu', 'heap', 'goroutine']);
    assert.equal(t.service, 'checkout');
    assert.deepEqual(t.goTags, { team: 'perf', service: 'checkout', namespace: 'shop', pod: 'checkout-7d9f8b6c5d-x2x9k', node: 'node-a' });
    const m = RECORDED_GROUPS[2]!;
    const tm = expandTemplate(template, m, m.targets[0]!);
    assert.equal(tm.baseUrl, 'http://10.244.2.8:7070/internal/pprof');
    assert.deepEqual([...tm.enabledTypes], ['mutex']);
  });

  test('the list is read page by page', async () => {
    const r = await running({ sd: { pageSize: 3 } });
    assert.deepEqual(r.latest(), RECORDED_GROUPS);
    const lists = r.api.lists();
    assert.equal(lists.length, 2, 'the 6 Running pods of 8 (the default field selector) in pages of 3');
    assert.ok(lists.every((l) => l.query.limit === '3'));
    assert.equal(lists[0]!.query.continue, undefined);
    assert.ok(lists[1]!.query.continue);
    assert.equal(r.api.watchRequests()[0]!.query.resourceVersion, '48360');
  });
});

describe('watch', () => {
  test('ADDED appears, MODIFIED updates, DELETED vanishes; unrelated changes report nothing', async () => {
    const r = await running({ api: { splitEvents: true } });
    const name = 'search-6d5f7c8b9a-zz9kq';
    const pod = makePod({ name, generateName: 'search-6d5f7c8b9a-', namespace: 'shop', ip: '10.244.3.5', node: 'node-c', labels: { 'pod-template-hash': '6d5f7c8b9a' }, annotations: annotated({ cpu: '6060' }) });
    r.api.add(pod);
    await eventually(() => r.podGroups(name).length === 1, 'the added pod');
    assert.deepEqual(r.podGroups(name), [{ targets: ['10.244.3.5:6060'], labels: { __types__: 'cpu', service: 'search', namespace: 'shop', pod: name, node: 'node-c' } }]);
    assert.deepEqual(r.latest().filter((g) => g.labels.pod !== name), RECORDED_GROUPS, 'the others stay');

    // A status change of a pod nobody profiles, then an annotation change: one update, for the second.
    const before = r.updates.length;
    const legacy = r.api.pod('shop', 'legacy-api-6b7c8d9e0f-h2k4m')!;
    (legacy.status as { conditions?: unknown[] }).conditions = [];
    r.api.modify(legacy);
    const p2 = structuredClone(pod);
    Object.assign(p2.metadata.annotations as object, annotated({ memory: '6060' }));
    r.api.modify(p2);
    await eventually(() => r.podGroups(name)[0]?.labels.__types__ === 'cpu,heap', 'the MODIFIED annotations');
    assert.equal(r.updates.length, before + 1);

    // A different port for cpu splits the pod in two groups.
    const p3 = structuredClone(p2);
    (p3.metadata.annotations as Record<string, string>)['profiles.grafana.com/cpu.port'] = '6070';
    r.api.modify(p3);
    await eventually(() => r.podGroups(name).length === 2, 'the port change');
    assert.deepEqual(r.podGroups(name).map((g) => [g.targets[0], g.labels.__types__]), [['10.244.3.5:6070', 'cpu'], ['10.244.3.5:6060', 'heap']]);

    // The pod stops running: gone. It runs again: back. Deleted: gone.
    const done = structuredClone(p3);
    (done.status as { phase: string }).phase = 'Succeeded';
    r.api.modify(done);
    await eventually(() => r.podGroups(name).length === 0, 'the Succeeded pod to vanish');
    r.api.modify(p3);
    await eventually(() => r.podGroups(name).length === 2, 'the pod back');
    r.api.remove('shop', name);
    await eventually(() => r.podGroups(name).length === 0, 'the DELETED pod to vanish');
    // A recorded pod deleted too.
    r.api.remove('shop', 'payments-0');
    await eventually(() => r.podGroups('payments-0').length === 0, 'payments-0 to vanish');
    assert.deepEqual(r.latest(), [RECORDED_GROUPS[0], RECORDED_GROUPS[3]]);
    assert.equal(r.api.lists().length, 1, 'all of it from one list and one watch');
    assert.equal(r.api.watchRequests().length, 1);
    assert.equal(r.clock.pending, 0, 'no backoff');
  });

  test('a 410 (ERROR event) re-lists after the backoff, picking up what changed meanwhile', async () => {
    const r = await running();
    r.api.add(makePod({ name: 'early', namespace: 'shop', ip: '10.244.3.6', annotations: annotated({ cpu: '6060' }) }));
    await eventually(() => r.podGroups('early').length === 1, 'the early pod');
    r.api.expire();
    assert.equal(await r.backoff(), 1_000);
    // While it waits: a pod comes, one goes, and nothing is asked of the server.
    r.api.add(makePod({ name: 'late', namespace: 'web', ip: '10.244.3.7', annotations: annotated({ goroutine: '6060' }) }));
    r.api.remove('shop', 'checkout-7d9f8b6c5d-x2x9k');
    await sleep(50);
    assert.equal(r.api.lists().length, 1);
    assert.equal(r.api.watchRequests().length, 1);
    await r.clock.advance(1_000);
    await eventually(() => r.api.lists().length === 2 && r.api.openWatches === 1, 'the re-list and a new watch');
    await eventually(() => r.podGroups('late').length === 1, 'the late pod');
    assert.equal(r.podGroups('checkout-7d9f8b6c5d-x2x9k').length, 0, 'the pod deleted while not watching is gone');
    assert.equal(r.podGroups('early').length, 1);
    assert.equal(r.api.watchRequests()[1]!.query.resourceVersion, r.api.resourceVersion, 'watching from the new list');
  });

  test('a watch from a compacted version (410 at once) re-lists', async () => {
    const r = await running();
    // The server ends the stream cleanly after an event: resumed from that event's version...
    r.api.add(makePod({ name: 'a', namespace: 'shop', ip: '10.244.3.8', annotations: annotated({ cpu: '6060' }) }));
    await eventually(() => r.podGroups('a').length === 1, 'pod a');
    const rvA = r.api.resourceVersion;
    r.api.endWatches();
    await eventually(() => r.api.watchRequests().length === 2, 'the resumed watch');
    assert.equal(r.api.watchRequests()[1]!.query.resourceVersion, rvA);
    assert.equal(r.api.lists().length, 1, 'no list to resume');
    await eventually(() => r.api.openWatches === 1, 'the resumed watch open');
    // ...compaction while it is cut: the resumed watch gets 410, then it lists.
    r.api.add(makePod({ name: 'b', namespace: 'shop', ip: '10.244.3.9', annotations: annotated({ cpu: '6060' }) }));
    await eventually(() => r.podGroups('b').length === 1, 'pod b');
    r.api.dropWatches();
    r.api.expire();
    assert.equal(await r.backoff(), 1_000);
    await r.clock.advance(1_000);
    await eventually(() => r.api.lists().length === 2 && r.api.openWatches === 1, 'the re-list');
    assert.equal(r.podGroups('b').length, 1);
  });

  test('a dropped stream re-lists with backoff, 1 s doubling to 30 s, back to 1 s once it works', async () => {
    assert.deepEqual([1, 2, 3, 4, 5, 6, 7, 50].map(backoffMs), [1_000, 2_000, 4_000, 8_000, 16_000, 30_000, 30_000, 30_000]);
    const r = await running();
    r.api.add(makePod({ name: 'x', namespace: 'shop', ip: '10.244.3.10', annotations: annotated({ cpu: '6060' }) }));
    await eventually(() => r.podGroups('x').length === 1, 'pod x');
    const updatesBefore = r.updates.length;
    const delays: number[] = [];
    // Dropped three times in a row, with no event in between.
    for (let i = 0; i < 3; i++) {
      const lists = r.api.lists().length;
      r.api.dropWatches();
      const d = await r.backoff();
      delays.push(d);
      await sleep(20);
      assert.equal(r.api.lists().length, lists, 'nothing before the backoff is over');
      await r.clock.advance(d);
      await eventually(() => r.api.lists().length === lists + 1 && r.api.openWatches === 1, `re-list ${i + 1}`);
    }
    // Then lists fail too (500), until the cap.
    r.api.failNext.push({ status: 500, kind: 'list' }, { status: 500, kind: 'list' }, { status: 500, kind: 'list' });
    r.api.dropWatches();
    for (let i = 0; i < 4; i++) {
      const d = await r.backoff();
      delays.push(d);
      await r.clock.advance(d);
      await eventually(() => r.clock.pending === 1 || r.api.openWatches === 1, 'the next try');
    }
    assert.deepEqual(delays, [1_000, 2_000, 4_000, 8_000, 16_000, 30_000, 30_000]);
    await eventually(() => r.api.openWatches === 1, 'watching again');
    assert.equal(r.updates.length, updatesBefore, 'the same targets all along: nothing to report');
    assert.deepEqual(r.latest().length, RECORDED_GROUPS.length + 1);
    // An event proves it works: the next drop waits 1 s again.
    r.api.add(makePod({ name: 'y', namespace: 'shop', ip: '10.244.3.11', annotations: annotated({ cpu: '6060' }) }));
    await eventually(() => r.podGroups('y').length === 1, 'pod y');
    r.api.dropWatches();
    assert.equal(await r.backoff(), 1_000);
    assert.ok(r.logs.some((l) => /injected 500/.test(l)), 'the failure is logged');
  });

  test('a watch that ends at once, again and again, backs off', async () => {
    const r = await running();
    r.api.endWatches();
    // No event and no time passed: treated as a failure, resumed (not re-listed) after 1 s.
    assert.equal(await r.backoff(), 1_000);
    await r.clock.advance(1_000);
    await eventually(() => r.api.openWatches === 1, 'the resumed watch');
    assert.equal(r.api.lists().length, 1);
    r.api.endWatches();
    assert.equal(await r.backoff(), 2_000);
  });

  test('bookmarks move the resourceVersion the watch resumes from', async () => {
    // Changes in the shop namespace are not seen by a watch of "web"; a bookmark carries the version on.
    const r2 = await running({ cfg: { namespaces: ['web'] } });
    r2.api.add(makePod({ name: 'elsewhere', namespace: 'shop', ip: '10.244.3.12', annotations: annotated({ cpu: '6060' }) }));
    r2.api.bookmark();
    const rv = r2.api.resourceVersion;
    r2.api.endWatches(); // after the bookmark, in the same stream
    await eventually(() => r2.api.watchRequests().length === 2, 'the resumed watch');
    assert.equal(r2.api.watchRequests()[1]!.query.resourceVersion, rv);
    assert.equal(r2.podGroups('elsewhere').length, 0);
    assert.equal(r2.api.lists().length, 1);
  });

  test('stop ends the watch and asks nothing more', async () => {
    const r = await running();
    await r.sd.stop();
    await eventually(() => r.api.openWatches === 0, 'the watch to close');
    const n = r.api.requests.length;
    const u = r.updates.length;
    r.api.add(makePod({ name: 'after-stop', namespace: 'shop', ip: '10.244.3.13', annotations: annotated({ cpu: '6060' }) }));
    await r.clock.advance(60_000);
    await sleep(50);
    assert.equal(r.api.requests.length, n);
    assert.equal(r.updates.length, u);
    assert.equal(r.clock.pending, 0);
  });
});

describe('namespaces', () => {
  test('only the configured namespaces are listed and watched', async () => {
    const r = await running({ cfg: { namespaces: ['web', 'kube-system'] } });
    await eventually(() => r.api.openWatches === 2, 'two watches');
    await eventually(() => r.api.lists().length === 2, 'two lists');
    const paths = new Set(r.api.requests.map((q) => q.path));
    assert.deepEqual([...paths].sort(), ['/api/v1/namespaces/kube-system/pods', '/api/v1/namespaces/web/pods']);
    await eventually(() => r.latest().length === 1, 'the web pod');
    assert.deepEqual(r.latest(), [RECORDED_GROUPS[3]]);
    r.api.add(makePod({ name: 'not-mine', namespace: 'shop', ip: '10.244.3.14', annotations: annotated({ cpu: '6060' }) }));
    r.api.add(makePod({ name: 'mine', namespace: 'kube-system', ip: '10.244.3.15', annotations: annotated({ cpu: '6060' }) }));
    await eventually(() => r.podGroups('mine').length === 1, 'the kube-system pod');
    assert.equal(r.podGroups('not-mine').length, 0);
    assert.deepEqual(r.latest().map((g) => g.labels.pod), ['frontend-5c8d7b9f4-q7wzt', 'mine'], 'namespaces in the order configured');
  });
});

describe('credentials', () => {
  let tls: TlsMaterial;
  before(() => {
    tls = makeTlsMaterial();
  });
  after(() => tls.remove());

  test('bearer_token_file: the token is sent, and re-read after a minute', async () => {
    const dir = tempDir();
    const tokenFile = join(dir, 'token');
    writeFileSync(tokenFile, 'token-one\n');
    const r = await running({ api: { acceptAuthorization: ['Bearer token-one', 'Bearer token-two'] }, cfg: { bearerTokenFile: tokenFile } });
    assert.deepEqual(r.latest(), RECORDED_GROUPS);
    assert.ok(r.api.requests.every((q) => q.authorization === 'Bearer token-one'));
    writeFileSync(tokenFile, 'token-two\n');
    r.api.dropWatches();
    await r.clock.advance(await r.backoff());
    await eventually(() => r.api.lists().length === 2 && r.api.openWatches === 1, 're-list and watch');
    assert.equal(r.api.lists()[1]!.authorization, 'Bearer token-one', 'read less than a minute ago');
    await r.clock.advance(60_000);
    r.api.dropWatches();
    await r.clock.advance(await r.backoff());
    await eventually(() => r.api.lists().length === 3, 're-list');
    assert.equal(r.api.lists()[2]!.authorization, 'Bearer token-two', 'the rotated token');
  });

  test('a refused token: 401, nothing reported, retried with backoff', async () => {
    const dir = tempDir();
    const tokenFile = join(dir, 'token');
    writeFileSync(tokenFile, 'wrong');
    const r = await rig({ api: { acceptAuthorization: ['Bearer right'] }, cfg: { bearerTokenFile: tokenFile } });
    assert.equal(await r.backoff(), 1_000);
    assert.equal(r.updates.length, 0);
    assert.ok(r.logs.some((l) => /answered 401: Unauthorized \(check the token/.test(l)), r.logs.join(''));
    await r.clock.advance(1_000);
    assert.equal(await r.backoff(), 2_000);
    assert.equal(r.api.lists().length, 2);
  });

  test('in-cluster: KUBERNETES_SERVICE_HOST, the service account token and CA', async () => {
    const readFile = (p: string): Buffer => {
      if (p === IN_CLUSTER_TOKEN_FILE) return Buffer.from('sa-token\n');
      if (p === IN_CLUSTER_CA_FILE) return readFileSync(tls.caCert);
      throw Object.assign(new Error(`ENOENT: ${p}`), { code: 'ENOENT' });
    };
    // Outside a pod (no KUBERNETES_SERVICE_HOST): it says what to set, reports nothing, retries.
    const outside = new FakeClock();
    const logs: string[] = [];
    const lost = new KubernetesSd({ kind: 'kubernetes_sd', namespaces: [] }, outside, createLogger({ level: 'debug', destination: { write: (s: string) => void logs.push(s) } }), { env: {}, readFile });
    cleanups.push(() => lost.stop());
    const none: unknown[] = [];
    lost.start((g) => none.push(g));
    await eventually(() => outside.pending === 1, 'the retry timer');
    assert.equal(none.length, 0);
    assert.ok(logs.some((l) => /set api_server or kubeconfig/.test(l)), logs.join(''));

    const api = await FakeKubeApi.start({ tls: { key: readFileSync(tls.serverKey), cert: readFileSync(tls.serverCert) }, acceptAuthorization: ['Bearer sa-token'] });
    cleanups.push(() => api.close());
    const clock = new FakeClock();
    const sd = new KubernetesSd({ kind: 'kubernetes_sd', namespaces: [] }, clock, silentLogger(), {
      env: { KUBERNETES_SERVICE_HOST: '127.0.0.1', KUBERNETES_SERVICE_PORT: String(api.port) },
      readFile,
      watchTimeoutSeconds: 3600,
    });
    cleanups.push(() => sd.stop());
    const updates: TargetGroup[][] = [];
    sd.start((g) => updates.push(withoutMeta(g)));
    await eventually(() => updates.length === 1 && api.openWatches === 1, 'list and watch over TLS');
    assert.deepEqual(updates[0], RECORDED_GROUPS);
    assert.ok(api.requests.every((q) => q.authorization === 'Bearer sa-token'));
  });

  test('kubeconfig with a token and a CA file (relative), from its current context', async () => {
    const dir = tempDir();
    copyFileSync(tls.caCert, join(dir, 'cluster-ca.crt'));
    const api = await FakeKubeApi.start({ tls: { key: readFileSync(tls.serverKey), cert: readFileSync(tls.serverCert) }, acceptAuthorization: ['Bearer kc-token'] });
    cleanups.push(() => api.close());
    const kubeconfig = join(dir, 'config');
    writeFileSync(
      kubeconfig,
      [
        'apiVersion: v1',
        'kind: Config',
        'clusters:',
        '- name: other',
        '  cluster:',
        '    server: https://127.0.0.1:1',
        '- name: kind-test',
        '  cluster:',
        '    server: ' + api.url,
        '    certificate-authority: cluster-ca.crt',
        'contexts:',
        '- name: other',
        '  context: {cluster: other, user: nobody}',
        '- name: kind-test',
        '  context:',
        '    cluster: kind-test',
        '    user: kind-test',
        '    namespace: shop',
        'current-context: kind-test',
        'preferences: {}',
        'users:',
        '- name: nobody',
        '  user: {token: nope}',
        '- name: kind-test',
        '  user:',
        '    token: kc-token',
        '',
      ].join('\n'),
    );
    const conn = resolveConnection({ kind: 'kubernetes_sd', kubeconfig, namespaces: [] });
    assert.equal(conn.server, api.url);
    assert.equal(conn.token, 'kc-token');
    assert.equal(conn.insecureSkipVerify, false);
    const r = await runningWith({ kind: 'kubernetes_sd', kubeconfig, namespaces: [] }, api);
    assert.deepEqual(r.updates[0], RECORDED_GROUPS);
    assert.ok(api.requests.every((q) => q.authorization === 'Bearer kc-token'));
  });

  test('kubeconfig with client-certificate-data and client-key-data (and certificate-authority-data)', async () => {
    const dir = tempDir();
    const api = await FakeKubeApi.start({ tls: { key: readFileSync(tls.serverKey), cert: readFileSync(tls.serverCert), ca: readFileSync(tls.caCert), requestCert: true } });
    cleanups.push(() => api.close());
    const b64 = (f: string) => readFileSync(f).toString('base64');
    const kubeconfig = join(dir, 'config');
    writeFileSync(
      kubeconfig,
      [
        'apiVersion: v1',
        'kind: Config',
        'current-context: admin@test',
        'clusters:',
        '- name: test',
        '  cluster:',
        `    server: ${api.url}/`,
        `    certificate-authority-data: ${b64(tls.caCert)}`,
        'contexts:',
        '- name: admin@test',
        '  context: {cluster: test, user: admin}',
        'users:',
        '- name: admin',
        '  user:',
        `    client-certificate-data: ${b64(tls.clientCert)}`,
        `    client-key-data: ${b64(tls.clientKey)}`,
        '',
      ].join('\n'),
    );
    const r = await runningWith({ kind: 'kubernetes_sd', kubeconfig, namespaces: ['shop'] }, api);
    assert.deepEqual(r.updates[0], RECORDED_GROUPS.slice(0, 3));
    assert.ok(api.requests.length >= 2);
    assert.ok(api.requests.every((q) => q.clientCert === 'pprof-collector test client' && q.authorization === undefined && q.path === '/api/v1/namespaces/shop/pods'));
  });

  test('kubeconfig with client certificate files and insecure-skip-tls-verify; a wrong CA is refused', async () => {
    const dir = tempDir();
    const api = await FakeKubeApi.start({ tls: { key: readFileSync(tls.serverKey), cert: readFileSync(tls.serverCert), ca: readFileSync(tls.caCert), requestCert: true } });
    cleanups.push(() => api.close());
    const write = (name: string, cluster: string[]) => {
      const f = join(dir, name);
      writeFileSync(
        f,
        ['current-context: c', 'clusters:', '- name: c', '  cluster:', `    server: ${api.url}`, ...cluster, 'contexts:', '- name: c', '  context: {cluster: c, user: u}', 'users:', '- name: u', '  user:', `    client-certificate: ${tls.clientCert}`, `    client-key: ${tls.clientKey}`, ''].join('\n'),
      );
      return f;
    };
    const r = await runningWith({ kind: 'kubernetes_sd', kubeconfig: write('insecure', ['    insecure-skip-tls-verify: true']), namespaces: [] }, api);
    assert.deepEqual(r.updates[0], RECORDED_GROUPS);
    await r.sd.stop();

    // The other CA did not sign the server's certificate: nothing is listed.
    const before = api.requests.length;
    const clock = new FakeClock();
    const logs: string[] = [];
    const sd = new KubernetesSd({ kind: 'kubernetes_sd', kubeconfig: write('wrong-ca', [`    certificate-authority: ${tls.otherCaCert}`]), namespaces: [] }, clock, createLogger({ level: 'debug', destination: { write: (s: string) => void logs.push(s) } }), { env: {} });
    cleanups.push(() => sd.stop());
    const updates: unknown[] = [];
    sd.start((g) => updates.push(withoutMeta(g)));
    await eventually(() => clock.pending === 1, 'the backoff after the TLS failure');
    assert.equal(updates.length, 0);
    assert.equal(api.requests.length, before, 'no request got through');
    assert.ok(logs.some((l) => /certificate/i.test(l)), logs.join(''));
  });

  test('kubeconfig parsing: errors say what is wrong; relative paths; basic auth', () => {
    const host = { env: {}, readFile: (p: string) => Buffer.from(`content of ${p}`) };
    const base = ['clusters:', '- name: c', '  cluster: {server: "https://10.0.0.1:6443"}', 'contexts:', '- name: x', '  context: {cluster: c, user: u}'];
    assert.throws(() => parseKubeconfig([...base, 'current-context: x', 'users:', '- name: u', '  user:', '    exec: {command: aws, args: [eks, get-token]}'].join('\n'), '/k/config', host), (e: Error) => e instanceof KubeConfigError && /exec plugin/.test(e.message));
    assert.throws(() => parseKubeconfig([...base, '- name: y', '  context: {cluster: c}', 'users: []'].join('\n'), '/k/config', host), /no current-context/);
    assert.throws(() => parseKubeconfig([...base, 'current-context: nope'].join('\n'), '/k/config', host), /no context named "nope"/);
    assert.throws(() => parseKubeconfig('clusters: [', '/k/config', host), /not YAML/);
    assert.throws(() => parseKubeconfig([...base, 'current-context: x', 'users:', '- name: u', '  user: {client-certificate: a.crt}'].join('\n'), '/k/config', host), /without its key/);
    // One context and no current-context: that one. tokenFile relative to the kubeconfig's directory.
    const c = parseKubeconfig([...base, 'users:', '- name: u', '  user: {tokenFile: sa/token}'].join('\n'), '/k/config', host);
    assert.equal(c.tokenFile, '/k/sa/token');
    assert.equal(c.server, 'https://10.0.0.1:6443');
    const b = parseKubeconfig([...base, 'current-context: x', 'users:', '- name: u', '  user: {username: admin, password: s3cret}'].join('\n'), '/k/config', host);
    assert.deepEqual(b.basicAuth, { username: 'admin', password: 's3cret' });
    // Missing files are named.
    assert.throws(() => resolveConnection({ kind: 'kubernetes_sd', kubeconfig: '/nonexistent/kubeconfig', namespaces: [] }), /cannot read kubeconfig "\/nonexistent\/kubeconfig": ENOENT/);
    assert.throws(() => resolveConnection({ kind: 'kubernetes_sd', namespaces: [] }, { env: {}, readFile: host.readFile }), /KUBERNETES_SERVICE_HOST is not set/);
    // In-cluster with an IPv6 service host.
    const v6 = resolveConnection({ kind: 'kubernetes_sd', namespaces: [] }, { env: { KUBERNETES_SERVICE_HOST: 'fd00::1', KUBERNETES_SERVICE_PORT: '443' }, readFile: host.readFile });
    assert.equal(v6.server, 'https://[fd00::1]:443');
    assert.equal(v6.tokenFile, IN_CLUSTER_TOKEN_FILE);
  });
});

/** A provider on `cfg` against `api`, started and watching. */
async function runningWith(cfg: KubernetesSdConfig, api: FakeKubeApi): Promise<{ sd: KubernetesSd; updates: TargetGroup[][] }> {
  const clock = new FakeClock();
  const logs: string[] = [];
  const sd = new KubernetesSd(cfg, clock, createLogger({ level: 'debug', destination: { write: (s: string) => void logs.push(s) } }), { env: {}, watchTimeoutSeconds: 3600 });
  cleanups.push(() => sd.stop());
  const updates: TargetGroup[][] = [];
  sd.start((g) => updates.push(withoutMeta(g)));
  const watches = api.openWatches;
  await eventually(() => updates.length === 1 && api.openWatches > watches, 'list and watch').catch((e: unknown) => {
    throw new Error(`${(e as Error).message}\n${logs.join('')}`);
  });
  return { sd, updates };
}

// Keep the recorded fixture honest: what the fake serves is what was recorded.
test('the fake serves the recorded list', async () => {
  const api = await FakeKubeApi.start();
  cleanups.push(() => api.close());
  const res = await fetch(`${api.url}/api/v1/pods`);
  const doc = (await res.json()) as { items: PodJson[]; metadata: { resourceVersion: string } };
  assert.equal(doc.metadata.resourceVersion, recordedPodList().metadata.resourceVersion);
  assert.equal(doc.items.length, recordedPodList().items.length);
});
