// What discovery produces: target groups in the shape of Prometheus file_sd
// and http_sd ({targets, labels}), which every provider maps its source to.

export interface TargetGroup {
  /** "host:port", or a URL "http(s)://host:port[/pprof/prefix]". */
  readonly targets: readonly string[];
  /**
   * Labels for every target of the group. `service` (or `service_name`),
   * `env` and `version` name the target; `__scheme__` and `__pprof_path__`
   * set how it is reached; `__types__` ("cpu,heap") restricts the block's
   * enabled_types; other `__` labels are dropped; the rest are tags.
   */
  readonly labels: Readonly<Record<string, string>>;
}

export interface DiscoveryProvider {
  /** What it watches, for logs ("file_sd targets/*.json"). */
  readonly description: string;
  /** Starts watching; `update` gets the complete current list each time it changes. */
  start(update: (groups: readonly TargetGroup[]) => void): void;
  stop(): Promise<void>;
}

/**
 * Wraps a provider's `update` so it is called only when the list differs
 * from the one sent last: providers re-read on a timer and most reads find
 * nothing new. `sent` is what counts as already sent (an empty list, for a
 * provider with nothing to say until it finds something).
 */
export function changesOnly(update: (groups: readonly TargetGroup[]) => void, sent: readonly TargetGroup[] | null = null): (groups: readonly TargetGroup[]) => void {
  let last = sent === null ? '' : JSON.stringify(sent);
  return (groups) => {
    const text = JSON.stringify(groups);
    if (text === last) return;
    last = text;
    update(groups);
  };
}

/** Parses the Prometheus SD JSON shape: [{"targets": [...], "labels": {...}}]. */
export function parseTargetGroups(value: unknown, where: string): TargetGroup[] {
  if (!Array.isArray(value)) throw new Error(`${where}: expected a JSON array of {"targets": [...], "labels": {...}}`);
  return value.map((g, i) => {
    if (typeof g !== 'object' || g === null || Array.isArray(g)) throw new Error(`${where}: group ${i} is not an object`);
    const o = g as { targets?: unknown; labels?: unknown };
    if (!Array.isArray(o.targets) || o.targets.some((t) => typeof t !== 'string')) throw new Error(`${where}: group ${i}: "targets" must be an array of strings`);
    const labels: Record<string, string> = {};
    if (o.labels !== undefined) {
      if (typeof o.labels !== 'object' || o.labels === null || Array.isArray(o.labels)) throw new Error(`${where}: group ${i}: "labels" must be an object`);
      for (const [k, v] of Object.entries(o.labels)) {
        if (typeof v !== 'string') throw new Error(`${where}: group ${i}: label "${k}" must be a string`);
        labels[k] = v;
      }
    }
    return { targets: o.targets as string[], labels };
  });
}
