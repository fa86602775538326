// Label and field selectors as the Kubernetes API server reads them, for
// the fake API server (fake-kube-api.ts): parsed strictly (what the real
// server refuses with a 400, this refuses too) and applied to pods. Written
// apart from the collector's own checks (src/config/validate/kube-selectors.ts)
// so a mistake in one is not mirrored in the other.
//
// Label selectors (k8s.io/apimachinery/pkg/labels): requirements separated by
// commas: `key`, `!key`, `key=value`, `key==value`, `key!=value`,
// `key in (a,b)`, `key notin (a,b)`. `!=` and `notin` match a pod without the
// label. (`>` and `<` exist too; the collector does not send them, and this
// refuses them.)
// Field selectors (k8s.io/apimachinery/pkg/fields) for pods: `field=value`,
// `field==value`, `field!=value` on the fields the pod registry makes
// selectable; any other field is "field label not supported".

import type { PodJson } from './fake-kube-api.js';

export class SelectorError extends Error {
  override name = 'SelectorError';
}

type Pod = PodJson;
export type Matcher = (pod: Pod) => boolean;

const NAME = '[A-Za-z0-9](?:[-A-Za-z0-9_.]{0,61}[A-Za-z0-9])?';
const PREFIX = '[a-z0-9](?:[-a-z0-9]*[a-z0-9])?(?:\\.[a-z0-9](?:[-a-z0-9]*[a-z0-9])?)*';
const KEY = new RegExp(`^(?:${PREFIX}/)?${NAME}$`);
const VALUE = new RegExp(`^(?:${NAME})?$`);

function key(k: string, whole: string): string {
  if (!KEY.test(k) || (k.includes('/') && k.indexOf('/') > 253)) throw new SelectorError(`unable to parse requirement: invalid label key "${k}" in "${whole}"`);
  return k;
}

function value(v: string, whole: string): string {
  if (!VALUE.test(v)) throw new SelectorError(`unable to parse requirement: invalid label value "${v}" in "${whole}"`);
  return v;
}

/** Top-level commas (not those inside `in (...)`). */
function splitRequirements(text: string): string[] {
  const out: string[] = [];
  let depth = 0;
  let cur = '';
  for (const ch of text) {
    if (ch === '(') depth++;
    if (ch === ')') depth--;
    if (ch === ',' && depth === 0) {
      out.push(cur);
      cur = '';
    } else cur += ch;
  }
  out.push(cur);
  return out;
}

function labelsOf(pod: Pod): Record<string, string> {
  const l = pod.metadata.labels;
  return typeof l === 'object' && l !== null ? (l as Record<string, string>) : {};
}

export function parseLabelSelector(text: string): Matcher {
  if (text.trim() === '') return () => true;
  const reqs: Matcher[] = [];
  for (const raw of splitRequirements(text)) {
    const r = raw.trim();
    if (r === '') throw new SelectorError(`unable to parse requirement: found '', expected: identifier in "${text}"`);
    let m: RegExpExecArray | null;
    if ((m = /^!\s*(\S+)$/.exec(r))) {
      const k = key(m[1]!, text);
      reqs.push((p) => !(k in labelsOf(p)));
    } else if ((m = /^(\S+?)\s+(in|notin)\s*\(([^()]*)\)$/.exec(r))) {
      const k = key(m[1]!, text);
      const vs = new Set(m[3]!.split(',').map((v) => value(v.trim(), text)));
      if (m[3]!.trim() === '') throw new SelectorError(`unable to parse requirement: for 'in', 'notin' operators, values set can't be empty in "${text}"`);
      const notin = m[2] === 'notin';
      reqs.push((p) => {
        const l = labelsOf(p);
        const has = k in l && vs.has(l[k]!);
        return notin ? !has : has;
      });
    } else if ((m = /^([^=!\s]+)\s*(==|=|!=)\s*(\S*)$/.exec(r))) {
      const k = key(m[1]!, text);
      const v = value(m[3]!, text);
      const neq = m[2] === '!=';
      reqs.push((p) => {
        const l = labelsOf(p);
        return neq ? l[k] !== v : k in l && l[k] === v;
      });
    } else if (KEY.test(r)) {
      reqs.push((p) => r in labelsOf(p));
    } else throw new SelectorError(`unable to parse requirement: "${r}" in "${text}"`);
  }
  return (p) => reqs.every((f) => f(p));
}

function str(o: unknown, k: string): string {
  const v = typeof o === 'object' && o !== null ? (o as Record<string, unknown>)[k] : undefined;
  return typeof v === 'string' ? v : typeof v === 'boolean' ? String(v) : '';
}

/** The fields the pod registry lets a selector use, and how each reads a pod. */
const POD_FIELDS: Readonly<Record<string, (p: Pod) => string>> = {
  'metadata.name': (p) => p.metadata.name,
  'metadata.namespace': (p) => p.metadata.namespace,
  'spec.nodeName': (p) => str(p.spec, 'nodeName'),
  'spec.restartPolicy': (p) => str(p.spec, 'restartPolicy'),
  'spec.schedulerName': (p) => str(p.spec, 'schedulerName'),
  'spec.serviceAccountName': (p) => str(p.spec, 'serviceAccountName'),
  'spec.hostNetwork': (p) => str(p.spec, 'hostNetwork') || 'false',
  'status.phase': (p) => str(p.status, 'phase'),
  'status.podIP': (p) => str(p.status, 'podIP'),
  'status.nominatedNodeName': (p) => str(p.status, 'nominatedNodeName'),
};

export function parseFieldSelector(text: string): Matcher {
  if (text === '') return () => true;
  const terms: Matcher[] = [];
  for (const t of text.split(',')) {
    const m = /^([^=!]+)(==|=|!=)(.*)$/.exec(t);
    if (!m) throw new SelectorError(`invalid field selector: "${t}": expected field=value, field==value or field!=value`);
    const get = POD_FIELDS[m[1]!];
    if (!get) throw new SelectorError(`field label not supported: ${m[1]}`);
    const v = m[3]!;
    const neq = m[2] === '!=';
    terms.push((p) => (get(p) === v) !== neq);
  }
  return (p) => terms.every((f) => f(p));
}
