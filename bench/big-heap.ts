// node --import tsx bench/big-heap.ts [--seed 11] [--stacks 30150] [--out FILE]
//
// Without --out: writes fixtures/profiles/heap-big-service.pb.gz and its note in the manifest.
//
// Writes the heap profile of a big Go service (Go 1.23+: stacks up to 128
// frames) for the profile-stage bench, reproducibly from a seed. The shape
// is what a delta engine meets in a large service: tens of thousands of
// allocation sites reached through HTTP, gRPC, Kafka and background entry
// chains, middleware and interceptor stacks shared by every request, deep
// application call chains into libraries and the standard library, and
// recursive encoders and resolvers whose stacks Go truncates at 128 frames
// (keeping the innermost). The same stack appears once per allocation size,
// with Go's "bytes" label, as Go's memory profile buckets do.
//
// The functions and their call graph are made up; the layout (ids in order
// of first use, one mapping per binary, start lines, some inlined frames,
// sampling period 512 KiB) is Go's.

import { createHash } from 'node:crypto';
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import { gzipSync } from 'node:zlib';
import { Function as PFunction, Label, Line, Location, Mapping, Profile, Sample, StringTable, ValueType } from 'pprof-format';
import { prng } from '../test/helpers/synthetic.js';
import { between, buildGraph, MAX_DEPTH, walkPaths, type Fn } from './service-calls.js';

export { MAX_DEPTH };

export const BIG_HEAP_FILE = 'heap-big-service.pb.gz';
export const BIG_HEAP_SEED = 11;
export const BIG_HEAP_STACKS = 30_150;

/** Go's small size classes, in bytes (the "bytes" label). */
const SIZE_CLASSES = [8, 16, 24, 32, 48, 64, 80, 96, 112, 128, 160, 192, 224, 256, 320, 384, 448, 512, 640, 768, 896, 1024, 1280, 1536, 2048, 2688, 3072, 4096, 5376, 6144, 8192, 10240, 12288, 16384, 20480, 24576, 32768];

export interface BigHeapStats {
  readonly samples: number;
  readonly locations: number;
  readonly functions: number;
  readonly maxDepth: number;
  readonly medianDepth: number;
  readonly truncated: number;
}


export function buildBigHeap(seed = BIG_HEAP_SEED, stacks = BIG_HEAP_STACKS): { profile: Profile; stats: BigHeapStats } {
  const rnd = prng(seed);
  const { graph } = buildGraph(rnd);
  const paths = walkPaths(graph, stacks, rnd);

  const st = new StringTable();
  const sampleType = [
    ['alloc_objects', 'count'],
    ['alloc_space', 'bytes'],
    ['inuse_objects', 'count'],
    ['inuse_space', 'bytes'],
  ].map(([t, un]) => new ValueType({ type: st.dedup(t!), unit: st.dedup(un!) }));
  const bytesKey = st.dedup('bytes');
  const functions: PFunction[] = [];
  const fnIds = new Map<Fn, number>();
  const fnId = (f: Fn) => {
    let id = fnIds.get(f);
    if (id === undefined) {
      id = fnIds.size + 1;
      fnIds.set(f, id);
      functions.push(new PFunction({ id, name: st.dedup(f.name), systemName: st.dedup(f.name), filename: st.dedup(f.file), startLine: f.startLine }));
    }
    return id;
  };
  const locations: Location[] = [];
  const locIds = new Map<string, number>();
  // Frame i of a path (root first) is the line where it calls frame i + 1, or allocates.
  const locId = (f: Fn, callee: Fn | undefined) => {
    const call = callee ? f.callees.find((c) => c.fn === callee)! : undefined;
    const line = call ? call.line : f.allocLine;
    const key = `${f.address}:${line}`;
    let id = locIds.get(key);
    if (id === undefined) {
      id = locIds.size + 1;
      locIds.set(key, id);
      const lines = [new Line({ functionId: fnId(f), line })];
      if (!call && f.inlined) lines.unshift(new Line({ functionId: fnId(f.inlined), line: f.inlined.allocLine }));
      locations.push(new Location({ id, mappingId: 1, address: f.address + BigInt(line - f.startLine) * 4n + 3n, line: lines }));
    }
    return id;
  };

  const samples: Sample[] = [];
  const buckets = new Map<string, Sample>();
  let truncated = 0;
  const depths: number[] = [];
  for (const path of paths) {
    // Go keeps the innermost frames of a deeper stack.
    const ids = path.map((f, i) => locId(f, path[i + 1])).reverse();
    const stack = ids.slice(0, MAX_DEPTH);
    if (ids.length > MAX_DEPTH) truncated++;
    depths.push(stack.length);
    const sizes = rnd() < 0.15 ? between(2, 3, rnd) : 1;
    const base = between(0, SIZE_CLASSES.length - 8, rnd);
    for (let s = 0; s < sizes; s++) {
      const size = rnd() < 0.02 ? between(33, 512, rnd) * 1024 : SIZE_CLASSES[base + s * between(1, 3, rnd)]!;
      // Sampled and scaled as Go reports them: heavy-tailed counts.
      const objects = BigInt(Math.max(1, Math.round(2 ** (rnd() * 16) * (1 + rnd()))));
      const live = rnd() < 0.55 ? 0n : (objects * BigInt(between(1, 40, rnd))) / 100n;
      const value = [objects, objects * BigInt(size), live, live * BigInt(size)];
      // One bucket per stack and size, as in Go (stacks cut at 128 frames can meet).
      const key = `${stack.join(',')}|${size}`;
      const same = buckets.get(key);
      if (same) same.value = same.value.map((v, i) => BigInt(v) + value[i]!);
      else {
        const sample = new Sample({ locationId: stack, value, label: [new Label({ key: bytesKey, num: size })] });
        buckets.set(key, sample);
        samples.push(sample);
      }
    }
  }
  const binary = st.dedup('/app/shop-api');
  const buildId = st.dedup(createHash('sha1').update(`shop-api-${seed}`).digest('hex'));
  const mapping = [
    new Mapping({ id: 1, memoryStart: 0x400000, memoryLimit: 0x4000000, filename: binary, buildId, hasFunctions: true }),
    new Mapping({ id: 2, memoryStart: 0x7f3a1c200000n, memoryLimit: 0x7f3a1c3c6000n, fileOffset: 0x28000, filename: st.dedup('/usr/lib/x86_64-linux-gnu/libc.so.6'), buildId: st.dedup('c289da5071a3399de893d2af81d6a30c62646e1e') }),
    new Mapping({ id: 3, memoryStart: 0x7ffd4c9f2000n, memoryLimit: 0x7ffd4c9f4000n, filename: st.dedup('[vdso]') }),
    new Mapping({ id: 4, memoryStart: 0xffffffffff600000n, memoryLimit: 0xffffffffff601000n, filename: st.dedup('[vsyscall]') }),
  ];
  const profile = new Profile({
    sampleType,
    sample: samples,
    mapping,
    location: locations,
    function: functions,
    stringTable: st,
    timeNanos: 1_795_312_883_933_136_175n,
    periodType: new ValueType({ type: st.dedup('space'), unit: st.dedup('bytes') }),
    period: 524_288,
  });
  depths.sort((a, b) => a - b);
  return {
    profile,
    stats: { samples: samples.length, locations: locations.length, functions: functions.length, maxDepth: depths[depths.length - 1] ?? 0, medianDepth: depths[depths.length >> 1] ?? 0, truncated },
  };
}

/** The profile gzipped as Go's runtime/pprof writes it (BestSpeed), and the manifest's note of how it was made. */
export function bigHeapFixture(seed = BIG_HEAP_SEED, stacks = BIG_HEAP_STACKS): { gz: Buffer; note: string } {
  const { profile, stats } = buildBigHeap(seed, stacks);
  const raw = profile.encode();
  const gz = gzipSync(raw, { level: 1 });
  const n = (x: number) => x.toLocaleString('en-US');
  const note =
    `heap of a big Go 1.23+ service, synthetic: ${n(stats.samples)} samples (${n(stacks)} stacks, some once per allocation size), ` +
    `${n(stats.locations)} locations, ${n(stats.functions)} functions, stacks up to ${stats.maxDepth} frames (median ${stats.medianDepth}; ` +
    `${n(stats.truncated)} deeper ones cut to their innermost ${MAX_DEPTH} as Go does), entry chains, middleware and recursions shared as deep ` +
    `common prefixes; ${(gz.length / 1e6).toFixed(2)} MB gzipped. Made by \`node --import tsx bench/big-heap.ts --seed ${seed} --stacks ${stacks}\` ` +
    `(also run by npm run record-fixtures); sha256 of the uncompressed profile ${createHash('sha256').update(raw).digest('hex')} ` +
    '(the gzip bytes may differ with another zlib)';
  return { gz, note };
}

async function main(): Promise<void> {
  const dir = join(fileURLToPath(new URL('..', import.meta.url)), 'fixtures', 'profiles');
  const { values } = parseArgs({
    options: {
      seed: { type: 'string', default: String(BIG_HEAP_SEED) },
      stacks: { type: 'string', default: String(BIG_HEAP_STACKS) },
      out: { type: 'string' },
    },
  });
  const { gz, note } = bigHeapFixture(Number(values.seed), Number(values.stacks));
  const out = values.out ?? join(dir, BIG_HEAP_FILE);
  writeFileSync(out, gz);
  if (values.out === undefined) {
    // The fixture's note in the manifest says how it was made.
    const manifestFile = join(dir, 'manifest.json');
    const manifest = JSON.parse(readFileSync(manifestFile, 'utf8')) as { files: Record<string, string> };
    manifest.files[BIG_HEAP_FILE] = note;
    writeFileSync(manifestFile, `${JSON.stringify(manifest, null, 2)}\n`);
  }
  process.stdout.write(`${out}: ${gz.length} bytes\n${note}\n`);
}

if (process.argv[1] && fileURLToPath(import.meta.url) === process.argv[1]) await main();
