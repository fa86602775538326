// Go duration strings ("10s", "1m30s", "1.5h", "500ms"), as DataKit users
// write them. Parsed to milliseconds; sub-millisecond parts are kept as a
// fraction so "1500us" is 1.5 ms rather than silently 1 ms.

const UNIT_MS: Record<string, number> = {
  ns: 1e-6,
  us: 1e-3,
  'µs': 1e-3,
  'μs': 1e-3,
  ms: 1,
  s: 1000,
  m: 60_000,
  h: 3_600_000,
};

/** Go's time.Duration is int64 nanoseconds; ParseDuration rejects anything longer. */
const MAX_GO_DURATION_MS = 9_223_372_036_854.775807;

export class DurationSyntaxError extends Error {
  override name = 'DurationSyntaxError';
}

/** Parses a Go duration. Negative durations are rejected: no setting here takes one. */
export function parseGoDuration(text: string): number {
  const s = text.trim();
  if (s === '0') return 0;
  if (s === '') throw new DurationSyntaxError('empty duration');
  if (s.startsWith('-')) throw new DurationSyntaxError(`negative duration "${text}"`);
  const body = s.startsWith('+') ? s.slice(1) : s;
  const part = /(\d+(?:\.\d*)?|\.\d+)(ns|us|µs|μs|ms|s|m|h)/y;
  let total = 0;
  let pos = 0;
  while (pos < body.length) {
    part.lastIndex = pos;
    const m = part.exec(body);
    if (!m) {
      const hasUnit = /\d(ns|us|µs|μs|ms|s|m|h)/.test(body);
      throw new DurationSyntaxError(
        hasUnit
          ? `invalid duration "${text}"`
          : `invalid duration "${text}": missing unit (ns, us, ms, s, m, h)`,
      );
    }
    total += Number(m[1]) * (UNIT_MS[m[2]!] ?? NaN);
    pos = part.lastIndex;
  }
  // Go counts whole nanoseconds: "4.1m" is 246s exactly, not 245.99999999999997s.
  const whole = Math.floor(total);
  total = whole + Math.round((total - whole) * 1e6) / 1e6;
  if (!Number.isFinite(total) || total > MAX_GO_DURATION_MS) throw new DurationSyntaxError(`invalid duration "${text}"`);
  return total;
}

/** Formats milliseconds the way Go prints durations, for messages and --check. */
export function formatDuration(ms: number): string {
  if (ms === 0) return '0s';
  // Down to the nanosecond, as Go does: "9.0001s" must not print as "9s".
  if (ms < 1000) return `${+ms.toFixed(6)}ms`;
  const whole = Math.floor(ms);
  const h = Math.floor(whole / 3_600_000);
  const m = Math.floor((whole - h * 3_600_000) / 60_000);
  const sec = +((whole - h * 3_600_000 - m * 60_000 + (ms - whole)) / 1000).toFixed(9);
  let out = '';
  if (h) out += `${h}h`;
  if (h || m) out += `${m}m`;
  out += `${sec}s`;
  return out;
}
