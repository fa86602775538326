// Secrets never reach the collector's output: credentials in a target URL, in
// a DataKit output URL, a Pyroscope basic_auth password from ${PYRO_PASS}, a
// bearer token from bearer_token_file, and a custom header value. The real Go
// fixture is scraped (through a loopback proxy that records the Authorization
// header it gets); the strict DataKit and Pyroscope doubles check the
// credentials; an "echo" backend fails every send with a body that repeats
// the credentials it was sent (a 500, retried, then a 401, dropped with its
// body logged). Everything the collector prints in --check, --once and a
// 15 s daemon run at log_level debug is searched for every secret, plain and
// as it travels (base64 of user:password).
//
//   node --import tsx --test --test-concurrency=1 test/integration/secrets.test.ts

import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { writeFileSync } from 'node:fs';
import { createServer, request as httpRequest, type IncomingHttpHeaders, type Server } from 'node:http';
import { join } from 'node:path';
import { describe, it, type TestContext } from 'node:test';
import { DatakitIntake, INTAKE_PATH } from '../helpers/datakit-intake.js';
import { goSuite } from '../helpers/go-suite.js';
import { CollectorProcess, ROOT, waitFor } from '../helpers/processes.js';
import { PyroscopeServer, PUSH_PATH } from '../helpers/pyroscope-server.js';
import { closeServer, listenLocal } from '../helpers/servers.js';
import { FakeKubeApi } from '../helpers/fake-kube-api.js';
import { FakePprofServer } from '../helpers/fake-pprof.js';

const b64 = (s: string) => Buffer.from(s).toString('base64');
const basic = (user: string, pass: string) => `Basic ${b64(`${user}:${pass}`)}`;

const TARGET_USER = 'scraper';
const TARGET_PASS = 'S3cr3tPass';
const DK_USER = 'dk';
const DK_PASS = 'D4taK1tPass';
const PYRO_USER = 'pyro';
const PYRO_PASS = 'PyroPa55word';
const BEARER = 'T0kenFromF1le';
const ECHO_DK_USER = 'dk2';
const ECHO_DK_PASS = 'Ech0edPa55';
const HEADER_SECRET = 'H3aderK3yValue';
// Secrets in query strings: DataKit's ?token= (Guance OpenWay), a presigned
// URL's signature, an http_sd token, a token on the Kubernetes API URL.
const DK_TOKEN = 'tkn_D4taK1tT0ken';
const ECHO_SIG = 'EchoS1gnatureAbc';
const SD_TOKEN = 'HttpSdT0kenXyz';
const KUBE_TOKEN = 'KubeQueryT0ken';
const AMZ_SIG = 'AmzS1gnature0123';
const AMZ_STS = 'AmzSecur1tyT0ken';
const REJECT_TOKEN = 'tkn_Rej3ctedT0ken';

/** Every form a secret could leak in: the plain value and the Authorization value that carries it. */
const SECRET_FORMS: ReadonlyArray<readonly [string, string]> = [
  ['target password', TARGET_PASS],
  ['target basic auth (base64)', b64(`${TARGET_USER}:${TARGET_PASS}`)],
  ['datakit password', DK_PASS],
  ['datakit basic auth (base64)', b64(`${DK_USER}:${DK_PASS}`)],
  ['pyroscope password', PYRO_PASS],
  ['pyroscope basic auth (base64)', b64(`${PYRO_USER}:${PYRO_PASS}`)],
  ['bearer token', BEARER],
  ['echoed datakit password', ECHO_DK_PASS],
  ['echoed datakit basic auth (base64)', b64(`${ECHO_DK_USER}:${ECHO_DK_PASS}`)],
  ['custom header value', HEADER_SECRET],
  ['datakit ?token=', DK_TOKEN],
  ['echo datakit ?X-Amz-Signature=', ECHO_SIG],
  ['http_sd ?access_token=', SD_TOKEN],
  ['kubernetes api_server ?token=', KUBE_TOKEN],
  ['redirect Location X-Amz-Signature', AMZ_SIG],
  ['redirect Location X-Amz-Security-Token', AMZ_STS],
  ['rejecting datakit ?token=', REJECT_TOKEN],
];

const { cleanup, requireGo, tempDir, goTarget } = goSuite('pprof-secrets-');

const q = (s: string) => JSON.stringify(s);

async function listen(server: Server): Promise<string> {
  const port = await listenLocal(server);
  cleanup.add(() => closeServer(server));
  return `http://127.0.0.1:${port}`;
}

/** A loopback HTTP proxy to `upstream` that records the Authorization header of every request. */
async function recordingProxy(upstream: string): Promise<{ url: string; seen: Array<{ path: string; authorization: string | undefined }> }> {
  const up = new URL(upstream);
  const seen: Array<{ path: string; authorization: string | undefined }> = [];
  const server = createServer((req, res) => {
    seen.push({ path: (req.url ?? '').split('?')[0]!, authorization: req.headers.authorization });
    const fwd = httpRequest({ host: up.hostname, port: up.port, method: req.method, path: req.url, headers: req.headers }, (r) => {
      res.writeHead(r.statusCode ?? 502, r.headers);
      r.pipe(res);
    });
    fwd.on('error', (err) => {
      if (!res.headersSent) res.writeHead(502).end(String(err));
      else res.destroy();
    });
    req.pipe(fwd);
  });
  return { url: await listen(server), seen };
}

interface EchoRequest {
  readonly path: string;
  readonly query: string;
  readonly authorization: string | undefined;
  readonly apiKey: string | undefined;
  readonly status: number;
}

/**
 * A backend that fails every send and repeats what it was sent: per path, the
 * 1st, 3rd, ... request gets a 500 (retried), the 2nd, 4th, ... a 401 (not
 * retried: dropped, its body logged). The body echoes the Authorization and
 * X-Api-Key headers, the decoded basic credentials and the URL it was sent
 * to (its query too).
 */
async function echoBackend(): Promise<{ url: string; requests: EchoRequest[] }> {
  const requests: EchoRequest[] = [];
  const perPath = new Map<string, number>();
  const server = createServer((req, res) => {
    req.resume();
    req.on('end', () => {
      const path = (req.url ?? '').split('?')[0]!;
      const n = (perPath.get(path) ?? 0) + 1;
      perPath.set(path, n);
      const status = n % 2 === 1 ? 500 : 401;
      const h: IncomingHttpHeaders = req.headers;
      const auth = h.authorization;
      const decoded = auth?.startsWith('Basic ') ? Buffer.from(auth.slice(6), 'base64').toString('utf8') : '';
      requests.push({ path, query: (req.url ?? '').split('?')[1] ?? '', authorization: auth, apiKey: h['x-api-key'] as string | undefined, status });
      res
        .writeHead(status, { 'content-type': 'text/plain; charset=utf-8' })
        .end(`${status === 500 ? 'internal error' : 'unauthorized'}: you sent Authorization: ${auth ?? '(none)'}; credentials ${decoded}; X-Api-Key ${String(h['x-api-key'])}; to ${req.url}\n`);
    });
  });
  return { url: await listen(server), requests };
}

/** The collector with PYRO_PASS in its environment. */
function spawnWithEnv(args: readonly string[]): CollectorProcess {
  const child = spawn(process.execPath, [join(ROOT, 'bin', 'collector.js'), ...args], {
    cwd: ROOT,
    stdio: ['ignore', 'pipe', 'pipe'],
    env: { ...process.env, PYRO_PASS },
  });
  const c = new CollectorProcess(child);
  cleanup.add(() => c.kill());
  return c;
}

/** Every secret form found in `text`, by name. */
function leaks(text: string): string[] {
  return SECRET_FORMS.filter(([, v]) => text.includes(v)).map(([name, v]) => `${name} (${v})`);
}

function assertNoLeak(what: string, c: CollectorProcess): void {
  const all = `${c.stdout}\n${c.stderr}`;
  const found = leaks(all);
  if (found.length > 0) {
    const lines = all.split('\n').filter((l) => SECRET_FORMS.some(([, v]) => l.includes(v)));
    assert.fail(`${what} printed secrets: ${found.join(', ')}\nfirst lines:\n${lines.slice(0, 5).join('\n')}`);
  }
}

describe('secrets are never printed', () => {
  it('check, once and a 15 s debug run: credentials are used on the wire and never printed', { timeout: 120_000 }, async (t: TestContext) => {
    requireGo();
    const dir = tempDir();
    const go = await goTarget({ parked: 5 });
    const proxy = await recordingProxy(go.url);
    const intake = await new DatakitIntake().start();
    cleanup.add(() => intake.close());
    const pyro = await new PyroscopeServer({ expectAuthorization: basic(PYRO_USER, PYRO_PASS) }).start();
    cleanup.add(() => pyro.close());
    const echo = await echoBackend();

    const tokenFile = join(dir, 'pyroscope.token');
    writeFileSync(tokenFile, `${BEARER}\n`);
    const withCreds = (url: string, user: string, pass: string) => url.replace('http://', `http://${user}:${pass}@`);
    const cfg = join(dir, 'profile.conf');
    writeFileSync(
      cfg,
      [
        '[agent]',
        'hostname = "secret-host"',
        'listen = ""',
        `data_dir = ${q(join(dir, 'data'))}`,
        'log_level = "debug"',
        'shutdown_grace = "3s"',
        '',
        '[[inputs.profile.go]]',
        `url = ${q(withCreds(proxy.url, TARGET_USER, TARGET_PASS))}`,
        'interval = "10s"',
        'profile_duration = "2s"',
        'service = "secret-svc"',
        'env = "it"',
        'version = "1.0.0"',
        'enabled_types = ["cpu", "goroutine", "heap"]',
        '',
        '[[outputs.datakit]]',
        `url = ${q(`${withCreds(intake.url, DK_USER, DK_PASS)}?token=${DK_TOKEN}`)}`,
        'timeout = "3s"',
        '',
        '[[outputs.pyroscope]]',
        'name = "pyro-basic"',
        `url = ${q(pyro.url)}`,
        'timeout = "3s"',
        '[outputs.pyroscope.basic_auth]',
        `username = ${q(PYRO_USER)}`,
        'password = "${PYRO_PASS}"',
        '',
        '[[outputs.pyroscope]]',
        'name = "pyro-bearer-echo"',
        `url = ${q(echo.url)}`,
        'timeout = "3s"',
        `bearer_token_file = ${q(tokenFile)}`,
        '',
        '[[outputs.datakit]]',
        'name = "datakit-echo"',
        `url = ${q(withCreds(`${echo.url}${INTAKE_PATH}?X-Amz-Signature=${ECHO_SIG}&name=echo`, ECHO_DK_USER, ECHO_DK_PASS))}`,
        'timeout = "3s"',
        '[outputs.datakit.headers]',
        `X-Api-Key = ${q(HEADER_SECRET)}`,
        '',
      ].join('\n'),
    );

    // --check: valid, describes auth without the secrets.
    const check = spawnWithEnv(['-c', cfg, '--check']);
    assert.deepEqual(await check.waitExit(30_000), { code: 0, signal: null }, check.stderr);
    assert.ok(check.stdout.includes('    auth: basic (user and password from the url; not shown)\n'), `--check:\n${check.stdout}`);
    assert.ok(check.stdout.includes(`  datakit "datakit" -> ${intake.url}?token=xxxxx (basic auth as ${DK_USER})\n`), `--check:\n${check.stdout}`);
    assert.ok(check.stdout.includes(`  pyroscope "pyro-basic" -> ${pyro.url} (api push, basic auth as ${PYRO_USER})\n`), `--check:\n${check.stdout}`);
    assert.ok(check.stdout.includes(`  pyroscope "pyro-bearer-echo" -> ${echo.url} (api push, bearer token from ${tokenFile})\n`), `--check:\n${check.stdout}`);
    assert.ok(check.stdout.includes(`  datakit "datakit-echo" -> ${echo.url}${INTAKE_PATH}?X-Amz-Signature=xxxxx&name=echo (basic auth as ${ECHO_DK_USER}, headers: X-Api-Key; values not shown)\n`), `--check:\n${check.stdout}`);
    assertNoLeak('--check', check);

    // --once at debug: the good outputs get every profile, the echo outputs fail (exit 1).
    const once = spawnWithEnv(['-c', cfg, '--once', '--log-level', 'debug']);
    const onceExit = await once.waitExit(60_000);
    assert.deepEqual(onceExit, { code: 1, signal: null }, `--once exits 1 (the echo outputs fail); stdout:\n${once.stdout}\nstderr:\n${once.stderr.slice(-3000)}`);
    assert.match(once.stdout, /^some profiles were not scraped or not delivered/m);
    const onceUploads = intake.uploads.length;
    const onceAccepted = pyro.accepted.length;
    assert.equal(onceUploads, 3, `one upload per type reached DataKit in --once\n${once.stdout}\n${once.stderr.slice(0, 6000)}`);
    assert.equal(onceAccepted, 3, 'one profile per type reached Pyroscope in --once');
    assertNoLeak('--once', once);

    // The daemon, ~15 s at debug.
    const startedAt = Date.now();
    const c = spawnWithEnv(['-c', cfg]);
    await waitFor(
      () =>
        intake.uploads.length > onceUploads &&
        pyro.accepted.length > onceAccepted &&
        echo.requests.filter((r) => r.path === PUSH_PATH && r.status === 401).length > 3 &&
        echo.requests.filter((r) => r.path === INTAKE_PATH && r.status === 401).length > 3,
      25_000,
      'deliveries to DataKit and Pyroscope and both failures (500 and 401) at each echo output during the daemon run',
    );
    const rest = Math.max(0, 15_000 - (Date.now() - startedAt));
    const early = await Promise.race([c.exited, new Promise<null>((r) => setTimeout(() => r(null), rest))]);
    assert.equal(early, null, `the collector exited early: ${c.stderr.slice(-2000)}`);
    c.signal('SIGTERM');
    assert.deepEqual(await c.waitExit(30_000), { code: 0, signal: null }, c.stderr.slice(-2000));

    t.diagnostic(
      `target requests ${proxy.seen.length}, datakit uploads ${intake.uploads.length}, pyroscope accepted ${pyro.accepted.length}, echo requests ${echo.requests.length}; collector printed ${[check, once, c].reduce((n, p) => n + p.stdout.length + p.stderr.length, 0)} bytes`,
    );

    // The credentials were sent where they belong, every time.
    assert.ok(proxy.seen.length >= 6, `the target was scraped (${proxy.seen.length} requests)`);
    assert.deepEqual([...new Set(proxy.seen.map((s) => s.authorization))], [basic(TARGET_USER, TARGET_PASS)], 'every scrape carried the url credentials');
    assert.deepEqual(intake.rejections.map((r) => r.reason), [], 'DataKit double rejections');
    assert.deepEqual([...new Set(intake.uploads.map((u) => u.headers.authorization))], [basic(DK_USER, DK_PASS)], 'every DataKit upload carried the url credentials');
    assert.deepEqual([...new Set(intake.uploads.map((u) => u.url))], [`${INTAKE_PATH}?token=${DK_TOKEN}`], 'every DataKit upload carried the url token');
    assert.deepEqual([...new Set(echo.requests.filter((r) => r.path === INTAKE_PATH).map((r) => r.query))], [`X-Amz-Signature=${ECHO_SIG}&name=echo`], 'every send to the echo DataKit carried its query');
    assert.deepEqual(pyro.rejections.map((r) => `${r.status} ${r.reason}`), [], 'Pyroscope double rejections (a wrong Authorization is one)');
    const echoAuth = (path: string) => [...new Set(echo.requests.filter((r) => r.path === path).map((r) => `${r.authorization} / ${r.apiKey}`))];
    assert.deepEqual(echoAuth(PUSH_PATH), [`Bearer ${BEARER} / undefined`], 'every push to the echo backend carried the bearer token from the file');
    assert.deepEqual(echoAuth(INTAKE_PATH), [`${basic(ECHO_DK_USER, ECHO_DK_PASS)} / ${HEADER_SECRET}`], 'every DataKit send to the echo backend carried its credentials and header');

    // The collector said the echo backends failed, and which way, without the secrets.
    const logs = c.logLines();
    const msgs = logs.map((l) => String(l.msg ?? ''));
    assert.ok(msgs.some((m) => m.startsWith('send failed, will retry: ') && m.includes('answered 500')), 'a retried 500 is logged');
    // One line per echo output when its 401s start (issue 10 item 5: no line per profile).
    const dropped = logs.filter((l) => String(l.msg ?? '').startsWith('backend rejects profiles with 401: '));
    assert.equal(dropped.length, 2, `the 401s of each echo output are logged once (${dropped.length})`);
    assert.ok(dropped.every((l) => typeof l.response === 'string' && l.response.includes('unauthorized: you sent Authorization: ')), 'the logged response body is kept (only the secrets are hidden)');
    assertNoLeak('the daemon', c);
  });

  it(
    'a target that echoes the Authorization header in an error body: the scrape error never shows it',
    { timeout: 60_000 },
    async () => {
      const dir = tempDir();
      const seen: Array<string | undefined> = [];
      const server = createServer((req, res) => {
        seen.push(req.headers.authorization);
        res.writeHead(500, { 'content-type': 'text/plain; charset=utf-8' }).end(`boom: you sent Authorization: ${req.headers.authorization ?? '(none)'}\n`);
      });
      const url = await listen(server);
      const cfg = join(dir, 'echo-target.conf');
      writeFileSync(
        cfg,
        [
          '[agent]',
          'listen = ""',
          `data_dir = ${q(join(dir, 'data'))}`,
          '',
          '[[inputs.profile.go]]',
          `url = ${q(url.replace('http://', `http://${TARGET_USER}:${TARGET_PASS}@`))}`,
          'service = "echo-target"',
          'enabled_types = ["goroutine"]',
          '',
          '[[outputs.file]]',
          `dir = ${q(join(dir, 'profiles'))}`,
          '',
        ].join('\n'),
      );
      const c = spawnWithEnv(['-c', cfg, '--once', '--log-level', 'debug']);
      assert.deepEqual(await c.waitExit(30_000), { code: 1, signal: null }, c.stderr);
      assert.deepEqual(seen, [basic(TARGET_USER, TARGET_PASS)], 'the scrape carried the url credentials');
      assert.match(c.stdout, /goroutine\s+failed .*answered 500/, c.stdout);
      assertNoLeak('--once against an echoing target', c);
    },
  );

  it(
    'query-string secrets: http_sd, kubernetes api_server, a redirect to a presigned URL and an output token never show in --check, --once, logs, /targets or /metrics',
    { timeout: 90_000 },
    async () => {
      const dir = tempDir();
      // A target that answers every request with a redirect to a presigned URL.
      const redirects: string[] = [];
      const redirector = createServer((req, res) => {
        redirects.push(req.url ?? '');
        res.writeHead(302, { location: `http://127.0.0.1:1/bucket/p.pb.gz?X-Amz-Credential=AKIA%2F20240101&X-Amz-Security-Token=${AMZ_STS}&X-Amz-Signature=${AMZ_SIG}` }).end();
      });
      const redirectUrl = await listen(redirector);
      // http_sd that wants its token in the query, and lists the redirecting target.
      const sdQueries: string[] = [];
      const sd = createServer((req, res) => {
        sdQueries.push((req.url ?? '').split('?')[1] ?? '');
        if (!(req.url ?? '').includes(`access_token=${SD_TOKEN}`)) return void res.writeHead(401).end('no token');
        res.writeHead(200, { 'content-type': 'application/json' }).end(JSON.stringify([{ targets: [new URL(redirectUrl).host], labels: { service: 'redirected' } }]));
      });
      const sdUrl = await listen(sd);
      const kube = await FakeKubeApi.start({ pods: [] });
      cleanup.add(() => kube.close());
      // A working target, so profiles reach the output.
      const pprof = await new FakePprofServer().start();
      cleanup.add(() => pprof.close());
      // An output that rejects every profile and echoes the URL it was sent to.
      const rejected: string[] = [];
      const rejecting = createServer((req, res) => {
        req.resume();
        req.on('end', () => {
          rejected.push(req.url ?? '');
          res.writeHead(401, { 'content-type': 'text/plain' }).end(`token ${new URL(req.url ?? '/', 'http://x').searchParams.get('token')} is not valid for ${req.url}\n`);
        });
      });
      const rejectingUrl = await listen(rejecting);
      const cfg = join(dir, 'query-secrets.conf');
      const config = (listenAddr: string) =>
        [
          '[agent]',
          `listen = ${q(listenAddr)}`,
          `data_dir = ${q(join(dir, 'data'))}`,
          'log_level = "debug"',
          'shutdown_grace = "2s"',
          '',
          '[[inputs.profile.go]]',
          `url = ${q(pprof.url)}`,
          'service = "working"',
          'enabled_types = ["goroutine"]',
          '',
          '[[inputs.profile.go]]',
          'service = "from-sd"',
          'enabled_types = ["goroutine"]',
          '[inputs.profile.go.http_sd]',
          `url = ${q(`${sdUrl}/targets?access_token=${SD_TOKEN}&format=prometheus`)}`,
          '',
          '[[inputs.profile.go]]',
          'service = "from-kube"',
          'enabled_types = ["goroutine"]',
          '[inputs.profile.go.kubernetes_sd]',
          `api_server = ${q(`${kube.url}/?token=${KUBE_TOKEN}`)}`,
          '',
          '[[outputs.datakit]]',
          `url = ${q(`${rejectingUrl}/v1/write/profiling?token=${REJECT_TOKEN}`)}`,
          'timeout = "2s"',
          '',
        ].join('\n');
      writeFileSync(cfg, config(''));

      const check = spawnWithEnv(['-c', cfg, '--check']);
      assert.deepEqual(await check.waitExit(30_000), { code: 0, signal: null }, check.stderr);
      assert.ok(check.stdout.includes(`  http_sd ${sdUrl}/targets?access_token=xxxxx&format=prometheus (every`), `--check:\n${check.stdout}`);
      assert.ok(check.stdout.includes(`  kubernetes_sd ${kube.url}/?token=xxxxx, all namespaces`), `--check:\n${check.stdout}`);
      assert.ok(check.stdout.includes(`  datakit "datakit" -> ${rejectingUrl}/v1/write/profiling?token=xxxxx\n`), `--check:\n${check.stdout}`);
      assertNoLeak('--check', check);

      const once = spawnWithEnv(['-c', cfg, '--once', '--log-level', 'debug']);
      assert.deepEqual(await once.waitExit(60_000), { code: 1, signal: null }, `--once fails (redirect, rejected output)\n${once.stdout}\n${once.stderr.slice(-3000)}`);
      assert.match(once.stdout, /goroutine\s+failed .*answered 302 redirect to http:\/\/127\.0\.0\.1:1\/bucket\/p\.pb\.gz\?X-Amz-Credential=xxxxx&X-Amz-Security-Token=xxxxx&X-Amz-Signature=xxxxx/, once.stdout);
      assert.ok(redirects.length >= 1, 'the discovered target was scraped');
      assert.ok(sdQueries.some((s) => s.includes(`access_token=${SD_TOKEN}`)), 'http_sd was asked with its token');
      assert.ok(rejected.some((u) => u.includes(`token=${REJECT_TOKEN}`)), 'the output was sent its token');
      assertNoLeak('--once', once);

      // The daemon with its status server: logs, /targets, /api/targets, /metrics.
      writeFileSync(cfg, config('127.0.0.1:0'));
      const before = redirects.length;
      const sentBefore = rejected.length;
      const c = spawnWithEnv(['-c', cfg]);
      const status = await c.statusUrl();
      await waitFor(() => !c.running || (redirects.length > before && rejected.length > sentBefore), 30_000, 'a scrape of the redirecting target and a rejected send');
      const pages = await Promise.all(['/targets', '/api/targets', '/metrics'].map(async (p) => [p, await (await fetch(`${status}${p}`)).text()] as const));
      c.signal('SIGTERM');
      assert.deepEqual(await c.waitExit(30_000), { code: 0, signal: null }, c.stderr.slice(-2000));
      for (const [path, text] of pages) {
        assert.deepEqual(leaks(text), [], `${path} shows secrets`);
      }
      const api = pages.find(([p]) => p === '/api/targets')![1];
      assert.match(api, /X-Amz-Signature=xxxxx/, 'the redirect is shown on /api/targets, its signature hidden');
      const logs = c.logLines();
      assert.ok(logs.some((l) => String(l.msg).includes('answered 302 redirect to') && String(l.msg).includes('X-Amz-Signature=xxxxx')), 'the redirect is logged, its signature hidden');
      assert.ok(logs.some((l) => typeof l.response === 'string' && l.response.includes('token [redacted] is not valid for /v1/write/profiling?token=xxxxx')), `the rejection body is logged with the token hidden both ways:\n${c.stdout.slice(-3000)}`);
      assertNoLeak('the daemon', c);
    },
  );

  it('an invalid config with secrets in it: --check names the problems, never the secrets', { timeout: 30_000 }, async () => {
    const dir = tempDir();
    const cfg = join(dir, 'bad.conf');
    writeFileSync(
      cfg,
      [
        '[agent]',
        'listen = ""',
        `data_dir = ${q(join(dir, 'data'))}`,
        '',
        '[[inputs.profile.go]]',
        `url = "http://${TARGET_USER}:${TARGET_PASS}@127.0.0.1:99999"`,
        'service = "x"',
        '',
        '[[outputs.datakit]]',
        `url = "http://${DK_USER}:${DK_PASS}@127.0.0.1:9529/profiling/v1/input"`,
        'tls_ca_file = "x"',
        '',
        '[[outputs.pyroscope]]',
        `url = "http://${PYRO_USER}:${PYRO_PASS}@127.0.0.1:4040"`,
        `bearer_token = ${q(BEARER)}`,
        '[outputs.pyroscope.basic_auth]',
        'username = "u"',
        `password = ${q(ECHO_DK_PASS)}`,
        '',
      ].join('\n'),
    );
    const c = spawnWithEnv(['-c', cfg, '--check']);
    assert.deepEqual(await c.waitExit(30_000), { code: 1, signal: null });
    const lines = c.stderr.split('\n').filter((l) => l !== '');
    assert.equal(lines.at(-1), `4 problem(s) in ${cfg}`, c.stderr);
    assert.match(c.stderr, new RegExp(`^${cfg.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')}:6: inputs\\.profile\\.go\\.url: `, 'm'), c.stderr);
    assert.ok(c.stderr.includes(':11: outputs.datakit.tls_ca_file: unknown key "tls_ca_file"'), c.stderr);
    assert.ok(c.stderr.includes(':14: outputs.pyroscope.url: must not carry user:password; use [outputs.pyroscope.basic_auth]'), c.stderr);
    assert.ok(c.stderr.includes(':15: outputs.pyroscope.bearer_token: set basic_auth or bearer_token, not both'), c.stderr);
    assertNoLeak('--check of an invalid config', c);
  });
});
