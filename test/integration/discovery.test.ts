// Discovery, sharding and the CPU budget end to end: real collector
// processes (`node bin/collector.js`), real Go fixtures (fixtures/go-target)
// and cheap fake pprof servers, all on loopback, the file output read back.
//
//   a. file_sd: a target added to and removed from the targets file at run
//      time is picked up without a restart; the one that stays keeps its
//      cadence and its delta baseline;
//   b. http_sd: the same with a local SD server whose answer changes;
//   c. two collectors with shard 0/2 and 1/2 over one file_sd list scrape
//      disjoint sets whose union is the list (issue 6, "Done when");
//   d. cpu_budget "10s/30s" over three replicas of one service.
//
// Nothing is skipped: without `go` these tests fail with a message. Run with:
//   node --import tsx --test --test-concurrency=1 test/integration/discovery.test.ts

import assert from 'node:assert/strict';
import { existsSync, readdirSync, readFileSync, renameSync, writeFileSync } from 'node:fs';
import { createServer, type Server } from 'node:http';
import { join } from 'node:path';
import { describe, it, type TestContext } from 'node:test';
import { readRequestLog, type RunningGoTarget } from '../../fixtures/go-target/harness.js';
import { shardOf } from '../../src/discovery/shard.js';
import { FakePprofServer } from '../helpers/fake-pprof.js';
import { goSuite } from '../helpers/go-suite.js';
import { sleep, spawnCollector, waitFor, type CollectorProcess } from '../helpers/processes.js';
import { closeServer, listenLocal } from '../helpers/servers.js';

const HEAP = '/debug/pprof/heap';
const GOROUTINE = '/debug/pprof/goroutine';
const CPU = '/debug/pprof/profile';
const INTERVAL_S = 10;

const { cleanup, requireGo, tempDir, goTarget } = goSuite('pprof-discovery-it-');

const q = (s: string) => JSON.stringify(s);

async function fakeTarget(realCpuWindow = false): Promise<FakePprofServer> {
  const s = await new FakePprofServer({ realCpuWindow }).start();
  cleanup.add(() => s.close());
  return s;
}

function collector(cfg: string): CollectorProcess {
  const c = spawnCollector(['-c', cfg]);
  cleanup.add(() => c.kill());
  return c;
}

/** Rewrites a file_sd file in one step (write aside, rename), as tools that generate them should. */
function writeTargets(file: string, addrs: readonly string[], labels: Record<string, string> = {}): void {
  const tmp = `${file}.tmp`;
  writeFileSync(tmp, JSON.stringify([{ targets: addrs, labels }]));
  renameSync(tmp, file);
}

interface ConfigOptions {
  readonly dir: string;
  readonly name: string;
  /** The lines of the [inputs.profile.go.*_sd] table, header included. */
  readonly discovery: string[];
  readonly block?: string[];
  readonly agent?: string[];
}

/** A config whose only block is a discovery template; file output under dir/NAME-out. */
function writeConfig(o: ConfigOptions): { file: string; out: string } {
  const out = join(o.dir, `${o.name}-out`);
  const lines = [
    '[agent]',
    'hostname = "sd-it-host"',
    'listen = ""',
    `data_dir = ${q(join(o.dir, `${o.name}-data`))}`,
    'log_level = "info"',
    'shutdown_grace = "5s"',
    ...(o.agent ?? []),
    '',
    '[[inputs.profile.go]]',
    'service = "sd-svc"',
    'env = "it"',
    `interval = "${INTERVAL_S}s"`,
    ...(o.block ?? ['enabled_types = ["goroutine", "heap"]']),
    ...o.discovery,
    '',
    '[[outputs.file]]',
    `dir = ${q(out)}`,
    '',
  ];
  const file = join(o.dir, `${o.name}.conf`);
  writeFileSync(file, lines.join('\n'));
  return { file, out };
}

interface Shipped {
  readonly type: string;
  readonly instance: string;
  readonly startNs: bigint;
  readonly endNs: bigint;
  readonly delta: boolean;
}

/** What a file output holds: one sidecar per profile, sorted by window end. */
function shipped(outDir: string): Shipped[] {
  if (!existsSync(outDir)) return [];
  const out: Shipped[] = [];
  for (const svc of readdirSync(outDir)) {
    for (const f of readdirSync(join(outDir, svc))) {
      if (!f.endsWith('.json')) continue;
      const j = JSON.parse(readFileSync(join(outDir, svc, f), 'utf8')) as { type: string; instance: string; start_unix_nano: string; end_unix_nano: string; delta: boolean };
      out.push({ type: j.type, instance: j.instance, startNs: BigInt(j.start_unix_nano), endNs: BigInt(j.end_unix_nano), delta: j.delta });
    }
  }
  return out.sort((a, b) => (a.endNs < b.endNs ? -1 : a.endNs > b.endNs ? 1 : 0));
}

const heapDeltas = (outDir: string, addr: string) => shipped(outDir).filter((s) => s.type === 'heap' && s.instance === addr);

function requests(log: string, path: string): number[] {
  return readRequestLog(log)
    .filter((l) => l.path === path)
    .map((l) => Date.parse(l.time))
    .sort((a, b) => a - b);
}

function logsWith(c: CollectorProcess, msg: string): Array<Record<string, unknown>> {
  return c.logLines().filter((l) => typeof l.msg === 'string' && l.msg.includes(msg));
}

function alive(c: CollectorProcess): void {
  if (!c.running) assert.fail(`the collector exited: ${c.stdout.slice(-3000)}\n${c.stderr.slice(-2000)}`);
}

async function stopCollector(c: CollectorProcess): Promise<void> {
  c.signal('SIGTERM');
  const exit = await c.waitExit(30_000);
  assert.deepEqual(exit, { code: 0, signal: null }, `collector exit after SIGTERM; stderr:\n${c.stderr.slice(-2000)}`);
  const stopped = c.logLines().find((l) => l.msg === 'stopped');
  assert.ok(stopped, 'the collector logs "stopped"');
  assert.equal(stopped.undelivered, 0, 'nothing scraped was left undelivered at shutdown');
}

function gapsS(times: readonly number[]): number[] {
  return times.slice(1).map((t, i) => (t - times[i]!) / 1000);
}

/**
 * The add/remove scenario shared by file_sd and http_sd: A alone, then A
 * and B, then B alone, each change made by `setTargets` while the
 * collector runs.
 */
async function addRemoveScenario(
  t: TestContext,
  dir: string,
  discovery: string[],
  setTargets: (addrs: string[]) => void,
  o: { changeWithinMs: number; aDeltasAfterAdd: number },
): Promise<void> {
  const { changeWithinMs } = o;
  const logA = join(dir, 'a-requests.jsonl');
  const logB = join(dir, 'b-requests.jsonl');
  const a = await goTarget({ parked: 3, requestLog: logA });
  const b = await goTarget({ parked: 4, requestLog: logB });
  setTargets([a.addr]);
  const { file, out } = writeConfig({ dir, name: 'collector', discovery });
  const c = collector(file);

  // 1. A alone: its heap baseline has been taken (the first heap request answered).
  await waitFor(() => (alive(c), requests(logA, HEAP).length >= 1 && requests(logA, GOROUTINE).length >= 1), 30_000, "A's first heap and goroutine scrapes");
  await sleep(500);
  assert.equal(readRequestLog(logB).length, 0, 'B is not scraped before it is listed');

  // 2. A and B: B starts without a restart; A's jobs are left alone.
  const changes = () => logsWith(c, 'targets changed by discovery');
  const history = () => JSON.stringify(c.logLines().filter((l) => /target|discovery/.test(String(l.msg))).map((l) => `${l.time} ${l.msg}`), null, 1);
  // The first one is A's, found at start.
  assert.deepEqual(changes().map((l) => [l.added, l.removed, l.changed]), [[2, 0, 0]], `A found at start: ${history()}`);
  const addedAt = Date.now();
  setTargets([a.addr, b.addr]);
  await waitFor(() => (alive(c), changes().length >= 2), changeWithinMs, 'the "targets changed by discovery" line after adding B');
  const added = changes()[1]!;
  assert.deepEqual([added.added, added.removed, added.changed], [2, 0, 0], `adding B adds B's two jobs and leaves A's alone: ${history()}`);
  const aDeltasAtAdd = heapDeltas(out, a.addr).length;
  await waitFor(
    () => (alive(c), requests(logB, HEAP).length >= 2 && requests(logB, GOROUTINE).length >= 1 && heapDeltas(out, a.addr).length >= aDeltasAtAdd + o.aDeltasAfterAdd),
    (o.aDeltasAfterAdd + 1) * INTERVAL_S * 1000 + 5_000,
    `B's first two heap scrapes and ${o.aDeltasAfterAdd} more heap delta(s) of A`,
  );
  t.diagnostic(`B first requested ${((readRequestLog(logB).map((l) => Date.parse(l.time)).sort()[0] ?? NaN) - addedAt) / 1000} s after it was listed`);

  // 3. B alone: A is no longer requested.
  setTargets([b.addr]);
  await waitFor(() => (alive(c), changes().length >= 3), changeWithinMs, 'the "targets changed by discovery" line after removing A');
  const removed = changes()[2]!;
  assert.deepEqual([removed.added, removed.removed, removed.changed], [0, 2, 0], `removing A removes A's two jobs: ${history()}`);
  // When the collector acted on it: http_sd sees the change only at its next
  // refresh (a CI run saw A scraped 1-2 s after the answer changed, before that).
  const removalSeenAt = Date.parse(String(removed.time));
  assert.ok(Number.isFinite(removalSeenAt), `the log line's time: ${String(removed.time)}`);
  await sleep(2_000); // a scrape of A already running at the change may finish
  const aAfterRemoval = readRequestLog(logA).length;
  const bAfterRemoval = readRequestLog(logB).length;
  await sleep(INTERVAL_S * 1000 + 2_000);
  alive(c);
  assert.equal(readRequestLog(logA).length, aAfterRemoval, `A was requested after it was removed: ${JSON.stringify(readRequestLog(logA).slice(aAfterRemoval))}`);
  assert.ok(readRequestLog(logB).length > bAfterRemoval, 'B is still scraped');

  await stopCollector(c);

  // A kept its cadence through the changes: ~one interval between scrapes, on one slot grid.
  for (const path of [HEAP, GOROUTINE]) {
    const times = requests(logA, path);
    const gaps = gapsS(times);
    t.diagnostic(`A ${path}: ${times.length} requests, gaps ${gaps.map((g) => g.toFixed(2)).join('/')} s`);
    assert.ok(times.some((x) => x < addedAt) && times.some((x) => x > addedAt), `A ${path} scraped before and after B was added`);
    assert.ok(times.every((x) => x < removalSeenAt + 1_000), `A ${path} scraped after the collector removed it (${new Date(removalSeenAt).toISOString()}): ${times.filter((x) => x >= removalSeenAt + 1_000).map((x) => new Date(x).toISOString())}`);
    for (const g of gaps) assert.ok(g >= INTERVAL_S - 3 && g <= INTERVAL_S + 3, `A ${path} gaps ${gaps.join(', ')} s: ${g} is not ~${INTERVAL_S} s`);
  }
  // A's heap baseline survived the change: one baseline, then a delta per
  // scrape, each starting where the previous ended.
  const aHeap = requests(logA, HEAP);
  const aDeltas = heapDeltas(out, a.addr);
  assert.equal(aDeltas.length, aHeap.length - 1, `A: ${aHeap.length} heap scrapes must give ${aHeap.length - 1} deltas (one baseline), got ${aDeltas.length}`);
  for (let i = 1; i < aDeltas.length; i++) assert.equal(aDeltas[i]!.startNs, aDeltas[i - 1]!.endNs, `A heap delta ${i} does not start where delta ${i - 1} ended`);
  assert.ok(aDeltas.every((d) => d.delta));
  assert.deepEqual(logsWith(c, 'baseline reset'), [], 'no baseline reset');
  // B: one baseline too.
  assert.equal(heapDeltas(out, b.addr).length, requests(logB, HEAP).length - 1, 'B: one baseline, then a delta per scrape');
  assert.ok(shipped(out).some((s) => s.type === 'goroutine' && s.instance === b.addr), "B's goroutine profiles were shipped");
  assert.deepEqual(c.logLines().filter((l) => l.level === 'error' || l.level === 'fatal'), [], 'error lines in the collector log');
  assert.equal(changes().length, 3, `exactly three changes (start, add, remove): ${history()}`);
}

/** A Prometheus HTTP SD endpoint whose answer the test sets. */
class SdServer {
  groups: Array<{ targets: string[]; labels: Record<string, string> }> = [];
  hits = 0;
  private server: Server | null = null;
  url = '';

  async start(): Promise<this> {
    this.server = createServer((req, res) => {
      req.resume();
      this.hits++;
      res.writeHead(200, { 'content-type': 'application/json' }).end(JSON.stringify(this.groups));
    });
    this.url = `http://127.0.0.1:${await listenLocal(this.server)}/sd`;
    return this;
  }

  async close(): Promise<void> {
    if (this.server) await closeServer(this.server);
  }
}

describe('discovery end to end', () => {
  it('a: file_sd: a target added to and removed from the file at run time', { timeout: 120_000 }, async (t: TestContext) => {
    requireGo();
    const dir = tempDir();
    const targetsFile = join(dir, 'targets.json');
    await addRemoveScenario(t, dir, ['[inputs.profile.go.file_sd]', `files = [${q(targetsFile)}]`], (addrs) => writeTargets(targetsFile, addrs), {
      changeWithinMs: 5_000,
      aDeltasAfterAdd: 2,
    });
  });

  it('b: http_sd: a target added to and removed from the SD answer at run time', { timeout: 120_000 }, async (t: TestContext) => {
    requireGo();
    const dir = tempDir();
    const sd = await new SdServer().start();
    cleanup.add(() => sd.close());
    await addRemoveScenario(
      t,
      dir,
      ['[inputs.profile.go.http_sd]', `url = ${q(sd.url)}`, 'refresh_interval = "2s"'],
      (addrs) => {
        sd.groups = [{ targets: addrs, labels: {} }];
      },
      { changeWithinMs: 8_000, aDeltasAfterAdd: 1 },
    );
    assert.ok(sd.hits >= 10, `the SD endpoint was polled every 2 s (${sd.hits} requests)`);
  });

  it('c: shard 0/2 and 1/2 over one file_sd list scrape disjoint sets whose union is the list', { timeout: 90_000 }, async (t: TestContext) => {
    requireGo();
    const dir = tempDir();
    const go: Array<{ target: RunningGoTarget; log: string }> = [];
    for (let i = 0; i < 4; i++) {
      const log = join(dir, `go-${i}.jsonl`);
      go.push({ target: await goTarget({ parked: 2, requestLog: log }), log });
    }
    const fakes: FakePprofServer[] = [];
    for (let i = 0; i < 4; i++) fakes.push(await fakeTarget());
    const all = [...go.map((g) => g.target.addr), ...fakes.map((f) => f.addr)].sort();
    const goroutineRequests = (addr: string): number => {
      const g = go.find((x) => x.target.addr === addr);
      if (g) return requests(g.log, GOROUTINE).length;
      return fakes.find((f) => f.addr === addr)!.count('goroutine');
    };

    const targetsFile = join(dir, 'targets.json');
    writeTargets(targetsFile, all, { team: 'shards' });
    const shards = [0, 1].map((index) => {
      const { file, out } = writeConfig({
        dir,
        name: `shard-${index}`,
        agent: [`shard = "${index}/2"`],
        block: ['enabled_types = ["goroutine"]'],
        discovery: ['[inputs.profile.go.file_sd]', `files = [${q(targetsFile)}]`],
      });
      return { index, out, c: collector(file) };
    });
    const started = Date.now();
    await waitFor(() => (shards.forEach((s) => alive(s.c)), shards.every((s) => logsWith(s.c, 'collector started').length === 1)), 20_000, 'both collectors to start');
    await sleep(Math.max(0, 25_000 - (Date.now() - started)));
    for (const s of shards) alive(s.c);
    await Promise.all(shards.map((s) => stopCollector(s.c)));

    // What each process scraped, from its own file output.
    const scraped = shards.map((s) => new Set(shipped(s.out).filter((p) => p.type === 'goroutine').map((p) => p.instance)));
    const expected = [0, 1].map((index) => all.filter((addr) => shardOf(`http://${addr}/debug/pprof`, 2) === index));
    t.diagnostic(`targets: ${all.join(' ')}`);
    t.diagnostic(`shard 0 scraped: ${[...scraped[0]!].sort().join(' ')}; shard 1 scraped: ${[...scraped[1]!].sort().join(' ')}`);
    t.diagnostic(`shardOf says 0: ${expected[0]!.join(' ')}; 1: ${expected[1]!.join(' ')}`);
    t.diagnostic(`goroutine requests per target: ${all.map((a) => `${a}=${goroutineRequests(a)}`).join(' ')}`);

    const both = [...scraped[0]!].filter((x) => scraped[1]!.has(x));
    assert.deepEqual(both, [], 'targets scraped by both processes');
    assert.deepEqual([...new Set([...scraped[0]!, ...scraped[1]!])].sort(), all, 'the union of what the two processes scraped is the whole list');
    for (const index of [0, 1]) assert.deepEqual([...scraped[index]!].sort(), expected[index], `shard ${index} scraped what shardOf() gives it`);

    // Each target was scraped by exactly one process: every request it
    // answered is a profile its owner shipped (goroutine ships every scrape).
    for (const addr of all) {
      const owner = scraped[0]!.has(addr) ? 0 : 1;
      const ownerShipped = shipped(shards[owner]!.out).filter((p) => p.type === 'goroutine' && p.instance === addr).length;
      const n = goroutineRequests(addr);
      assert.ok(n >= 2, `${addr}: ${n} goroutine requests in ~25 s`);
      assert.equal(n, ownerShipped, `${addr}: ${n} requests, but its owner (shard ${owner}) shipped ${ownerShipped} profiles`);
    }
    // Both saw the whole list; each kept its share.
    for (const s of shards) {
      const seen = logsWith(s.c, 'target(s)').filter((l) => typeof l.discovery === 'string' && l.targets === all.length);
      assert.ok(seen.length >= 1, `shard ${s.index} discovered all ${all.length} targets`);
      assert.ok(logsWith(s.c, `(shard ${s.index}/2)`).length === 1, `shard ${s.index} says its shard in the start line`);
    }
  });

  it('d: cpu_budget "10s/30s": at most one CPU profile per 30 s for the service, replicas in turn', { timeout: 120_000 }, async (t: TestContext) => {
    const dir = tempDir();
    const PERIOD_MS = 30_000;
    const replicas: FakePprofServer[] = [];
    for (let i = 0; i < 3; i++) replicas.push(await fakeTarget(true));
    const targetsFile = join(dir, 'targets.json');
    writeTargets(targetsFile, replicas.map((r) => r.addr));
    const { file, out } = writeConfig({
      dir,
      name: 'budget',
      block: ['enabled_types = ["cpu"]', 'profile_duration = "9s"', 'cpu_budget = "10s/30s"'],
      discovery: ['[inputs.profile.go.file_sd]', `files = [${q(targetsFile)}]`],
    });
    const c = collector(file);
    const started = Date.now();
    while (Date.now() - started < 65_000) {
      alive(c);
      await sleep(1_000);
    }
    await stopCollector(c);

    const cpu = replicas
      .flatMap((r, i) => r.requests.filter((x) => x.path === CPU).map((x) => ({ at: x.at, replica: i, query: x.query })))
      .sort((x, y) => x.at - y.at);
    t.diagnostic(`CPU requests: ${cpu.map((x) => `+${((x.at - started) / 1000).toFixed(1)}s r${x.replica} (period ${Math.floor(x.at / PERIOD_MS)})`).join(', ')}`);
    for (const x of cpu) assert.equal(x.query, 'seconds=9');
    // Without the budget: 3 replicas every 10 s, ~18 CPU profiles in 65 s.
    assert.ok(cpu.length >= 2 && cpu.length <= 4, `${cpu.length} CPU profiles in 65 s over 30 s periods`);
    // At most one per period. The collector decides a moment before the
    // request arrives, so a request within 1 s after a period starts may
    // belong to the previous one; only the unambiguous pairs count.
    const SLACK_MS = 1_000;
    for (let i = 1; i < cpu.length; i++) {
      const p = cpu[i - 1]!.at;
      const n = cpu[i]!.at;
      const samePeriod = Math.floor(p / PERIOD_MS) === Math.floor(n / PERIOD_MS);
      const unambiguous = p % PERIOD_MS >= SLACK_MS && n % PERIOD_MS >= SLACK_MS;
      assert.ok(!(samePeriod && unambiguous), `two CPU profiles in one 30 s period: at +${((p - started) / 1000).toFixed(1)}s and +${((n - started) / 1000).toFixed(1)}s`);
    }
    const distinct = new Set(cpu.map((x) => x.replica));
    assert.ok(distinct.size >= 2, `CPU windows went to replicas ${[...distinct].join(', ')} only`);
    for (let i = 1; i < cpu.length; i++) assert.notEqual(cpu[i]!.replica, cpu[i - 1]!.replica, 'replicas take turns');
    // Every window granted was shipped (the last one may have been cut by the shutdown).
    const cpuShipped = shipped(out).filter((p) => p.type === 'cpu').length;
    assert.ok(cpuShipped >= cpu.length - 1 && cpuShipped <= cpu.length, `${cpuShipped} CPU profiles shipped for ${cpu.length} requests`);
  });
});
