// One read of a heap, mutex or block profile as its delta plan says
// (src/scrape/delta-source.ts): godeltaprof's path, falling back to the
// plain one on a 404 when delta_source is "auto", or the plain one.

import type { Logger } from '../core/log.js';
import type { Target } from '../core/target.js';
import type { ProfileTypeSpec } from '../profile/types.js';
import { GODELTAPROF_REPROBE_MS, type DeltaPlan, type DeltaSources } from './delta-source.js';
import { ScrapeError, type HttpScrapeResponse } from './http-scrape.js';

export interface DeltaRead {
  readonly target: Target;
  readonly spec: ProfileTypeSpec;
  readonly plan: DeltaPlan;
  /** The plain path's URL (/heap, /mutex, /block). */
  readonly plainUrl: string;
  /** One GET (with the target's auth, deadline and caps). */
  readonly get: (url: string) => Promise<HttpScrapeResponse>;
  readonly log: Logger;
  readonly sources: DeltaSources;
  /** True the first time `what` is said about this target (info once, then debug). */
  readonly first: (what: string) => boolean;
}

export async function readDelta(r: DeltaRead): Promise<HttpScrapeResponse & { readonly godeltaprof: boolean }> {
  const { target, spec, plan, plainUrl, log } = r;
  const type = spec.name;
  if (plan.readBy && r.first(`${type}/godeltaprof-shared`)) {
    log.info(
      `${plan.readBy} (another listing of the same process) reads its godeltaprof ${spec.godeltaprofPath}, and each read moves its baseline: this listing takes our own ${type} deltas from ${plainUrl}`,
    );
  }
  if (!plan.godeltaprof) return { ...(await r.get(plainUrl)), godeltaprof: false };
  const deltaUrl = `${target.baseUrl}/${spec.godeltaprofPath}`;
  try {
    const res = await r.get(deltaUrl);
    r.sources.served(target, spec);
    if (r.first(`${type}/godeltaprof`)) {
      log.info(`${type}: reading godeltaprof at ${deltaUrl}; its deltas are shipped as they are. Each read moves its baseline: no other scraper may read this endpoint`);
    }
    return { ...res, godeltaprof: true };
  } catch (err) {
    if (!(err instanceof ScrapeError && err.code === 'not_found')) throw err;
    if (!plan.fallback) {
      throw new ScrapeError(
        'not_found',
        `${err.message}: delta_source = "godeltaprof" but the target does not serve it; register godeltaprof (import _ "github.com/grafana/pyroscope-go/godeltaprof/http/pprof") or set delta_source = "auto"`,
        err.status,
        err.bodySnippet,
        err.fromGoPprof,
      );
    }
    r.sources.notServed(target, spec);
    log[r.first(`${type}/no-godeltaprof`) ? 'info' : 'debug'](
      `${type}: ${deltaUrl} answered 404 (godeltaprof is not registered): our own deltas of ${plainUrl} instead; asking again in ${GODELTAPROF_REPROBE_MS / 3600_000}h or after the target restarts`,
    );
    return { ...(await r.get(plainUrl)), godeltaprof: false };
  }
}
