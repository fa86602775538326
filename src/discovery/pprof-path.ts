// The pprof prefix a discovered target names: `__pprof_path__` (from a
// discovery or a relabel rule) or the Kubernetes `.path` annotation. Both
// come from outside the config (a pod's author, an SD endpoint), and the
// collector GETs <prefix>/<type> on the target with its credentials, so the
// prefix must stay a plain path on that target: absolute, no `.` or `..`
// segment (also percent-encoded), no scheme or authority, no query or
// fragment, no backslash, white space or control character.

const MAX_PPROF_PATH_LENGTH = 1024;

/** Why `path` cannot be a pprof prefix, or null when it can. */
export function pprofPathProblem(path: string): string | null {
  const shown = JSON.stringify(path.length > 80 ? `${path.slice(0, 77)}...` : path);
  if (path.length > MAX_PPROF_PATH_LENGTH) return `pprof path is ${path.length} characters long; at most ${MAX_PPROF_PATH_LENGTH}`;
  if (/^[a-z][a-z0-9+.-]*:/i.test(path) || path.includes('://')) return `pprof path ${shown} has a scheme: write the path alone, like "/debug/pprof" (the scheme is __scheme__)`;
  if (!path.startsWith('/')) return `pprof path ${shown} is not absolute: it must start with "/", like "/debug/pprof"`;
  if (path.startsWith('//')) return `pprof path ${shown} starts with "//", which reads as a host name: write one "/"`;
  if (/[?#]/.test(path)) return `pprof path ${shown} has a query or fragment (? or #): the collector adds the query of each request itself`;
  if (/[\\\s\u0000-\u001f\u007f-\u009f]/.test(path)) return `pprof path ${shown} has a backslash, white space or control character`;
  for (const seg of path.split('/')) {
    let decoded: string;
    try {
      decoded = decodeURIComponent(seg);
    } catch {
      return `pprof path ${shown} has a "%" that is not a %XX escape`;
    }
    if (decoded === '.' || decoded === '..') return `pprof path ${shown} has a "${seg}" segment: it must name the prefix itself, not walk to another path of the target`;
    if (/[/\\]/.test(decoded)) return `pprof path ${shown} has an encoded "/" or "\\" in a segment`;
  }
  return null;
}
