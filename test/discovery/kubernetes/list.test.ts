// kubernetes_sd at cluster scale (issue 10 item 8): 5,000 pods of real size
// listed 500 a page with the selectors, the pages handled in turns of the
// event loop (the delay it sees while listing is measured and reported, not
// asserted: wall-clock figures depend on the machine), a continue token that
// expires (410) restarting the list at once from its first page, and the
// watch starting from the list's resourceVersion.
//
//   node --import tsx --test test/discovery/kubernetes/list.test.ts

import assert from 'node:assert/strict';
import { monitorEventLoopDelay } from 'node:perf_hooks';
import { describe, test, type TestContext } from 'node:test';
import { KubernetesSd } from '../../../src/discovery/kubernetes/index.js';
import { MAX_LIST_RESTARTS, nextTurn } from '../../../src/discovery/kubernetes/list.js';
import type { TargetGroup } from '../../../src/discovery/types.js';
import { silentLogger } from '../../../src/core/log.js';
import { LIMITS } from '../../../src/core/limits.js';
import { FakeClock } from '../../helpers/fake-clock.js';
import { startKubeApiThread } from '../../helpers/kube-api-thread.js';
import { farmPods, type FarmPodOptions } from '../../helpers/kube-pod-farm.js';
import { eventually, kubeSdRig } from '../../helpers/kube-sd-rig.js';
import type { PodJson } from '../../helpers/fake-kube-api.js';

const FARM: FarmPodOptions = { namespaces: ['shop', 'web', 'batch', 'infra', 'data'], annotatedEvery: 4 };
const PODS = 5_000;
const PAGE = 500;
const PODS_PER_TURN = 100;
const LABEL_SELECTOR = 'tier in (backend,batch),app!=legacy';

/** What the selectors and the annotations leave of `pods`, worked out here from the pods themselves. */
function expected(pods: readonly PodJson[], o: { label: boolean; running: boolean }): string[] {
  const out: string[] = [];
  for (const p of pods) {
    const labels = p.metadata.labels as Record<string, string>;
    const status = p.status as { phase: string; podIP?: string };
    const annotations = p.metadata.annotations as Record<string, string>;
    if (o.label && (!['backend', 'batch'].includes(labels.tier!) || labels.app === 'legacy')) continue;
    if (o.running && status.phase !== 'Running') continue;
    // What the provider itself keeps: annotated, running, with an IP.
    if (annotations['profiles.grafana.com/cpu.scrape'] !== 'true' || status.phase !== 'Running' || !status.podIP) continue;
    out.push(`${p.metadata.namespace}/${p.metadata.name} ${status.podIP}:6060`);
  }
  return out.sort();
}

const seen = (groups: readonly TargetGroup[]) => groups.map((g) => `${g.labels.namespace}/${g.labels.pod} ${g.targets[0]}`).sort();

/** Pods matched by the selectors (what the server returns), worked out here. */
function matching(pods: readonly PodJson[]): number {
  return pods.filter((p) => {
    const l = p.metadata.labels as Record<string, string>;
    return ['backend', 'batch'].includes(l.tier!) && l.app !== 'legacy' && (p.status as { phase: string }).phase === 'Running';
  }).length;
}

/** Lists the farm from a server in another thread; the event-loop delay here while it does. */
async function listFarm(pageSize: number, selectors: { labelSelector?: string; fieldSelector?: string }): Promise<{ groups: TargetGroup[]; yields: number; maxMs: number; p99Ms: number; meanMs: number; requests: Awaited<ReturnType<Awaited<ReturnType<typeof startKubeApiThread>>['requests']>> }> {
  const api = await startKubeApiThread(PODS, FARM);
  let yields = 0;
  const sd = new KubernetesSd({ kind: 'kubernetes_sd', apiServer: api.url, namespaces: [], ...selectors }, new FakeClock(), silentLogger(), {
    env: {},
    watchTimeoutSeconds: 3600,
    pageSize,
    podsPerTurn: PODS_PER_TURN,
    yieldTurn: async () => {
      yields++;
      await nextTurn();
    },
  });
  const h = monitorEventLoopDelay({ resolution: 1 });
  let groups: TargetGroup[] | undefined;
  try {
    h.enable();
    sd.start((g) => (groups ??= [...g]));
    await eventually(() => groups !== undefined, 'the list', 60_000);
    h.disable();
    // Then it watches (the thread answers in its own time).
    let requests = await api.requests();
    for (let i = 0; i < 200 && !requests.some((q) => q.watch); i++) {
      await new Promise((r) => setTimeout(r, 25));
      requests = await api.requests();
    }
    await sd.stop();
    return { groups: groups!, yields, maxMs: h.max / 1e6, p99Ms: h.percentile(99) / 1e6, meanMs: h.mean / 1e6, requests };
  } finally {
    h.disable();
    await sd.stop();
    await api.close();
  }
}

describe('kubernetes_sd lists a big cluster page by page', () => {
  test(`${PODS} pods of real size, ${PAGE} a page: each page in turns of the event loop (the delay measured and reported)`, { timeout: 120_000 }, async (t: TestContext) => {
    assert.equal(LIMITS.kubernetesListPageSize, PAGE, 'the default page size');
    const pods = farmPods(PODS, FARM);
    // field_selector = "": every pod of the farm is sent and parsed.
    const r = await listFarm(PAGE, { fieldSelector: '' });
    assert.deepEqual(seen(r.groups), expected(pods, { label: false, running: false }));
    const lists = r.requests.filter((q) => !q.watch);
    const pages = PODS / PAGE;
    assert.equal(lists.length, pages);
    assert.ok(lists.every((q) => q.query.limit === String(PAGE) && q.query.fieldSelector === undefined && q.query.labelSelector === undefined));
    assert.equal(lists[0]!.query.continue, undefined);
    assert.ok(lists.slice(1).every((q) => q.query.continue), 'later pages continue the first');
    // Structural: a turn of the event loop after every page but the last and
    // after every PODS_PER_TURN pods of a page, so no stretch without one is
    // longer than one page's parse plus PODS_PER_TURN pods.
    assert.equal(r.yields, pages * Math.floor((PAGE - 1) / PODS_PER_TURN) + (pages - 1), 'turns of the event loop while listing');
    const watch = r.requests.find((q) => q.watch);
    assert.equal(watch?.query.resourceVersion, '1000', "then it watches from the list's resourceVersion");

    // For comparison (reported, not asserted): the same pods in one page.
    const one = await listFarm(PODS, { fieldSelector: '' });
    assert.deepEqual(seen(one.groups), seen(r.groups));
    t.diagnostic(
      `event-loop delay while listing ${PODS} pods (about 6 KB of JSON each, ${r.groups.length} targets): pages of ${PAGE}: max ${r.maxMs.toFixed(1)} ms, p99 ${r.p99Ms.toFixed(1)} ms, mean ${r.meanMs.toFixed(1)} ms; ` +
        `all in one page: max ${one.maxMs.toFixed(1)} ms, p99 ${one.p99Ms.toFixed(1)} ms, mean ${one.meanMs.toFixed(1)} ms`,
    );
  });

  test('the selectors go with every page and the watch, and the server applies them', { timeout: 120_000 }, async () => {
    const pods = farmPods(PODS, FARM);
    const r = await listFarm(PAGE, { labelSelector: LABEL_SELECTOR });
    assert.deepEqual(seen(r.groups), expected(pods, { label: true, running: true }));
    const lists = r.requests.filter((q) => !q.watch);
    const n = matching(pods);
    assert.equal(lists.length, Math.ceil(n / PAGE), `${n} matching pods in pages of ${PAGE}`);
    for (const q of lists) {
      assert.equal(q.query.labelSelector, LABEL_SELECTOR, 'every page asks with the label selector');
      assert.equal(q.query.fieldSelector, 'status.phase=Running', 'and the default field selector');
    }
    const watch = r.requests.find((q) => q.watch);
    assert.equal(watch?.query.labelSelector, LABEL_SELECTOR);
    assert.equal(watch?.query.fieldSelector, 'status.phase=Running');
  });

  test('a 410 on a continue restarts the list from its first page at once: one consistent snapshot, watched from its resourceVersion', { timeout: 60_000 }, async () => {
    const pods = farmPods(2_000, FARM);
    const r = await kubeSdRig({ api: { pods, resourceVersion: 1000 }, cfg: { fieldSelector: '' }, sd: { pageSize: PAGE }, start: false });
    try {
      // Between pages 2 and 3, a pod comes and one goes, and etcd compacts: page 3's token is too old.
      const added = farmPods(2_001, FARM).at(-1)!;
      added.metadata.name = 'came-meanwhile';
      const removed = pods.find((p) => (p.metadata.annotations as Record<string, string>)['profiles.grafana.com/cpu.scrape'] === 'true' && (p.status as { phase: string }).phase === 'Running')!;
      let page = 0;
      r.api.beforePage = () => {
        if (++page !== 3) return;
        r.api.add(added);
        r.api.remove(removed.metadata.namespace, removed.metadata.name);
        r.api.expire();
      };
      r.sd.start((g) => r.updates.push(structuredClone([...g])));
      await eventually(() => r.updates.length === 1 && r.api.openWatches === 1, 'the list and the watch');
      const lists = r.api.lists();
      assert.equal(lists.length, 3 + Math.ceil(2_000 / PAGE), 'two pages, the expired third, then the whole list again');
      assert.equal(lists[3]!.query.continue, undefined, 'the restart asks for the first page');
      assert.equal(r.clock.pending, 0, 'no backoff: at once');
      const now = [...pods.filter((p) => p !== removed), added];
      assert.deepEqual(seen(r.latest()), expected(now, { label: false, running: false }), 'the snapshot after the change, whole');
      assert.equal(r.api.watchRequests()[0]!.query.resourceVersion, r.api.resourceVersion, "watched from the restarted list's version");
      assert.ok(r.logs.some((l) => l.level === 'info' && /continue token .*expired.*listing again from the first page/.test(l.msg)), 'the restart is logged');
    } finally {
      await r.stop();
    }
  });

  test(`more than ${MAX_LIST_RESTARTS} expired continues in a row: the list gives up to the backoff, and the next try lists again`, { timeout: 60_000 }, async () => {
    const r = await kubeSdRig({ api: { pods: farmPods(1_200, FARM), resourceVersion: 1000 }, sd: { pageSize: PAGE }, start: false });
    try {
      for (let i = 0; i <= MAX_LIST_RESTARTS; i++) r.api.failNext.push({ status: 410, kind: 'continue' });
      r.sd.start((g) => r.updates.push(structuredClone([...g])));
      await eventually(() => r.clock.pending === 1, 'the backoff timer');
      assert.equal(r.clock.nextTimerAt()! - r.clock.now(), 1_000);
      assert.equal(r.updates.length, 0, 'nothing half-listed is reported');
      await r.clock.advance(1_000);
      await eventually(() => r.updates.length === 1 && r.api.openWatches === 1, 'the list after the backoff');
      const kinds = r.api.lists().map((q) => (q.query.continue ? 'next' : 'first'));
      const tries = 2 * (MAX_LIST_RESTARTS + 1);
      assert.deepEqual(kinds.slice(0, tries), Array.from({ length: tries }, (_, i) => (i % 2 === 0 ? 'first' : 'next')), 'the first page and its expired continue, again and again');
      assert.equal(kinds[tries], 'first', 'the try after the backoff starts from the first page');
    } finally {
      await r.stop();
    }
  });
});
