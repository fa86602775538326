// One line for a kubernetes_sd discovery, for --check: where it asks, which
// namespaces, and the selectors as they are sent to the API server.

import type { DiscoveryConfig } from '../config/types.js';
import { LIMITS } from '../core/limits.js';
import { redactedUrl } from '../core/redact.js';

export function describeKubernetesSd(d: Extract<DiscoveryConfig, { kind: 'kubernetes_sd' }>): string {
  const where = d.apiServer ? redactedUrl(d.apiServer) : d.kubeconfig ? `kubeconfig ${d.kubeconfig}` : 'in-cluster';
  const ns = d.namespaces.length === 0 ? (d.ownNamespace ? 'its own namespace' : 'all namespaces') : `namespaces ${d.namespaces.join(', ')}${d.ownNamespace ? ' and its own' : ''}`;
  const field = d.fieldSelector ?? LIMITS.kubernetesFieldSelector;
  const sel = [...(d.labelSelector ? [`label_selector ${JSON.stringify(d.labelSelector)}`] : []), ...(field ? [`field_selector ${JSON.stringify(field)}`] : [])];
  return `kubernetes_sd ${where}, ${ns}; ${sel.length ? `pods matching ${sel.join(' and ')}` : 'every pod (field_selector "")'}`;
}
