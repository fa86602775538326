// SIGTERM, shutdown_grace and the spool, end to end with the real collector
// process (`node bin/collector.js`). The README ("What happens when things
// fail"): on SIGTERM scheduling stops, scrapes and sends in flight get
// shutdown_grace, what is still undelivered stays in the spool for the next
// start, exit 0; on start the collector replays the spool.
//
//   a. A target that accepts connections and never answers, http_timeout 60 s,
//      shutdown_grace 2 s: SIGTERM mid-scrape exits 0 long before the 60 s
//      deadline, and the log says the scrapes were abandoned at the end of
//      the grace period.
//   b. The real Go fixture and a DataKit intake that answers 503: profiles pile
//      up in <data_dir>/spool; SIGTERM exits 0 and says how many deliveries
//      stay in the spool, which holds exactly those files; a second start
//      with the intake answering 200 delivers each of them (X-Profile-Id =
//      the spool file name) and empties the spool.
//
// Nothing is skipped: without `go` test b fails with a message. Run with:
//   node --import tsx --test --test-concurrency=1 test/integration/shutdown.test.ts

import assert from 'node:assert/strict';
import { writeFileSync } from 'node:fs';
import { createServer, type Socket } from 'node:net';
import { join } from 'node:path';
import { describe, it, type TestContext } from 'node:test';
import { DatakitIntake } from '../helpers/datakit-intake.js';
import { goSuite } from '../helpers/go-suite.js';
import { spawnCollector, waitFor, type CollectorProcess } from '../helpers/processes.js';
import { spooledIds } from '../helpers/spool.js';

const { cleanup, requireGo, tempDir, goTarget } = goSuite('pprof-shutdown-');

function collector(args: string[]): CollectorProcess {
  const c = spawnCollector(args);
  cleanup.add(() => c.kill());
  return c;
}

interface SilentServer {
  readonly url: string;
  /** Request heads received (the first line of each), in order. */
  readonly requests: string[];
  /** Connections accepted and not yet closed by the peer. */
  open(): number;
}

/** Accepts connections on loopback, reads what is sent, never writes a byte. */
async function silentServer(): Promise<SilentServer> {
  const sockets = new Set<Socket>();
  const requests: string[] = [];
  const server = createServer((s) => {
    sockets.add(s);
    let head = '';
    s.on('data', (d: Buffer) => {
      const before = head.length;
      head += d.toString('latin1');
      // One line per request head (keep-alive never happens: nothing is answered).
      if (before === 0) requests.push(head.split('\r\n')[0]!);
    });
    s.on('close', () => sockets.delete(s));
    s.on('error', () => undefined);
  });
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => resolve());
  });
  const { port } = server.address() as { port: number };
  cleanup.add(async () => {
    for (const s of sockets) s.destroy();
    await new Promise<void>((resolve) => server.close(() => resolve()));
  });
  return { url: `http://127.0.0.1:${port}`, requests, open: () => sockets.size };
}


function msgLines(c: CollectorProcess, re: RegExp): Array<Record<string, unknown>> {
  return c.logLines().filter((l) => typeof l.msg === 'string' && re.test(l.msg));
}

function stoppedLine(c: CollectorProcess): Record<string, unknown> {
  const l = c.logLines().find((x) => x.msg === 'stopped');
  assert.ok(l, `a "stopped" line; stdout tail:\n${c.stdout.slice(-3000)}`);
  return l;
}

/** Sends SIGTERM and waits for the exit (at most `ms`); returns the exit and how long it took. */
async function sigterm(c: CollectorProcess, ms: number): Promise<{ code: number | null; signal: NodeJS.Signals | null; tookMs: number }> {
  assert.ok(c.running, `collector exited before SIGTERM:\n${c.stdout.slice(-3000)}\n${c.stderr.slice(-2000)}`);
  const t0 = Date.now();
  c.signal('SIGTERM');
  const exit = await c.waitExit(ms);
  return { ...exit, tookMs: Date.now() - t0 };
}

describe('SIGTERM: shutdown_grace and the spool', () => {
  it('a: a scrape that never gets an answer (http_timeout 60s) is abandoned at the end of the 2s grace; exit 0', { timeout: 60_000 }, async (t: TestContext) => {
    const dir = tempDir();
    const silent = await silentServer();
    const q = (s: string) => JSON.stringify(s);
    const cfg = join(dir, 'profile.conf');
    writeFileSync(
      cfg,
      [
        '[agent]',
        'listen = ""',
        `data_dir = ${q(join(dir, 'data'))}`,
        'log_level = "info"',
        'shutdown_grace = "2s"',
        '',
        '[[inputs.profile.go]]',
        `url = ${q(silent.url)}`,
        'interval = "10s"',
        'http_timeout = "60s"',
        'service = "silent-svc"',
        '',
        '[[outputs.file]]',
        `dir = ${q(join(dir, 'profiles'))}`,
        '',
      ].join('\n'),
    );
    const c = collector(['-c', cfg]);
    // The first slot of some type comes within one interval.
    await waitFor(() => !c.running || silent.requests.length >= 1, 15_000, 'a scrape request at the silent target');
    // Let the request settle as "in flight" (the server has it; nothing will ever answer it).
    await waitFor(() => !c.running || silent.open() >= 1, 2_000, 'an open connection');
    const inFlight = silent.requests.length;
    t.diagnostic(`requests in flight at SIGTERM: ${silent.requests.join(' | ')}`);

    // 20 s is far below the 60 s http_timeout: only the grace period can end these scrapes.
    const exit = await sigterm(c, 20_000);
    t.diagnostic(`exit ${JSON.stringify(exit)}`);
    assert.deepEqual({ code: exit.code, signal: exit.signal }, { code: 0, signal: null }, `exit after SIGTERM; stdout tail:\n${c.stdout.slice(-3000)}`);
    // The scrapes in flight were given the grace period, not cut at once.
    assert.ok(exit.tookMs >= 1_500, `the scrapes in flight got the 2s grace period: exited ${exit.tookMs} ms after SIGTERM`);

    const summary = c.logLines().filter((l) => l.level === 'warn' && typeof l.abandoned_scrapes === 'number');
    assert.equal(summary.length, 1, `one warn line with abandoned_scrapes:\n${c.stdout.slice(-3000)}`);
    assert.match(String(summary[0]!.msg), /abandoned at the end of the grace period/);
    const abandoned = summary[0]!.abandoned_scrapes as number;
    assert.ok(abandoned >= inFlight, `abandoned_scrapes ${abandoned} counts the ${inFlight} request(s) the target was holding`);
    const perType = msgLines(c, /scrape abandoned at the end of the shutdown grace period/);
    assert.equal(perType.length, abandoned, `one line per abandoned scrape, naming its type: ${JSON.stringify(perType)}`);
    for (const l of perType) assert.ok(typeof l.type === 'string' && String(l.msg).startsWith(String(l.type)), JSON.stringify(l));
    assert.equal(stoppedLine(c).abandonedScrapes, abandoned, 'the "stopped" line reports the abandoned scrapes');
    // Our own shutdown is not the target's failure: no timeout or failure warnings for it.
    const failures = c.logLines().filter((l) => l.level === 'warn' && (l.err as { code?: string } | undefined)?.code !== undefined);
    assert.deepEqual(failures, [], 'no scrape failure is reported for the abandoned scrapes');
  });

  it('b: undelivered profiles stay in the spool across SIGTERM and are delivered, with the same ids, on the next start', { timeout: 120_000 }, async (t: TestContext) => {
    requireGo();
    const dir = tempDir();
    const dataDir = join(dir, 'data');
    const target = await goTarget({ parked: 7 });
    const intake = await new DatakitIntake().start();
    cleanup.add(() => intake.close());
    intake.setMode({ status: 503, body: 'intake overloaded' });

    const q = (s: string) => JSON.stringify(s);
    const cfg = join(dir, 'profile.conf');
    writeFileSync(
      cfg,
      [
        '[agent]',
        'listen = ""',
        `data_dir = ${q(dataDir)}`,
        'log_level = "info"',
        'shutdown_grace = "2s"',
        '',
        '[[inputs.profile.go]]',
        `url = ${q(target.url)}`,
        'interval = "10s"',
        'profile_duration = "2s"',
        'service = "spool-svc"',
        'env = "it"',
        'version = "1.0.0"',
        'enabled_types = ["cpu", "goroutine", "heap"]',
        '',
        '[[outputs.datakit]]',
        `url = ${q(intake.url)}`,
        '',
      ].join('\n'),
    );

    // Run 1: the intake refuses everything; profiles pile up in the spool.
    const first = collector(['-c', cfg]);
    await waitFor(
      async () => !first.running || intake.rejections.length > 0 || ((await spooledIds(dataDir, 'datakit')).length >= 3 && intake.attempts.length >= 1),
      45_000,
      'three profiles in the spool and a refused delivery',
    );
    assert.deepEqual(intake.rejections.map((r) => r.reason), [], 'the intake double takes the uploads as on contract (it answers 503 to them)');
    const exit1 = await sigterm(first, 20_000);
    const firstExitMs = Date.now();
    assert.deepEqual({ code: exit1.code, signal: exit1.signal }, { code: 0, signal: null }, `first run's exit; stdout tail:\n${first.stdout.slice(-3000)}`);

    const spooled = await spooledIds(dataDir, 'datakit');
    const ids = [...spooled].sort();
    t.diagnostic(`after the first run: ${spooled.length} profile(s) in the spool for datakit; intake attempts: ${intake.attempts.map((a) => a.status).join(',')}`);
    assert.ok(spooled.length >= 3, `the spool holds the undelivered profiles: ${spooled.join(', ')}`);
    assert.equal(intake.uploads.length, 0, 'the intake accepted nothing in the first run');
    for (const a of intake.attempts) {
      assert.equal(a.status, 503);
      assert.ok(a.profileId && ids.includes(a.profileId), `a refused delivery (${a.profileId}) is still in the spool`);
    }
    const stays = msgLines(first, /stay in the spool for the next start/);
    assert.equal(stays.length, 1, `one line saying what stays in the spool:\n${first.stdout.slice(-3000)}`);
    assert.equal(stays[0]!.undelivered, spooled.length, `the log's count (${String(stays[0]!.undelivered)}) is the number of spooled profiles (${spooled.length})`);
    assert.equal(stays[0]!.spooled, true);
    assert.match(String(stays[0]!.msg), new RegExp(`^${spooled.length} `), 'the message says how many');
    assert.equal(stoppedLine(first).undelivered, spooled.length, 'the "stopped" line reports them too');

    // Run 2: the intake is back; the spool is replayed.
    intake.setMode({});
    const second = collector(['-c', cfg]);
    const received = () => new Set(intake.uploads.map((u) => u.profileId));
    await waitFor(() => !second.running || ids.every((id) => received().has(id)), 30_000, 'every spooled profile at the intake');
    assert.ok(second.running, `the second run exited early:\n${second.stdout.slice(-3000)}`);
    const replay = msgLines(second, /^replaying \d+ profile delivery\(ies\) from the spool/);
    assert.equal(replay.length, 1, 'the start says it replays the spool');
    assert.equal(replay[0]!.profiles, ids.length, 'it replays every spooled profile');
    const replayed = intake.uploads.filter((u) => u.profileId !== undefined && ids.includes(u.profileId));
    t.diagnostic(`replayed uploads: ${replayed.map((u) => `${u.type}:${u.profileId}`).join(', ')}`);
    for (const u of replayed) {
      assert.equal(u.tags.service, 'spool-svc');
      // Scraped in the first run, not new scrapes of the second.
      assert.ok(u.endNs <= BigInt(firstExitMs) * 1_000_000n, `${u.profileId}: its window ended before the first run exited`);
    }
    assert.deepEqual(intake.rejections.map((r) => r.reason), [], 'the replayed uploads are on contract');
    // A delivered profile leaves the spool.
    await waitFor(async () => !(await spooledIds(dataDir, 'datakit')).some((id) => ids.includes(id)), 5_000, 'the replayed profiles to leave the spool');

    const exit2 = await sigterm(second, 20_000);
    assert.deepEqual({ code: exit2.code, signal: exit2.signal }, { code: 0, signal: null }, `second run's exit; stdout tail:\n${second.stdout.slice(-3000)}`);
    assert.equal(stoppedLine(second).undelivered, 0, 'nothing left undelivered with the intake up');
    assert.deepEqual(await spooledIds(dataDir, 'datakit'), [], 'the spool is empty');
  });
});
