// A discovered address plus its group's labels, applied to the settings of
// the [[inputs.profile.go]] block that holds the discovery (the template).

import type { GoTargetConfig } from '../config/types.js';
import type { TargetGroup } from './types.js';

export class BadAddressError extends Error {
  override name = 'BadAddressError';
}

/** One target's settings; throws BadAddressError for an address that is not host:port or an http(s) URL. */
export function expandTemplate(template: GoTargetConfig, group: TargetGroup, address: string): GoTargetConfig {
  const labels = group.labels;
  const hasScheme = /^[a-z][a-z0-9+.-]*:\/\//i.test(address);
  let u: URL;
  try {
    u = new URL(hasScheme ? address : `${labels.__scheme__ || 'http'}://${address}`);
  } catch {
    throw new BadAddressError(`"${address}" is not host:port or an http(s) URL`);
  }
  if (u.protocol !== 'http:' && u.protocol !== 'https:') throw new BadAddressError(`"${address}": scheme must be http or https`);
  // URL drops a port equal to the scheme's default (host:80 over http), so
  // whether host:port names a port is read from the address itself.
  const writtenPort = /^(\[[^\]]*\]|[^/:[\]]*):\d+(?:[/?#]|$)/.test(address);
  if (!u.hostname || (!hasScheme && !u.port && !writtenPort)) throw new BadAddressError(`"${address}" has no ${u.hostname ? 'port' : 'host'}`);
  const path = (labels.__pprof_path__ || (u.pathname !== '/' ? u.pathname : '') || '/debug/pprof').replace(/\/+$/, '');
  const tags: Record<string, string> = { ...template.goTags };
  for (const [k, v] of Object.entries(labels)) if (!k.startsWith('__')) tags[k] = v;
  // Pyroscope's convention names the service `service_name`.
  if (tags.service_name !== undefined && tags.service === undefined) tags.service = tags.service_name;
  delete tags.service_name;
  // A discovery may name the types to scrape (Kubernetes annotations do).
  let enabledTypes = template.enabledTypes;
  if (labels.__types__ !== undefined) {
    const listed = new Set(labels.__types__.split(',').map((x) => x.trim()));
    enabledTypes = template.enabledTypes.filter((t) => listed.has(t));
    if (enabledTypes.length === 0) throw new BadAddressError(`"${address}": none of its types (${labels.__types__}) is enabled in the block`);
  }
  const { discovery: _discovery, ...rest } = template;
  return {
    ...rest,
    enabledTypes,
    // A path of only slashes is the root: no trailing "/" (paths are appended as "/goroutine").
    baseUrl: `${u.protocol}//${u.host}${path === '' || path.startsWith('/') ? path : `/${path}`}`,
    service: tags.service ?? template.service,
    env: tags.env ?? template.env,
    version: tags.version ?? template.version,
    goTags: tags,
  };
}
