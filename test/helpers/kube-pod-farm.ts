// Pods of a big cluster for the fake API server, the size real ones are
// (about 8 KB of JSON each: managedFields, several containers with env and
// mounts, volumes, conditions, owner references), so listing thousands of
// them costs what it costs against a real API server. Deterministic: pod i
// is always the same pod.

import type { PodJson } from './fake-kube-api.js';

export interface FarmPodOptions {
  readonly namespaces: readonly string[];
  /** Every `annotatedEvery`-th pod asks to be profiled (profiles.grafana.com/cpu.scrape). */
  readonly annotatedEvery: number;
}

export const FARM_TIERS = ['backend', 'frontend', 'batch', 'cache'] as const;
export const FARM_APPS = ['checkout', 'payments', 'search', 'legacy', 'catalog', 'orders', 'auth'] as const;
const PHASES = ['Running', 'Running', 'Running', 'Running', 'Running', 'Running', 'Pending', 'Succeeded', 'Running', 'Failed'] as const;

function hex(i: number, n: number): string {
  return ((i * 2654435761) >>> 0).toString(16).padStart(8, '0').repeat(2).slice(0, n);
}

function managedFields(i: number): unknown[] {
  const fieldsV1 = {
    'f:metadata': { 'f:labels': { '.': {}, 'f:app': {}, 'f:pod-template-hash': {}, 'f:tier': {} }, 'f:ownerReferences': { '.': {}, [`k:{"uid":"${hex(i, 8)}"}`]: {} } },
    'f:spec': {
      'f:containers': { 'k:{"name":"app"}': { '.': {}, 'f:env': { '.': {}, 'k:{"name":"GOMAXPROCS"}': { '.': {}, 'f:name': {}, 'f:valueFrom': {} } }, 'f:image': {}, 'f:imagePullPolicy': {}, 'f:name': {}, 'f:ports': {}, 'f:resources': {} } },
      'f:dnsPolicy': {},
      'f:restartPolicy': {},
      'f:schedulerName': {},
      'f:securityContext': {},
      'f:terminationGracePeriodSeconds': {},
    },
  };
  const status = { 'f:status': { 'f:conditions': { 'k:{"type":"Ready"}': { '.': {}, 'f:lastProbeTime': {}, 'f:lastTransitionTime': {}, 'f:status': {}, 'f:type': {} } }, 'f:containerStatuses': {}, 'f:hostIP': {}, 'f:phase': {}, 'f:podIP': {}, 'f:podIPs': {}, 'f:startTime': {} } };
  return [
    { manager: 'kube-controller-manager', operation: 'Update', apiVersion: 'v1', time: '2024-05-14T10:00:00Z', fieldsType: 'FieldsV1', fieldsV1 },
    { manager: 'kubelet', operation: 'Update', apiVersion: 'v1', time: '2024-05-14T10:00:05Z', fieldsType: 'FieldsV1', fieldsV1: status, subresource: 'status' },
  ];
}

function container(name: string, i: number, port?: number): Record<string, unknown> {
  return {
    name,
    image: `registry.example.com/${name}:1.${i % 40}.${i % 7}`,
    ...(port ? { ports: [{ name: 'pprof', containerPort: port, protocol: 'TCP' }, { name: 'http', containerPort: 8080, protocol: 'TCP' }] } : {}),
    env: [
      { name: 'GOMAXPROCS', valueFrom: { resourceFieldRef: { containerName: name, resource: 'limits.cpu', divisor: '1' } } },
      { name: 'POD_NAME', valueFrom: { fieldRef: { apiVersion: 'v1', fieldPath: 'metadata.name' } } },
      { name: 'POD_NAMESPACE', valueFrom: { fieldRef: { apiVersion: 'v1', fieldPath: 'metadata.namespace' } } },
      { name: 'OTEL_EXPORTER_OTLP_ENDPOINT', value: 'http://otel-collector.observability.svc:4317' },
    ],
    resources: { limits: { cpu: '2', memory: '1Gi' }, requests: { cpu: '250m', memory: '256Mi' } },
    volumeMounts: [
      { name: 'config', mountPath: '/etc/app', readOnly: true },
      { name: `kube-api-access-${hex(i, 5)}`, mountPath: '/var/run/secrets/kubernetes.io/serviceaccount', readOnly: true },
    ],
    livenessProbe: { httpGet: { path: '/healthz', port: 8080, scheme: 'HTTP' }, initialDelaySeconds: 10, timeoutSeconds: 1, periodSeconds: 10, successThreshold: 1, failureThreshold: 3 },
    terminationMessagePath: '/dev/termination-log',
    terminationMessagePolicy: 'File',
    imagePullPolicy: 'IfNotPresent',
  };
}

/** Pod number `i` of the farm. */
export function farmPod(i: number, o: FarmPodOptions): PodJson {
  const app = FARM_APPS[i % FARM_APPS.length]!;
  const tier = FARM_TIERS[Math.floor(i / 3) % FARM_TIERS.length]!;
  const hash = hex(i, 10);
  const name = `${app}-${hash}-${hex(i + 7, 5)}`;
  const phase = PHASES[i % PHASES.length]!;
  const annotated = i % o.annotatedEvery === 0;
  const ip = `10.${(i >> 16) & 255}.${(i >> 8) & 255}.${i & 255}`;
  return {
    metadata: {
      name,
      generateName: `${app}-${hash}-`,
      namespace: o.namespaces[i % o.namespaces.length]!,
      uid: `${hex(i, 8)}-${hex(i + 1, 4)}-4${hex(i + 2, 3)}-8${hex(i + 3, 3)}-${hex(i + 4, 12)}`,
      creationTimestamp: '2024-05-14T10:00:00Z',
      labels: { app, tier, 'pod-template-hash': hash, 'app.kubernetes.io/part-of': 'shop' },
      annotations: annotated ? { 'profiles.grafana.com/cpu.scrape': 'true', 'profiles.grafana.com/cpu.port': '6060', 'kubectl.kubernetes.io/restartedAt': '2024-05-14T09:59:00Z' } : { 'kubectl.kubernetes.io/restartedAt': '2024-05-14T09:59:00Z' },
      ownerReferences: [{ apiVersion: 'apps/v1', kind: 'ReplicaSet', name: `${app}-${hash}`, uid: hex(i, 8), controller: true, blockOwnerDeletion: true }],
      managedFields: managedFields(i),
    },
    spec: {
      volumes: [
        { name: 'config', configMap: { name: `${app}-config`, defaultMode: 420 } },
        { name: `kube-api-access-${hex(i, 5)}`, projected: { sources: [{ serviceAccountToken: { expirationSeconds: 3607, path: 'token' } }, { configMap: { name: 'kube-root-ca.crt', items: [{ key: 'ca.crt', path: 'ca.crt' }] } }], defaultMode: 420 } },
      ],
      containers: [container('app', i, 6060), container('istio-proxy', i)],
      restartPolicy: 'Always',
      terminationGracePeriodSeconds: 30,
      dnsPolicy: 'ClusterFirst',
      serviceAccountName: app,
      nodeName: `node-${i % 50}`,
      securityContext: { runAsNonRoot: true, runAsUser: 65532 },
      schedulerName: 'default-scheduler',
      tolerations: [
        { key: 'node.kubernetes.io/not-ready', operator: 'Exists', effect: 'NoExecute', tolerationSeconds: 300 },
        { key: 'node.kubernetes.io/unreachable', operator: 'Exists', effect: 'NoExecute', tolerationSeconds: 300 },
      ],
    },
    status: {
      phase,
      conditions: ['Initialized', 'Ready', 'ContainersReady', 'PodScheduled'].map((type) => ({ type, status: phase === 'Running' ? 'True' : 'False', lastProbeTime: null, lastTransitionTime: '2024-05-14T10:00:05Z' })),
      hostIP: `172.18.${i % 50}.3`,
      ...(phase === 'Pending' ? {} : { podIP: ip, podIPs: [{ ip }] }),
      startTime: '2024-05-14T10:00:01Z',
      containerStatuses: ['app', 'istio-proxy'].map((c) => ({ name: c, state: { running: { startedAt: '2024-05-14T10:00:04Z' } }, ready: phase === 'Running', restartCount: i % 3, image: `registry.example.com/${c}:1.0.0`, imageID: `registry.example.com/${c}@sha256:${hex(i, 8).repeat(8)}`, containerID: `containerd://${hex(i + 9, 8).repeat(8)}`, started: true })),
      qosClass: 'Burstable',
    },
  };
}

export function farmPods(n: number, o: FarmPodOptions): PodJson[] {
  return Array.from({ length: n }, (_, i) => farmPod(i, o));
}
