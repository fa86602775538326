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
  if (!Number.isFinite(total)) throw new DurationSyntaxError(`invalid duration "${text}"`);
  return total;
}

/** Formats milliseconds the way Go prints durations, for messages and --check. */
export function formatDuration(ms: number): string {
  if (ms === 0) return '0s';
  if (ms < 1000) return `${+ms.toFixed(3)}ms`;
  let rest = ms / 1000;
  const h = Math.floor(rest / 3600);
  rest -= h * 3600;
  const m = Math.floor(rest / 60);
  rest -= m * 60;
  const sec = +rest.toFixed(3);
  let out = '';
  if (h) out += `${h}h`;
  if (h || m) out += `${m}m`;
  out += `${sec}s`;
  return out;
}
