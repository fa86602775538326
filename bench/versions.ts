// The versions of a recorded cumulative profile (heap, mutex, block) that a
// farm target serves, one per scrape, for as long as the bench runs: version
// k is what a live Go process would serve at its k-th scrape of that type.
// Every version changes every stack's cumulative values (the worst case for
// a delta) and moves the profile time on by one interval.
//
// All targets walk the same sequence, so version k is built once, when the
// first target asks for it, and held until every target has passed it; a
// version no target will ask for again is dropped. Targets whose scrapes
// were skipped fall behind the others, so several versions can be wanted at
// once; past `maxHeld` the oldest go (a version is a pure function of k, so
// one asked for after it was dropped is built again, byte for byte).

import { gunzipSync, gzipSync, constants as zlibConstants } from 'node:zlib';
import { Profile } from 'pprof-format';

export type CumulativeType = 'heap' | 'mutex' | 'block';

/** The sample types of each cumulative profile that only ever grow in a live process. */
export const CUMULATIVE_SAMPLE_TYPES: Readonly<Record<CumulativeType, readonly string[]>> = {
  heap: ['alloc_objects', 'alloc_space'],
  mutex: ['contentions', 'delay'],
  block: ['contentions', 'delay'],
};

export interface VersionOptions {
  readonly type: CumulativeType;
  /** Profile time of version 0 (the process's first scrape). */
  readonly startNanos: bigint;
  /** How far the profile time moves per version: the scrape interval. */
  readonly intervalNs: bigint;
  /** Growth of each cumulative value per version, as a share of the recorded value. */
  readonly growth?: number;
  /** At most this many versions are held at once. */
  readonly maxHeld?: number;
  /** gzip level of the served bodies; Go's runtime/pprof writes at BestSpeed (1). */
  readonly gzipLevel?: number;
}

// 32 intervals of spread between the most and the least skipped target;
// 32 versions of a 200 KB heap hold 6.4 MB.
const DEFAULT_MAX_HELD = 32;

export class ProfileVersions {
  /** Decoded once; the cumulative values of its samples are rewritten for each version. */
  private readonly profile: Profile;
  /** The recorded cumulative values: base[sample][j] for sample type cumIdx[j]. */
  private readonly base: bigint[][];
  private readonly cumIdx: number[];
  private readonly held = new Map<number, Buffer>();
  /** How many servers will ask for version k next (k -> count); every held version >= the least k here. */
  private readonly waiting = new Map<number, number>();
  private readonly growthPermille: bigint;
  private readonly maxHeld: number;
  private readonly gzipLevel: number;
  /** Versions built so far (a version dropped and asked for again counts twice). */
  builds = 0;

  constructor(
    recordedGz: Buffer,
    private readonly opts: VersionOptions,
  ) {
    this.profile = Profile.decode(gunzipSync(recordedGz));
    const strings = this.profile.stringTable.strings;
    const names = CUMULATIVE_SAMPLE_TYPES[opts.type];
    this.cumIdx = this.profile.sampleType.flatMap((st, i) => (names.includes(strings[Number(st.type)] ?? '') ? [i] : []));
    if (this.cumIdx.length !== names.length) {
      throw new Error(`a ${opts.type} profile needs the sample types ${names.join(', ')}; this one has ${this.profile.sampleType.map((st) => strings[Number(st.type)]).join(', ')}`);
    }
    this.base = this.profile.sample.map((s) => this.cumIdx.map((i) => BigInt(s.value[i] ?? 0)));
    this.growthPermille = BigInt(Math.round((opts.growth ?? 0.05) * 1000));
    this.maxHeld = Math.max(1, opts.maxHeld ?? DEFAULT_MAX_HELD);
    this.gzipLevel = opts.gzipLevel ?? zlibConstants.Z_BEST_SPEED;
  }

  /** A server joins: its first scrape will ask for version 0. */
  addServer(): void {
    this.waiting.set(0, (this.waiting.get(0) ?? 0) + 1);
  }

  /**
   * The body a server serves at its k-th scrape (k from 0), after which it
   * will ask for k + 1.
   */
  take(k: number): Buffer {
    let body = this.held.get(k);
    if (!body) {
      body = this.build(k);
      this.held.set(k, body);
    }
    const left = (this.waiting.get(k) ?? 1) - 1;
    if (left > 0) this.waiting.set(k, left);
    else this.waiting.delete(k);
    this.waiting.set(k + 1, (this.waiting.get(k + 1) ?? 0) + 1);
    // No server will ask again for a version below the least one still awaited.
    const least = Math.min(...this.waiting.keys());
    for (const v of this.held.keys()) if (v < least) this.held.delete(v);
    // Past the bound, the oldest go (the fewest servers still want them),
    // but not the one just served while others wait for it.
    if (this.held.size > this.maxHeld) {
      const oldest = [...this.held.keys()].filter((v) => v !== k || left === 0).sort((a, b) => a - b);
      for (const v of oldest.slice(0, this.held.size - this.maxHeld)) this.held.delete(v);
    }
    return body;
  }

  /** Versions held now. */
  get heldVersions(): number[] {
    return [...this.held.keys()].sort((a, b) => a - b);
  }

  /**
   * Version k: each cumulative value v recorded becomes
   * v * (1 + growth * k) + k, so every stack, even one recorded at 0, grows
   * at every version; the other values (heap inuse_*) stay.
   */
  build(k: number): Buffer {
    if (!Number.isSafeInteger(k) || k < 0) throw new Error(`version must be a whole number >= 0, got ${k}`);
    const kk = BigInt(k);
    const factor = 1000n + this.growthPermille * kk;
    this.profile.sample.forEach((s, n) => {
      const base = this.base[n]!;
      this.cumIdx.forEach((i, j) => (s.value[i] = (base[j]! * factor) / 1000n + kk));
    });
    this.profile.timeNanos = this.opts.startNanos + this.opts.intervalNs * kk;
    this.builds++;
    return gzipSync(this.profile.encode(), { level: this.gzipLevel });
  }
}
