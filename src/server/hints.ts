// Known failures -> what the user should do, in words. Used by the logs and
// by every report of a failed scrape.

import { formatDuration } from '../config/duration.js';

/**
 * Windows in a row whose scraped mutex or block profile had no samples at
 * all before that is said to suggest profiling is off (a single empty window
 * may just have had no contention).
 */
export const EMPTY_WINDOWS_BEFORE_HINT = 3;

/** The hint for a run of `windows` empty windows, with the type's advice (PROFILE_TYPES[type].emptyHint). */
export function emptyProfileHint(windows: number, advice: string): string {
  return `no contention recorded in ${windows} consecutive windows; ${advice}`;
}

export interface HintContext {
  readonly code: string;
  readonly status?: number;
  /** Every enabled type of this target answers 404. */
  readonly allTypesNotFound?: boolean;
  /** A 404 without Go's X-Go-Pprof header: the mux answered, not net/http/pprof. */
  readonly notFromPprof?: boolean;
  readonly cpuWindowSeconds?: number;
  readonly profileDurationMs?: number;
  /** The error message, for hints that depend on what the body looked like. */
  readonly message?: string;
}

export function hintFor(ctx: HintContext): string | undefined {
  switch (ctx.code) {
    case 'not_found':
      if (ctx.allTypesNotFound) {
        return 'every pprof path answers 404: net/http/pprof is not registered on this server\'s mux; import _ "net/http/pprof" when serving http.DefaultServeMux, or register pprof.Index, pprof.Profile and friends on your own mux (or fix the path in url)';
      }
      if (ctx.notFromPprof) {
        return 'this 404 is not from net/http/pprof (its errors carry the header X-Go-Pprof): net/http/pprof is not registered on this server\'s mux at this path; import _ "net/http/pprof" when serving http.DefaultServeMux, or register pprof.Index, pprof.Profile and friends on your own mux (or fix the path in url)';
      }
      return 'this profile type is not exposed by the target; remove it from enabled_types or check the pprof path prefix in url';
    case 'cpu_in_use':
      return 'another CPU profiler runs in this process (dd-trace-go, a Pyroscope agent, or a second collector): stop one of them or remove "cpu" from enabled_types';
    case 'write_timeout':
      return `the target's http.Server WriteTimeout is shorter than the CPU window${ctx.cpuWindowSeconds ? ` (${ctx.cpuWindowSeconds}s)` : ''}: raise WriteTimeout above profile_duration${ctx.profileDurationMs ? ` (${formatDuration(ctx.profileDurationMs)})` : ''}, or lower profile_duration`;
    case 'timeout':
      return 'the target did not answer within http_timeout: it may be overloaded, or the address reaches something that accepts connections but never answers';
    case 'network':
      return 'check that the service runs and that url has the right host and port';
    case 'tls':
      return 'set tls_ca to the CA that signed the target\'s certificate (tls_cert and tls_key for client certificates), or insecure_skip_verify = true only for testing';
    case 'redirect':
      return 'point url at the address that serves /debug/pprof directly';
    case 'body_too_large':
      return 'raise body_size_limit_mb in [[inputs.profile]] if the target really serves profiles this large';
    case 'too_large':
      return 'the decompressed profile is over the 256 MiB cap: the target serves something that is not a sane profile';
    case 'invalid_profile':
      if (/HTML page/.test(ctx.message ?? '')) return 'an HTML page answers here: the url points at the wrong port (a web UI), or a proxy or login page sits in between; point url at the port net/http/pprof listens on';
      if (/JSON/.test(ctx.message ?? '')) return 'a JSON API answers here: point url at the port and path net/http/pprof serves (default /debug/pprof)';
      if (/gzip stream is broken/.test(ctx.message ?? '')) return 'the profile was cut off on the way: a proxy with a body limit, or the target closing the connection early';
      return 'the endpoint does not serve pprof data: check the port and the path prefix in url';
    case 'tls_file':
      return 'fix the path or the permissions of the TLS file named above';
    case 'http_status':
      if (ctx.status === 401 || ctx.status === 403) {
        return 'the target, or an auth proxy in front of it (kube-rbac-proxy), refused the request: set bearer_token_file or basic_auth in the block, or check the ones set (a token file is read again whenever it changes)';
      }
      return undefined;
    default:
      return undefined;
  }
}

/**
 * The hint for a target whose every type answers 404: one cause, not one per
 * path. Its types are scraped at about the same time, so when each failed
 * its siblings had not all answered and its own hint could only speak of its
 * path; whoever shows a whole target (/targets, --once) asks this with every
 * type's last outcome. undefined: not that case (or a type has no answer yet).
 */
export function wholeTargetHint(lastOutcomes: ReadonlyArray<{ readonly error?: { readonly code: string } } | undefined>): string | undefined {
  if (lastOutcomes.length < 2 || !lastOutcomes.every((o) => o?.error?.code === 'not_found')) return undefined;
  return hintFor({ code: 'not_found', allTypesNotFound: true });
}
