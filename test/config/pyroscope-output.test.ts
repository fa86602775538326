// [[outputs.pyroscope]] through parseConfig: defaults, api, secrets from
// files, auth conflicts, label limits and renames; and `collector --check` on
// a config with all three output kinds, which must not print a secret.

import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { ConfigError, formatIssue } from '../../src/config/errors.js';
import { parseConfig } from '../../src/config/load.js';
import type { Config, PyroscopeOutputConfig } from '../../src/config/types.js';
import { ROOT } from '../helpers/processes.js';

const FILE = 'conf.d/pyro.conf';
const PASSWORD = 'pw-Vb73-never-shown';
const TOKEN = 'tok-Qx19-never-shown';
const HEADER_SECRET = 'hdr-Lm44-never-shown';

/** Lines joined with \n: element i is line i + 1. */
const doc = (...lines: string[]): string => lines.join('\n') + '\n';

function load(source: string, env: Record<string, string> = {}): Config {
  return parseConfig(source, FILE, { env, osHostname: 'agent-host' });
}

function issues(source: string, env: Record<string, string> = {}): string[] {
  try {
    load(source, env);
  } catch (err) {
    if (err instanceof ConfigError) return err.issues.map(formatIssue);
    throw err;
  }
  assert.fail(`expected a ConfigError for:\n${source}`);
}

function pyro(c: Config, i = 0): PyroscopeOutputConfig {
  const o = c.outputs.filter((x): x is PyroscopeOutputConfig => x.kind === 'pyroscope')[i];
  assert.ok(o, 'a pyroscope output');
  return o;
}

/** Lines 1-4: one target. */
const TARGET = ['[[inputs.profile.go]]', 'url = "http://127.0.0.1:6060"', 'service = "svc"', 'env = "prod"'];

let dir = '';
before(() => {
  dir = mkdtempSync(join(tmpdir(), 'pyro-config-test-'));
});
after(() => rmSync(dir, { recursive: true, force: true }));

const write = (name: string, text: string): string => {
  const f = join(dir, name);
  writeFileSync(f, text);
  return f;
};

describe('[[outputs.pyroscope]]', () => {
  it('defaults: api push, timeout 30s, no tenant, no auth, no headers; the URL loses its trailing slash', () => {
    const c = load(doc(...TARGET, '[[outputs.pyroscope]]', 'url = "http://127.0.0.1:4040/"'));
    const p = pyro(c);
    // Field by field: other settings may join this struct.
    assert.equal(p.kind, 'pyroscope');
    assert.equal(p.name, 'pyroscope');
    assert.deepEqual(p.source, { file: FILE, line: 5 });
    assert.equal(p.url, 'http://127.0.0.1:4040');
    assert.equal(p.api, 'push');
    assert.equal(p.tenantId, '');
    assert.equal(p.auth, undefined);
    assert.deepEqual(p.headers, {});
    assert.equal(p.timeoutMs, 30_000);
  });

  it('api = "ingest", tenant_id, headers, timeout', () => {
    const c = load(
      doc(...TARGET, '[[outputs.pyroscope]]', 'url = "https://pyro.example:4040/base"', 'api = "ingest"', 'tenant_id = "t-1"', 'timeout = "5s"', '[outputs.pyroscope.headers]', 'X-Team = "perf"'),
    );
    const p = pyro(c);
    assert.equal(p.api, 'ingest');
    assert.equal(p.url, 'https://pyro.example:4040/base');
    assert.equal(p.tenantId, 't-1');
    assert.equal(p.timeoutMs, 5_000);
    assert.deepEqual(p.headers, { 'X-Team': 'perf' });
  });

  it('a bad api is an error with its line and the allowed values', () => {
    assert.deepEqual(issues(doc(...TARGET, '[[outputs.pyroscope]]', 'url = "http://127.0.0.1:4040"', 'api = "pushh"')), [
      `${FILE}:7: outputs.pyroscope.api: must be "push" (connect PusherService/Push) or "ingest" (legacy /ingest), got "pushh" (did you mean "push"?)`,
    ]);
  });

  it('url is required, and must be http(s)', () => {
    assert.deepEqual(issues(doc(...TARGET, '[[outputs.pyroscope]]', 'api = "push"')), [
      `${FILE}:5: outputs.pyroscope.url: is required: the Pyroscope server, like url = "http://127.0.0.1:4040"`,
    ]);
    const [one] = issues(doc(...TARGET, '[[outputs.pyroscope]]', 'url = "ftp://127.0.0.1:4040"'));
    assert.equal(one, `${FILE}:6: outputs.pyroscope.url: scheme must be http or https, got "ftp"`);
  });

  it('password_file and bearer_token_file are read now, their trailing newline dropped', () => {
    const pw = write('pw.txt', `${PASSWORD}\n`);
    const tok = write('tok.txt', `${TOKEN}\r\n`);
    const c = load(
      doc(
        ...TARGET,
        '[[outputs.pyroscope]]',
        'name = "basic"',
        'url = "http://127.0.0.1:4040"',
        '[outputs.pyroscope.basic_auth]',
        'username = "u1"',
        `password_file = ${JSON.stringify(pw)}`,
        '[[outputs.pyroscope]]',
        'name = "bearer"',
        'url = "http://127.0.0.1:4041"',
        `bearer_token_file = ${JSON.stringify(tok)}`,
      ),
    );
    assert.deepEqual(pyro(c, 0).auth, { kind: 'basic', username: 'u1', password: PASSWORD, from: pw });
    assert.deepEqual(pyro(c, 1).auth, { kind: 'bearer', token: TOKEN, from: tok });
  });

  it('inline secrets, also from ${VAR}', () => {
    const c = load(doc(...TARGET, '[[outputs.pyroscope]]', 'url = "http://127.0.0.1:4040"', 'bearer_token = "${PYRO_TOKEN}"'), { PYRO_TOKEN: TOKEN });
    assert.deepEqual(pyro(c).auth, { kind: 'bearer', token: TOKEN });
  });

  it('a missing secret file: FILE:LINE: key path: cannot read ..., and the error holds no secret', () => {
    const missing = join(dir, 'nope', 'pw.txt');
    const got = issues(
      doc(...TARGET, '[[outputs.pyroscope]]', 'url = "http://127.0.0.1:4040"', '[outputs.pyroscope.basic_auth]', 'username = "u1"', `password_file = ${JSON.stringify(missing)}`),
    );
    assert.deepEqual(got, [`${FILE}:9: outputs.pyroscope.basic_auth.password_file: cannot read "${missing}": ENOENT`]);
    const tokMissing = join(dir, 'nope', 'tok.txt');
    assert.deepEqual(issues(doc(...TARGET, '[[outputs.pyroscope]]', 'url = "http://127.0.0.1:4040"', `bearer_token_file = ${JSON.stringify(tokMissing)}`)), [
      `${FILE}:7: outputs.pyroscope.bearer_token_file: cannot read "${tokMissing}": ENOENT`,
    ]);
  });

  it('basic_auth and bearer_token both: an error; bearer_token and bearer_token_file both: an error', () => {
    const both = issues(
      doc(...TARGET, '[[outputs.pyroscope]]', 'url = "http://127.0.0.1:4040"', `bearer_token = "${TOKEN}"`, '[outputs.pyroscope.basic_auth]', 'username = "u1"', `password = "${PASSWORD}"`),
    );
    assert.deepEqual(both, [`${FILE}:7: outputs.pyroscope.bearer_token: set basic_auth or bearer_token, not both`]);
    const tok = write('tok2.txt', TOKEN);
    const twice = issues(doc(...TARGET, '[[outputs.pyroscope]]', 'url = "http://127.0.0.1:4040"', `bearer_token = "${TOKEN}"`, `bearer_token_file = ${JSON.stringify(tok)}`));
    assert.deepEqual(twice, [`${FILE}:8: outputs.pyroscope.bearer_token_file: set bearer_token or bearer_token_file, not both`]);
    for (const line of [...both, ...twice]) assert.ok(!line.includes(TOKEN) && !line.includes(PASSWORD), line);
  });

  it('basic_auth without a password, or without a username: an error', () => {
    assert.deepEqual(issues(doc(...TARGET, '[[outputs.pyroscope]]', 'url = "http://127.0.0.1:4040"', '[outputs.pyroscope.basic_auth]', 'username = "u1"')), [
      `${FILE}:7: outputs.pyroscope.basic_auth.password: is required with basic_auth (or password_file)`,
    ]);
    assert.deepEqual(issues(doc(...TARGET, '[[outputs.pyroscope]]', 'url = "http://127.0.0.1:4040"', '[outputs.pyroscope.basic_auth]', `password = "${PASSWORD}"`)), [
      `${FILE}:7: outputs.pyroscope.basic_auth.username: is required with basic_auth`,
    ]);
  });

  it('a url with user:password is an error that does not repeat the password', () => {
    const got = issues(doc(...TARGET, '[[outputs.pyroscope]]', `url = "http://u1:${PASSWORD}@127.0.0.1:4040"`));
    assert.deepEqual(got, [`${FILE}:6: outputs.pyroscope.url: must not carry user:password; use [outputs.pyroscope.basic_auth]`]);
  });

  it('an unknown key is an error', () => {
    const [one] = issues(doc(...TARGET, '[[outputs.pyroscope]]', 'url = "http://127.0.0.1:4040"', 'tenant = "x"'));
    assert.match(one!, /^conf\.d\/pyro\.conf:7: outputs\.pyroscope\.tenant: unknown key "tenant"/);
  });
});

describe('Pyroscope label limits, checked at load', () => {
  /** A target with n go tags t0..t(n-1), plus env and version: 5 fixed labels (__name__, service_name, host, instance, __delta__) + 2 + n. */
  const withTags = (n: number, output = true): string =>
    doc(
      '[[inputs.profile.go]]', // 1
      'url = "http://127.0.0.1:6060"',
      'service = "svc"',
      'env = "prod"',
      'version = "1.0"',
      '[inputs.profile.go.tags]',
      ...Array.from({ length: n }, (_, i) => `t${i} = "v"`),
      ...(output ? ['[[outputs.pyroscope]]', 'url = "http://127.0.0.1:4040"'] : []),
    );

  it('30 labels load; 31 is an error naming the count and what to drop', () => {
    assert.equal(load(withTags(23)).targets.length, 1);
    assert.deepEqual(issues(withTags(24)), [
      `${FILE}:1: inputs.profile.go.tags: this target's profiles would carry 31 Pyroscope labels (__name__, service_name, __delta__, host, instance, env, version and the tags); Pyroscope accepts at most 30: drop 1 tag(s)`,
    ]);
    assert.match(issues(withTags(40))[0]!, /would carry 47 Pyroscope labels .* drop 17 tag\(s\)$/);
  });

  it('the label limit applies only when a Pyroscope output is configured', () => {
    assert.equal(load(withTags(40, false)).targets.length, 1);
  });

  it('two tags that sanitise to one label name: an error', () => {
    const src = doc('[[inputs.profile.go]]', 'url = "http://127.0.0.1:6060"', 'service = "svc"', '[inputs.profile.go.tags]', 'team-name = "a"', 'team_name = "b"', '[[outputs.pyroscope]]', 'url = "http://127.0.0.1:4040"');
    assert.deepEqual(issues(src), [
      `${FILE}:1: inputs.profile.go.tags: tags "team-name" and "team_name" would both become the Pyroscope label "team_name" (label names allow only [A-Za-z0-9_.]); rename one`,
    ]);
  });

  it('a tag that would become service_name or a reserved __ label: an error', () => {
    const svc = doc('[[inputs.profile.go]]', 'url = "http://127.0.0.1:6060"', 'service = "svc"', '[inputs.profile.go.tags]', 'service_name = "x"', '[[outputs.pyroscope]]', 'url = "http://127.0.0.1:4040"');
    assert.deepEqual(issues(svc), [`${FILE}:1: inputs.profile.go.tags: tags "service" and "service_name" would both become the Pyroscope label "service_name" (label names allow only [A-Za-z0-9_.]); rename one`]);
    const reserved = doc('[[inputs.profile.go]]', 'url = "http://127.0.0.1:6060"', 'service = "svc"', '[inputs.profile.go.tags]', '__delta__ = "x"', '[[outputs.pyroscope]]', 'url = "http://127.0.0.1:4040"');
    assert.deepEqual(issues(reserved), [`${FILE}:1: inputs.profile.go.tags: tag "__delta__" would become the reserved Pyroscope label "__delta__"; rename it`]);
  });

  it('a renamed tag is a notice, not an error', () => {
    const c = load(doc('[[inputs.profile.go]]', 'url = "http://127.0.0.1:6060"', 'service = "svc"', '[inputs.profile.go.tags]', 'team-name = "a"', '[[outputs.pyroscope]]', 'url = "http://127.0.0.1:4040"'));
    assert.deepEqual(
      c.notices.filter((n) => n.message.includes('Pyroscope')),
      [{ path: 'inputs.profile.go.tags', line: 1, message: 'tag "team-name" is sent to Pyroscope as label "team_name" (label names allow only [A-Za-z0-9_.])' }],
    );
  });
});

describe('collector --check with all three output kinds', () => {
  it('lists every output and prints no secret', () => {
    const tokFile = write('check-token.txt', `${TOKEN}\n`);
    const cfg = write(
      'all-outputs.conf',
      doc(
        '[agent]',
        'listen = ""',
        `data_dir = ${JSON.stringify(join(dir, 'data'))}`,
        '[[inputs.profile.go]]',
        'url = "http://127.0.0.1:6060"',
        'service = "svc"',
        '[[outputs.datakit]]',
        'url = "http://127.0.0.1:9529/profiling/v1/input"',
        '[outputs.datakit.headers]',
        `X-Token = "${HEADER_SECRET}"`,
        '[[outputs.pyroscope]]',
        'name = "pyro-basic"',
        'url = "http://127.0.0.1:4040"',
        'tenant_id = "team-a"',
        '[outputs.pyroscope.basic_auth]',
        'username = "pyro-user"',
        `password = "${PASSWORD}"`,
        '[[outputs.pyroscope]]',
        'name = "pyro-bearer"',
        'url = "http://127.0.0.1:4041"',
        'api = "ingest"',
        `bearer_token_file = ${JSON.stringify(tokFile)}`,
        '[outputs.pyroscope.headers]',
        `X-Secret = "${HEADER_SECRET}"`,
        '[[outputs.file]]',
        `dir = ${JSON.stringify(join(dir, 'profiles'))}`,
      ),
    );
    const res = spawnSync(process.execPath, ['bin/collector.js', '-c', cfg, '--check'], { cwd: ROOT, encoding: 'utf8', timeout: 30_000 });
    assert.equal(res.error, undefined);
    assert.equal(res.status, 0, `exit ${res.status}:\n${res.stdout}\n${res.stderr}`);
    const out = `${res.stdout}${res.stderr}`;
    assert.match(res.stdout, /^outputs \(4\):$/m);
    assert.match(res.stdout, /^ {2}datakit "datakit" -> http:\/\/127\.0\.0\.1:9529\/profiling\/v1\/input \(headers: X-Token; values not shown\)$/m);
    assert.match(res.stdout, /^ {2}pyroscope "pyro-basic" -> http:\/\/127\.0\.0\.1:4040\/? \(api push, tenant team-a, basic auth as pyro-user\)$/m);
    assert.match(
      res.stdout,
      new RegExp(`^ {2}pyroscope "pyro-bearer" -> http://127\\.0\\.0\\.1:4041/? \\(api ingest, bearer token from ${tokFile.replace(/[.*+?^${}()|[\]\\/]/g, '\\$&')}, headers: X-Secret; values not shown\\)$`, 'm'),
    );
    assert.match(res.stdout, new RegExp(`^ {2}file "file" -> ${join(dir, 'profiles').replace(/[.*+?^${}()|[\]\\/]/g, '\\$&')}$`, 'm'));
    for (const secret of [PASSWORD, TOKEN, HEADER_SECRET, 'never-shown']) assert.ok(!out.includes(secret), `--check output shows "${secret}":\n${out}`);
  });
});
