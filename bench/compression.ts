// node --import tsx bench/compression.ts [--rounds 20]
//
// What [agent] compression_level costs and saves: the bench's heaps (and a
// recorded CPU profile) gzipped at levels 1, 3, 6 and 9, as the profile
// stage gzips each delta before it is spooled and shipped. Prints, per
// profile and level, the median ms of one gzip (zlib on this thread, as a
// profile worker runs it) and the output bytes, with the size against
// level 6's. Prints figures; asserts nothing.

import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import { gunzipSync, gzipSync } from 'node:zlib';
import { HEAPS } from './options.js';
import { table } from './report.js';

const PROFILES = join(fileURLToPath(new URL('..', import.meta.url)), 'fixtures', 'profiles');
export const LEVELS = [1, 3, 6, 9] as const;

export interface LevelFigures {
  readonly level: number;
  readonly ms: number;
  readonly bytes: number;
}

export interface ProfileFigures {
  readonly label: string;
  readonly rawBytes: number;
  readonly levels: readonly LevelFigures[];
}

function median(xs: number[]): number {
  const s = [...xs].sort((a, b) => a - b);
  return s[Math.floor(s.length / 2)]!;
}

/** Median ms and output bytes of gzipping `raw` at each level. */
export function measure(label: string, raw: Buffer, rounds: number): ProfileFigures {
  const levels = LEVELS.map((level) => {
    gzipSync(raw, { level }); // warm up
    const times: number[] = [];
    let bytes = 0;
    for (let i = 0; i < rounds; i++) {
      const t0 = process.hrtime.bigint();
      bytes = gzipSync(raw, { level }).length;
      times.push(Number(process.hrtime.bigint() - t0) / 1e6);
    }
    return { level, ms: median(times), bytes };
  });
  return { label, rawBytes: raw.length, levels };
}

export function formatFigures(all: readonly ProfileFigures[]): string {
  const rows: string[][] = [['profile', 'raw KB', ...LEVELS.map((l) => `level ${l}: ms / KB (vs 6)`)]];
  for (const p of all) {
    const six = p.levels.find((l) => l.level === 6)!.bytes;
    rows.push([
      p.label,
      (p.rawBytes / 1024).toFixed(0),
      ...p.levels.map((l) => `${l.ms.toFixed(2)} / ${(l.bytes / 1024).toFixed(1)} (${l.bytes >= six ? '+' : ''}${(((l.bytes - six) / six) * 100).toFixed(0)} %)`),
    ]);
  }
  return table(rows);
}

function main(): void {
  const { values } = parseArgs({ options: { rounds: { type: 'string', default: '20' } } });
  const rounds = Number(values.rounds);
  if (!Number.isInteger(rounds) || rounds < 1) throw new Error(`--rounds: "${values.rounds}" is not a whole number above 0`);
  const inputs: Array<[string, string]> = [
    ...Object.values(HEAPS).map((h): [string, string] => [`heap ${h.label}`, h.file]),
    ['cpu (recorded, 9 s)', 'cpu-9s.pb.gz'],
  ];
  const figures = inputs.map(([label, file]) => measure(label, gunzipSync(readFileSync(join(PROFILES, file))), rounds));
  console.log(`gzip per profile, median of ${rounds} rounds (node ${process.version}; a loaded machine's figures vary):`);
  console.log(formatFigures(figures));
}

if (process.argv[1] && fileURLToPath(import.meta.url) === process.argv[1]) main();
