// The status server (src/server/http.ts) with [agent.web]: over https with a
// certificate from openssl, every path but /healthz and /readyz asks for
// basic auth (bcrypt) or the bearer token; a renewed certificate is served
// without a restart, a broken one is logged and the old one kept. Real
// sockets on 127.0.0.1:0.
//
//   node --import tsx --test test/server/http.test.ts

import assert from 'node:assert/strict';
import { X509Certificate } from 'node:crypto';
import { copyFileSync, readFileSync, writeFileSync } from 'node:fs';
import { connect } from 'node:tls';
import { Writable } from 'node:stream';
import { before, describe, it } from 'node:test';
import bcrypt from 'bcryptjs';
import { Agent, request } from 'undici';
import { createLogger } from '../../src/core/log.js';
import { LastProfiles } from '../../src/server/last-profiles.js';
import { CollectorMetrics } from '../../src/server/metrics.js';
import { StatusServer } from '../../src/server/http.js';
import { selectPage } from '../../src/server/target-status.js';
import { WebAuth, type WebAuthOptions } from '../../src/server/web-auth.js';
import { statusRoutes } from '../../src/server/targets.js';
import { cleanupAfterAll } from '../helpers/processes.js';
import { makeTlsMaterial, type TlsMaterial } from '../helpers/tls.js';

const cleanup = cleanupAfterAll();
let tls: TlsMaterial;
let renewed: TlsMaterial;
const USER = 'prometheus';
const PASSWORD = 'correct horse';
const TOKEN = 'tok-9f8e7d6c5b4a';
const basic = (u: string, p: string) => `Basic ${Buffer.from(`${u}:${p}`).toString('base64')}`;

before(() => {
  tls = makeTlsMaterial();
  renewed = makeTlsMaterial();
  cleanup.add(() => tls.remove());
  cleanup.add(() => renewed.remove());
});

function logSink() {
  const lines: Array<Record<string, unknown>> = [];
  const stream = new Writable({
    write(chunk, _enc, cb) {
      for (const l of String(chunk).split('\n')) if (l.trim()) lines.push(JSON.parse(l) as Record<string, unknown>);
      cb();
    },
  });
  return { lines, logger: createLogger({ level: 'info', destination: stream }) };
}

async function startServer(certFile: string, keyFile: string, authOpts?: WebAuthOptions) {
  const { lines, logger } = logSink();
  const web = { tls: { certFile, keyFile }, basicAuthUsers: { [USER]: bcrypt.hashSync(PASSWORD, 4) }, bearerToken: TOKEN };
  const lastProfiles = new LastProfiles();
  const routes = statusRoutes({
    page: (q) => selectPage([], q, () => ({ service: '', healths: [] }), (x) => x),
    outputStats: () => ({}),
    lastProfiles,
    about: () => ({ configFile: 'c.conf', version: '0', startedAtMs: 0 }),
    now: () => Date.now(),
  });
  const server = new StatusServer({
    listen: '127.0.0.1:0',
    metrics: new CollectorMetrics({ defaultMetrics: false }),
    logger,
    routes,
    ready: () => ({ ready: true, why: 'running' }),
    web,
    ...(authOpts ? { auth: new WebAuth(web, authOpts) } : {}),
  });
  const base = await server.start();
  cleanup.add(() => server.close());
  return { server, base, lines };
}

describe('status server with [agent.web]', () => {
  it('https only; /healthz and /readyz open; everything else 401 without credentials, 200 with the password or the token', async () => {
    // Many wrong passwords below: no throttling in this test (the next one has it).
    const { base } = await startServer(tls.serverCert, tls.serverKey, { burst: 1000 });
    assert.match(base, /^https:\/\/127\.0\.0\.1:\d+$/);
    const agent = new Agent({ connect: { ca: readFileSync(tls.caCert) } });
    cleanup.add(() => agent.close());
    const get = async (path: string, authorization?: string) => {
      const res = await request(`${base}${path}`, { dispatcher: agent, headers: authorization ? { authorization } : {}, signal: AbortSignal.timeout(10_000) });
      const body = await res.body.text();
      return { status: res.statusCode, headers: res.headers, body };
    };
    for (const open of ['/healthz', '/readyz']) assert.equal((await get(open)).status, 200, open);
    for (const path of ['/metrics', '/targets', '/api/targets', '/api/profile?target=x&type=cpu', '/api/flame?target=x', '/', '/nope']) {
      const none = await get(path);
      assert.equal(none.status, 401, `${path} without credentials`);
      assert.match(String(none.headers['www-authenticate']), /^Basic realm="pprof collector"/);
      assert.doesNotMatch(none.body, /collector_|Targets/);
      assert.equal((await get(path, basic(USER, 'wrong'))).status, 401, `${path} with a wrong password`);
      assert.equal((await get(path, 'Bearer nope')).status, 401, `${path} with a wrong token`);
      const want = path === '/' ? 302 : path.startsWith('/api/profile') || path.startsWith('/api/flame') || path === '/nope' ? 404 : 200;
      assert.equal((await get(path, basic(USER, PASSWORD))).status, want, `${path} with the password`);
      assert.equal((await get(path, `Bearer ${TOKEN}`)).status, want, `${path} with the token`);
    }
    assert.match((await get('/metrics', `Bearer ${TOKEN}`)).body, /^# HELP collector_/m);
    // Plain http to the TLS port gets no answer from the status server.
    const plain = base.replace(/^https:/, 'http:');
    await assert.rejects(request(`${plain}/healthz`, { signal: AbortSignal.timeout(5_000) }).then((r) => r.body.text()));
  });

  it('password guesses get 429 past a few a second; a renewed certificate is served without a restart; a broken one is logged once and the old one kept', async () => {
    const dir = cleanup.tempDir('status-tls-');
    const cert = `${dir}/tls.crt`;
    const key = `${dir}/tls.key`;
    copyFileSync(tls.serverCert, cert);
    copyFileSync(tls.serverKey, key);
    const { server, base, lines } = await startServer(cert, key);
    const port = Number(new URL(base).port);
    const agent = new Agent({ connect: { ca: [readFileSync(tls.caCert), readFileSync(renewed.caCert)] } });
    cleanup.add(() => agent.close());
    // Password guessing is throttled (5 checks at once, then 2 a second); the token is not a password check.
    const statuses: number[] = [];
    for (let i = 0; i < 8; i++) {
      const res = await request(`${base}/metrics`, { dispatcher: agent, headers: { authorization: basic(USER, `guess ${i}`) }, signal: AbortSignal.timeout(10_000) });
      await res.body.text();
      statuses.push(res.statusCode);
      if (res.statusCode === 429) assert.equal(res.headers['retry-after'], '1');
    }
    assert.deepEqual(statuses.slice(0, 5), [401, 401, 401, 401, 401]);
    assert.ok(statuses.slice(5).includes(429), `statuses: ${statuses.join(' ')}`);
    const tokenRes = await request(`${base}/metrics`, { dispatcher: agent, headers: { authorization: `Bearer ${TOKEN}` }, signal: AbortSignal.timeout(10_000) });
    await tokenRes.body.text();
    assert.equal(tokenRes.statusCode, 200);

    const served = () =>
      new Promise<string>((resolve, reject) => {
        const s = connect({ host: '127.0.0.1', port, ca: [readFileSync(tls.caCert), readFileSync(renewed.caCert)], servername: 'localhost' }, () => {
          const fp = s.getPeerCertificate().fingerprint256;
          s.end();
          resolve(fp);
        });
        s.on('error', reject);
        s.setTimeout(5_000, () => s.destroy(new Error('tls connect timed out')));
      });
    const fingerprint = (file: string) => new X509Certificate(readFileSync(file)).fingerprint256;
    assert.equal(await served(), fingerprint(tls.serverCert));
    assert.equal(server.reloadTls(), false, 'nothing changed');

    copyFileSync(renewed.serverCert, cert);
    copyFileSync(renewed.serverKey, key);
    assert.equal(server.reloadTls(), true);
    assert.equal(await served(), fingerprint(renewed.serverCert));
    assert.ok(lines.some((l) => l.msg === "the status server's certificate changed: serving the new one"));

    writeFileSync(key, 'not a key\n');
    assert.equal(server.reloadTls(), false);
    assert.equal(server.reloadTls(), false);
    const errors = lines.filter((l) => l.level === 'error');
    assert.equal(errors.length, 1, 'one error line for one broken change');
    assert.match(String(errors[0]!.msg), /certificate or key changed but cannot be loaded .* still serving the previous pair/);
    assert.equal(await served(), fingerprint(renewed.serverCert));
  });
});
