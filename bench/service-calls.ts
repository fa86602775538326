// The made-up call graph of a big Go service, and the call paths of its
// allocation sites, for bench/big-heap.ts: entry chains (HTTP, gRPC, Kafka,
// background jobs, main) whose middleware every request shares, layers of
// application, module and standard library functions, and recursions
// (encoders, a GraphQL executor) that run past Go's 128 frames.

/** Go 1.23's default depth of heap profile stacks; walks may run a little past it. */
export const MAX_DEPTH = 128;

export type Rnd = () => number;
const pick = <T>(xs: readonly T[], rnd: Rnd): T => xs[Math.floor(rnd() * xs.length)]!;
export const between = (lo: number, hi: number, rnd: Rnd) => lo + Math.floor(rnd() * (hi - lo + 1));

export interface Fn {
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

export interface Graph {
  /** Entry chains, root first: the last function of each calls into the handlers. */
  readonly entries: ReadonlyArray<{ chain: readonly Fn[]; weight: number }>;
}

export function buildGraph(rnd: Rnd): { graph: Graph; universe: Universe } {
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


/**
 * The call paths (root first) of `stacks` allocation sites: random walks
 * down the call graph that mostly follow paths taken before (a Chinese
 * restaurant process at every frame: the deeper, the likelier a new
 * branch), so allocation sites share long common prefixes.
 */
export function walkPaths(graph: Graph, stacks: number, rnd: Rnd): Fn[][] {
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
