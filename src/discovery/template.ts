// A discovered address plus its group's labels, applied to the settings of
// the [[inputs.profile.go]] block that holds the discovery (the template), in
// Prometheus's order: the labels a target has when discovered (with the
// defaults a relabel rule may read or change), then the block's
// relabel_configs (relabeler.ts), then the labels that remain say how to
// reach the target and how to tag its profiles:
//
//   __address__    host:port (or an http(s) URL) to scrape
//   __scheme__     http or https (default http; a URL address names its own)
//   __pprof_path__ the pprof prefix (default /debug/pprof), validated (pprof-path.ts)
//   __tenant_id__  the profiles' tenant (default: the block's tenant_id)
//   __types__      "cpu,heap": restricts the block's enabled_types
//   service (or service_name), env, version: those fields of the profiles
//   any other label not starting with "__": a tag, over the block's tags
//   every other "__" label (__meta_*, __tmp_*): dropped

import type { GoTargetConfig } from '../config/types.js';
import { compareNames } from '../core/relabel.js';
import { tenantIdProblem } from '../core/tenant.js';
import { pprofPathProblem } from './pprof-path.js';
import type { TargetGroup } from './types.js';

export class BadAddressError extends Error {
  override name = 'BadAddressError';
}

export const DEFAULT_PPROF_PATH = '/debug/pprof';

const HAS_SCHEME = /^[a-z][a-z0-9+.-]*:\/\//i;

/**
 * The labels of one discovered target before relabeling, sorted by name: its
 * group's labels, `__address__`, and `__scheme__`, `__pprof_path__` and
 * `__tenant_id__` with their defaults filled in. An address written as a URL
 * is taken apart into those labels (its scheme wins over the group's).
 */
export function discoveredLabels(template: GoTargetConfig, group: TargetGroup, address: string): Map<string, string> {
  // An empty value is no label (as in Prometheus).
  const m = new Map(Object.entries(group.labels).filter(([, v]) => v !== ''));
  m.set('__address__', address);
  if (HAS_SCHEME.test(address)) {
    let u: URL | undefined;
    try {
      u = new URL(address);
    } catch {
      // Left as written: reported once the rules have had their say.
    }
    if (u && (u.protocol === 'http:' || u.protocol === 'https:') && u.hostname !== '') {
      m.set('__address__', `${u.hostname}:${u.port || (u.protocol === 'https:' ? '443' : '80')}`);
      m.set('__scheme__', u.protocol.slice(0, -1));
      // "/a/b//" is "/a/b/", "//" the root; trailing slashes go later.
      if (u.pathname !== '/' && !m.get('__pprof_path__')) m.set('__pprof_path__', u.pathname.replace(/\/+$/, '/'));
    }
  }
  if (!m.get('__scheme__')) m.set('__scheme__', 'http');
  if (!m.get('__pprof_path__')) m.set('__pprof_path__', DEFAULT_PPROF_PATH);
  if (template.tenantId && !m.get('__tenant_id__')) m.set('__tenant_id__', template.tenantId);
  return new Map([...m].sort((a, b) => compareNames(a[0], b[0])));
}

/**
 * One target's settings from its labels after relabeling; throws
 * BadAddressError when they do not name a target that can be scraped.
 */
export function targetFromLabels(template: GoTargetConfig, labels: ReadonlyMap<string, string>): GoTargetConfig {
  const address = labels.get('__address__') ?? '';
  if (address === '') throw new BadAddressError('the target has no address (__address__ is empty, or a relabel rule removed it)');
  const hasScheme = HAS_SCHEME.test(address);
  const scheme = labels.get('__scheme__') || 'http';
  if (!hasScheme && scheme !== 'http' && scheme !== 'https') throw new BadAddressError(`"${address}": __scheme__ "${scheme}": scheme must be http or https`);
  let u: URL;
  try {
    u = new URL(hasScheme ? address : `${scheme}://${address}`);
  } catch {
    throw new BadAddressError(`"${address}" is not host:port or an http(s) URL`);
  }
  if (u.protocol !== 'http:' && u.protocol !== 'https:') throw new BadAddressError(`"${address}": scheme must be http or https`);
  // URL drops a port equal to the scheme's default (host:80 over http), so
  // whether host:port names a port is read from the address itself.
  const writtenPort = /^(\[[^\]]*\]|[^/:[\]]*):\d+(?:[/?#]|$)/.test(address);
  if (!u.hostname || (!hasScheme && !u.port && !writtenPort)) throw new BadAddressError(`"${address}" has no ${u.hostname ? 'port' : 'host'}`);
  const rawPath = labels.get('__pprof_path__') || (u.pathname !== '/' ? u.pathname.replace(/\/+$/, '/') : '') || DEFAULT_PPROF_PATH;
  const pathProblem = pprofPathProblem(rawPath);
  if (pathProblem) throw new BadAddressError(`"${address}": ${pathProblem}`);
  const path = rawPath.replace(/\/+$/, '');

  const tenantId = labels.get('__tenant_id__') ?? '';
  const tenantProblem = tenantIdProblem(tenantId);
  if (tenantProblem) throw new BadAddressError(`"${address}": __tenant_id__: ${tenantProblem}`);

  const tags: Record<string, string> = { ...template.goTags };
  for (const [k, v] of labels) if (!k.startsWith('__') && v !== '') tags[k] = v;
  // Pyroscope's convention names the service `service_name`.
  if (tags.service_name !== undefined && tags.service === undefined) tags.service = tags.service_name;
  delete tags.service_name;
  // A discovery may name the types to scrape (Kubernetes annotations do).
  let enabledTypes = template.enabledTypes;
  const types = labels.get('__types__');
  if (types !== undefined) {
    const listed = new Set(types.split(',').map((x) => x.trim()));
    enabledTypes = template.enabledTypes.filter((t) => listed.has(t));
    if (enabledTypes.length === 0) throw new BadAddressError(`"${address}": none of its types (${types}) is enabled in the block`);
  }

  // The block's credentials go to its targets over https only, unless it says otherwise.
  const { discovery: _discovery, relabelConfigs: _rules, auth, tenantId: _tenant, ...rest } = template;
  const refused = auth !== undefined && u.protocol === 'http:' && template.allowInsecureCredentials !== true;
  const baseUrl = `${u.protocol}//${u.host}${path === '' || path.startsWith('/') ? path : `/${path}`}`;
  return {
    ...rest,
    enabledTypes,
    // A path of only slashes is the root: no trailing "/" (paths are appended as "/goroutine").
    baseUrl,
    service: tags.service ?? template.service,
    env: tags.env ?? template.env,
    version: tags.version ?? template.version,
    goTags: tags,
    ...(tenantId !== '' ? { tenantId } : {}),
    ...(auth && !refused ? { auth } : {}),
    ...(refused
      ? {
          credentialsRefused:
            `not scraped: ${baseUrl} is http, and the block on line ${template.source.line} sends ${auth.kind === 'basic' ? 'basic auth' : 'a bearer token'} to the targets it discovers over https only. ` +
            'Make the target https (__scheme__ = "https": a scheme annotation or a relabel rule), or set allow_insecure_credentials = true in the block to send them in the clear',
        }
      : {}),
  };
}

/** One target's settings, without relabel rules (a block without relabel_configs). */
export function expandTemplate(template: GoTargetConfig, group: TargetGroup, address: string): GoTargetConfig {
  return targetFromLabels(template, discoveredLabels(template, group, address));
}
