// The targets to scrape now, from the config's own and what discovery found.

import type { Config, GoTargetConfig } from '../config/types.js';
import type { Logger } from '../core/log.js';
import type { Target } from '../core/target.js';
import { targetInShard } from './shard.js';
import { buildTarget, staticTargets } from './static.js';

/**
 * The config's targets, then the discovered ones. A static block listed
 * twice with the same URL and tags is scraped once; discovered targets
 * collapse by host:port (and never duplicate a static one). With [agent]
 * shard, only this shard's share is kept (a budgeted service goes whole to
 * one shard: see shard.ts).
 */
export function resolveTargets(config: Config, discovered: readonly GoTargetConfig[], log: Logger): Target[] {
  const byId = new Map<string, Target>();
  for (const t of staticTargets(config)) {
    const prev = byId.get(t.id);
    if (prev) {
      log.warn(
        { target: t.baseUrl, lines: [prev.config.source.line, t.config.source.line] },
        `${t.baseUrl} is listed twice with the same tags (lines ${prev.config.source.line} and ${t.config.source.line}); scraping it once`,
      );
      continue;
    }
    byId.set(t.id, t);
  }
  const taken = new Set([...byId.values()].map((t) => t.instance));
  for (const c of discovered) {
    const t = buildTarget(c, config.agent.hostname);
    if (taken.has(t.instance)) continue;
    taken.add(t.instance);
    byId.set(t.id, t);
  }
  const shard = config.agent.shard;
  return [...byId.values()].filter((t) => targetInShard(t, shard));
}
