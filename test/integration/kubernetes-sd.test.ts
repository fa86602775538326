// kubernetes_sd end to end: the real Go fixture (fixtures/go-target), the
// fake Kubernetes API (test/helpers/fake-kube-api.ts) announcing it as a pod
// whose podIP is 127.0.0.1 and whose port annotations name the fixture's
// port, and the real collector process (`node bin/collector.js`) with the
// file output, all on loopback.
//
// The pod enables cpu, memory (heap) and goroutine only: the collector must
// scrape those and never mutex or block, although the block enables all five
// types. A DELETED event must stop the scraping.
//
// Not skipped without `go`: it fails with a message (CI uses the Go in /usr/local/go/bin).
//   node --import tsx --test test/integration/kubernetes-sd.test.ts

import assert from 'node:assert/strict';
import { existsSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { before, test } from 'node:test';
import { goFixtureProblem, startGoTarget, type GoTargetStats, type RunningGoTarget } from '../../fixtures/go-target/harness.js';
import { FakeKubeApi, makePod } from '../helpers/fake-kube-api.js';
import { cleanupAfterEach, sleep, spawnCollector, waitFor, type CollectorProcess } from '../helpers/processes.js';

const cleanup = cleanupAfterEach();
let goProblem: string | null = null;
before(() => {
  goProblem = goFixtureProblem();
});

const POD = 'go-fixture-7c9d8f6b5-k2m4p';
const NAMESPACE = 'prod';
const SERVICE = 'go-fixture';
const path = (type: string) => `/debug/pprof/${type}`;
const count = (s: GoTargetStats, type: string) => s.requests[path(type)] ?? 0;

function dumpOnFail(c: CollectorProcess): (err: unknown) => never {
  return (err) => {
    throw new Error(`${(err as Error).message}\ncollector stdout tail:\n${c.stdout.slice(-4000)}\nstderr tail:\n${c.stderr.slice(-2000)}`);
  };
}

test('a pod the API announces is scraped for its annotated types; DELETED stops the scraping', { timeout: 180_000 }, async () => {
  if (goProblem) assert.fail(goProblem);
  const dir = cleanup.tempDir('pprof-it-k8s-');

  const target: RunningGoTarget = await startGoTarget({});
  cleanup.add(() => target.kill());
  const port = String(target.port);

  const pod = makePod({
    name: POD,
    generateName: 'go-fixture-7c9d8f6b5-',
    namespace: NAMESPACE,
    ip: '127.0.0.1',
    node: 'node-it',
    labels: { 'pod-template-hash': '7c9d8f6b5', 'app.kubernetes.io/name': 'not-the-service' },
    ports: [{ name: 'pprof', containerPort: target.port }],
    annotations: {
      'profiles.grafana.com/service_name': SERVICE,
      'profiles.grafana.com/cpu.scrape': 'true',
      'profiles.grafana.com/cpu.port': port,
      'profiles.grafana.com/memory.scrape': 'true',
      'profiles.grafana.com/memory.port': 'pprof',
      'profiles.grafana.com/goroutine.scrape': 'true',
      'profiles.grafana.com/goroutine.port': port,
      'profiles.grafana.com/mutex.scrape': 'false',
    },
  });
  // The other recorded pods are not reachable from here; the fixture's pod is the only one.
  const api = await FakeKubeApi.start({ pods: [pod] });
  cleanup.add(() => api.close());

  const filesDir = join(dir, 'files');
  const q = (s: string) => JSON.stringify(s);
  const cfg = join(dir, 'profile.conf');
  writeFileSync(
    cfg,
    [
      '[agent]',
      'hostname = "it-host"',
      'listen = ""',
      `data_dir = ${q(join(dir, 'data'))}`,
      'log_level = "debug"',
      '',
      '[[inputs.profile.go]]',
      'interval = "10s"',
      'env = "it"',
      '[inputs.profile.go.tags]',
      'team = "perf"',
      '[inputs.profile.go.kubernetes_sd]',
      `api_server = ${q(api.url)}`,
      '',
      '[[outputs.file]]',
      `dir = ${q(filesDir)}`,
      '',
    ].join('\n'),
  );

  const c = spawnCollector(['-c', cfg]);
  cleanup.add(() => c.kill());
  const fail = dumpOnFail(c);

  // It lists and watches the pods.
  await waitFor(() => api.lists().length >= 1 && api.openWatches === 1, 20_000, 'the collector to list and watch pods').catch(fail);
  assert.equal(api.lists()[0]!.path, '/api/v1/pods');
  assert.equal(api.watchRequests()[0]!.query.resourceVersion, api.resourceVersion);
  // One job per annotated type, not per type of the block.
  await waitFor(() => /targets changed by discovery: 3 job\(s\) added, 0 removed/.test(c.stdout), 20_000, 'the discovered pod as three jobs').catch(fail);

  // Scraped on schedule: goroutine twice proves it keeps going every interval.
  await waitFor(
    async () => {
      const s = await target.stats();
      return count(s, 'profile') >= 1 && count(s, 'heap') >= 2 && count(s, 'goroutine') >= 2;
    },
    60_000,
    'cpu, heap and goroutine scrapes of the announced pod',
  ).catch(fail);
  const during = await target.stats();
  assert.equal(count(during, 'mutex'), 0, 'mutex is not annotated: never scraped');
  assert.equal(count(during, 'block'), 0, 'block is not annotated: never scraped');

  // The profiles carry the pod's labels.
  const svcDir = join(filesDir, SERVICE);
  await waitFor(() => existsSync(svcDir) && readdirSync(svcDir).some((f) => f.endsWith('.json')), 20_000, `a profile written under ${svcDir}`).catch(fail);
  const sidecars = readdirSync(svcDir)
    .filter((f) => f.endsWith('.json'))
    .map((f) => JSON.parse(readFileSync(join(svcDir, f), 'utf8')) as { type: string; tags: Record<string, string> });
  for (const s of sidecars) {
    assert.ok(['cpu', 'heap', 'goroutine'].includes(s.type), `profile type ${s.type}`);
    assert.equal(s.tags.service, SERVICE);
    assert.equal(s.tags.namespace, NAMESPACE);
    assert.equal(s.tags.pod, POD);
    assert.equal(s.tags.node, 'node-it');
    assert.equal(s.tags.team, 'perf');
    assert.equal(s.tags.env, 'it');
  }

  // The pod is deleted: the collector drops the target, and the fixture hears no more.
  api.remove(NAMESPACE, POD);
  // One job per type: three of them went.
  await waitFor(() => /targets changed by discovery: 0 job\(s\) added, 3 removed/.test(c.stdout), 20_000, 'the collector to drop the deleted pod').catch(fail);
  await sleep(1_000); // a request already on the wire lands
  const afterDelete = await target.stats();
  await sleep(22_000); // two intervals and then some
  const later = await target.stats();
  for (const type of ['profile', 'heap', 'goroutine', 'mutex', 'block']) {
    assert.equal(count(later, type), count(afterDelete, type), `${type} requests after the pod was deleted`);
  }

  c.signal('SIGTERM');
  const exit = await c.waitExit(30_000);
  assert.deepEqual(exit, { code: 0, signal: null }, `collector exit after SIGTERM; stderr:\n${c.stderr.slice(-2000)}`);
});
