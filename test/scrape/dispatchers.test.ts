// The scrape agent pool (src/scrape/dispatchers.ts): a target's types share
// keep-alive connections instead of opening one per request: at most
// LIMITS.connectionsPerTarget (the CPU window's and one the quick types take
// in turn), reused by the next scrapes, so 1,000 targets hold at most 2,000.

import assert from 'node:assert/strict';
import { createServer, type Server } from 'node:http';
import type { AddressInfo, Socket } from 'node:net';
import { after, describe, it } from 'node:test';
import { request } from 'undici';
import { LIMITS } from '../../src/core/limits.js';
import { DispatcherPool } from '../../src/scrape/dispatchers.js';

/** A loopback server that counts the connections it accepted; /slow answers after `slowMs`. */
async function countingServer(slowMs: number): Promise<{ server: Server; url: string; sockets: Set<Socket> }> {
  const sockets = new Set<Socket>();
  const server = createServer((req, res) => {
    const end = () => res.end('ok');
    if (req.url === '/slow') setTimeout(end, slowMs);
    else end();
  });
  server.keepAliveTimeout = 60_000;
  server.on('connection', (s: Socket) => sockets.add(s));
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', () => r()));
  return { server, url: `http://127.0.0.1:${(server.address() as AddressInfo).port}`, sockets };
}

describe('DispatcherPool: connections per target', () => {
  const pool = new DispatcherPool();
  const servers: Server[] = [];
  after(async () => {
    await pool.close();
    for (const s of servers) {
      s.closeAllConnections();
      await new Promise((r) => s.close(r));
    }
  });

  it('a CPU window and four quick types at once use two connections, and the next round reuses them', async () => {
    assert.equal(LIMITS.connectionsPerTarget, 2);
    const { server, url, sockets } = await countingServer(300);
    servers.push(server);
    const get = async (path: string) => {
      const r = await request(`${url}${path}`, { dispatcher: pool.get() });
      await r.body.text();
      return r.statusCode;
    };
    for (let round = 0; round < 3; round++) {
      const codes = await Promise.all([get('/slow'), get('/heap'), get('/goroutine'), get('/mutex'), get('/block')]);
      assert.deepEqual(codes, [200, 200, 200, 200, 200]);
      assert.ok(sockets.size <= LIMITS.connectionsPerTarget, `round ${round}: ${sockets.size} connections`);
    }
    assert.ok(sockets.size >= 1);
  });

  it('targets do not share connections: one pool per origin', async () => {
    const a = await countingServer(0);
    const b = await countingServer(0);
    servers.push(a.server, b.server);
    for (const { url } of [a, b]) {
      const r = await request(`${url}/heap`, { dispatcher: pool.get() });
      await r.body.text();
    }
    assert.equal(a.sockets.size, 1);
    assert.equal(b.sockets.size, 1);
  });
});
