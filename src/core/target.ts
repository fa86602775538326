// A target: one Go service endpoint, as every stage sees it. Its identity
// (URL plus final tags) keys everything that must survive a reload: delta
// baselines, schedule phase, health. Built by discovery (discovery/static.ts).

import type { GoTargetConfig } from '../config/types.js';

export interface Target {
  /** Stable identity: the same URL and tags give the same id across restarts. */
  readonly id: string;
  readonly config: GoTargetConfig;
  readonly baseUrl: string;
  /** `host:port` of the target, the unit of "one CPU profile at a time". */
  readonly instance: string;
  readonly service: string;
  readonly env: string;
  readonly version: string;
  /** Every tag the profile carries: host, instance, service, env, version and custom tags. */
  readonly tags: Readonly<Record<string, string>>;
  /** Only the tags the user wrote in [inputs.profile.tags] and [inputs.profile.go.tags]. */
  readonly customTags: Readonly<Record<string, string>>;
}
