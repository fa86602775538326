// End to end: the real Go fixture service (fixtures/go-target), the real
// collector process (`node bin/collector.js`), the strict DataKit intake
// double and the file output, all on loopback.
//
// Nothing here is skipped: without `go` these tests fail with a message (CI
// uses the Go in /usr/local/go/bin). Run with:
//   node --import tsx --test --test-concurrency=1 test/integration/collector.test.ts

import assert from 'node:assert/strict';
import { existsSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, it, type TestContext } from 'node:test';
import { readRequestLog, type RequestLogLine } from '../../fixtures/go-target/harness.js';
import { DatakitIntake, type Upload } from '../helpers/datakit-intake.js';
import { decodeGzipped, goToolPprof, i64, negativeValues, sumFor } from '../helpers/pprof.js';
import { goSuite } from '../helpers/go-suite.js';
import { spawnCollector, waitFor, type CollectorProcess } from '../helpers/processes.js';
import { unusedPort } from '../helpers/servers.js';

const TYPES = ['cpu', 'goroutine', 'heap', 'mutex', 'block'] as const;
const CUMULATIVE = new Set(['heap', 'mutex', 'block']);
const PATH_OF: Record<string, string> = {
  cpu: '/debug/pprof/profile',
  goroutine: '/debug/pprof/goroutine',
  heap: '/debug/pprof/heap',
  mutex: '/debug/pprof/mutex',
  block: '/debug/pprof/block',
};
const PARKED = 37;
const HOSTNAME = 'it-host';
const SEC = 1_000_000_000n;

const { cleanup, requireGo, tempDir, goTarget } = goSuite('pprof-it-');

async function intake(): Promise<DatakitIntake> {
  const i = await new DatakitIntake().start();
  cleanup.add(() => i.close());
  return i;
}

function collector(args: string[]): CollectorProcess {
  const c = spawnCollector(args);
  cleanup.add(() => c.kill());
  return c;
}

interface GoBlock {
  readonly url: string;
  readonly service: string;
  readonly extra?: string;
}

function writeConfig(dir: string, o: { targets: GoBlock[]; datakitUrl?: string; fileDir?: string }): string {
  const q = (s: string) => JSON.stringify(s);
  const lines = ['[agent]', `hostname = ${q(HOSTNAME)}`, 'listen = ""', `data_dir = ${q(join(dir, 'data'))}`, 'log_level = "debug"', ''];
  for (const t of o.targets) {
    lines.push(
      '[[inputs.profile.go]]',
      `url = ${q(t.url)}`,
      'interval = "10s"',
      `service = ${q(t.service)}`,
      'env = "it"',
      'version = "9.9.9"',
      ...(t.extra ? [t.extra] : []),
      '[inputs.profile.go.tags]',
      'team = "perf"',
      '',
    );
  }
  if (o.datakitUrl) lines.push('[[outputs.datakit]]', `url = ${q(o.datakitUrl)}`, '');
  if (o.fileDir) lines.push('[[outputs.file]]', `dir = ${q(o.fileDir)}`, '');
  const file = join(dir, 'profile.conf');
  writeFileSync(file, lines.join('\n'));
  return file;
}

async function stopCollector(c: CollectorProcess): Promise<void> {
  c.signal('SIGTERM');
  const exit = await c.waitExit(30_000);
  assert.deepEqual(exit, { code: 0, signal: null }, `collector exit after SIGTERM; stderr:\n${c.stderr.slice(-2000)}`);
  const stopped = c.logLines().find((l) => l.msg === 'stopped');
  assert.ok(stopped, 'the collector logs "stopped"');
  assert.equal(stopped.undelivered, 0, 'nothing scraped was left undelivered at shutdown');
}

function countBy<T>(xs: readonly T[], key: (x: T) => string): Record<string, number> {
  const out: Record<string, number> = {};
  for (const x of xs) out[key(x)] = (out[key(x)] ?? 0) + 1;
  return out;
}

/**
 * Checks every upload: accepted profile bytes that go tool pprof reads, no
 * negative value, the known function of its type, the parked goroutines, the
 * window, the tags.
 */
function checkUploads(uploads: readonly Upload[], dir: string, want: { services: string[]; instance: string }): void {
  uploads.forEach((u, i) => {
    const what = `upload ${i} (${u.type} of ${u.tags.service}, ${u.event.start} .. ${u.event.end})`;
    const raw = goToolPprof(u.gzipped, join(dir, `upload-${i}-${u.type}.pb.gz`), ['-raw']);
    assert.equal(raw.status, 0, `${what}: go tool pprof -raw failed: ${raw.stderr}`);
    assert.match(raw.stdout, /^PeriodType: /m, `${what}: -raw output`);

    const p = decodeGzipped(u.gzipped);
    assert.deepEqual(negativeValues(p), [], `${what}: negative values`);
    switch (u.type) {
      case 'cpu':
        assert.ok(sumFor(p, 'cpu', 'main.cpuBurner') > 0n, `${what}: no cpu time in main.cpuBurner`);
        break;
      case 'heap':
        assert.ok(sumFor(p, 'alloc_space', 'main.allocator') > 0n, `${what}: no alloc_space in main.allocator`);
        break;
      case 'mutex':
        assert.ok(sumFor(p, 'delay', 'main.lockContender') > 0n, `${what}: no mutex delay in main.lockContender`);
        break;
      case 'block':
        assert.ok(sumFor(p, 'delay', 'main.channelBlocker') > 0n, `${what}: no block delay in main.channelBlocker`);
        break;
      case 'goroutine':
        assert.equal(sumFor(p, 'goroutine', 'main.parkedGoroutine'), BigInt(PARKED), `${what}: parked goroutines`);
        break;
      default:
        assert.fail(`${what}: unknown type`);
    }

    const windowNs = u.endNs - u.startNs;
    assert.ok(windowNs >= 0n, `${what}: window ends before it starts`);
    if (CUMULATIVE.has(u.type)) {
      // A delta: profile time = end, duration = end - start = the gap between two scrapes.
      assert.equal(i64(p.timeNanos), u.endNs, `${what}: time_nanos is the window end`);
      assert.equal(i64(p.durationNanos), windowNs, `${what}: duration_nanos is the window`);
      assert.ok(windowNs >= 5n * SEC && windowNs <= 15n * SEC, `${what}: delta window ${windowNs} ns is not ~10 s`);
    } else if (u.type === 'cpu') {
      assert.ok(windowNs >= 8_500_000_000n && windowNs <= 10_500_000_000n, `${what}: cpu window ${windowNs} ns is not ~9 s`);
    }

    assert.ok(want.services.includes(u.tags.service!), `${what}: service tag ${u.tags.service}`);
    assert.equal(u.tags.env, 'it', `${what}: env`);
    assert.equal(u.tags.version, '9.9.9', `${what}: version`);
    assert.equal(u.tags.host, HOSTNAME, `${what}: host (loopback target: the agent hostname)`);
    assert.equal(u.tags.instance, want.instance, `${what}: instance`);
    assert.equal(u.tags.team, 'perf', `${what}: custom tag`);
    assert.equal(u.event.sub_custom_tags, 'team:perf', `${what}: sub_custom_tags`);
  });
}

/** Consecutive request start times per path, in seconds. */
function gapsByPath(log: readonly RequestLogLine[]): Record<string, number[]> {
  const out: Record<string, number[]> = {};
  for (const [type, path] of Object.entries(PATH_OF)) {
    const times = log
      .filter((l) => l.path === path)
      .map((l) => Date.parse(l.time))
      .sort((a, b) => a - b);
    out[type] = times.slice(1).map((t, i) => (t - times[i]!) / 1000);
  }
  return out;
}

function cpuIntervalsOverlap(log: readonly RequestLogLine[]): string[] {
  const cpu = log
    .filter((l) => l.path === PATH_OF.cpu)
    .map((l) => ({ start: Date.parse(l.time), end: Date.parse(l.time) + l.duration_ms }))
    .sort((a, b) => a.start - b.start);
  const out: string[] = [];
  for (let i = 1; i < cpu.length; i++) {
    // Request log times have ms resolution; allow 5 ms of rounding.
    if (cpu[i]!.start < cpu[i - 1]!.end - 5) out.push(`${new Date(cpu[i]!.start).toISOString()} starts before ${new Date(cpu[i - 1]!.end).toISOString()}`);
  }
  return out;
}

function resetLines(c: CollectorProcess): Array<Record<string, unknown>> {
  return c.logLines().filter((l) => typeof l.msg === 'string' && l.msg.includes('baseline reset'));
}

describe('collector end to end with the Go fixture', () => {
  it('a: 35 s of scraping ships every type, correct and complete, to DataKit and files', { timeout: 120_000 }, async (t: TestContext) => {
    requireGo();
    const dir = tempDir();
    const requestLog = join(dir, 'requests.jsonl');
    const target = await goTarget({ parked: PARKED, requestLog });
    const dk = await intake();
    const filesDir = join(dir, 'profiles');
    const cfg = writeConfig(dir, { targets: [{ url: target.url, service: 'it-svc' }], datakitUrl: dk.url, fileDir: filesDir });

    const c = collector(['-c', cfg]);
    await c.runFor(35_000);
    await stopCollector(c);

    // The intake accepted everything, once.
    assert.deepEqual(dk.rejections.map((r) => r.reason), [], 'rejections at the intake');
    const ids = dk.uploads.map((u) => u.profileId);
    assert.equal(new Set(ids).size, ids.length, 'no profile was delivered twice');
    const counts = countBy(dk.uploads, (u) => u.type);
    t.diagnostic(`profiles at the intake per type: ${JSON.stringify(counts)}`);
    for (const type of TYPES) assert.ok((counts[type] ?? 0) >= 1, `no ${type} profile arrived (counts ${JSON.stringify(counts)})`);

    checkUploads(dk.uploads, dir, { services: ['it-svc'], instance: target.addr });

    // Consecutive deltas of a type tile time: each starts where the previous ended.
    for (const type of CUMULATIVE) {
      const ds = dk.uploads.filter((u) => u.type === type).sort((a, b) => (a.endNs < b.endNs ? -1 : 1));
      for (let i = 1; i < ds.length; i++) assert.equal(ds[i]!.startNs, ds[i - 1]!.endNs, `${type} delta ${i} does not start where delta ${i - 1} ended`);
    }

    // The file output has the same profiles, byte for byte.
    const svcDir = join(filesDir, 'it-svc');
    assert.ok(existsSync(svcDir), `${svcDir} exists`);
    const sidecars = readdirSync(svcDir)
      .filter((f) => f.endsWith('.json'))
      .map((f) => ({ f, j: JSON.parse(readFileSync(join(svcDir, f), 'utf8')) as { id: string; type: string; file: string; start: string; end: string } }));
    assert.deepEqual(countBy(sidecars, (s) => s.j.type), counts, 'profiles per type: file output vs intake');
    const byId = new Map(dk.uploads.map((u) => [u.profileId, u]));
    for (const { f, j } of sidecars) {
      const u = byId.get(j.id);
      assert.ok(u, `${f}: id ${j.id} never reached the intake`);
      assert.ok(readFileSync(join(svcDir, j.file)).equals(u.gzipped), `${f}: pprof bytes differ from the upload`);
      assert.equal(j.start, u.event.start);
      assert.equal(j.end, u.event.end);
    }

    // What the target saw.
    const stats = await target.stats();
    assert.equal(stats.cpu_max_in_flight, 1, 'CPU profiles at once in the target');
    const log = readRequestLog(requestLog);
    assert.ok(log.length > 0, 'the request log is not empty');
    // delta_source = "auto": heap, mutex and block ask godeltaprof once each,
    // and this fixture (without -godeltaprof) says 404; not again within the hour.
    const probes = log.filter((l) => /\/delta_(heap|mutex|block)$/.test(l.path));
    assert.deepEqual(probes.map((l) => l.status), [404, 404, 404], `godeltaprof probes: ${probes.map((l) => l.path).join(' ')}`);
    assert.equal(new Set(probes.map((l) => l.path)).size, 3);
    for (const l of log.filter((x) => !probes.includes(x))) {
      if (l.path === PATH_OF.cpu) assert.equal(l.query, 'seconds=9', `cpu request query: ${l.query}`);
      else assert.doesNotMatch(l.query, /seconds=/, `${l.path} fetched with ${l.query}`);
      assert.equal(l.status, 200, `${l.path}?${l.query} answered ${l.status}`);
    }
    // Every scrape was shipped (cumulative: all but the baseline).
    const reqCounts = countBy(log, (l) => l.path);
    for (const type of TYPES) {
      const scrapes = reqCounts[PATH_OF[type]!] ?? 0;
      assert.equal(counts[type] ?? 0, CUMULATIVE.has(type) ? scrapes - 1 : scrapes, `${type}: ${scrapes} scrapes, ${counts[type]} shipped`);
    }
    // Cadence: reported, asserted loosely.
    const gaps = gapsByPath(log);
    const cadence = Object.entries(gaps).map(([type, g]) => `${type}: ${reqCounts[PATH_OF[type]!] ?? 0} requests, gaps ${g.map((x) => x.toFixed(2)).join('/')} s`);
    t.diagnostic(`cadence: ${cadence.join('; ')}`);
    for (const [type, g] of Object.entries(gaps)) {
      assert.ok(g.length >= 1, `${type}: fewer than two scrapes in 35 s`);
      for (const x of g) assert.ok(x >= 5 && x <= 15, `${type}: scrapes ${x} s apart, want ~10 s`);
    }

    const errors = c.logLines().filter((l) => l.level === 'error' || l.level === 'fatal');
    assert.deepEqual(errors, [], 'error lines in the collector log');
  });

  it('b: a restart of the target re-baselines: no negative value, no window across the restart', { timeout: 150_000 }, async (t: TestContext) => {
    requireGo();
    const dir = tempDir();
    const requestLog = join(dir, 'requests.jsonl');
    const first = await goTarget({ parked: PARKED, requestLog });
    const dk = await intake();
    const cfg = writeConfig(dir, { targets: [{ url: first.url, service: 'it-svc' }], datakitUrl: dk.url, fileDir: join(dir, 'profiles') });

    const c = collector(['-c', cfg]);
    await waitFor(() => dk.uploads.some((u) => CUMULATIVE.has(u.type)) || !c.running, 40_000, 'the first cumulative delta');
    assert.ok(c.running, `collector exited early:\n${c.stdout.slice(-3000)}`);
    // The brief's restart rule is "values going down, or the profile's time
    // going backwards". A process killed just after a scrape and replaced by
    // one that accumulates as much in its first interval shows neither, and
    // cannot be told from no restart (see the report). So the old process
    // gets a head start of 25 s: its totals then clearly exceed what the new
    // one reaches by its first scrape (<= 10 s), and the documented detection
    // must fire.
    const oldAgeMs = Date.now() - Number((await first.stats()).started_unix_nano) / 1e6;
    await c.runFor(Math.max(0, 25_000 - oldAgeMs));
    const shippedBefore = dk.uploads.length;

    await first.kill();
    const second = await goTarget({ addr: first.addr, parked: PARKED, requestLog });
    assert.notEqual(second.pid, first.pid);
    const restartNs = BigInt(Math.floor((await second.stats()).started_unix_nano));
    await c.runFor(30_000);
    await stopCollector(c);

    assert.deepEqual(dk.rejections.map((r) => r.reason), [], 'every upload accepted');
    checkUploads(dk.uploads, dir, { services: ['it-svc'], instance: first.addr });

    const after = dk.uploads.filter((u) => CUMULATIVE.has(u.type) && u.endNs > restartNs);
    for (const u of after) {
      assert.ok(
        u.startNs >= restartNs,
        `${u.type} delta ${u.event.start} .. ${u.event.end} spans the restart at ${restartNs}: it subtracts the old process's totals`,
      );
    }
    for (const type of CUMULATIVE) assert.ok(after.some((u) => u.type === type), `no ${type} delta after the restart: the collector did not recover`);

    const resets = resetLines(c);
    const resetTypes = [...new Set(resets.map((l) => String(l.type)))].sort();
    t.diagnostic(`uploads before the restart: ${shippedBefore}, after: ${dk.uploads.length - shippedBefore}; baseline resets: ${resets.map((l) => `${l.type}: ${l.reason}`).join('; ')}`);
    assert.deepEqual(resetTypes, ['block', 'heap', 'mutex'], 'a "baseline reset" line for each cumulative type');
    const pids = new Set(readRequestLog(requestLog).map((l) => l.pid));
    assert.deepEqual(pids, new Set([first.pid, second.pid]), 'both processes were scraped');
  });

  it('c: the same process listed twice: never two CPU profiles at once, and both listings get CPU windows in turn', { timeout: 90_000 }, async (t: TestContext) => {
    requireGo();
    const dir = tempDir();
    const requestLog = join(dir, 'requests.jsonl');
    const target = await goTarget({ parked: PARKED, requestLog });
    const dk = await intake();
    const cfg = writeConfig(dir, {
      targets: [
        { url: target.url, service: 'it-svc-a' },
        { url: target.url, service: 'it-svc-b' },
      ],
      datakitUrl: dk.url,
    });

    const c = collector(['-c', cfg]);
    await c.runFor(35_000);
    await stopCollector(c);

    const stats = await target.stats();
    assert.equal(stats.cpu_max_in_flight, 1, 'CPU profiles at once in the target');
    const log = readRequestLog(requestLog);
    assert.deepEqual(cpuIntervalsOverlap(log), [], 'overlapping CPU requests in the request log');
    assert.deepEqual(dk.rejections.map((r) => r.reason), []);
    checkUploads(dk.uploads, dir, { services: ['it-svc-a', 'it-svc-b'], instance: target.addr });
    const perService = countBy(dk.uploads, (u) => `${u.tags.service}/${u.type}`);
    const skips = c.logLines().filter((l) => (l.err as { code?: string } | undefined)?.code === 'cpu_busy');
    t.diagnostic(`uploads per service/type: ${JSON.stringify(perService)}; cpu requests: ${log.filter((l) => l.path === PATH_OF.cpu).length}; cpu_busy skip lines: ${skips.length}`);
    for (const svc of ['it-svc-a', 'it-svc-b']) {
      assert.ok(dk.uploads.some((u) => u.tags.service === svc), `nothing shipped for ${svc}`);
      assert.ok(
        dk.uploads.some((u) => u.tags.service === svc && u.type === 'cpu'),
        `no CPU profile for ${svc}: the listings of one process must take CPU windows in turn`,
      );
    }
  });

  it('d: --once ships every type and prints a table; against a dead port it exits 1 and says why', { timeout: 90_000 }, async () => {
    requireGo();
    const dir = tempDir();
    const target = await goTarget({ parked: PARKED });
    const filesDir = join(dir, 'profiles');
    const cfg = writeConfig(dir, { targets: [{ url: target.url, service: 'it-once' }], fileDir: filesDir });
    const once = collector(['-c', cfg, '--once']);
    const exit = await once.waitExit(60_000);
    assert.deepEqual(exit, { code: 0, signal: null }, `--once exit; stdout:\n${once.stdout}\nstderr tail:\n${once.stderr.slice(-2000)}`);
    const rows = once.stdout.split('\n').filter((l) => l.startsWith(target.url));
    assert.equal(rows.length, TYPES.length, `one row per type:\n${once.stdout}`);
    for (const type of TYPES) {
      const row = rows.find((r) => r.split(/\s+/)[1] === type);
      assert.ok(row, `no row for ${type}:\n${once.stdout}`);
      assert.match(row, new RegExp(`\\s${type}\\s+shipped\\s+\\d+\\s+\\d+\\s+yes\\b`), `row for ${type}`);
    }
    assert.match(once.stdout, /^TARGET\s+TYPE\s+RESULT/m);
    const pprofs = readdirSync(join(filesDir, 'it-once')).filter((f) => f.endsWith('.pprof'));
    assert.equal(pprofs.length, TYPES.length, `files written: ${pprofs.join(', ')}`);

    // A port nobody listens on (opened, then closed).
    const port = await unusedPort();
    const deadDir = tempDir();
    const deadUrl = `http://127.0.0.1:${port}`;
    // A short CPU window only shortens the wait between the baseline and the second scrape.
    const deadCfg = writeConfig(deadDir, { targets: [{ url: deadUrl, service: 'it-dead', extra: 'profile_duration = "2s"' }], fileDir: join(deadDir, 'profiles') });
    const dead = collector(['-c', deadCfg, '--once']);
    const deadExit = await dead.waitExit(60_000);
    const out = `${dead.stdout}\n${dead.stderr}`;
    assert.deepEqual(deadExit, { code: 1, signal: null }, `--once against a dead port; output:\n${out.slice(-3000)}`);
    assert.match(dead.stdout, new RegExp(`127\\.0\\.0\\.1:${port}.*connection refused`, 'i'), `the table names the connection problem:\n${dead.stdout}`);
    const deadRows = dead.stdout.split('\n').filter((l) => l.startsWith(deadUrl));
    assert.equal(deadRows.length, TYPES.length, `one row per type:\n${dead.stdout}`);
    for (const r of deadRows) assert.match(r, /\sfailed\s/, r);
  });
});
