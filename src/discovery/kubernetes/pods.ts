// Pods to target groups, opted in by the annotations Pyroscope and Grafana
// Alloy use, so pods annotated for them are found as they are:
//
//   profiles.grafana.com/cpu.scrape: "true"      (also memory, goroutine, mutex, block;
//   profiles.grafana.com/cpu.port: "6060"         heap is accepted as memory's alias)
//   profiles.grafana.com/cpu.port_name: "pprof"   (a container port's name; .port takes a name too)
//   profiles.grafana.com/cpu.path: "/debug/pprof" (the pprof prefix)
//   profiles.grafana.com/cpu.scheme: "https"
//   profiles.grafana.com/service_name: "checkout"
//
// Only pods that are Running, have an IP and are not being deleted count.
// The types of a pod with the same scheme, port and path form one target
// group; its `__types__` label ("cpu,heap") limits the block's enabled_types
// to them (see template.ts). Labels: service (the annotation, else the pod
// label app.kubernetes.io/name, else app, else the pod name less its hash),
// namespace, pod, node, and Prometheus's __meta_kubernetes_* labels for
// relabel rules (pod-meta.ts). A `.path` annotation must be an absolute path
// without `..` or a scheme (pprof-path.ts), or the type is not scraped.

import { DEFAULT_TYPE_NAMES, type DefaultTypeName, type ProfileTypeName } from '../../profile/types.js';
import { pprofPathProblem } from '../pprof-path.js';
import type { TargetGroup } from '../types.js';
import { containerMetaLabels, podMetaLabels } from './pod-meta.js';
import { isObj, type Obj, str } from './json.js';

export const ANNOTATION_PREFIX = 'profiles.grafana.com/';
export const SERVICE_NAME_ANNOTATION = 'profiles.grafana.com/service_name';

/** Annotation names per profile type, first preferred (Pyroscope calls heap "memory"). */
const ANNOTATION_NAMES: Readonly<Record<DefaultTypeName, readonly string[]>> = {
  cpu: ['cpu'],
  heap: ['memory', 'heap'],
  goroutine: ['goroutine'],
  mutex: ['mutex'],
  block: ['block'],
};

/**
 * Endpoint names of each type: Pyroscope's `.path` is the whole path of one
 * type ("/debug/pprof/heap"); ours is the prefix, so such a last segment is
 * taken off.
 */
const ENDPOINT_NAMES: Readonly<Record<DefaultTypeName, readonly string[]>> = {
  cpu: ['profile'],
  heap: ['heap', 'allocs'],
  goroutine: ['goroutine'],
  mutex: ['mutex', 'delta_mutex'],
  block: ['block', 'delta_block'],
};

export interface PodTargets {
  readonly groups: TargetGroup[];
  /** Why an enabled type could not be used (bad or missing port). */
  readonly problems: string[];
}

const NONE: PodTargets = { groups: [], problems: [] };

function annotationOf(annotations: Obj, names: readonly string[], suffix: string): string | undefined {
  for (const n of names) {
    const v = annotations[`${ANNOTATION_PREFIX}${n}.${suffix}`];
    if (typeof v === 'string' && v.trim() !== '') return v.trim();
  }
  return undefined;
}

interface ContainerPort {
  readonly name?: string;
  readonly port: number;
}

function containerPorts(spec: Obj): ContainerPort[] {
  const out: ContainerPort[] = [];
  const containers = Array.isArray(spec.containers) ? spec.containers : [];
  for (const c of containers) {
    if (!isObj(c) || !Array.isArray(c.ports)) continue;
    for (const p of c.ports) {
      if (!isObj(p) || typeof p.containerPort !== 'number') continue;
      if (p.protocol !== undefined && p.protocol !== 'TCP') continue;
      out.push({ ...(typeof p.name === 'string' ? { name: p.name } : {}), port: p.containerPort });
    }
  }
  return out;
}

/** The service a pod is: its owner's name, from generateName less a Deployment's pod-template-hash. */
export function podServiceName(name: string, generateName: string | undefined, labels: Obj): string {
  const hash = typeof labels['pod-template-hash'] === 'string' ? labels['pod-template-hash'] : undefined;
  let base: string;
  if (generateName) base = generateName.replace(/-$/, '');
  else {
    base = name.replace(/-[a-z0-9]{5}$/, '');
    if (base === name) base = name.replace(/-\d+$/, ''); // a StatefulSet ordinal
  }
  if (hash && base.endsWith(`-${hash}`)) base = base.slice(0, -(hash.length + 1));
  else if (!hash && generateName === undefined) base = base.replace(/-[a-f0-9]{8,10}$/, '');
  return base || name;
}

function normalizePath(raw: string, type: DefaultTypeName): string {
  let p = `/${raw.replace(/^\/+/, '')}`.replace(/\/+$/, '');
  const last = p.slice(p.lastIndexOf('/') + 1);
  if (ENDPOINT_NAMES[type].includes(last) && p.lastIndexOf('/') > 0) p = p.slice(0, p.lastIndexOf('/'));
  return p === '' ? '/' : p;
}

/**
 * The target groups of one pod (a Pod object as the API returns it): none
 * unless it is Running, has an IP, is not being deleted, and enables a type.
 * Types with the same scheme, port and path share one group.
 */
export function podTargets(pod: unknown): PodTargets {
  if (!isObj(pod) || !isObj(pod.metadata)) return NONE;
  const meta = pod.metadata;
  const annotations = isObj(meta.annotations) ? meta.annotations : {};
  if (!Object.keys(annotations).some((k) => k.startsWith(ANNOTATION_PREFIX))) return NONE;
  const status = isObj(pod.status) ? pod.status : {};
  const spec = isObj(pod.spec) ? pod.spec : {};
  const ip = str(status, 'podIP');
  if (status.phase !== 'Running' || !ip || meta.deletionTimestamp) return NONE;
  const name = str(meta, 'name') ?? '';
  const namespace = str(meta, 'namespace') ?? 'default';
  const labels = isObj(meta.labels) ? meta.labels : {};

  const problems: string[] = [];
  const byEndpoint = new Map<string, { host: string; port: number; scheme?: string; path?: string; types: ProfileTypeName[] }>();
  let ports: ContainerPort[] | undefined;
  for (const type of DEFAULT_TYPE_NAMES) {
    const names = ANNOTATION_NAMES[type];
    const enabledAs = names.find((n) => String(annotations[`${ANNOTATION_PREFIX}${n}.scrape`] ?? '').trim().toLowerCase() === 'true');
    if (enabledAs === undefined) continue;
    const own = [enabledAs, ...names.filter((n) => n !== enabledAs)];
    const portText = annotationOf(annotations, own, 'port') ?? annotationOf(annotations, own, 'port_name');
    ports ??= containerPorts(spec);
    let port: number | undefined;
    if (portText === undefined) {
      if (ports.length === 1) port = ports[0]!.port;
      else {
        problems.push(`${type}: set ${ANNOTATION_PREFIX}${enabledAs}.port (the pod declares ${ports.length === 0 ? 'no container port' : `${ports.length} container ports`})`);
        continue;
      }
    } else if (/^\d+$/.test(portText)) {
      port = Number(portText);
      if (port < 1 || port > 65535) {
        problems.push(`${type}: port "${portText}" is out of range`);
        continue;
      }
    } else {
      port = ports.find((p) => p.name === portText)?.port;
      if (port === undefined) {
        problems.push(`${type}: no container port is named "${portText}"`);
        continue;
      }
    }
    const rawScheme = annotationOf(annotations, own, 'scheme')?.toLowerCase();
    const scheme = rawScheme === 'http' || rawScheme === 'https' ? rawScheme : undefined;
    if (rawScheme !== undefined && scheme === undefined) problems.push(`${type}: scheme "${rawScheme}" is not http or https; using http`);
    const rawPath = annotationOf(annotations, own, 'path');
    const pathProblem = rawPath === undefined ? null : pprofPathProblem(rawPath);
    if (pathProblem) {
      problems.push(`${type}: ${ANNOTATION_PREFIX}${enabledAs}.path: ${pathProblem}`);
      continue;
    }
    const path = rawPath === undefined ? undefined : normalizePath(rawPath, type);
    const host = ip.includes(':') ? `[${ip}]:${port}` : `${ip}:${port}`;
    const key = `${scheme ?? 'http'}|${host}|${path ?? ''}`;
    let e = byEndpoint.get(key);
    if (!e) byEndpoint.set(key, (e = { host, port, ...(scheme ? { scheme } : {}), ...(path !== undefined ? { path } : {}), types: [] }));
    e.types.push(type);
  }
  const annotatedService = annotations[SERVICE_NAME_ANNOTATION];
  const service =
    (typeof annotatedService === 'string' && annotatedService.trim()) ||
    (typeof labels['app.kubernetes.io/name'] === 'string' && labels['app.kubernetes.io/name']) ||
    (typeof labels.app === 'string' && labels.app) ||
    podServiceName(name, str(meta, 'generateName'), labels);
  const node = str(spec, 'nodeName');
  const podMeta = byEndpoint.size > 0 ? podMetaLabels(pod) : {};
  const groups: TargetGroup[] = [...byEndpoint.values()].map((e) => ({
    targets: [e.host],
    labels: {
      ...podMeta,
      ...containerMetaLabels(pod, e.port),
      __types__: e.types.join(','),
      ...(e.scheme ? { __scheme__: e.scheme } : {}),
      ...(e.path !== undefined ? { __pprof_path__: e.path } : {}),
      service,
      namespace,
      pod: name,
      ...(node ? { node } : {}),
    },
  }));
  return { groups, problems };
}

