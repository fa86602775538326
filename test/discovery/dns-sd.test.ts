// dns_sd against a real (tiny) DNS server on 127.0.0.1: SRV, A and AAAA
// answers go through node:dns's Resolver over UDP. Time is a FakeClock, so
// a refresh happens exactly when the test advances it; the DNS answer itself
// is real I/O, so each step waits (bounded) until the refresh has re-armed
// its timer, which it does once it has resolved every name.
//
//   node --import tsx --test test/discovery/dns-sd.test.ts

import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { parseConfig } from '../../src/config/load.js';
import { DnsSd, type DnsSdConfig } from '../../src/discovery/dns-sd.js';
import { DiscoveryManager } from '../../src/discovery/manager.js';
import { providerFactory } from '../../src/discovery/providers.js';
import { TestDnsServer } from '../helpers/dns-server.js';
import { FakeClock } from '../helpers/fake-clock.js';
import { cleanupAfterEach, waitFor } from '../helpers/processes.js';
import { capturingLogger, recordUpdates, type SdLogLine } from '../helpers/sd.js';
import { goTargetConfig } from '../helpers/targets.js';

const REFRESH_MS = 1000;
/** One refresh against a silent server takes ~2 s (3 tries of 200 ms, backing off); this bounds any one refresh. */
const REFRESH_DONE_MS = 10_000;

const cleanup = cleanupAfterEach();

interface LogLine extends SdLogLine {
  dns_name?: string;
}

async function dnsServer(): Promise<TestDnsServer> {
  const s = await new TestDnsServer().start();
  cleanup.add(() => s.close());
  return s;
}

/** A DnsSd on a FakeClock, with every update and log line recorded. */
async function startSd(server: TestDnsServer, over: Partial<DnsSdConfig> & Pick<DnsSdConfig, 'names' | 'type'>) {
  const clock = new FakeClock();
  const { logger, lines } = capturingLogger<LogLine>();
  const config: DnsSdConfig = { kind: 'dns_sd', refreshIntervalMs: REFRESH_MS, servers: [server.address], ...over };
  const sd = new DnsSd(config, clock, logger);
  const { updates, latest } = recordUpdates(sd, cleanup);

  /** Waits until the refresh in flight has finished (it re-arms its timer last). */
  const settled = () => waitFor(() => clock.pending === 1, REFRESH_DONE_MS, 'the dns_sd refresh to finish and re-arm its timer');
  /** Lets refresh_interval pass: exactly one timer-driven refresh, waited for. */
  const tick = async () => {
    const before = server.queries.length;
    assert.equal(clock.pending, 1, 'one refresh timer is armed before a tick');
    await clock.advance(REFRESH_MS);
    await settled();
    assert.ok(server.queries.length > before, 'the refresh asked the DNS server again');
  };
  await settled();
  const last = latest;
  const logsAbout = (name: string, code?: string) => lines.filter((l) => l.dns_name === name && (code === undefined || l.err?.code === code));
  return { sd, clock, updates, lines, tick, last, logsAbout };
}

const SVC = '_pprof._tcp.svc.test';
const OTHER = '_pprof._tcp.other.test';

describe('dns_sd with SRV records', () => {
  it('resolves each name to target:port groups, one per record, sorted, trailing dots stripped; Prometheus\'s __meta_dns_* labels', async () => {
    const dns = await dnsServer();
    dns.set(SVC, {
      SRV: [
        { priority: 10, weight: 5, port: 6061, target: 'b.svc.test.' },
        { priority: 10, weight: 5, port: 6060, target: 'a.svc.test.' },
        { priority: 20, weight: 1, port: 7070, target: 'a.svc.test' },
      ],
    });
    dns.set(OTHER, { SRV: [{ priority: 0, weight: 0, port: 9999, target: 'x.other.test' }] });
    const h = await startSd(dns, { names: [SVC, OTHER], type: 'SRV' });

    assert.equal(h.updates.length, 1);
    // As Prometheus labels them: the name asked, the record's target (rooted) and port.
    const srv = (name: string, host: string, port: number) => ({
      targets: [`${host}:${port}`],
      labels: { __meta_dns_name: name, __meta_dns_srv_record_target: `${host}.`, __meta_dns_srv_record_port: String(port) },
    });
    assert.deepEqual(h.last(), [srv(SVC, 'a.svc.test', 6060), srv(SVC, 'a.svc.test', 7070), srv(SVC, 'b.svc.test', 6061), srv(OTHER, 'x.other.test', 9999)]);
    assert.ok(dns.queries.some((q) => q.name === SVC && q.type === 33), 'SRV questions were asked');
    assert.equal(h.lines.filter((l) => l.level === 'warn').length, 0);
  });

  it('picks up an added record at the next refresh, drops a removed one, and stays quiet when nothing changed', async () => {
    const dns = await dnsServer();
    dns.set(SVC, { SRV: [{ priority: 10, weight: 5, port: 6060, target: 'a.svc.test' }] });
    const h = await startSd(dns, { names: [SVC], type: 'SRV' });
    assert.deepEqual(h.last(), [{ targets: ['a.svc.test:6060'], labels: { __meta_dns_name: SVC, __meta_dns_srv_record_target: 'a.svc.test.', __meta_dns_srv_record_port: '6060' } }]);

    // Nothing changed: the servers are asked again, no update is sent.
    await h.tick();
    assert.equal(h.updates.length, 1);

    // Added.
    dns.set(SVC, {
      SRV: [
        { priority: 10, weight: 5, port: 6060, target: 'a.svc.test' },
        { priority: 10, weight: 5, port: 6060, target: 'c.svc.test' },
      ],
    });
    assert.equal(h.updates.length, 1, 'no refresh before the interval passed');
    await h.tick();
    assert.equal(h.updates.length, 2);
    assert.deepEqual(h.last().flatMap((g) => g.targets), ['a.svc.test:6060', 'c.svc.test:6060']);

    // Removed.
    dns.set(SVC, { SRV: [{ priority: 10, weight: 5, port: 6060, target: 'c.svc.test' }] });
    await h.tick();
    assert.equal(h.updates.length, 3);
    assert.deepEqual(h.last().flatMap((g) => g.targets), ['c.svc.test:6060']);
  });

  it('a name that is gone (NXDOMAIN) loses its targets, says so once, and comes back when it resolves again', async () => {
    const dns = await dnsServer();
    dns.set(SVC, { SRV: [{ priority: 10, weight: 5, port: 6060, target: 'a.svc.test' }] });
    dns.set(OTHER, { SRV: [{ priority: 10, weight: 5, port: 6060, target: 'o.other.test' }] });
    const h = await startSd(dns, { names: [SVC, OTHER], type: 'SRV' });

    dns.delete(SVC);
    await h.tick();
    assert.deepEqual(h.last(), [
      { targets: [], labels: { __meta_dns_name: SVC } },
      { targets: ['o.other.test:6060'], labels: { __meta_dns_name: OTHER, __meta_dns_srv_record_target: 'o.other.test.', __meta_dns_srv_record_port: '6060' } },
    ]);
    await h.tick();
    await h.tick();
    assert.equal(h.updates.length, 2, 'still gone: no further updates');
    assert.equal(h.logsAbout(SVC, 'ENOTFOUND').length, 1, 'NXDOMAIN is logged once over three refreshes');
    assert.equal(h.logsAbout(OTHER).length, 0);

    dns.set(SVC, { SRV: [{ priority: 10, weight: 5, port: 6062, target: 'd.svc.test' }] });
    await h.tick();
    assert.deepEqual(h.last()[0]!.targets, ['d.svc.test:6062']);
    assert.ok(h.lines.some((l) => l.dns_name === SVC && l.level === 'info' && /resolves again/.test(l.msg)), 'the recovery is logged');
  });
});

describe('dns_sd with A and AAAA records', () => {
  it('A: every address with the configured port; an emptied name (NODATA) loses its targets', async () => {
    const dns = await dnsServer();
    dns.set('pprof.test', { A: ['127.0.0.2', '127.0.0.1'], AAAA: ['::1'] });
    const h = await startSd(dns, { names: ['pprof.test.'], type: 'A', port: 6060 });
    assert.deepEqual(h.last(), [{ targets: ['127.0.0.1:6060', '127.0.0.2:6060'], labels: { __meta_dns_name: 'pprof.test.' } }]);
    assert.ok(dns.queries.every((q) => q.type === 1), 'only A questions for type A');

    dns.set('pprof.test', { A: ['127.0.0.1', '127.0.0.2', '127.0.0.3'] });
    await h.tick();
    assert.deepEqual(h.last()[0]!.targets, ['127.0.0.1:6060', '127.0.0.2:6060', '127.0.0.3:6060']);

    // The name stays, its A records go (AAAA left): NOERROR without answers.
    dns.set('pprof.test', { AAAA: ['::1'] });
    await h.tick();
    assert.deepEqual(h.last()[0]!.targets, []);
    await h.tick();
    assert.equal(h.logsAbout('pprof.test.', 'ENODATA').length, 1, 'NODATA is logged once');
  });

  it('AAAA: bracketed addresses with the port', async () => {
    const dns = await dnsServer();
    dns.set('v6.test', { AAAA: ['fd00::1:2', '::1'], A: ['127.0.0.1'] });
    const h = await startSd(dns, { names: ['v6.test'], type: 'AAAA', port: 8080 });
    assert.deepEqual(h.last(), [{ targets: ['[::1]:8080', '[fd00::1:2]:8080'], labels: { __meta_dns_name: 'v6.test' } }]);

    dns.set('v6.test', { AAAA: ['::1'] });
    await h.tick();
    assert.deepEqual(h.last()[0]!.targets, ['[::1]:8080']);
  });
});

describe('dns_sd when the server fails', () => {
  it('a silent server keeps the last good targets, is logged once, and recovery applies what changed', { timeout: 60_000 }, async () => {
    const dns = await dnsServer();
    dns.set('pprof.test', { A: ['127.0.0.1'] });
    dns.set('other.test', { A: ['127.0.0.9'] });
    const h = await startSd(dns, { names: ['pprof.test', 'other.test'], type: 'A', port: 6060 });
    const good = h.last();
    assert.deepEqual(good.map((g) => g.targets), [['127.0.0.1:6060'], ['127.0.0.9:6060']]);

    dns.mode = 'silent';
    dns.delete('other.test'); // would be NXDOMAIN, but nobody answers
    await h.tick();
    await h.tick();
    await h.tick();
    assert.equal(h.updates.length, 1, 'no update while the server is silent: the last good list stands');
    for (const name of ['pprof.test', 'other.test']) {
      const said = h.logsAbout(name);
      assert.equal(said.length, 1, `one log line for ${name} over three silent refreshes, got ${JSON.stringify(said)}`);
      assert.equal(said[0]!.level, 'warn');
      assert.equal(said[0]!.err?.code, 'ETIMEOUT');
      assert.match(said[0]!.msg, /keeping its last good targets/);
    }

    // SERVFAIL is another failure: logged (it is a different one), targets kept.
    dns.mode = 'servfail';
    await h.tick();
    assert.equal(h.updates.length, 1);
    assert.equal(h.logsAbout('pprof.test', 'ESERVFAIL').length, 1);

    dns.mode = 'answer';
    dns.set('pprof.test', { A: ['127.0.0.1', '127.0.0.5'] });
    await h.tick();
    assert.equal(h.updates.length, 2);
    assert.deepEqual(h.last().map((g) => g.targets), [['127.0.0.1:6060', '127.0.0.5:6060'], []]);
  });

  it('a server that never answered yet sends no list at all', { timeout: 30_000 }, async () => {
    const dns = await dnsServer();
    dns.mode = 'silent';
    dns.set('pprof.test', { A: ['127.0.0.1'] });
    const h = await startSd(dns, { names: ['pprof.test'], type: 'A', port: 6060 });
    assert.equal(h.updates.length, 0);
    assert.equal(h.logsAbout('pprof.test', 'ETIMEOUT').length, 1);
    dns.mode = 'answer';
    await h.tick();
    assert.deepEqual(h.updates, [[{ targets: ['127.0.0.1:6060'], labels: { __meta_dns_name: 'pprof.test' } }]]);
  });

  it('stop() ends a refresh in flight at once: no update, no timer left', { timeout: 30_000 }, async () => {
    const dns = await dnsServer();
    dns.set('pprof.test', { A: ['127.0.0.1'] });
    const h = await startSd(dns, { names: ['pprof.test'], type: 'A', port: 6060 });
    dns.mode = 'silent';
    dns.set('pprof.test', { A: ['127.0.0.2'] });
    const asked = dns.queries.length;
    await h.clock.advance(REFRESH_MS);
    await waitFor(() => dns.queries.length > asked, 5000, 'the refresh to send its question');
    const t0 = Date.now();
    await h.sd.stop();
    dns.mode = 'answer'; // a late retry must not be answered into an update either
    await new Promise((r) => setTimeout(r, 1500));
    assert.equal(h.updates.length, 1);
    assert.equal(h.clock.pending, 0, 'no refresh is armed after stop');
    assert.ok(Date.now() - t0 < 5000);
  });
});

describe('dns_sd in the discovery framework', () => {
  it('a [inputs.profile.go.dns_sd] block becomes a DnsSd whose names turn into scrape targets', async () => {
    const dns = await dnsServer();
    dns.set('pprof.test', { A: ['127.0.0.1', '127.0.0.2'] });
    const config = parseConfig(
      [
        '[agent]',
        'listen = ""',
        '[[inputs.profile.go]]',
        'service = "dns-svc"',
        'enabled_types = ["heap"]',
        '[inputs.profile.go.dns_sd]',
        'names = ["pprof.test."]',
        'type = "A"',
        'port = 6060',
        'refresh_interval = "1s"',
        `servers = ["${dns.address}"]`,
        '',
      ].join('\n'),
      'dns.conf',
      { env: {}, osHostname: 'dns-host' },
    );
    assert.equal(config.templates.length, 1);
    assert.deepEqual(config.templates[0]!.discovery, { kind: 'dns_sd', names: ['pprof.test.'], type: 'A', port: 6060, refreshIntervalMs: 1000, servers: [dns.address] });

    const clock = new FakeClock();
    const { logger } = capturingLogger();
    let changes = 0;
    const manager = new DiscoveryManager(providerFactory({ clock, logger, env: {} }), logger, () => changes++);
    cleanup.add(() => manager.stop());
    manager.sync(config.templates);
    await waitFor(() => changes >= 1, REFRESH_DONE_MS, 'the first dns_sd list');
    assert.deepEqual(manager.targets().map((t) => t.baseUrl).sort(), ['http://127.0.0.1:6060/debug/pprof', 'http://127.0.0.2:6060/debug/pprof']);
    assert.ok(manager.targets().every((t) => t.service === 'dns-svc'));

    dns.set('pprof.test', { A: ['127.0.0.2'] });
    await waitFor(() => clock.pending === 1, REFRESH_DONE_MS, 'the timer to be re-armed');
    await clock.advance(1000);
    await waitFor(() => changes >= 2, REFRESH_DONE_MS, 'the second dns_sd list');
    assert.deepEqual(manager.targets().map((t) => t.baseUrl), ['http://127.0.0.2:6060/debug/pprof']);
  });

  it('the factory refuses an A block without a port instead of scraping port "undefined"', () => {
    const { logger } = capturingLogger();
    const factory = providerFactory({ clock: new FakeClock(), logger, env: {} });
    assert.throws(() => factory(goTargetConfig({ baseUrl: '', discovery: { kind: 'dns_sd', names: ['x.test'], type: 'A', refreshIntervalMs: 1000 } })), /needs a port/);
    const sd = factory(goTargetConfig({ baseUrl: '', discovery: { kind: 'dns_sd', names: ['_p._tcp.x.test'], type: 'SRV', refreshIntervalMs: 1000 } }));
    assert.ok(sd instanceof DnsSd);
  });
});
