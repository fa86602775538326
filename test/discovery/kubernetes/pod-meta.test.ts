// The __meta_kubernetes_* labels of pod targets (Prometheus's pod role
// names), on the recorded pod list and on made-up pods; and the `.path`
// annotation's validation.
//
//   node --import tsx --test test/discovery/kubernetes/pod-meta.test.ts

import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { podTargets } from '../../../src/discovery/kubernetes/index.js';
import { sanitizeLabelName } from '../../../src/discovery/kubernetes/pod-meta.js';
import { makePod, recordedPodList } from '../../helpers/fake-kube-api.js';

const meta = (labels: Readonly<Record<string, string>>) => Object.fromEntries(Object.entries(labels).filter(([k]) => k.startsWith('__meta_')).sort(([a], [b]) => (a < b ? -1 : 1)));

describe('__meta_kubernetes_* labels', () => {
  test('the recorded checkout pod: every pod label, the container that declares the port', () => {
    const pod = recordedPodList().items.find((p) => p.metadata.name === 'checkout-7d9f8b6c5d-x2x9k')!;
    const { groups } = podTargets(pod);
    assert.equal(groups.length, 1);
    assert.deepEqual(meta(groups[0]!.labels), {
      __meta_kubernetes_namespace: 'shop',
      __meta_kubernetes_pod_annotation_kubectl_kubernetes_io_restartedAt: '2024-05-14T09:11:57Z',
      __meta_kubernetes_pod_annotation_profiles_grafana_com_cpu_port: '6060',
      __meta_kubernetes_pod_annotation_profiles_grafana_com_cpu_scrape: 'true',
      __meta_kubernetes_pod_annotation_profiles_grafana_com_goroutine_port: 'pprof',
      __meta_kubernetes_pod_annotation_profiles_grafana_com_goroutine_scrape: 'true',
      __meta_kubernetes_pod_annotation_profiles_grafana_com_memory_port: '6060',
      __meta_kubernetes_pod_annotation_profiles_grafana_com_memory_scrape: 'true',
      __meta_kubernetes_pod_annotation_profiles_grafana_com_service_name: 'checkout',
      __meta_kubernetes_pod_annotationpresent_kubectl_kubernetes_io_restartedAt: 'true',
      __meta_kubernetes_pod_annotationpresent_profiles_grafana_com_cpu_port: 'true',
      __meta_kubernetes_pod_annotationpresent_profiles_grafana_com_cpu_scrape: 'true',
      __meta_kubernetes_pod_annotationpresent_profiles_grafana_com_goroutine_port: 'true',
      __meta_kubernetes_pod_annotationpresent_profiles_grafana_com_goroutine_scrape: 'true',
      __meta_kubernetes_pod_annotationpresent_profiles_grafana_com_memory_port: 'true',
      __meta_kubernetes_pod_annotationpresent_profiles_grafana_com_memory_scrape: 'true',
      __meta_kubernetes_pod_annotationpresent_profiles_grafana_com_service_name: 'true',
      __meta_kubernetes_pod_container_id: 'containerd://9ab29ab29ab29ab29ab29ab29ab29ab29ab29ab29ab29ab29ab29ab29ab29ab2',
      __meta_kubernetes_pod_container_image: 'registry.example.com/shop/checkout:1.14.2',
      __meta_kubernetes_pod_container_init: 'false',
      __meta_kubernetes_pod_container_name: 'checkout',
      __meta_kubernetes_pod_container_port_name: 'pprof',
      __meta_kubernetes_pod_container_port_number: '6060',
      __meta_kubernetes_pod_container_port_protocol: 'TCP',
      __meta_kubernetes_pod_controller_kind: 'ReplicaSet',
      __meta_kubernetes_pod_controller_name: 'checkout-7d9f8b6c5d',
      __meta_kubernetes_pod_host_ip: '172.18.0.3',
      __meta_kubernetes_pod_ip: '10.244.1.17',
      __meta_kubernetes_pod_label_app_kubernetes_io_name: 'checkout-web',
      __meta_kubernetes_pod_label_app_kubernetes_io_part_of: 'shop',
      __meta_kubernetes_pod_label_pod_template_hash: '7d9f8b6c5d',
      __meta_kubernetes_pod_labelpresent_app_kubernetes_io_name: 'true',
      __meta_kubernetes_pod_labelpresent_app_kubernetes_io_part_of: 'true',
      __meta_kubernetes_pod_labelpresent_pod_template_hash: 'true',
      __meta_kubernetes_pod_name: 'checkout-7d9f8b6c5d-x2x9k',
      __meta_kubernetes_pod_node_name: 'node-a',
      __meta_kubernetes_pod_phase: 'Running',
      __meta_kubernetes_pod_ready: 'true',
      __meta_kubernetes_pod_uid: '6c1f6f0e-5a1b-4c55-9d0b-3f8f0a8b1c01',
    });
    // The labels this collector always set stay as they were.
    assert.deepEqual(
      Object.fromEntries(Object.entries(groups[0]!.labels).filter(([k]) => !k.startsWith('__meta_'))),
      { __types__: 'cpu,heap,goroutine', service: 'checkout', namespace: 'shop', pod: 'checkout-7d9f8b6c5d-x2x9k', node: 'node-a' },
    );
  });

  test('two ports of one pod: each target has its own container port labels, the same pod labels', () => {
    const pod = recordedPodList().items.find((p) => p.metadata.name === 'payments-0')!;
    const { groups } = podTargets(pod);
    const byPort = Object.fromEntries(groups.map((g) => [g.labels.__meta_kubernetes_pod_container_port_number, meta(g.labels)]));
    assert.deepEqual(Object.keys(byPort).sort(), ['6060', '7070']);
    assert.ok(!byPort['6060']!.__meta_kubernetes_pod_container_port_name, 'the 6060 port has no name (empty, which is no label)');
    assert.equal(byPort['7070']!.__meta_kubernetes_pod_container_port_name, 'admin');
    assert.equal(byPort['6060']!.__meta_kubernetes_pod_controller_kind, 'StatefulSet');
    assert.equal(byPort['7070']!.__meta_kubernetes_pod_label_statefulset_kubernetes_io_pod_name, 'payments-0');
  });

  test('a port no container declares: no container labels; readiness unknown without a Ready condition', () => {
    const pod = makePod({ name: 'p', ip: '10.0.0.9', ports: [{ containerPort: 8080 }], annotations: { 'profiles.grafana.com/cpu.scrape': 'true', 'profiles.grafana.com/cpu.port': '6060' } });
    const m = meta(podTargets(pod).groups[0]!.labels);
    assert.equal(m.__meta_kubernetes_pod_container_name, undefined);
    assert.equal(m.__meta_kubernetes_pod_ready, 'unknown');
    assert.equal(m.__meta_kubernetes_pod_controller_kind, undefined, 'no owner');
  });

  test('a port declared by an init container (a sidecar): its labels, init "true"', () => {
    const pod = makePod({ name: 'p', ip: '10.0.0.9', annotations: { 'profiles.grafana.com/cpu.scrape': 'true', 'profiles.grafana.com/cpu.port': '6060' } }) as unknown as { spec: Record<string, unknown>; status: Record<string, unknown> };
    pod.spec.initContainers = [{ name: 'agent', image: 'agent:1', restartPolicy: 'Always', ports: [{ name: 'pprof', containerPort: 6060, protocol: 'TCP' }] }];
    pod.status.initContainerStatuses = [{ name: 'agent', containerID: 'containerd://abc' }];
    pod.status.conditions = [{ type: 'Ready', status: 'False' }];
    const m = meta(podTargets(pod).groups[0]!.labels);
    assert.equal(m.__meta_kubernetes_pod_container_name, 'agent');
    assert.equal(m.__meta_kubernetes_pod_container_init, 'true');
    assert.equal(m.__meta_kubernetes_pod_container_id, 'containerd://abc');
    assert.equal(m.__meta_kubernetes_pod_ready, 'false');
  });

  test('names are sanitised as Prometheus does: every character outside [a-zA-Z0-9_] is one "_"', () => {
    assert.equal(sanitizeLabelName('app.kubernetes.io/name'), 'app_kubernetes_io_name');
    assert.equal(sanitizeLabelName('a-b~c'), 'a_b_c');
    assert.equal(sanitizeLabelName('café'), 'caf_');
    assert.equal(sanitizeLabelName('😀x'), '_x', 'one code point, one "_"');
    assert.equal(sanitizeLabelName('9lives'), '9lives', 'a leading digit stays (the prefix makes the name valid)');
  });
});

describe('the path annotation', () => {
  const pod = (path: string) => makePod({ name: 'p', ip: '10.0.0.9', annotations: { 'profiles.grafana.com/cpu.scrape': 'true', 'profiles.grafana.com/cpu.port': '6060', 'profiles.grafana.com/cpu.path': path } });

  test('an absolute path is the prefix (a type\'s own endpoint name is taken off)', () => {
    assert.equal(podTargets(pod('/internal/pprof')).groups[0]!.labels.__pprof_path__, '/internal/pprof');
    assert.equal(podTargets(pod('/internal/pprof/profile')).groups[0]!.labels.__pprof_path__, '/internal/pprof');
  });

  test('anything else: the type is not scraped, and the problem says why', () => {
    for (const [path, re] of [
      ['internal/pprof', /not absolute/],
      ['/debug/pprof/../../admin', /"\.\." segment/],
      ['http://evil.example/debug/pprof', /has a scheme/],
      ['/debug/pprof?x=1', /query or fragment/],
    ] as const) {
      const t = podTargets(pod(path));
      assert.deepEqual(t.groups, [], path);
      assert.equal(t.problems.length, 1, path);
      assert.match(t.problems[0]!, /^cpu: profiles\.grafana\.com\/cpu\.path: pprof path /, path);
      assert.match(t.problems[0]!, re, path);
    }
  });
});
