// kubernetes_sd: pods from the Kubernetes API, opted in by the annotations
// Pyroscope and Grafana Alloy use (pods.ts), reached with api_server, a
// kubeconfig or the pod's service account (client.ts, api.ts), listed and
// watched by the provider (provider.ts).

export {
  IN_CLUSTER_CA_FILE,
  IN_CLUSTER_TOKEN_FILE,
  KubeConfigError,
  parseKubeconfig,
  resolveConnection,
  type KubeConnection,
  type KubeHost,
  type KubernetesSdConfig,
} from './client.js';
export { ANNOTATION_PREFIX, SERVICE_NAME_ANNOTATION, podServiceName, podTargets, type PodTargets } from './pods.js';
export { KubernetesSd, backoffMs, type KubernetesSdOptions } from './provider.js';
