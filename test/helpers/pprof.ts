// Reading shipped profiles in tests: decode (pprof-format), sum values by
// function, and let `go tool pprof` read them.

import { spawnSync } from 'node:child_process';
import { writeFileSync } from 'node:fs';
import { gunzipSync } from 'node:zlib';
import { Profile } from 'pprof-format';

const n = (v: number | bigint): number => (typeof v === 'number' ? v : Number(BigInt.asUintN(64, v)));
/** pprof-format gives numbers or bigints, negatives as huge unsigned: normalise. */
export const i64 = (v: number | bigint): bigint => BigInt.asIntN(64, BigInt(v));

export function decodeGzipped(gz: Uint8Array): Profile {
  return Profile.decode(gunzipSync(gz));
}

export function sampleTypeNames(p: Profile): string[] {
  return p.sampleType.map((st) => p.stringTable.strings[n(st.type)] ?? '');
}

function functionNamesByLocation(p: Profile): Map<number, string[]> {
  const fn = new Map<number, string>();
  for (const f of p.function) fn.set(n(f.id), p.stringTable.strings[n(f.name)] ?? '');
  const out = new Map<number, string[]>();
  for (const loc of p.location) out.set(n(loc.id), loc.line.map((l) => fn.get(n(l.functionId)) ?? '?'));
  return out;
}

/** Sum of one sample type over the samples whose stack contains `func`. */
export function sumFor(p: Profile, sampleType: string, func: string): bigint {
  const idx = sampleTypeNames(p).indexOf(sampleType);
  if (idx < 0) throw new Error(`no sample type ${sampleType} in [${sampleTypeNames(p).join(', ')}]`);
  const byLoc = functionNamesByLocation(p);
  let sum = 0n;
  for (const s of p.sample) {
    const hit = s.locationId.some((l) => (byLoc.get(n(l)) ?? []).includes(func));
    if (hit) sum += i64(s.value[idx]!);
  }
  return sum;
}

/** Every negative value in the profile, as "sample i, type t: v". */
export function negativeValues(p: Profile): string[] {
  const names = sampleTypeNames(p);
  const out: string[] = [];
  p.sample.forEach((s, i) =>
    s.value.forEach((v, j) => {
      if (i64(v) < 0n) out.push(`sample ${i}, ${names[j]}: ${i64(v)}`);
    }),
  );
  return out;
}

/** Writes the gzipped profile to `path` and runs `go tool pprof <args> path`. */
export function goToolPprof(gz: Uint8Array, path: string, args: string[]): { status: number | null; stdout: string; stderr: string } {
  writeFileSync(path, gz);
  const res = spawnSync('go', ['tool', 'pprof', ...args, '-symbolize=none', path], { encoding: 'utf8', timeout: 60_000 });
  return { status: res.status, stdout: res.stdout ?? '', stderr: `${res.stderr ?? ''}${res.error ? String(res.error) : ''}` };
}
