// When to SIGKILL a collector in a crash test: at a moment when no quick
// (non-CPU) pprof request is being answered or due, read from the Go
// fixture's request log, so the kill lands between scrapes rather than
// between "the target sent a profile" and "the collector wrote it down".

import { readRequestLog, type RequestLogLine } from '../../fixtures/go-target/harness.js';
import { sleep } from './processes.js';

const CPU_PATH = '/debug/pprof/profile';

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
export async function quietMoment(requestLog: string, marginMs: number, limitMs: number, opts: { intervalMs?: number; minPaths?: number; ignore?: (l: RequestLogLine) => boolean } = {}): Promise<void> {
  const intervalMs = opts.intervalMs ?? 10_000;
  const minPaths = opts.minPaths ?? 4;
  const deadline = Date.now() + limitMs;
  while (Date.now() < deadline) {
    const lines = readRequestLog(requestLog).filter((l) => l.path !== CPU_PATH && !opts.ignore?.(l));
    const now = Date.now();
    const lastByPath = new Map<string, RequestLogLine>();
    for (const l of lines) lastByPath.set(l.path, l);
    const recent = lines.some((l) => now - endMs(l) < marginMs);
    const soon = [...lastByPath.values()].some((l) => {
      const next = Date.parse(l.time) + intervalMs;
      return next - now < marginMs * 2 && next - now > -marginMs;
    });
    if (!recent && !soon && lastByPath.size >= minPaths) return;
    await sleep(25);
  }
  throw new Error('no quiet moment found to kill the collector in');
}
