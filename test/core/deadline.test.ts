// core/deadline.ts: a request's deadline tied to a parent signal. And a
// scrape or a delivery tied to the collector's long-lived shutdown signal
// must leave nothing behind on it. On Node 20, AbortSignal.any([deadline,
// parent]) adds a WeakRef to the parent's set of dependants on every call,
// and nothing removes it while the parent lives: at 200 targets the main
// thread's heap grew by ~100 WeakRefs a second (two heap snapshots of the
// soak, 8 minutes apart: +50,367 WeakRefs, +1.6 MB, and the arrays holding them).

import assert from 'node:assert/strict';
import { getEventListeners } from 'node:events';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { after, before, describe, test } from 'node:test';
import { Agent } from 'undici';
import { deadlineSignal } from '../../src/core/deadline.js';
import { postProfile } from '../../src/output/post.js';
import { httpScrape } from '../../src/scrape/http-scrape.js';
import { waitFor } from '../helpers/processes.js';

/** What a signal holds on to for others: its weak dependants (Node's own set, where there is one) and its abort listeners. */
function heldBy(signal: AbortSignal): { dependants: number; listeners: number } {
  const sym = Object.getOwnPropertySymbols(signal).find((s) => s.description === 'kDependantSignals');
  const set = sym ? (signal as unknown as Record<symbol, Set<unknown> | undefined>)[sym] : undefined;
  return { dependants: set?.size ?? 0, listeners: getEventListeners(signal, 'abort').length };
}

let server: Server;
let url = '';
const dispatcher = new Agent({ connections: 4 });

before(async () => {
  server = createServer((req, res) => {
    req.resume();
    req.on('end', () => res.end('ok'));
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  url = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
});
after(async () => {
  await dispatcher.close();
  await new Promise<void>((r) => server.close(() => r()));
});

const N = 300;

describe('requests on a long-lived signal leave nothing on it', () => {
  test(`${N} scrapes: no dependants, no listeners left on the parent signal`, async () => {
    const parent = new AbortController().signal;
    for (let i = 0; i < N; i++) {
      await httpScrape({ url: `${url}/debug/pprof/heap`, dispatcher, timeoutMs: 10_000, maxBodyBytes: 1024, signal: parent });
    }
    // One listener serves every request that follows the parent.
    assert.deepEqual(heldBy(parent), { dependants: 0, listeners: 1 });
  });

  test(`${N} deliveries: no dependants, no listeners left on the parent signal`, async () => {
    const parent = new AbortController().signal;
    for (let i = 0; i < N; i++) {
      await postProfile(`${url}/intake`, { dispatcher, headers: {}, body: Buffer.from('x'), timeoutMs: 10_000, signal: parent, what: 'POST test', secrets: [] });
    }
    // One listener serves every request that follows the parent.
    assert.deepEqual(heldBy(parent), { dependants: 0, listeners: 1 });
  });
});

describe('deadlineSignal', () => {
  test('aborts at its deadline with a TimeoutError, and says it timed out', async () => {
    const d = deadlineSignal(5);
    await waitFor(() => d.signal.aborted, 5_000, 'the deadline');
    assert.equal((d.signal.reason as Error).name, 'TimeoutError');
    assert.equal(d.timedOut(), true);
    d.dispose();
  });

  test("aborts when the parent does, with the parent's reason; not a timeout", () => {
    const parent = new AbortController();
    const a = deadlineSignal(60_000, parent.signal);
    const b = deadlineSignal(60_000, parent.signal);
    assert.equal(getEventListeners(parent.signal, 'abort').length, 1, 'one listener for both');
    const reason = new Error('shutdown');
    parent.abort(reason);
    assert.equal(a.signal.reason, reason);
    assert.equal(b.signal.reason, reason);
    assert.equal(a.timedOut(), false);
    a.dispose();
    b.dispose();
  });

  test('a parent already aborted aborts it at once', () => {
    const parent = new AbortController();
    parent.abort(new Error('gone'));
    const d = deadlineSignal(60_000, parent.signal);
    assert.equal(d.signal.aborted, true);
    d.dispose();
  });

  test('dispose: no abort at the deadline, and the parent no longer aborts it', async () => {
    const parent = new AbortController();
    const d = deadlineSignal(5, parent.signal);
    d.dispose();
    d.dispose();
    await new Promise((r) => setTimeout(r, 30));
    parent.abort();
    assert.equal(d.signal.aborted, false);
    assert.equal(d.timedOut(), false);
  });
});
