// Reading shipped profiles in tests: decode (pprof-format), sum values by
// function, and let `go tool pprof` read them.

import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { writeFileSync } from 'node:fs';
import { gunzipSync } from 'node:zlib';
import { Profile } from 'pprof-format';
import { goMissing } from '../../fixtures/go-target/harness.js';

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

export interface GoPprofResult {
  readonly status: number | null;
  readonly stdout: string;
  readonly stderr: string;
}

/** Fails the test (it is not skipped) when `go` is not on PATH, saying what the test needs it for. */
export function assertGoOnPath(purpose = 'this test reads the shipped profile with go tool pprof'): void {
  const missing = goMissing(purpose);
  if (missing) assert.fail(missing);
}

/**
 * Runs `go tool pprof <args>`. With `tmpDir`, pprof keeps its own files there
 * (PPROF_TMPDIR, and HOME when it is unset).
 */
export function goPprof(args: readonly string[], opts: { tmpDir?: string; timeoutMs?: number } = {}): GoPprofResult {
  const env = opts.tmpDir === undefined ? process.env : { ...process.env, PPROF_TMPDIR: opts.tmpDir, HOME: process.env.HOME ?? opts.tmpDir };
  const res = spawnSync('go', ['tool', 'pprof', ...args], { encoding: 'utf8', env, timeout: opts.timeoutMs ?? 60_000 });
  return { status: res.status, stdout: res.stdout ?? '', stderr: `${res.stderr ?? ''}${res.error ? String(res.error) : ''}` };
}

/** Writes the gzipped profile to `path` and runs `go tool pprof <args> -symbolize=none path`. */
export function goToolPprof(gz: Uint8Array, path: string, args: string[]): GoPprofResult {
  writeFileSync(path, gz);
  return goPprof([...args, '-symbolize=none', path]);
}
