// TLS end to end, with a throwaway CA made by openssl (test/helpers/tls.ts):
// an HTTPS target serving recorded Go profiles, and the strict DataKit intake
// double behind a TLS terminator, both on loopback, against the real
// collector process (`node bin/collector.js`).
//
//   node --import tsx --test --test-concurrency=1 test/integration/tls.test.ts

import assert from 'node:assert/strict';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { DatakitIntake, INTAKE_PATH } from '../helpers/datakit-intake.js';
import { cleanupAfterEach, spawnCollector, type CollectorProcess } from '../helpers/processes.js';
import { makeTlsMaterial, startHttpsReplayTarget, startTlsProxy, type HttpsReplayTarget, type TlsMaterial } from '../helpers/tls.js';

const TYPES = ['cpu', 'goroutine', 'heap', 'mutex', 'block'] as const;
/** What one --once cycle requests: a baseline and a second scrape of each cumulative type, one of the others. */
const ONCE_REQUESTS: Record<string, number> = {
  '/debug/pprof/profile': 1,
  '/debug/pprof/goroutine': 1,
  '/debug/pprof/heap': 2,
  '/debug/pprof/mutex': 2,
  '/debug/pprof/block': 2,
};
const TLS_HINT = "set tls_ca to the CA that signed the target's certificate";

const cleanup = cleanupAfterEach();
let tls: TlsMaterial;

before(() => {
  tls = makeTlsMaterial();
});
after(() => tls?.remove());

const q = (s: string) => JSON.stringify(s);

const tempDir = () => cleanup.tempDir('pprof-tls-it-');

async function httpsTarget(clientCa?: string): Promise<HttpsReplayTarget> {
  const t = await startHttpsReplayTarget({ key: tls.serverKey, cert: tls.serverCert, ...(clientCa ? { clientCa } : {}) });
  cleanup.add(() => t.close());
  return t;
}

interface ConfigOpts {
  readonly targetUrl: string;
  /** Extra lines in the [[inputs.profile.go]] block (TLS keys). */
  readonly targetTls?: readonly string[];
  readonly datakit?: { readonly url: string; readonly lines: readonly string[] };
}

/** Returns the config path; the file output goes to DIR/profiles unless a datakit output is given. */
function writeConfig(dir: string, o: ConfigOpts): string {
  const lines = [
    '[agent]',
    'hostname = "tls-host"',
    'listen = ""',
    `data_dir = ${q(join(dir, 'data'))}`,
    'log_level = "info"',
    '',
    '[[inputs.profile.go]]',
    `url = ${q(o.targetUrl)}`,
    'interval = "10s"',
    'profile_duration = "1s"',
    'service = "tls-svc"',
    'env = "it"',
    'version = "1.0.0"',
    ...(o.targetTls ?? []),
    // The replay target has no godeltaprof: counting its requests, leave out the probes.
    'delta_source = "client"',
    '',
  ];
  if (o.datakit) lines.push('[[outputs.datakit]]', `url = ${q(o.datakit.url)}`, 'timeout = "3s"', ...o.datakit.lines, '');
  else lines.push('[[outputs.file]]', `dir = ${q(join(dir, 'profiles'))}`, '');
  const file = join(dir, 'profile.conf');
  writeFileSync(file, lines.join('\n'));
  return file;
}

interface Run {
  readonly code: number | null;
  readonly stdout: string;
  readonly stderr: string;
  readonly proc: CollectorProcess;
}

async function run(args: string[], ms = 60_000): Promise<Run> {
  const c = spawnCollector(args);
  cleanup.add(() => c.kill());
  const exit = await c.waitExit(ms);
  assert.equal(exit.signal, null, `collector ${args.join(' ')} was killed by ${exit.signal}:\n${c.stderr.slice(-3000)}`);
  return { code: exit.code, stdout: c.stdout, stderr: c.stderr, proc: c };
}

interface Row {
  readonly target: string;
  readonly type: string;
  readonly result: string;
  readonly delivered: string;
  readonly message: string;
}

/** The --once summary table, row by row (columns are separated by two or more spaces). */
function onceRows(stdout: string): Row[] {
  const lines = stdout.split('\n');
  const head = lines.findIndex((l) => l.startsWith('TARGET'));
  assert.ok(head >= 0, `no --once table in stdout:\n${stdout}`);
  const rows: Row[] = [];
  for (const l of lines.slice(head + 1)) {
    if (!/^https?:\/\//.test(l)) break;
    const [target, type, result, , , delivered, ...rest] = l.split(/\s{2,}/);
    rows.push({ target: target!, type: type!, result: result!, delivered: delivered!, message: rest.join('  ') });
  }
  return rows;
}

function requestCounts(t: HttpsReplayTarget): Record<string, number> {
  const out: Record<string, number> = {};
  for (const r of t.requests) out[r.path] = (out[r.path] ?? 0) + 1;
  return out;
}

/** pino lines of stderr (--once logs there). */
function stderrLogs(r: Run): Array<Record<string, unknown>> {
  return r.proc.logLines('stderr').filter((l) => !('raw' in l));
}

function assertAllShipped(r: Run, target: HttpsReplayTarget): void {
  assert.equal(r.code, 0, `--once exit code; stdout:\n${r.stdout}\nstderr:\n${r.stderr.slice(-3000)}`);
  const rows = onceRows(r.stdout);
  assert.deepEqual(
    rows.map((x) => [x.type, x.result, x.delivered]),
    TYPES.map((t) => [t, 'shipped', 'yes']),
    `--once table:\n${r.stdout}`,
  );
  for (const x of rows) assert.equal(x.target, `${target.url}/debug/pprof`);
  assert.match(r.stdout, /^all profiles scraped and delivered$/m);
  assert.deepEqual(requestCounts(target), ONCE_REQUESTS, 'requests the HTTPS target answered');
  assert.deepEqual(target.requests.filter((x) => x.status !== 200), [], 'every request answered 200');
  assert.deepEqual(target.tlsErrors, [], 'no failed TLS handshake at the target');
}

/** Every type failed with code tls and the tls_ca hint, in the table and in the log. */
function assertTlsFailure(r: Run, target: HttpsReplayTarget): void {
  assert.equal(r.code, 1, `--once exit code; stdout:\n${r.stdout}\nstderr:\n${r.stderr.slice(-3000)}`);
  const rows = onceRows(r.stdout);
  assert.deepEqual(
    rows.map((x) => [x.type, x.result, x.delivered]),
    TYPES.map((t) => [t, 'failed', '-']),
    `--once table:\n${r.stdout}`,
  );
  for (const x of rows) {
    assert.match(x.message, /TLS handshake failed: .*certificate/, `row ${x.type}: ${x.message}`);
    assert.ok(x.message.includes(TLS_HINT), `row ${x.type} names tls_ca in its hint: ${x.message}`);
  }
  assert.match(r.stdout, /^some profiles were not scraped or not delivered/m);
  const failures = stderrLogs(r).filter((l) => typeof l.msg === 'string' && / scrape failed: /.test(l.msg));
  assert.deepEqual(failures.map((l) => l.type).sort(), [...TYPES].sort(), `one "scrape failed" line per type:\n${r.stderr}`);
  for (const l of failures) {
    const err = l.err as { code?: string; message?: string };
    assert.equal(err.code, 'tls', `log line of ${String(l.type)}: ${JSON.stringify(l)}`);
    assert.ok(typeof l.hint === 'string' && l.hint.includes('tls_ca'), `log line of ${String(l.type)} has the tls_ca hint: ${JSON.stringify(l)}`);
  }
  // The collector refused the certificate: nothing reached the HTTP layer.
  assert.deepEqual(target.requests, [], 'no request was answered');
  assert.ok(target.tlsErrors.length >= TYPES.length, `the target saw the collector abort the handshakes: ${JSON.stringify(target.tlsErrors)}`);
}

describe('TLS to an HTTPS target', () => {
  it('a: tls_ca = our CA: --once scrapes every type over verified TLS', { timeout: 90_000 }, async () => {
    const dir = tempDir();
    const target = await httpsTarget();
    const cfg = writeConfig(dir, { targetUrl: target.url, targetTls: [`tls_ca = ${q(tls.caCert)}`] });

    const check = await run(['-c', cfg, '--check']);
    assert.equal(check.code, 0, check.stderr);
    assert.ok(check.stdout.includes(`    tls: verified, ca ${tls.caCert}\n`), `--check shows verified TLS with the CA:\n${check.stdout}`);

    assertAllShipped(await run(['-c', cfg, '--once']), target);
  });

  it('b: no tls_ca: the system CAs do not know our CA, the scrape fails with code tls and a tls_ca hint', { timeout: 90_000 }, async () => {
    const dir = tempDir();
    const target = await httpsTarget();
    const cfg = writeConfig(dir, { targetUrl: target.url });
    assertTlsFailure(await run(['-c', cfg, '--once']), target);
  });

  it('c: tls_ca = an unrelated CA: fails the same way', { timeout: 90_000 }, async () => {
    const dir = tempDir();
    const target = await httpsTarget();
    const cfg = writeConfig(dir, { targetUrl: target.url, targetTls: [`tls_ca = ${q(tls.otherCaCert)}`] });
    assertTlsFailure(await run(['-c', cfg, '--once']), target);
  });

  it('d: insecure_skip_verify = true: works, and --check says the certificate is NOT verified', { timeout: 90_000 }, async () => {
    const dir = tempDir();
    const target = await httpsTarget();
    const cfg = writeConfig(dir, { targetUrl: target.url, targetTls: ['insecure_skip_verify = true'] });

    const check = await run(['-c', cfg, '--check']);
    assert.equal(check.code, 0, check.stderr);
    assert.ok(check.stdout.includes('    tls: certificate NOT verified (insecure_skip_verify)\n'), `--check output:\n${check.stdout}`);

    assertAllShipped(await run(['-c', cfg, '--once']), target);
  });

  it('e: a target that requires a client certificate: works with tls_cert/tls_key, fails without', { timeout: 120_000 }, async () => {
    const dir = tempDir();
    const withCert = await httpsTarget(tls.caCert);
    const cfg = writeConfig(dir, {
      targetUrl: withCert.url,
      targetTls: [`tls_ca = ${q(tls.caCert)}`, `tls_cert = ${q(tls.clientCert)}`, `tls_key = ${q(tls.clientKey)}`],
    });
    const check = await run(['-c', cfg, '--check']);
    assert.equal(check.code, 0, check.stderr);
    assert.ok(check.stdout.includes(`    tls: verified, ca ${tls.caCert}, client cert ${tls.clientCert}\n`), `--check output:\n${check.stdout}`);

    assertAllShipped(await run(['-c', cfg, '--once']), withCert);
    assert.deepEqual(
      [...new Set(withCert.requests.map((r) => `${r.clientAuthorized}/${r.clientCn}`))],
      ['true/pprof-collector test client'],
      'every request came with our client certificate',
    );

    // The same server, without a client certificate: refused in the handshake.
    const without = await httpsTarget(tls.caCert);
    const dir2 = tempDir();
    const cfg2 = writeConfig(dir2, { targetUrl: without.url, targetTls: [`tls_ca = ${q(tls.caCert)}`] });
    const r = await run(['-c', cfg2, '--once']);
    assert.equal(r.code, 1, `--once exit code; stdout:\n${r.stdout}`);
    const rows = onceRows(r.stdout);
    assert.deepEqual(
      rows.map((x) => [x.type, x.result, x.delivered]),
      TYPES.map((t) => [t, 'failed', '-']),
      `--once table:\n${r.stdout}`,
    );
    assert.deepEqual(without.requests, [], 'no request got past the handshake');
    assert.ok(without.tlsErrors.length >= TYPES.length, `handshake failures at the server: ${JSON.stringify(without.tlsErrors)}`);
    assert.deepEqual([...new Set(without.tlsErrors)], ['ERR_SSL_PEER_DID_NOT_RETURN_A_CERTIFICATE'], 'the server refused for want of a client certificate');
  });

  it('a missing tls_ca file: --check exits 1 with FILE:LINE: inputs.profile.go.tls_ca: cannot read ...', { timeout: 30_000 }, async () => {
    const dir = tempDir();
    const missing = join(dir, 'no-such-ca.crt');
    const cfg = writeConfig(dir, { targetUrl: 'https://127.0.0.1:6060', targetTls: [`tls_ca = ${q(missing)}`] });
    const r = await run(['-c', cfg, '--check']);
    assert.equal(r.code, 1, `--check exit code; stdout:\n${r.stdout}\nstderr:\n${r.stderr}`);
    // tls_ca is line 14 of the file writeConfig writes (after 13 fixed lines).
    assert.deepEqual(r.stderr.split('\n').filter((l) => l !== ''), [
      `${cfg}:14: inputs.profile.go.tls_ca: cannot read ${q(missing)}: ENOENT`,
      `1 problem(s) in ${cfg}`,
    ]);
    assert.equal(r.stdout, '', 'nothing on stdout for an invalid config');
  });
});

describe('TLS to a DataKit output', () => {
  async function httpsIntake(): Promise<{ intake: DatakitIntake; url: string; proxy: Awaited<ReturnType<typeof startTlsProxy>> }> {
    const intake = await new DatakitIntake().start();
    cleanup.add(() => intake.close());
    const proxy = await startTlsProxy(Number(new URL(intake.origin).port), { key: tls.serverKey, cert: tls.serverCert });
    cleanup.add(() => proxy.close());
    return { intake, url: `${proxy.origin}${INTAKE_PATH}`, proxy };
  }

  it('with tls_ca: every profile is delivered over verified TLS', { timeout: 90_000 }, async () => {
    const dir = tempDir();
    const target = await httpsTarget();
    const { intake, url, proxy } = await httpsIntake();
    const cfg = writeConfig(dir, {
      targetUrl: target.url,
      targetTls: [`tls_ca = ${q(tls.caCert)}`],
      datakit: { url, lines: [`tls_ca = ${q(tls.caCert)}`] },
    });
    const check = await run(['-c', cfg, '--check']);
    assert.equal(check.code, 0, check.stderr);
    assert.ok(check.stdout.includes(`  datakit "datakit" -> ${url} (TLS verified with CA ${tls.caCert})\n`), `--check output:\n${check.stdout}`);

    const r = await run(['-c', cfg, '--once']);
    assertAllShipped(r, target);
    assert.deepEqual(intake.rejections.map((x) => x.reason), [], 'rejections at the intake');
    assert.deepEqual(intake.uploads.map((u) => u.type).sort(), [...TYPES].sort(), 'one upload per type arrived through TLS');
    assert.ok(proxy.handshakes >= 1, 'the uploads came through the TLS terminator');
    assert.deepEqual(proxy.tlsErrors, [], 'no failed handshake at the intake');
  });

  it('without tls_ca: nothing is delivered, the log says it is a certificate problem, nothing crashes', { timeout: 90_000 }, async () => {
    const dir = tempDir();
    const target = await httpsTarget();
    const { intake, url, proxy } = await httpsIntake();
    const cfg = writeConfig(dir, { targetUrl: target.url, targetTls: [`tls_ca = ${q(tls.caCert)}`], datakit: { url, lines: [] } });

    const r = await run(['-c', cfg, '--once']);
    assert.equal(r.code, 1, `--once exit code; stdout:\n${r.stdout}\nstderr:\n${r.stderr.slice(-3000)}`);
    // Scraping worked; delivery did not.
    const rows = onceRows(r.stdout);
    assert.deepEqual(rows.map((x) => [x.type, x.result]), TYPES.map((t) => [t, 'shipped']), `--once table:\n${r.stdout}`);
    for (const x of rows) assert.match(x.delivered, /^no \(/, `row ${x.type} is not delivered: ${x.delivered}`);
    assert.equal(intake.uploads.length, 0, 'no upload reached the intake');
    assert.equal(proxy.handshakes, 0, 'no TLS handshake with the intake completed');
    assert.ok(proxy.tlsErrors.length >= 1, 'the collector aborted the handshake');

    const logs = stderrLogs(r);
    const sendFailed = logs.filter((l) => typeof l.msg === 'string' && l.msg.startsWith('send failed, will retry: '));
    assert.equal(sendFailed.length >= 1, true, `a "send failed" line; stderr:\n${r.stderr}`);
    for (const l of sendFailed) {
      assert.match(String(l.msg), /certificate/i, `the log says it is a certificate problem: ${String(l.msg)}`);
      assert.match(String(l.msg), new RegExp(`POST ${url.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')}`), `the log names the intake: ${String(l.msg)}`);
    }
    // No crash: no fatal line, no stack trace, the summary was printed.
    assert.deepEqual(logs.filter((l) => l.level === 'fatal'), []);
    assert.doesNotMatch(r.stderr, /Uncaught|\n\s+at [^\n]+\.ts:\d+/, 'no stack trace on stderr');
    assert.match(r.stdout, /^some profiles were not scraped or not delivered/m);
  });
});
