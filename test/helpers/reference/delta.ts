// Reference implementation (pprof-format objects, written for clarity):
// the oracle the production path in src/profile/raw/ is tested against.

// Deltas of Go's cumulative profiles (heap alloc_*, mutex and block).
//
// Go reports these as totals since the process started. What a backend wants
// is what happened in the window between two scrapes: current minus previous,
// per stack. The baseline keeps only what the next delta needs (per-stack
// totals of the delta sample types and the profile time), not the profile.
//
// Samples are matched by what they are, not by ids (Go renumbers ids on every
// request): the stack as program counters (or function/file/line where a
// location has no address) plus the sample's labels (heap samples carry the
// object size as a `bytes` label). Samples with the same key are summed, on
// both sides, as pprof's merge would.
//
// A restart of the target shows as time going backwards or any per-stack
// total going down (a stack missing from the new profile counts as zero: Go
// never forgets a stack within one process). Then the current profile becomes
// the new baseline and nothing is shipped: a negative value is never shipped.

import type { Label, Profile } from 'pprof-format';
import { int64, uint } from '../../../src/profile/codec.js';
import { compactProfile, type CompactSample } from './compact.js';

export interface DeltaBaseline {
  /** time_nanos of the profile this baseline was taken from. */
  readonly timeNanos: bigint;
  /** Per sample key, the cumulative values of the delta sample types. */
  readonly totals: ReadonlyMap<string, readonly bigint[]>;
}

export type DeltaOutcome =
  | { readonly kind: 'baseline'; readonly baseline: DeltaBaseline }
  | { readonly kind: 'reset'; readonly baseline: DeltaBaseline; readonly reason: string }
  | { readonly kind: 'delta'; readonly baseline: DeltaBaseline; readonly profile: Profile; readonly windowStartNanos: bigint };

interface AggregatedSample {
  readonly locationIds: number[];
  readonly labels: Label[];
  readonly values: bigint[];
}

function locationKeys(p: Profile): Map<number, string> {
  const strings = p.stringTable.strings;
  const fnName = new Map<number, string>();
  for (const f of p.function) fnName.set(uint(f.id), `${strings[uint(f.name)] ?? ''}@${strings[uint(f.filename)] ?? ''}`);
  const keys = new Map<number, string>();
  for (const loc of p.location) {
    const addr = BigInt.asUintN(64, BigInt(loc.address));
    let key: string;
    if (addr !== 0n) key = addr.toString(36);
    else key = loc.line.map((l) => `${fnName.get(uint(l.functionId)) ?? '?'}:${uint(l.line)}`).join('+');
    keys.set(uint(loc.id), key);
  }
  return keys;
}

function labelKey(p: Profile, labels: readonly Label[]): string {
  if (labels.length === 0) return '';
  const strings = p.stringTable.strings;
  return labels
    .map((l) => {
      const k = strings[uint(l.key)] ?? '';
      const sv = uint(l.str);
      return sv !== 0 ? `${k}=${strings[sv] ?? ''}` : `${k}#${int64(l.num)}${strings[uint(l.numUnit)] ?? ''}`;
    })
    .sort()
    .join(',');
}

/** Sums samples with the same key; values normalised to int64. */
function aggregate(p: Profile): Map<string, AggregatedSample> {
  const locKeys = locationKeys(p);
  const out = new Map<string, AggregatedSample>();
  for (const s of p.sample) {
    const ids = s.locationId.map(uint);
    const key = `${ids.map((id) => locKeys.get(id) ?? `#${id}`).join(';')}|${labelKey(p, s.label)}`;
    const values = s.value.map(int64);
    const prev = out.get(key);
    if (prev) for (let i = 0; i < values.length; i++) prev.values[i]! += values[i]!;
    else out.set(key, { locationIds: ids, labels: s.label, values });
  }
  return out;
}

function baselineOf(timeNanos: bigint, agg: Map<string, AggregatedSample>, deltaIdx: readonly number[]): DeltaBaseline {
  const totals = new Map<string, bigint[]>();
  for (const [key, s] of agg) totals.set(key, deltaIdx.map((i) => s.values[i]!));
  return { timeNanos, totals };
}

/**
 * `deltaIdx` are the indexes of the cumulative sample types; the others
 * (heap inuse_*) are kept as scraped. `timeNanos` is the current profile's
 * time (the scrape time when the profile has none).
 */
export function computeDelta(
  previous: DeltaBaseline | undefined,
  current: Profile,
  deltaIdx: readonly number[],
  timeNanos: bigint,
): DeltaOutcome {
  const agg = aggregate(current);
  const baseline = baselineOf(timeNanos, agg, deltaIdx);
  if (!previous) return { kind: 'baseline', baseline };

  if (timeNanos <= previous.timeNanos) {
    return { kind: 'reset', baseline, reason: `profile time went backwards or stood still (${previous.timeNanos} -> ${timeNanos})` };
  }
  for (const [key, prevTotals] of previous.totals) {
    const cur = agg.get(key);
    for (let j = 0; j < deltaIdx.length; j++) {
      const now = cur ? cur.values[deltaIdx[j]!]! : 0n;
      if (now < prevTotals[j]!) {
        return {
          kind: 'reset',
          baseline,
          reason: cur ? 'a cumulative value went down (target restarted?)' : 'a stack seen before is gone (target restarted?)',
        };
      }
    }
  }

  const isDelta = new Set(deltaIdx);
  const samples: CompactSample[] = [];
  for (const [key, s] of agg) {
    const prevTotals = previous.totals.get(key);
    let nonZero = false;
    const values = s.values.map((v, i) => {
      let out = v;
      if (isDelta.has(i) && prevTotals) out = v - prevTotals[deltaIdx.indexOf(i)]!;
      if (out !== 0n) nonZero = true;
      return out;
    });
    if (nonZero) samples.push({ locationIds: s.locationIds, labels: s.labels, values });
  }
  const profile = compactProfile(current, samples, { timeNanos, durationNanos: timeNanos - previous.timeNanos });
  return { kind: 'delta', baseline, profile, windowStartNanos: previous.timeNanos };
}
