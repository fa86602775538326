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

export const BIG_HEAP_FILE = 'heap-big-service.pb.gz';
export const BIG_HEAP_SEED = 11;
export const BIG_HEAP_STACKS = 30_150;
/** Go 1.23's default depth of heap profile stacks. */
export const MAX_DEPTH = 128;

type Rnd = () => number;
const pick = <T>(xs: readonly T[], rnd: Rnd): T => xs[Math.floor(rnd() * xs.length)]!;
const between = (lo: number, hi: number, rnd: Rnd) => lo + Math.floor(rnd() * (hi - lo + 1));

interface Fn {
  readonly name: string;
  readonly file: string;
  readonly startLine: number;
  readonly address: bigint;
  /** Functions it calls, each from its own line. */
  readonly callees: Array<{ fn: Fn; line: number }>;
  /** The line of its own allocation (make, new, append, a composite literal). */
  readonly allocLine: number;
  /** A small function the compiler inlined at its allocation line, if any. */
  inlined?: Fn;
  /** The next function of the recursion it is part of, if any. */
  recurse?: Fn;
}

const STD = ['runtime', 'sync', 'bytes', 'strings', 'strconv', 'fmt', 'bufio', 'io', 'encoding/json', 'encoding/binary', 'compress/gzip', 'compress/flate', 'net', 'net/http', 'net/url', 'context', 'time', 'reflect', 'sort', 'crypto/tls', 'crypto/sha256', 'math/big', 'regexp', 'text/template', 'database/sql', 'log/slog', 'os', 'unicode/utf8', 'errors', 'mime/multipart', 'internal/poll', 'slices', 'maps'];
const DEPS = ['google.golang.org/grpc@v1.66.0', 'google.golang.org/grpc@v1.66.0/internal/transport', 'google.golang.org/protobuf@v1.34.2/internal/impl', 'google.golang.org/protobuf@v1.34.2/proto', 'github.com/jackc/pgx/v5@v5.6.0', 'github.com/jackc/pgx/v5@v5.6.0/pgconn', 'github.com/redis/go-redis/v9@v9.6.1', 'github.com/segmentio/kafka-go@v0.4.47', 'go.opentelemetry.io/otel/sdk@v1.28.0/trace', 'go.opentelemetry.io/otel@v1.28.0/attribute', 'github.com/prometheus/client_golang@v1.20.0/prometheus', 'go.uber.org/zap@v1.27.0', 'go.uber.org/zap@v1.27.0/zapcore', 'github.com/go-chi/chi/v5@v5.1.0', 'github.com/aws/aws-sdk-go-v2/service/s3@v1.58.2', 'github.com/klauspost/compress@v1.17.9/zstd', 'golang.org/x/net@v0.28.0/http2', 'github.com/hashicorp/golang-lru/v2@v2.0.7', 'github.com/99designs/gqlgen@v0.17.49/graphql/executor', 'github.com/vektah/gqlparser/v2@v2.5.16/validator'];
const AREAS = ['orders', 'cart', 'catalog', 'pricing', 'inventory', 'payments', 'shipping', 'accounts', 'auth', 'search', 'recommend', 'reviews', 'promotions', 'tax', 'fraud', 'notify', 'reporting', 'ledger', 'returns', 'loyalty'];
const SUBS = ['api', 'service', 'store', 'cache', 'model', 'events', 'rules', 'client', 'codec', 'resolver'];
const VERBS = ['Get', 'List', 'Create', 'Update', 'Delete', 'Load', 'Save', 'Encode', 'Decode', 'Validate', 'Build', 'Apply', 'Merge', 'Resolve', 'Fetch', 'Render', 'Marshal', 'Scan', 'Index', 'Compute', 'Refresh', 'Publish', 'Handle', 'Lookup'];
const NOUNS = ['Order', 'Item', 'Cart', 'Price', 'Product', 'Stock', 'Payment', 'Shipment', 'Account', 'Token', 'Query', 'Result', 'Page', 'Batch', 'Event', 'Rule', 'Quote', 'Invoice', 'Address', 'Review', 'Offer', 'Session', 'Report', 'Entry'];
const TYPES = ['Service', 'Store', 'Handler', 'Client', 'Cache', 'Repo', 'Builder', 'Codec', 'Resolver', 'Worker', 'Pool', 'Loader'];

class Universe {
  private nextAddress = 0x401000n;
  readonly fns: Fn[] = [];
  constructor(private readonly rnd: Rnd) {}

  fn(pkg: string, name: string, file: string): Fn {
    const startLine = between(20, 2400, this.rnd);
    const size = BigInt(between(64, 4096, this.rnd));
    const f: Fn = { name: `${pkg.replace(/@v[\d.]+/, '')}.${name}`, file, startLine, address: this.nextAddress, callees: [], allocLine: startLine + between(2, 60, this.rnd) };
    this.nextAddress += size;
    this.fns.push(f);
    return f;
  }

  call(from: Fn, to: Fn): void {
    if (from.callees.some((c) => c.fn === to)) return;
    from.callees.push({ fn: to, line: from.startLine + between(1, 120, this.rnd) });
  }
}

function stdFile(pkg: string, rnd: Rnd): string {
  return `/usr/local/go/src/${pkg}/${pkg.split('/').pop()}${rnd() < 0.5 ? '' : pick(['_impl', '_util', 'encode', 'decode', 'server', 'conn'], rnd)}.go`;
}

/** Layers of functions, each calling into the next few layers (so call chains run deep). */
function layered(u: Universe, rnd: Rnd, layers: number, perLayer: number, make: (layer: number) => Fn): Fn[][] {
  const out: Fn[][] = [];
  for (let l = 0; l < layers; l++) out.push(Array.from({ length: perLayer }, () => make(l)));
  for (let l = 0; l < layers - 1; l++) {
    for (const f of out[l]!) {
      const n = between(2, 6, rnd);
      for (let i = 0; i < n; i++) u.call(f, pick(out[Math.min(layers - 1, l + (rnd() < 0.75 ? 1 : between(2, 3, rnd)))]!, rnd));
    }
  }
  return out;
}

/** A cycle of functions calling each other (recursive encoders, resolvers, tree walks). */
function recursion(u: Universe, pkg: string, file: string, names: readonly string[]): Fn[] {
  const fs = names.map((n) => u.fn(pkg, n, file));
  fs.forEach((f, i) => {
    f.recurse = fs[(i + 1) % fs.length]!;
    u.call(f, f.recurse);
    u.call(f, fs[(i + fs.length - 1) % fs.length]!);
  });
  return fs;
}

interface Graph {
  /** Entry chains, root first: the last function of each calls into the handlers. */
  readonly entries: ReadonlyArray<{ chain: readonly Fn[]; weight: number }>;
}

function buildGraph(rnd: Rnd): { graph: Graph; universe: Universe } {
  const u = new Universe(rnd);
  // The standard library: 12 layers; the last ones allocate and call nothing.
  const std = layered(u, rnd, 12, 90, (l) => {
    const pkg = pick(STD, rnd);
    return u.fn(pkg, `${rnd() < 0.4 ? `(*${pick(TYPES, rnd)})` : ''}${pick(VERBS, rnd).toLowerCase()}${pick(NOUNS, rnd)}${l}`, stdFile(pkg, rnd));
  });
  // Modules: 16 layers, calling into the standard library from anywhere.
  const deps = layered(u, rnd, 16, 110, (l) => {
    const mod = pick(DEPS, rnd);
    return u.fn(mod, `${rnd() < 0.6 ? `(*${pick(TYPES, rnd)})` : ''}${pick(VERBS, rnd)}${pick(NOUNS, rnd)}${rnd() < 0.2 ? `.func${between(1, 4, rnd)}` : ''}`, `/go/pkg/mod/${mod}/${pick(NOUNS, rnd).toLowerCase()}_${l}.go`);
  });
  // The application: 30 layers of 200 functions.
  const app = layered(u, rnd, 30, 200, (l) => {
    const area = pick(AREAS, rnd);
    const sub = pick(SUBS, rnd);
    return u.fn(
      `github.com/acme/shop/internal/${area}/${sub}`,
      `${rnd() < 0.7 ? `(*${pick(NOUNS, rnd)}${pick(TYPES, rnd)})` : ''}${pick(VERBS, rnd)}${pick(NOUNS, rnd)}${rnd() < 0.15 ? `.func${between(1, 3, rnd)}` : ''}`,
      `/src/shop/internal/${area}/${sub}/${pick(NOUNS, rnd).toLowerCase()}${l % 3 === 0 ? '_gen' : ''}.go`,
    );
  });
  const flat = (xs: Fn[][]) => xs.flat();
  for (const f of flat(app)) if (rnd() < 0.35) u.call(f, pick(flat(deps.slice(0, 8)), rnd));
  for (const f of flat(app)) if (rnd() < 0.25) u.call(f, pick(flat(std.slice(0, 6)), rnd));
  for (const f of flat(deps)) if (rnd() < 0.5) u.call(f, pick(flat(std), rnd));

  // Recursion: JSON and protobuf encoders, a GraphQL executor, the app's rule evaluator.
  const json = recursion(u, 'encoding/json', '/usr/local/go/src/encoding/json/encode.go', ['structEncoder.encode', 'ptrEncoder.encode', 'sliceEncoder.encode', 'arrayEncoder.encode', 'mapEncoder.encode']);
  const proto = recursion(u, 'google.golang.org/protobuf@v1.34.2/internal/impl', '/go/pkg/mod/google.golang.org/protobuf@v1.34.2/internal/impl/codec_field.go', ['(*MessageInfo).marshalAppendPointer', 'appendMessageInfo', 'appendMessageSliceInfo']);
  const gql = recursion(u, 'github.com/99designs/gqlgen@v0.17.49/graphql/executor', '/go/pkg/mod/github.com/99designs/gqlgen@v0.17.49/graphql/executor/executor.go', ['(*Executor).resolveField', '(*Executor).executeSelectionSet', '(*Executor).completeValue', 'marshalNode']);
  const rules = recursion(u, 'github.com/acme/shop/internal/pricing/rules', '/src/shop/internal/pricing/rules/eval.go', ['(*Evaluator).evalExpr', '(*Evaluator).evalCall', '(*Evaluator).evalBinary']);
  for (const [cycle, callers, exits] of [
    [json, flat(app.slice(4, 28)), flat(std.slice(8))],
    [proto, flat(deps.slice(2, 12)), flat(std.slice(8))],
    [gql, flat(app.slice(0, 6)), flat(app.slice(10, 30))],
    [rules, flat(app.slice(6, 20)), flat(std.slice(6))],
  ] as const) {
    for (let i = 0; i < 300; i++) u.call(pick(callers, rnd), pick(cycle, rnd));
    for (const f of cycle) for (let i = 0; i < 3; i++) u.call(f, pick(exits, rnd));
  }
  // Small functions inlined at some allocation sites.
  const small = flat(std.slice(9));
  for (const f of u.fns) if (rnd() < 0.12) f.inlined = pick(small, rnd);

  const chain = (...fs: Fn[]) => {
    for (let i = 0; i < fs.length - 1; i++) u.call(fs[i]!, fs[i + 1]!);
    return fs;
  };
  const goexit = u.fn('runtime', 'goexit', '/usr/local/go/src/runtime/asm_amd64.s');
  const http = chain(
    goexit,
    u.fn('net/http', '(*conn).serve', '/usr/local/go/src/net/http/server.go'),
    u.fn('net/http', 'serverHandler.ServeHTTP', '/usr/local/go/src/net/http/server.go'),
    u.fn('github.com/go-chi/chi/v5@v5.1.0', '(*Mux).ServeHTTP', '/go/pkg/mod/github.com/go-chi/chi/v5@v5.1.0/mux.go'),
    ...Array.from({ length: 14 }, (_, i) =>
      i % 2 === 0
        ? u.fn('net/http', 'HandlerFunc.ServeHTTP', '/usr/local/go/src/net/http/server.go')
        : u.fn(`github.com/acme/shop/internal/platform/middleware`, `${pick(['Tracing', 'Metrics', 'Recover', 'Auth', 'RateLimit', 'Gzip', 'RequestID'], rnd)}.func1`, '/src/shop/internal/platform/middleware/middleware.go'),
    ),
    u.fn('github.com/go-chi/chi/v5@v5.1.0', '(*Mux).routeHTTP', '/go/pkg/mod/github.com/go-chi/chi/v5@v5.1.0/mux.go'),
  );
  const grpc = chain(
    goexit,
    u.fn('google.golang.org/grpc@v1.66.0', '(*Server).serveStreams.func2.1', '/go/pkg/mod/google.golang.org/grpc@v1.66.0/server.go'),
    u.fn('google.golang.org/grpc@v1.66.0', '(*Server).handleStream', '/go/pkg/mod/google.golang.org/grpc@v1.66.0/server.go'),
    u.fn('google.golang.org/grpc@v1.66.0', '(*Server).processUnaryRPC', '/go/pkg/mod/google.golang.org/grpc@v1.66.0/server.go'),
    ...Array.from({ length: 10 }, (_, i) => u.fn('google.golang.org/grpc@v1.66.0', `chainUnaryInterceptors.func1.${i + 1}`, '/go/pkg/mod/google.golang.org/grpc@v1.66.0/server.go')),
  );
  const kafka = chain(goexit, u.fn('golang.org/x/sync@v0.8.0/errgroup', '(*Group).Go.func1', '/go/pkg/mod/golang.org/x/sync@v0.8.0/errgroup/errgroup.go'), u.fn('github.com/acme/shop/internal/platform/consumer', '(*Consumer).Run', '/src/shop/internal/platform/consumer/consumer.go'));
  const cron = chain(goexit, u.fn('github.com/acme/shop/internal/platform/jobs', '(*Scheduler).loop', '/src/shop/internal/platform/jobs/scheduler.go'));
  const main = chain(goexit, u.fn('runtime', 'main', '/usr/local/go/src/runtime/proc.go'), u.fn('main', 'main', '/src/shop/cmd/shop/main.go'));
  for (const [entry, handlers] of [
    [http, 220],
    [grpc, 140],
    [kafka, 50],
    [cron, 30],
    [main, 10],
  ] as const) {
    for (let i = 0; i < handlers; i++) u.call(entry[entry.length - 1]!, pick(app[Math.min(2, i % 3)]!, rnd));
  }
  return {
    universe: u,
    graph: {
      entries: [
        { chain: http, weight: 0.45 },
        { chain: grpc, weight: 0.3 },
        { chain: kafka, weight: 0.13 },
        { chain: cron, weight: 0.09 },
        { chain: main, weight: 0.03 },
      ],
    },
  };
}

interface TrieNode {
  readonly fn: Fn;
  visits: number;
  readonly children: TrieNode[];
}

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

/**
 * The call paths (root first) of `stacks` allocation sites: random walks
 * down the call graph that mostly follow paths taken before (a Chinese
 * restaurant process at every frame: the deeper, the likelier a new
 * branch), so allocation sites share long common prefixes.
 */
function walkPaths(graph: Graph, stacks: number, rnd: Rnd): Fn[][] {
  const roots = new Map<Fn[], TrieNode>();
  const seen = new Set<string>();
  const paths: Fn[][] = [];
  const id = new Map<Fn, number>();
  let attempts = 0;
  while (paths.length < stacks && attempts++ < stacks * 20) {
    let r = rnd();
    const entry = graph.entries.find((e) => (r -= e.weight) < 0) ?? graph.entries[0]!;
    let node: TrieNode | undefined = roots.get(entry.chain as Fn[]);
    if (!node) roots.set(entry.chain as Fn[], (node = { fn: entry.chain[entry.chain.length - 1]!, visits: 0, children: [] }));
    const path: Fn[] = [...entry.chain];
    // Most walks end in the layers; some go deep into a recursion, past Go's 128 frames.
    const deep = rnd() < 0.12;
    const stopP = deep ? 0.01 : 0.02;
    for (;;) {
      node.visits++;
      const depth = path.length;
      if (depth >= MAX_DEPTH + 24 || node.fn.callees.length === 0 || (depth > 12 && rnd() < stopP)) break;
      const theta = depth < 20 ? 0.6 : depth < 45 ? 1.5 : 3;
      let next: TrieNode | undefined;
      // A deep walk takes the way into a recursion where there is one, and stays in it.
      const into: Fn | undefined = deep && !node.fn.recurse ? node.fn.callees.find((c) => c.fn.recurse)?.fn : undefined;
      const recurse: Fn | undefined = deep && node.fn.recurse && rnd() < 0.95 ? node.fn.recurse : into;
      if (recurse) {
        next = node.children.find((c) => c.fn === recurse);
        if (!next) node.children.push((next = { fn: recurse, visits: 0, children: [] }));
      } else if (node.children.length > 0 && rnd() >= theta / (node.visits + theta)) {
        let w: number = rnd() * node.children.reduce((a, c) => a + c.visits, 0);
        next = node.children.find((c) => (w -= c.visits) < 0) ?? node.children[node.children.length - 1];
      } else {
        const fresh = node.fn.callees.filter((c) => !node!.children.some((ch) => ch.fn === c.fn));
        const callee = fresh.length > 0 ? pick(fresh, rnd).fn : pick(node.children, rnd).fn;
        next = node.children.find((c) => c.fn === callee);
        if (!next) node.children.push((next = { fn: callee, visits: 0, children: [] }));
      }
      node = next!;
      path.push(node.fn);
    }
    for (const f of path) if (!id.has(f)) id.set(f, id.size);
    const key = path.map((f) => id.get(f)).join(',');
    if (seen.has(key)) continue;
    seen.add(key);
    paths.push(path);
  }
  return paths;
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
