// dns_sd end to end: the real Go fixture, a tiny DNS server on 127.0.0.1
// (test/helpers/dns-server.ts) and the collector process, whose only
// [[inputs.profile.go]] block is a dns_sd template for an A name.
//
//   1. the name resolves to 127.0.0.1: the fixture is scraped (its request
//      log grows, profile files appear);
//   2. the A record is removed: within about two refreshes the collector
//      drops the target, and from then on the fixture is not asked again for
//      longer than one scrape interval;
//   3. SIGTERM: exit 0.
//
//   node --import tsx --test --test-concurrency=1 test/integration/dns-sd.test.ts

import assert from 'node:assert/strict';
import { existsSync, readdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { before, describe, it } from 'node:test';
import { goFixtureProblem, readRequestLog, startGoTarget } from '../../fixtures/go-target/harness.js';
import { TestDnsServer } from '../helpers/dns-server.js';
import { cleanupAfterEach, sleep, spawnCollector, waitFor, type CollectorProcess } from '../helpers/processes.js';

const NAME = 'pprof.test.';
const SERVICE = 'dns-svc';
const INTERVAL_S = 10;
const REFRESH_S = 2;
const HEAP = '/debug/pprof/heap';
const GOROUTINE = '/debug/pprof/goroutine';

const cleanup = cleanupAfterEach();
let goProblem: string | null = null;
before(() => {
  goProblem = goFixtureProblem();
});

const q = (s: string) => JSON.stringify(s);

function logsWith(c: CollectorProcess, msg: string): Array<Record<string, unknown>> {
  return c.logLines().filter((l) => typeof l.msg === 'string' && l.msg.includes(msg));
}

function pprofFiles(dir: string): string[] {
  return existsSync(dir) ? readdirSync(dir).filter((f) => f.endsWith('.pprof')) : [];
}

describe('dns_sd end to end', () => {
  it('scrapes what an A name resolves to, and stops when the record goes', { timeout: 120_000 }, async () => {
    if (goProblem) assert.fail(goProblem);
    const dir = cleanup.tempDir('pprof-dns-sd-');
    const requestLog = join(dir, 'requests.jsonl');
    const target = await startGoTarget({ parked: 5, requestLog });
    cleanup.add(() => target.kill());
    const dns = await new TestDnsServer().start();
    cleanup.add(() => dns.close());
    dns.set(NAME, { A: ['127.0.0.1'] });

    const filesDir = join(dir, 'profiles');
    const cfg = join(dir, 'dns.conf');
    writeFileSync(
      cfg,
      [
        '[agent]',
        'hostname = "dns-host"',
        'listen = ""',
        `data_dir = ${q(join(dir, 'data'))}`,
        'log_level = "debug"',
        'shutdown_grace = "5s"',
        '',
        '[[inputs.profile.go]]',
        `interval = "${INTERVAL_S}s"`,
        `service = ${q(SERVICE)}`,
        'enabled_types = ["goroutine", "heap"]',
        '[inputs.profile.go.dns_sd]',
        `names = [${q(NAME)}]`,
        'type = "A"',
        `port = ${target.port}`,
        `refresh_interval = "${REFRESH_S}s"`,
        `servers = [${q(dns.address)}]`,
        '',
        '[[outputs.file]]',
        `dir = ${q(filesDir)}`,
        '',
      ].join('\n'),
    );

    const c = spawnCollector(['-c', cfg]);
    cleanup.add(() => c.kill());
    const alive = () => {
      if (!c.running) assert.fail(`the collector exited early:\n${c.stdout.slice(-3000)}\n${c.stderr.slice(-2000)}`);
    };
    const requested = () => readRequestLog(requestLog).filter((l) => l.path === HEAP || l.path === GOROUTINE);

    // 1. Found through DNS and scraped: two rounds of requests, files written.
    await waitFor(() => (alive(), requested().filter((l) => l.path === HEAP).length >= 2), 2 * INTERVAL_S * 1000 + 15_000, 'two heap scrapes of the fixture found through dns_sd');
    await waitFor(() => (alive(), pprofFiles(join(filesDir, SERVICE)).length >= 1), 15_000, `profile files under ${join(filesDir, SERVICE)}`);
    assert.ok(dns.queries.some((x) => x.name === 'pprof.test' && x.type === 1), 'the collector asked our DNS server for the A record');
    const added = logsWith(c, 'targets changed by discovery');
    assert.ok(added.length >= 1 && Number(added[0]!.added) >= 1, `the discovery added the target: ${JSON.stringify(added)}`);

    // 2. The record goes: the name still exists, without A records (NODATA).
    const changesBefore = logsWith(c, 'targets changed by discovery').length;
    const queriesBefore = dns.queries.length;
    dns.set(NAME, {});
    await waitFor(
      () => (alive(), logsWith(c, 'targets changed by discovery').slice(changesBefore).some((l) => Number(l.removed) >= 1)),
      2 * REFRESH_S * 1000 + 10_000,
      'the collector to drop the target after its record was removed',
    );
    assert.ok(dns.queries.length > queriesBefore, 'it re-resolved the name');
    // A scrape already under way may still finish; after that, nothing for longer than an interval.
    await sleep(2000);
    const settled = requested().length;
    await sleep(INTERVAL_S * 1000 + 3000);
    alive();
    const late = requested().slice(settled);
    assert.equal(late.length, 0, `the fixture was scraped after its record was removed: ${JSON.stringify(late)}`);
    assert.ok(dns.queries.length > queriesBefore + 2, 'the collector kept re-resolving the name meanwhile');

    // 3. Clean shutdown.
    c.signal('SIGTERM');
    const exit = await c.waitExit(15_000);
    assert.deepEqual(exit, { code: 0, signal: null }, c.stderr.slice(-2000));
  });
});
