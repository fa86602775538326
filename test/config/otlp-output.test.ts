// [[outputs.otlp]] through parseConfig: defaults, compression, tenant, auth
// and TLS keys as the other outputs have them, FILE:LINE errors; and the
// `collector --check` line, which never shows a secret.
//
//   node --import tsx --test test/config/otlp-output.test.ts

import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import type { Config, OtlpOutputConfig } from '../../src/config/types.js';
import { doc, issuesOfText, loadText } from '../helpers/config-text.js';
import { ROOT } from '../helpers/processes.js';

const FILE = 'conf.d/otlp.conf';
const PASSWORD = 'pw-Otl9-never-shown';
const TOKEN = 'tok-Otl3-never-shown';
const HEADER_SECRET = 'hdr-Otl5-never-shown';
const ENDPOINT = 'http://127.0.0.1:4318/v1development/profiles';

function load(source: string, env: Record<string, string> = {}): Config {
  return loadText(source, FILE, env);
}

const issues = (source: string): string[] => issuesOfText(source, FILE);

function otlp(c: Config, i = 0): OtlpOutputConfig {
  const o = c.outputs.filter((x): x is OtlpOutputConfig => x.kind === 'otlp')[i];
  assert.ok(o, 'an otlp output');
  return o;
}

/** Lines 1-4: one target; the output starts on line 5. */
const TARGET = ['[[inputs.profile.go]]', 'url = "http://127.0.0.1:6060"', 'service = "svc"', 'env = "prod"'];

let dir = '';
before(() => {
  dir = mkdtempSync(join(tmpdir(), 'otlp-config-test-'));
});
after(() => rmSync(dir, { recursive: true, force: true }));
const write = (name: string, text: string): string => {
  const f = join(dir, name);
  writeFileSync(f, text);
  return f;
};

describe('[[outputs.otlp]]', () => {
  it('defaults: gzip, timeout 30s, concurrency 4, no tenant, no auth; the endpoint is kept as written', () => {
    const o = otlp(load(doc(...TARGET, '[[outputs.otlp]]', `url = "${ENDPOINT}"`)));
    assert.equal(o.kind, 'otlp');
    assert.equal(o.name, 'otlp');
    assert.deepEqual(o.source, { file: FILE, line: 5 });
    assert.equal(o.url, ENDPOINT);
    assert.equal(o.compression, 'gzip');
    assert.equal(o.tenantId, '');
    assert.equal(o.auth, undefined);
    assert.equal(o.tls, undefined);
    assert.deepEqual(o.headers, {});
    assert.equal(o.timeoutMs, 30_000);
    assert.equal(o.concurrency, 4);
  });

  it('compression = "none", tenant_id, headers, timeout, concurrency, bearer_token_file, TLS on https', () => {
    const tok = write('tok.txt', `${TOKEN}\n`);
    const ca = write('ca.pem', 'not read until a send');
    const o = otlp(
      load(
        doc(
          ...TARGET,
          '[[outputs.otlp]]',
          'name = "otel"',
          'url = "https://otel.example:4318/v1development/profiles"',
          'compression = "none"',
          'tenant_id = "team-a"',
          'timeout = "5s"',
          'concurrency = 2',
          `bearer_token_file = ${JSON.stringify(tok)}`,
          `tls_ca = ${JSON.stringify(ca)}`,
          '[outputs.otlp.headers]',
          'X-Team = "perf"',
        ),
      ),
    );
    assert.equal(o.name, 'otel');
    assert.equal(o.compression, 'none');
    assert.equal(o.tenantId, 'team-a');
    assert.equal(o.timeoutMs, 5_000);
    assert.equal(o.concurrency, 2);
    assert.deepEqual(o.headers, { 'X-Team': 'perf' });
    assert.deepEqual(o.auth, { kind: 'bearer', token: TOKEN, from: tok });
    assert.deepEqual(o.tls, { caFile: ca, insecureSkipVerify: false });
  });

  it('basic_auth with password_file', () => {
    const pw = write('pw.txt', `${PASSWORD}\n`);
    const o = otlp(load(doc(...TARGET, '[[outputs.otlp]]', `url = "${ENDPOINT}"`, '[outputs.otlp.basic_auth]', 'username = "u1"', `password_file = ${JSON.stringify(pw)}`)));
    assert.deepEqual(o.auth, { kind: 'basic', username: 'u1', password: PASSWORD, from: pw });
  });

  it('url is required, with an example of both backends', () => {
    assert.deepEqual(issues(doc(...TARGET, '[[outputs.otlp]]', 'compression = "gzip"')), [
      `${FILE}:5: outputs.otlp.url: is required: the OTLP/HTTP profiles endpoint, like url = "http://127.0.0.1:4318/v1development/profiles" (the OpenTelemetry Collector) or "http://127.0.0.1:4040/v1development/profiles" (Pyroscope)`,
    ]);
  });

  it('a url without a path is an error: the url is the whole endpoint', () => {
    assert.deepEqual(issues(doc(...TARGET, '[[outputs.otlp]]', 'url = "http://127.0.0.1:4318/"')), [
      `${FILE}:6: outputs.otlp.url: has no path: write the whole endpoint, like "http://127.0.0.1:4318/v1development/profiles" (the OpenTelemetry Collector) or "http://127.0.0.1:4040/v1development/profiles" (Pyroscope)`,
    ]);
  });

  it('a bad compression names the allowed values and the likely one', () => {
    assert.deepEqual(issues(doc(...TARGET, '[[outputs.otlp]]', `url = "${ENDPOINT}"`, 'compression = "gzipp"')), [
      `${FILE}:7: outputs.otlp.compression: must be "gzip" or "none", got "gzipp" (did you mean "gzip"?)`,
    ]);
  });

  it('user:password in the url, basic_auth with bearer_token, an unknown key: errors that repeat no secret', () => {
    const got = [
      ...issues(doc(...TARGET, '[[outputs.otlp]]', `url = "http://u1:${PASSWORD}@127.0.0.1:4318/v1development/profiles"`)),
      ...issues(doc(...TARGET, '[[outputs.otlp]]', `url = "${ENDPOINT}"`, `bearer_token = "${TOKEN}"`, '[outputs.otlp.basic_auth]', 'username = "u1"', `password = "${PASSWORD}"`)),
      ...issues(doc(...TARGET, '[[outputs.otlp]]', `url = "${ENDPOINT}"`, 'tenant = "x"')),
    ];
    assert.equal(got[0], `${FILE}:6: outputs.otlp.url: must not carry user:password; use [outputs.otlp.basic_auth]`);
    assert.equal(got[1], `${FILE}:7: outputs.otlp.bearer_token: set basic_auth or bearer_token, not both`);
    assert.match(got[2]!, /^conf\.d\/otlp\.conf:7: outputs\.otlp\.tenant: unknown key "tenant"; allowed here: name, url, compression, tenant_id, basic_auth/);
    assert.equal(got.length, 3);
    for (const line of got) assert.ok(!line.includes(TOKEN) && !line.includes(PASSWORD), line);
  });

  it('a second [[outputs.otlp]] is named otlp-2', () => {
    const c = load(doc(...TARGET, '[[outputs.otlp]]', `url = "${ENDPOINT}"`, '[[outputs.otlp]]', 'url = "http://127.0.0.1:4040/v1development/profiles"'));
    assert.deepEqual(c.outputs.map((o) => o.name), ['otlp', 'otlp-2']);
  });
});

describe('collector --check with OTLP outputs', () => {
  it('one line each: endpoint, compression, tenant, auth and header names, never a secret', () => {
    const tok = write('check-tok.txt', `${TOKEN}\n`);
    const cfg = write(
      'otlp-check.conf',
      doc(
        '[agent]',
        'listen = ""',
        `data_dir = ${JSON.stringify(join(dir, 'data'))}`,
        ...TARGET,
        '[[outputs.otlp]]',
        'name = "otel"',
        `url = "${ENDPOINT}"`,
        'tenant_id = "team-a"',
        `bearer_token_file = ${JSON.stringify(tok)}`,
        '[outputs.otlp.headers]',
        `X-Api-Key = "${HEADER_SECRET}"`,
        '[[outputs.otlp]]',
        'name = "pyro-otlp"',
        'url = "http://127.0.0.1:4040/v1development/profiles"',
        'compression = "none"',
        '[outputs.otlp.basic_auth]',
        'username = "collector"',
        `password = "${PASSWORD}"`,
      ),
    );
    const res = spawnSync(process.execPath, ['bin/collector.js', '-c', cfg, '--check'], { cwd: ROOT, encoding: 'utf8', timeout: 30_000 });
    assert.equal(res.status, 0, `exit ${res.status}:\n${res.stdout}\n${res.stderr}`);
    const lines = res.stdout.split('\n');
    assert.ok(
      lines.includes(`  otlp "otel" -> ${ENDPOINT} (OTLP/HTTP protobuf, gzip, tenant team-a, bearer token from ${tok}, headers: X-Api-Key; values not shown)`),
      res.stdout,
    );
    assert.ok(lines.includes('  otlp "pyro-otlp" -> http://127.0.0.1:4040/v1development/profiles (OTLP/HTTP protobuf, uncompressed, basic auth as collector)'), res.stdout);
    const out = `${res.stdout}${res.stderr}`;
    for (const secret of [PASSWORD, TOKEN, HEADER_SECRET, 'never-shown']) assert.ok(!out.includes(secret), `--check shows "${secret}":\n${out}`);
  });
});
