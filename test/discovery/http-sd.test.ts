// http_sd against a local node:http server whose answer the test changes.
// Time is a FakeClock: a refresh happens when the test advances it past
// refresh_interval; the HTTP exchange is real, so each step waits (bounded)
// until the refresh has re-armed its timer, which it does last.
//
//   node --import tsx --test test/discovery/http-sd.test.ts

import assert from 'node:assert/strict';
import { createServer, type IncomingHttpHeaders, type Server, type ServerResponse } from 'node:http';
import { describe, it } from 'node:test';
import { Agent } from 'undici';
import { HttpSd } from '../../src/discovery/http-sd.js';
import { FakeClock } from '../helpers/fake-clock.js';
import { cleanupAfterEach, waitFor } from '../helpers/processes.js';
import { capturingLogger, flat, metaOf, recordUpdates } from '../helpers/sd.js';
import { closeServer, listenLocal } from '../helpers/servers.js';

const REFRESH_MS = 30_000;
const STEP_MS = 10_000;

const cleanup = cleanupAfterEach();

/** What the SD server answers; the test changes it between refreshes. */
type Answer = { status: number; body: string | Buffer } | { hang: true } | { bytes: number };

class SdServer {
  answer: Answer = { status: 200, body: '[]' };
  readonly requests: Array<{ url: string; headers: IncomingHttpHeaders }> = [];
  private server: Server | null = null;
  url = '';

  async start(): Promise<this> {
    this.server = createServer((req, res) => {
      this.requests.push({ url: req.url ?? '', headers: req.headers });
      res.on('error', () => undefined);
      this.respond(res);
    });
    this.url = `http://127.0.0.1:${await listenLocal(this.server)}/sd?job=pprof`;
    return this;
  }

  private respond(res: ServerResponse): void {
    const a = this.answer;
    if ('hang' in a) return; // never answers; the client's timeout ends it
    if ('bytes' in a) {
      // A valid-looking JSON array padded with spaces to `bytes`, sent in 1 MiB chunks.
      res.writeHead(200, { 'content-type': 'application/json' });
      const chunk = Buffer.alloc(1024 * 1024, 0x20);
      let left = a.bytes - 2;
      res.write('[');
      const pump = () => {
        while (left > 0) {
          const n = Math.min(left, chunk.length);
          left -= n;
          if (!res.write(chunk.subarray(0, n))) return void res.once('drain', pump);
        }
        res.end(']');
      };
      pump();
      return;
    }
    res.writeHead(a.status, { 'content-type': 'application/json' });
    res.end(a.body);
  }

  async close(): Promise<void> {
    if (this.server) await closeServer(this.server);
  }
}

const ok = (groups: unknown) => ({ status: 200, body: JSON.stringify(groups) });

async function setup(first: Answer, timeoutMs = 5_000) {
  const server = await new SdServer().start();
  cleanup.add(() => server.close());
  server.answer = first;
  const agent = new Agent({ keepAliveTimeout: 60_000, connections: 1 });
  cleanup.add(() => agent.destroy());
  const clock = new FakeClock();
  const { logger, lines } = capturingLogger();
  const sd = new HttpSd(server.url, REFRESH_MS, timeoutMs, agent, clock, logger);
  const { updates, latest } = recordUpdates(sd, cleanup);

  /** The refresh in flight has finished: it re-arms its timer last. */
  const settled = () => waitFor(() => clock.pending === 1, 10_000, 'the http_sd refresh to finish and re-arm its timer');
  /** refresh_interval passes in steps: exactly one timer-driven request, at the end. */
  const tick = async () => {
    const before = server.requests.length;
    assert.equal(clock.pending, 1, 'one refresh timer is armed before a tick');
    for (let t = 0; t < REFRESH_MS - STEP_MS; t += STEP_MS) {
      await clock.advance(STEP_MS);
      assert.equal(server.requests.length, before, 'no request before refresh_interval has passed');
    }
    await clock.advance(STEP_MS);
    await waitFor(() => server.requests.length === before + 1, 10_000, 'the refresh request');
    await settled();
  };
  await settled();
  const last = () => flat(latest());
  const warns = () => lines.filter((l) => l.level === 'warn');
  return { server, sd, clock, updates, lines, tick, last, warns, latest };
}

describe('HttpSd', () => {
  it('parses the groups; a change appears on the next refresh; an unchanged answer sends nothing', async () => {
    const s = await setup(
      ok([
        { targets: ['10.0.0.1:6060', '10.0.0.2:6060'], labels: { service: 'checkout', __scheme__: 'https' } },
        { targets: ['10.0.1.1:6060'] },
      ]),
    );
    assert.deepEqual(s.last(), ['10.0.0.1:6060 {"__scheme__":"https","service":"checkout"}', '10.0.0.2:6060 {"__scheme__":"https","service":"checkout"}', '10.0.1.1:6060 {}']);
    assert.equal(s.updates.length, 1);
    // Every target carries __meta_url (for relabel rules), as in Prometheus.
    const meta = JSON.stringify({ __meta_url: s.server.url });
    assert.deepEqual(metaOf(s.latest()), [`10.0.0.1:6060 ${meta}`, `10.0.0.2:6060 ${meta}`, `10.0.1.1:6060 ${meta}`]);
    // What Prometheus sends, too.
    const req = s.server.requests[0]!;
    assert.equal(req.url, '/sd?job=pprof');
    assert.equal(req.headers.accept, 'application/json');
    assert.equal(req.headers['x-prometheus-refresh-interval-seconds'], '30');

    // Unchanged: no update.
    await s.tick();
    assert.equal(s.updates.length, 1, 'the same list is not sent twice');

    // Added and removed targets show on the next refresh, not before.
    s.server.answer = ok([{ targets: ['10.0.0.1:6060', '10.0.0.3:6060'], labels: { service: 'checkout' } }]);
    await s.tick();
    assert.equal(s.updates.length, 2);
    assert.deepEqual(s.last(), ['10.0.0.1:6060 {"service":"checkout"}', '10.0.0.3:6060 {"service":"checkout"}']);

    // An empty list is an answer too: every target goes.
    s.server.answer = ok([]);
    await s.tick();
    assert.deepEqual(s.last(), []);
    assert.deepEqual(s.warns(), []);
  });

  it('a 500 keeps the last list, logged once; when it answers again, that is said', async () => {
    const s = await setup(ok([{ targets: ['10.0.0.1:6060'] }]));
    s.server.answer = { status: 500, body: 'database is down' };
    await s.tick();
    await s.tick();
    await s.tick();
    assert.equal(s.updates.length, 1, 'no update while the server fails');
    assert.deepEqual(s.last(), ['10.0.0.1:6060 {}']);
    assert.equal(s.warns().length, 1, `one warning for three failures: ${JSON.stringify(s.warns())}`);
    assert.match(s.warns()[0]!.msg, /answered 500; keeping the last good targets/);

    s.server.answer = ok([{ targets: ['10.0.0.2:6060'] }]);
    await s.tick();
    assert.deepEqual(s.last(), ['10.0.0.2:6060 {}']);
    assert.equal(s.lines.filter((l) => l.level === 'info' && /answers again/.test(l.msg)).length, 1);
    // A failure after recovery is news again.
    s.server.answer = { status: 503, body: '' };
    await s.tick();
    assert.equal(s.warns().length, 2);
    assert.match(s.warns()[1]!.msg, /answered 503/);
  });

  it('invalid JSON, or the wrong shape, keeps the last list, logged once per problem', async () => {
    const s = await setup(ok([{ targets: ['10.0.0.1:6060'], labels: { env: 'prod' } }]));
    s.server.answer = { status: 200, body: '[{"targets": ["10.0.0.2:6060"' };
    await s.tick();
    await s.tick();
    assert.equal(s.warns().length, 1, JSON.stringify(s.warns()));
    assert.match(s.warns()[0]!.err?.message ?? '', /JSON|Unexpected|Expected/);
    s.server.answer = ok({ targets: ['10.0.0.2:6060'] });
    await s.tick();
    await s.tick();
    assert.equal(s.warns().length, 2);
    assert.match(s.warns()[1]!.err?.message ?? '', /expected a JSON array/);
    s.server.answer = ok([{ targets: ['10.0.0.2:6060'], labels: { port: 6060 } }]);
    await s.tick();
    assert.equal(s.warns().length, 3);
    assert.match(s.warns()[2]!.err?.message ?? '', /label "port" must be a string/);
    assert.equal(s.updates.length, 1);
    assert.deepEqual(s.last(), ['10.0.0.1:6060 {"env":"prod"}']);
  });

  it('an answer larger than 16 MiB is refused; exactly 16 MiB is read', async () => {
    const s = await setup(ok([{ targets: ['10.0.0.1:6060'] }]));
    s.server.answer = { bytes: 16 * 1024 * 1024 + 1 };
    await s.tick();
    assert.equal(s.updates.length, 1, 'the large answer was not used');
    assert.deepEqual(s.last(), ['10.0.0.1:6060 {}']);
    assert.equal(s.warns().length, 1);
    assert.match(s.warns()[0]!.msg, /larger than 16 MiB/);
    // At the cap it is accepted (an empty list, padded with spaces).
    s.server.answer = { bytes: 16 * 1024 * 1024 };
    await s.tick();
    assert.equal(s.updates.length, 2);
    assert.deepEqual(s.last(), []);
  });

  it('an SD server that does not answer: the timeout ends the request; the last list stays', async () => {
    const s = await setup(ok([{ targets: ['10.0.0.1:6060'] }]), 300);
    s.server.answer = { hang: true };
    await s.tick();
    assert.deepEqual(s.last(), ['10.0.0.1:6060 {}']);
    assert.equal(s.warns().length, 1);
    assert.match(s.warns()[0]!.msg, /keeping the last good targets/);
  });

  it('stop(): no timer left, no request after it', async () => {
    const s = await setup(ok([{ targets: ['10.0.0.1:6060'] }]));
    await s.sd.stop();
    assert.equal(s.clock.pending, 0);
    const n = s.server.requests.length;
    await s.clock.advance(REFRESH_MS * 3);
    assert.equal(s.server.requests.length, n);
  });
});
