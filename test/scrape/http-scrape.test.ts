// httpScrape() against every hostile target mode (test/helpers/hostile-server.ts):
// the right ScrapeError code (or, for 200 garbage, the right profile error
// from the codec), always within the deadline, and a body past maxBodyBytes
// refused without reading the rest of it.
//
//   node --import tsx --test test/scrape/http-scrape.test.ts

import assert from 'node:assert/strict';
import { performance } from 'node:perf_hooks';
import { after, before, describe, test } from 'node:test';
import { gzipSync } from 'node:zlib';
import { Agent } from 'undici';
import { LIMITS } from '../../src/core/limits.js';
import { inflateProfile, parseRawProfile } from '../../src/profile/codec.js';
import { InvalidProfileError, ProfileTooLargeError } from '../../src/profile/errors.js';
import { httpScrape, ScrapeError, type HttpScrapeResponse, type ScrapeErrorCode } from '../../src/scrape/http-scrape.js';
import { startAllHostileServers, startHostileServer, type HostileMode, type HostileServer } from '../helpers/hostile-server.js';
import { sleep, waitFor } from '../helpers/processes.js';

/** Short enough to keep the file quick; hang and slow run into it. */
const TIMEOUT_MS = 3_000;
/** The brief's bound: an answer (good or bad) within http_timeout + 2 s. */
const BOUND_MS = TIMEOUT_MS + 2_000;
const CPU_PATH = '/debug/pprof/profile?seconds=9';
const HEAP_PATH = '/debug/pprof/heap';

let servers: Map<HostileMode, HostileServer>;
let agent: Agent;

before(async () => {
  servers = await startAllHostileServers();
  agent = new Agent({ keepAliveTimeout: 60_000, connections: 4, pipelining: 1 });
});

after(async () => {
  await agent?.destroy();
  await Promise.allSettled([...(servers?.values() ?? [])].map((s) => s.close()));
});

function server(mode: HostileMode): HostileServer {
  const s = servers.get(mode);
  assert.ok(s, `no ${mode} server`);
  return s;
}

interface Timed<T> {
  readonly ms: number;
  readonly value?: T;
  readonly error?: unknown;
}

async function timed<T>(fn: () => Promise<T>): Promise<Timed<T>> {
  const t0 = performance.now();
  try {
    const value = await fn();
    return { ms: performance.now() - t0, value };
  } catch (error) {
    return { ms: performance.now() - t0, error };
  }
}

function scrape(url: string, maxBodyBytes: number = LIMITS.maxBodyBytes, timeoutMs = TIMEOUT_MS): Promise<HttpScrapeResponse> {
  return httpScrape({ url, dispatcher: agent, timeoutMs, maxBodyBytes });
}

function expectScrapeError(r: Timed<unknown>, code: ScrapeErrorCode, what: string): ScrapeError {
  assert.ok(r.ms < BOUND_MS, `${what}: took ${r.ms.toFixed(0)} ms, bound ${BOUND_MS} ms`);
  assert.ok(r.error instanceof ScrapeError, `${what}: expected a ScrapeError ${code}, got ${r.error ? String(r.error) : `a ${(r.value as HttpScrapeResponse).body.length}-byte body`}`);
  assert.equal(r.error.code, code, `${what}: ${r.error.message}`);
  return r.error;
}

/** A 200 whose body is handed to the profile stage: the codec says what it is. */
async function profileError(res: HttpScrapeResponse): Promise<unknown> {
  try {
    const raw = await inflateProfile(res.body, LIMITS.maxDecompressedBytes);
    parseRawProfile(raw, res.body, res.contentType);
    return null;
  } catch (err) {
    return err;
  }
}

describe('httpScrape against hostile targets', () => {
  const garbage: Array<{ mode: HostileMode; error: typeof InvalidProfileError | typeof ProfileTooLargeError; phrase: RegExp }> = [
    { mode: 'html', error: InvalidProfileError, phrase: /HTML page, not a pprof profile/ },
    { mode: 'json', error: InvalidProfileError, phrase: /JSON, not a pprof profile/ },
    { mode: 'random', error: InvalidProfileError, phrase: /not a pprof profile \(65536 bytes starting [0-9a-f]{16}\)/ },
    { mode: 'truncated-gzip', error: InvalidProfileError, phrase: /gzip stream is broken .*truncated/ },
    { mode: 'gzip-bomb', error: ProfileTooLargeError, phrase: /decompresses to more than 256 MiB .*gzip bomb/ },
  ];
  for (const { mode, error, phrase } of garbage) {
    test(`${mode}: a 200 body, refused by the profile stage as ${error.name}`, async () => {
      const r = await timed(() => scrape(`${server(mode).url}${HEAP_PATH}`));
      assert.ok(r.ms < BOUND_MS, `${mode}: took ${r.ms.toFixed(0)} ms`);
      assert.equal(r.error, undefined, `${mode}: the scrape itself works (a 200): ${String(r.error)}`);
      const res = r.value!;
      if (mode === 'gzip-bomb') assert.ok(res.body.length < 2 * 1024 * 1024, `the bomb is small on the wire (${res.body.length} bytes)`);
      const err = await profileError(res);
      assert.ok(err instanceof error, `${mode}: expected ${error.name}, got ${String(err)}`);
      assert.match((err as Error).message, phrase);
    });
  }

  test('a truncated gzip whose last bytes claim more than the cap is a broken gzip, not a bomb', async () => {
    const whole = gzipSync(Buffer.alloc(256 * 1024, 7));
    const cut = Buffer.concat([whole.subarray(0, Math.floor(whole.length / 2)), Buffer.from([0xff, 0xff, 0xff, 0xff])]);
    const err = await profileError({ body: cut, startedAtMs: 0, finishedAtMs: 0 });
    assert.ok(err instanceof InvalidProfileError, String(err));
    assert.match(err.message, /gzip stream is broken/);
    const lying = Buffer.from(whole);
    lying.writeUInt32LE(0xffffffff, lying.length - 4);
    const err2 = await profileError({ body: lying, startedAtMs: 0, finishedAtMs: 0 });
    assert.ok(err2 instanceof InvalidProfileError, `a trailer that lies about the size: ${String(err2)}`);
  });

  test('endless: refused as body_too_large at the default 32 MiB cap, and the server stops writing', async () => {
    const s = server('endless');
    const r = await timed(() => scrape(`${s.url}${HEAP_PATH}`));
    const err = expectScrapeError(r, 'body_too_large', 'endless');
    assert.match(err.message, /larger than 32 MiB; refused/);
    assert.match(err.message, new RegExp(`GET ${s.url}/debug/pprof/heap`));
    await waitFor(() => s.activeStreams === 0, 3_000, 'the endless server to notice the client went away');
  });

  test('endless: a small maxBodyBytes (64 KiB) is refused at once, without reading the rest', async () => {
    const s = server('endless');
    const before = s.bytesWritten;
    const r = await timed(() => scrape(`${s.url}${HEAP_PATH}`, 64 * 1024));
    expectScrapeError(r, 'body_too_large', 'endless 64 KiB');
    assert.ok(r.ms < 2_000, `refused in ${r.ms.toFixed(0)} ms: it should not wait for more of the body`);
    await waitFor(() => s.activeStreams === 0, 3_000, 'the endless server to notice the client went away');
    const settled = s.bytesWritten;
    await sleep(300);
    assert.equal(s.bytesWritten, settled, 'the server still writes after the client went away');
    // What the server could push before the socket closed: the cap plus what
    // the loopback socket buffers hold, not an ever-growing amount.
    const sent = settled - before;
    assert.ok(sent < 32 * 1024 * 1024, `the server wrote ${sent} bytes for a 64 KiB cap`);
  });

  test('hang: timeout, within http_timeout + 2 s', async () => {
    const r = await timed(() => scrape(`${server('hang').url}${HEAP_PATH}`));
    const err = expectScrapeError(r, 'timeout', 'hang');
    assert.match(err.message, /no complete response within http_timeout \(3s\)/);
  });

  test('slow (1 byte per second): timeout, within http_timeout + 2 s', async () => {
    const s = server('slow');
    const r = await timed(() => scrape(`${s.url}${CPU_PATH}`));
    const err = expectScrapeError(r, 'timeout', 'slow');
    assert.match(err.message, /no complete response within http_timeout/);
    await waitFor(() => s.activeStreams === 0, 3_000, 'the slow server to notice the client went away');
  });

  test('redirect to another host: redirect, not followed', async () => {
    const s = server('redirect');
    const r = await timed(() => scrape(`${s.url}${HEAP_PATH}`));
    const err = expectScrapeError(r, 'redirect', 'redirect');
    assert.equal(err.status, 302);
    assert.match(err.message, new RegExp(`redirect to http://${s.redirectTo!.replace(/\./g, '\\.')}/debug/pprof/heap`));
    assert.match(err.message, /redirects are not followed/);
    await sleep(100);
    assert.equal(s.redirectTargetContacts, 0, 'the other host was contacted');
  });

  test('reset mid-body: network', async () => {
    const r = await timed(() => scrape(`${server('reset').url}${HEAP_PATH}`));
    const err = expectScrapeError(r, 'network', 'reset');
    assert.match(err.message, /reset|closed/i);
  });

  test('not-found (a mux without net/http/pprof): not_found, with the body and no X-Go-Pprof', async () => {
    for (const path of [HEAP_PATH, CPU_PATH, '/debug/pprof/goroutine']) {
      const r = await timed(() => scrape(`${server('not-found').url}${path}`));
      const err = expectScrapeError(r, 'not_found', `not-found ${path}`);
      assert.equal(err.status, 404);
      assert.equal(err.bodySnippet, '404 page not found');
      assert.equal(err.fromGoPprof, false);
    }
  });

  test('every mode answers within http_timeout + 2 s, all at once', async () => {
    const results = await Promise.all(
      [...servers.values()].map(async (s) => ({ mode: s.mode, r: await timed(() => scrape(`${s.url}${HEAP_PATH}`)) })),
    );
    for (const { mode, r } of results) assert.ok(r.ms < BOUND_MS, `${mode}: ${r.ms.toFixed(0)} ms`);
  });

  test('a second server on its own: close() ends everything even with a client still attached', async () => {
    const s = await startHostileServer('slow', { slowByteIntervalMs: 200 });
    const pending = timed(() => scrape(`${s.url}${HEAP_PATH}`, LIMITS.maxBodyBytes, 10_000));
    await waitFor(() => s.activeStreams === 1, 3_000, 'the stream to start');
    const t0 = performance.now();
    await s.close();
    assert.ok(performance.now() - t0 < 2_000, 'close() is quick');
    const r = await pending;
    expectScrapeError(r, 'network', 'slow body cut by close()');
    await waitFor(() => s.activeStreams === 0, 2_000, 'the stream to end after close()');
  });
});
