// What --check says about a target's profile types beyond their names: where
// heap, mutex and block deltas come from (delta_source, and godeltaprof's
// one-reader rule), and what each custom type requests and ships as.

import { formatDuration } from '../config/duration.js';
import type { GoTargetConfig } from '../config/types.js';
import { profileUrl, typeSpec } from '../profile/types.js';

const GODELTAPROF_TYPES = ['heap', 'mutex', 'block'];

/** Lines (without indentation) about the types of a target or template; `baseUrl` '' for a template. */
export function describeTypes(c: GoTargetConfig, baseUrl: string): string[] {
  const lines: string[] = [];
  const viaGodeltaprof = c.enabledTypes.filter((t) => GODELTAPROF_TYPES.includes(t));
  const source = c.deltaSource ?? 'auto';
  if (viaGodeltaprof.length > 0) {
    const delta = viaGodeltaprof.map((t) => typeSpec(t, c.customTypes).godeltaprofPath).join(', ');
    const plain = viaGodeltaprof.map((t) => `/${t}`).join(', ');
    if (source === 'client') lines.push(`delta_source client: ${viaGodeltaprof.join(', ')} deltas computed here from ${plain}`);
    else {
      lines.push(
        source === 'auto'
          ? `delta_source auto: ${viaGodeltaprof.join(', ')} from godeltaprof (${delta}) when the target serves it, else deltas computed here from ${plain}; asked again after a target restart and every hour`
          : `delta_source godeltaprof: ${viaGodeltaprof.join(', ')} from godeltaprof (${delta}) only; a target without it fails with 404`,
      );
      lines.push(
        `godeltaprof: only ONE scraper may read ${delta} of a process (each read moves its baseline): no other collector, Grafana Alloy, Pyroscope agent or curl may read them; listings of the same process here share one reader`,
      );
    }
  }
  for (const spec of c.customTypes ?? []) {
    const where = baseUrl ? profileUrl(baseUrl, spec.path) : spec.path;
    const seconds = spec.seconds ? `${where.includes('?') ? '&' : '?'}seconds=${Math.round(c.profileDurationMs / 1000)}` : '';
    const what = spec.seconds
      ? spec.cpuProfiler
        ? `a ${formatDuration(c.profileDurationMs)} window; the CPU profiler: one in flight per process, in turn with cpu`
        : `a ${formatDuration(c.profileDurationMs)} window; not the CPU profiler: runs beside cpu`
      : spec.deltaSampleTypes.length > 0
        ? `deltas of ${spec.deltaSampleTypes.join(', ')} computed here`
        : 'shipped as scraped';
    lines.push(`custom ${spec.name}: GET ${where}${seconds} (${what}); ships as DataKit ${spec.datakitFileName}, Pyroscope __name__=${spec.pyroscopeName}`);
  }
  return lines;
}
