// When to SIGKILL a collector in a crash test: at a moment when no quick
// (non-CPU) pprof request is being answered or due, read from the Go
// fixture's request log, and (given the collector) everything it was served
// is written down, so the kill lands between scrapes rather than between
// "the target sent a profile" and "the collector wrote it down" (which a
// loaded machine can stretch past any fixed margin).

import { readRequestLog, type RequestLogLine } from '../../fixtures/go-target/harness.js';
import { sleep, type CollectorProcess } from './processes.js';

const CPU_PATH = '/debug/pprof/profile';
const QUICK_TYPES: Record<string, string> = {
  '/debug/pprof/goroutine': 'goroutine',
  '/debug/pprof/heap': 'heap',
  '/debug/pprof/mutex': 'mutex',
  '/debug/pprof/block': 'block',
  // godeltaprof's (delta_source): the same types, read from the target's own deltas.
  '/debug/pprof/delta_heap': 'heap',
  '/debug/pprof/delta_mutex': 'mutex',
  '/debug/pprof/delta_block': 'block',
};

/**
 * Whether `collector` (logging at debug) has written down every quick
 * profile the target served it since `sinceMs`: one "<type> shipped /
 * baseline / reset" line per request answered in full.
 */
function allWrittenDown(lines: readonly RequestLogLine[], collector: CollectorProcess, sinceMs: number): boolean {
  const served = new Map<string, number>();
  for (const l of lines) {
    // A CPU profile answered in full is written down too before the kill
    // (its window may have ended just before the quiet moment).
    const type = l.path === CPU_PATH ? 'cpu' : QUICK_TYPES[l.path];
    if (type && l.status === 200 && !l.write_error && Date.parse(l.time) >= sinceMs) served.set(type, (served.get(type) ?? 0) + 1);
  }
  const done = new Map<string, number>();
  for (const l of collector.logLines()) {
    const m = /^(cpu|goroutine|heap|mutex|block) (shipped|baseline|reset)$/.exec(String(l.msg));
    if (m) done.set(m[1]!, (done.get(m[1]!) ?? 0) + 1);
  }
  return [...served].every(([type, n]) => (done.get(type) ?? 0) >= n);
}

function endMs(l: RequestLogLine): number {
  return Date.parse(l.time) + l.duration_ms;
}

/**
 * Waits for a moment when no quick request was answered within `marginMs`
 * and none is due (each type comes back every `intervalMs` on its own slot)
 * within twice that; needs at least `minPaths` paths seen. `ignore`: requests
 * that are not the collector's (a test's own). A CPU profile in
 * flight is cut off by the kill, and the target logs it as not written.
 */
export async function quietMoment(
  requestLog: string,
  marginMs: number,
  limitMs: number,
  opts: {
    intervalMs?: number;
    minPaths?: number;
    ignore?: (l: RequestLogLine) => boolean;
    /** Also wait until this collector (at log_level debug) has written down all it was served since `sinceMs`. */
    collector?: { process: CollectorProcess; sinceMs: number };
  } = {},
): Promise<void> {
  const intervalMs = opts.intervalMs ?? 10_000;
  const minPaths = opts.minPaths ?? 4;
  const deadline = Date.now() + limitMs;
  while (Date.now() < deadline) {
    const all = readRequestLog(requestLog).filter((l) => !opts.ignore?.(l));
    const lines = all.filter((l) => l.path !== CPU_PATH);
    const now = Date.now();
    const lastByPath = new Map<string, RequestLogLine>();
    for (const l of lines) lastByPath.set(l.path, l);
    const recent = lines.some((l) => now - endMs(l) < marginMs);
    const soon = [...lastByPath.values()].some((l) => {
      const next = Date.parse(l.time) + intervalMs;
      return next - now < marginMs * 2 && next - now > -marginMs;
    });
    // A CPU profile's body goes out when its window ends, every interval: a
    // kill just then finds it sent in full (no write error on the target's
    // side) but not yet written down by the collector. Stay clear of the
    // next expected end, and of one that just happened.
    const cpuLines = all.filter((l) => l.path === CPU_PATH);
    const lastCpu = cpuLines[cpuLines.length - 1];
    const cpuNear = lastCpu !== undefined && (now - endMs(lastCpu) < marginMs || Math.abs(endMs(lastCpu) + intervalMs - now) < marginMs * 2);
    const written = !opts.collector || allWrittenDown(all, opts.collector.process, opts.collector.sinceMs);
    if (!recent && !soon && !cpuNear && written && lastByPath.size >= minPaths) return;
    await sleep(25);
  }
  throw new Error('no quiet moment found to kill the collector in');
}
