// Static discovery: each [[inputs.profile.go]] block is one target. The
// target's identity (URL plus final tags) keys everything that must survive a
// reload: delta baselines, schedule phase, health.

import { createHash } from 'node:crypto';
import type { Config, GoTargetConfig } from '../config/types.js';
import type { Target } from '../core/target.js';

const LOOPBACK = /^(localhost|127(\.\d{1,3}){3}|\[?::1\]?|\[?::ffff:127(\.\d{1,3}){3}\]?)$/i;

export function isLoopbackHost(hostname: string): boolean {
  return LOOPBACK.test(hostname);
}

/** host:port with the scheme's default port filled in. */
export function instanceOf(baseUrl: string): string {
  const u = new URL(baseUrl);
  const port = u.port || (u.protocol === 'https:' ? '443' : '80');
  return `${u.hostname}:${port}`;
}

/**
 * Tags by precedence, lowest first: derived host/instance, input tags,
 * service/env/version, go tags. A tag the user sets explicitly always wins.
 */
export function targetTags(t: GoTargetConfig, agentHostname: string): { tags: Record<string, string>; customTags: Record<string, string> } {
  const u = new URL(t.baseUrl);
  const host = isLoopbackHost(u.hostname) ? agentHostname : u.hostname.replace(/^\[|\]$/g, '');
  const tags: Record<string, string> = { host, instance: instanceOf(t.baseUrl) };
  Object.assign(tags, t.inputTags);
  tags.service = t.service;
  if (t.env !== '') tags.env = t.env;
  if (t.version !== '') tags.version = t.version;
  Object.assign(tags, t.goTags);
  return { tags, customTags: { ...t.inputTags, ...t.goTags } };
}

export function targetId(baseUrl: string, tags: Readonly<Record<string, string>>): string {
  const canonical = JSON.stringify([baseUrl, Object.entries(tags).sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0))]);
  return createHash('sha256').update(canonical).digest('hex').slice(0, 16);
}

export function buildTarget(t: GoTargetConfig, agentHostname: string): Target {
  const { tags, customTags } = targetTags(t, agentHostname);
  return Object.freeze({
    id: targetId(t.baseUrl, tags),
    config: t,
    baseUrl: t.baseUrl,
    instance: instanceOf(t.baseUrl),
    service: tags.service ?? t.service,
    env: tags.env ?? '',
    version: tags.version ?? '',
    tags: Object.freeze(tags),
    customTags: Object.freeze(customTags),
  });
}

export function staticTargets(config: Config): Target[] {
  return config.targets.map((t) => buildTarget(t, config.agent.hostname));
}
