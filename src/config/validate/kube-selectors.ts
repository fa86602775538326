// kubernetes_sd's label_selector and field_selector, checked when the config
// is loaded so a typo is a FILE:LINE error, not a 400 from the API server
// at run time. The collector passes them to the API server as written; this
// only checks them the way the server will (k8s.io/apimachinery labels and
// fields), for the forms the collector supports.

/** Fields of a pod the API server can select on (the pod registry's selectable fields). */
export const POD_SELECTABLE_FIELDS = [
  'metadata.name',
  'metadata.namespace',
  'spec.nodeName',
  'spec.restartPolicy',
  'spec.schedulerName',
  'spec.serviceAccountName',
  'spec.hostNetwork',
  'status.phase',
  'status.podIP',
  'status.nominatedNodeName',
] as const;

const NAME = /^[A-Za-z0-9](?:[-A-Za-z0-9_.]{0,61}[A-Za-z0-9])?$/;
const DNS_SUBDOMAIN = /^[a-z0-9](?:[-a-z0-9]*[a-z0-9])?(?:\.[a-z0-9](?:[-a-z0-9]*[a-z0-9])?)*$/;

function labelKeyProblem(k: string): string | undefined {
  const slash = k.indexOf('/');
  const prefix = slash >= 0 ? k.slice(0, slash) : undefined;
  const name = slash >= 0 ? k.slice(slash + 1) : k;
  if (prefix !== undefined && (prefix.length > 253 || !DNS_SUBDOMAIN.test(prefix))) return `"${k}": the prefix before / must be a DNS subdomain (lower case, like app.kubernetes.io)`;
  if (!NAME.test(name)) return `"${k}" is not a label key (at most 63 letters, digits, -, _ or ., starting and ending with a letter or digit, with an optional prefix/)`;
  return undefined;
}

function labelValueProblem(v: string): string | undefined {
  return v === '' || NAME.test(v) ? undefined : `"${v}" is not a label value (at most 63 letters, digits, -, _ or ., starting and ending with a letter or digit)`;
}

/** Commas outside parentheses separate requirements. */
function requirements(text: string): string[] {
  const out: string[] = [];
  let depth = 0;
  let cur = '';
  for (const ch of text) {
    if (ch === '(') depth++;
    else if (ch === ')') depth--;
    if (ch === ',' && depth === 0) {
      out.push(cur);
      cur = '';
    } else cur += ch;
  }
  out.push(cur);
  return out;
}

/** What is wrong with a label selector, or undefined. Forms: key, !key, key=v, key==v, key!=v, key in (a,b), key notin (a,b). */
export function labelSelectorProblem(text: string): string | undefined {
  if (text.trim() === '') return 'is empty: leave label_selector out to select every pod';
  for (const raw of requirements(text)) {
    const r = raw.trim();
    let m: RegExpExecArray | null;
    if (r === '') return `has an empty requirement (two commas, or a comma at an end): "${text}"`;
    if ((m = /^!\s*(\S+)$/.exec(r))) {
      const p = labelKeyProblem(m[1]!);
      if (p) return p;
    } else if ((m = /^(\S+?)\s+(in|notin)\s*\(([^()]*)\)$/.exec(r))) {
      const p = labelKeyProblem(m[1]!);
      if (p) return p;
      if (m[3]!.trim() === '') return `"${r}": the set of values in ( ) is empty`;
      for (const v of m[3]!.split(',')) {
        const pv = labelValueProblem(v.trim());
        if (pv) return pv;
      }
    } else if ((m = /^([^=!<>\s]+)\s*(==|=|!=)\s*(\S*)$/.exec(r))) {
      const p = labelKeyProblem(m[1]!) ?? labelValueProblem(m[3]!);
      if (p) return p;
    } else if (/[<>]/.test(r)) {
      return `"${r}": the > and < operators are not supported here; use key in (...) or key notin (...)`;
    } else if (/^\S+$/.test(r)) {
      const p = labelKeyProblem(r);
      if (p) return p;
    } else return `"${r}" is not a requirement: write key, !key, key=value, key!=value, key in (a,b) or key notin (a,b)`;
  }
  return undefined;
}

/** What is wrong with a pod field selector, or undefined ("" selects every pod). Forms: field=v, field==v, field!=v. */
export function fieldSelectorProblem(text: string): string | undefined {
  if (text === '') return undefined;
  if (text.includes('\\')) return 'escapes (\\) are not supported here';
  for (const term of text.split(',')) {
    const m = /^([^=!]+)(==|=|!=)(.*)$/.exec(term);
    if (!m) return `"${term}" is not a term: write field=value or field!=value, separated by commas`;
    if (/\s/.test(term)) return `"${term}" has spaces: the API server would read them as part of the field or value`;
    if (!(POD_SELECTABLE_FIELDS as readonly string[]).includes(m[1]!)) return `"${m[1]}" is not a field the API server can select pods on; allowed: ${POD_SELECTABLE_FIELDS.join(', ')}`;
  }
  return undefined;
}
