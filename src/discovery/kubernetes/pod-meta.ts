// The __meta_kubernetes_* labels of a pod target, named as Prometheus's
// kubernetes_sd pod role names them, for relabel rules (they are dropped
// after the rules, like every __ label):
//
//   __meta_kubernetes_namespace, __meta_kubernetes_pod_name, _pod_ip, _pod_uid,
//   _pod_phase, _pod_ready ("true", "false" or "unknown"), _pod_node_name,
//   _pod_host_ip, _pod_controller_kind, _pod_controller_name,
//   _pod_label_<name> and _pod_labelpresent_<name> ("true") for each label,
//   _pod_annotation_<name> and _pod_annotationpresent_<name> for each annotation
//   (<name> with every character outside [a-zA-Z0-9_] written as "_"),
// and of the container that declares the target's port (containers, then
// init containers; none when no container declares it):
//   _pod_container_name, _pod_container_image, _pod_container_id,
//   _pod_container_init ("true"/"false"), _pod_container_port_name,
//   _pod_container_port_number, _pod_container_port_protocol.

import { isObj, type Obj, str } from './json.js';

const META = '__meta_kubernetes_';

/** Prometheus's strutil.SanitizeLabelName: every character outside [a-zA-Z0-9_] becomes "_". */
export function sanitizeLabelName(name: string): string {
  return name.replace(/[^a-zA-Z0-9_]/gu, '_');
}

function podReady(status: Obj): string {
  const conditions = Array.isArray(status.conditions) ? status.conditions : [];
  for (const c of conditions) if (isObj(c) && c.type === 'Ready' && typeof c.status === 'string') return c.status.toLowerCase();
  return 'unknown';
}

/** The labels of the pod itself (the same for each of its targets). */
export function podMetaLabels(pod: Obj): Record<string, string> {
  const meta = isObj(pod.metadata) ? pod.metadata : {};
  const status = isObj(pod.status) ? pod.status : {};
  const spec = isObj(pod.spec) ? pod.spec : {};
  const out: Record<string, string> = {
    [`${META}namespace`]: str(meta, 'namespace') ?? 'default',
    [`${META}pod_name`]: str(meta, 'name') ?? '',
    [`${META}pod_ip`]: str(status, 'podIP') ?? '',
    [`${META}pod_ready`]: podReady(status),
    [`${META}pod_phase`]: str(status, 'phase') ?? '',
    [`${META}pod_node_name`]: str(spec, 'nodeName') ?? '',
    [`${META}pod_host_ip`]: str(status, 'hostIP') ?? '',
    [`${META}pod_uid`]: str(meta, 'uid') ?? '',
  };
  const owners = Array.isArray(meta.ownerReferences) ? meta.ownerReferences : [];
  const controller = owners.find((o) => isObj(o) && o.controller === true);
  if (isObj(controller)) {
    if (typeof controller.kind === 'string' && controller.kind !== '') out[`${META}pod_controller_kind`] = controller.kind;
    if (typeof controller.name === 'string' && controller.name !== '') out[`${META}pod_controller_name`] = controller.name;
  }
  for (const [kind, present, obj] of [['label', 'labelpresent', meta.labels], ['annotation', 'annotationpresent', meta.annotations]] as const) {
    if (!isObj(obj)) continue;
    for (const [k, v] of Object.entries(obj)) {
      if (typeof v !== 'string') continue;
      const n = sanitizeLabelName(k);
      out[`${META}pod_${kind}_${n}`] = v;
      out[`${META}pod_${present}_${n}`] = 'true';
    }
  }
  return out;
}

function containerId(status: Obj, listKey: 'containerStatuses' | 'initContainerStatuses', name: string): string {
  const list = Array.isArray(status[listKey]) ? status[listKey] : [];
  const s = list.find((c) => isObj(c) && c.name === name);
  return isObj(s) && typeof s.containerID === 'string' ? s.containerID : '';
}

/** The labels of the container that declares `port` (TCP), or none. */
export function containerMetaLabels(pod: Obj, port: number): Record<string, string> {
  const spec = isObj(pod.spec) ? pod.spec : {};
  const status = isObj(pod.status) ? pod.status : {};
  for (const [listKey, statusKey, init] of [['containers', 'containerStatuses', false], ['initContainers', 'initContainerStatuses', true]] as const) {
    const list = Array.isArray(spec[listKey]) ? spec[listKey] : [];
    for (const c of list) {
      if (!isObj(c) || !Array.isArray(c.ports)) continue;
      const p = c.ports.find((x) => isObj(x) && x.containerPort === port && (x.protocol === undefined || x.protocol === 'TCP'));
      if (!isObj(p)) continue;
      const name = typeof c.name === 'string' ? c.name : '';
      return {
        [`${META}pod_container_name`]: name,
        [`${META}pod_container_image`]: typeof c.image === 'string' ? c.image : '',
        [`${META}pod_container_id`]: containerId(status, statusKey, name),
        [`${META}pod_container_init`]: String(init),
        [`${META}pod_container_port_name`]: typeof p.name === 'string' ? p.name : '',
        [`${META}pod_container_port_number`]: String(port),
        [`${META}pod_container_port_protocol`]: typeof p.protocol === 'string' ? p.protocol : 'TCP',
      };
    }
  }
  return {};
}
