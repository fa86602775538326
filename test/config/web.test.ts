// [agent.web] (src/config/validate/web.ts): TLS and authentication of the
// status server, through parseConfig, and how --check shows it. Real files:
// a certificate pair from openssl (test/helpers/tls.ts), a bcrypt hash from
// bcryptjs, a token file.
//
//   node --import tsx --test test/config/web.test.ts

import assert from 'node:assert/strict';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import bcrypt from 'bcryptjs';
import { renderPlan } from '../../src/cli.js';
import { ConfigError, parseConfig, type Config } from '../../src/config/index.js';
import { agentReloadPlan } from '../../src/config/reload.js';
import { staticTargets } from '../../src/discovery/static.js';
import { cleanupAfterAll } from '../helpers/processes.js';
import { makeTlsMaterial, type TlsMaterial } from '../helpers/tls.js';

const FILE = 'web.conf';
const cleanup = cleanupAfterAll();
let tls: TlsMaterial;
let dir: string;
let tokenFile: string;
const HASH = bcrypt.hashSync('s3cret-pw', 4);

before(() => {
  tls = makeTlsMaterial();
  cleanup.add(() => tls.remove());
  dir = cleanup.tempDir('web-config-');
  tokenFile = join(dir, 'token');
  writeFileSync(tokenFile, 'tok-0123456789abcdef\n');
});
after(() => undefined);

const q = (s: string) => JSON.stringify(s);
const doc = (agent: string[], ...web: string[]) =>
  ['[agent]', ...agent, ...(web.length ? ['[agent.web]', ...web] : []), '[[inputs.profile.go]]', 'url = "http://127.0.0.1:6060"', ''].join('\n');
const load = (text: string): Config => parseConfig(text, FILE, { env: {}, osHostname: 'box' });
/** Notices about [agent] (the target block gets its own about the default service). */
const agentNotices = (c: Config) => c.notices.filter((n) => n.path.startsWith('agent'));

function issues(text: string): string[] {
  try {
    load(text);
  } catch (err) {
    assert.ok(err instanceof ConfigError, String(err));
    return err.message.split('\n');
  }
  assert.fail(`the config was accepted:\n${text}`);
}

describe('[agent.web]', () => {
  test('TLS pair, basic auth users and a bearer token file: loaded, and --check says what protects what without the secrets', () => {
    const c = load(
      doc(
        ['listen = "0.0.0.0:9466"'],
        `tls_cert = ${q(tls.serverCert)}`,
        `tls_key = ${q(tls.serverKey)}`,
        `bearer_token_file = ${q(tokenFile)}`,
        '[agent.web.basic_auth_users]',
        `prometheus = ${q(HASH)}`,
      ),
    );
    assert.deepEqual(c.agent.web, {
      tls: { certFile: tls.serverCert, keyFile: tls.serverKey },
      basicAuthUsers: { prometheus: HASH },
      bearerToken: 'tok-0123456789abcdef',
    });
    assert.deepEqual(agentNotices(c), [], 'no warning: the server asks for credentials');
    const plan = renderPlan(c, staticTargets(c));
    assert.match(plan, new RegExp(`^status server: 0\\.0\\.0\\.0:9466, https \\(${tls.serverCert.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')}\\), basic auth \\(1 user: prometheus\\) or bearer token for everything but /healthz and /readyz$`, 'm'));
    assert.doesNotMatch(plan, /tok-0123|\$2[aby]\$/, 'neither the token nor the hash is shown');
  });

  test('none: plain and open; --check says so; on a non-loopback address a notice says who can read what', () => {
    const local = load(doc(['listen = "127.0.0.1:9466"']));
    assert.equal(local.agent.web, undefined);
    assert.deepEqual(agentNotices(local), []);
    assert.match(renderPlan(local, staticTargets(local)), /^status server: 127\.0\.0\.1:9466, http, no authentication$/m);
    const open = load(doc(['listen = "0.0.0.0:9466"']));
    assert.equal(agentNotices(open).length, 1);
    assert.equal(agentNotices(open)[0]!.path, 'agent.listen');
    assert.match(agentNotices(open)[0]!.message, /serves the last profiles and the targets' error messages to anyone who can reach it: set \[agent\.web\] basic_auth_users or bearer_token_file, or listen on 127\.0\.0\.1/);
    // TLS alone protects the wire, not the data.
    const tlsOnly = load(doc(['listen = "[::]:9466"'], `tls_cert = ${q(tls.serverCert)}`, `tls_key = ${q(tls.serverKey)}`));
    assert.equal(agentNotices(tlsOnly).length, 1);
    const off = load(doc(['listen = ""'], `bearer_token = "abc"`));
    assert.match(agentNotices(off).map((n) => `${n.path}: ${n.message}`).join('\n'), /^agent\.web: the status server is off \(listen = ""\), so these settings have no effect$/);
    assert.match(renderPlan(off, staticTargets(off)), /^status server: off$/m);
  });

  test('wrong settings: each reported at its line, the hash or password never echoed', () => {
    const lines = issues(
      doc(
        ['listen = "0.0.0.0:9466"'],
        `tls_cert = ${q(tls.serverCert)}`,
        `bearer_token_file = ${q(join(dir, 'missing'))}`,
        'tls_kye = "x"',
        '[agent.web.basic_auth_users]',
        'alice = "hunter2"',
        '"bob:x" = ' + q(HASH),
        `carol = ${q(HASH.replace(/^\$2b\$04/, '$2b$99'))}`,
      ),
    );
    const text = lines.join('\n');
    assert.match(text, /^web\.conf:3: agent\.web\.tls_key: tls_cert and tls_key go together: set both to serve https, or neither$/m);
    assert.match(text, /^web\.conf:5: agent\.web\.bearer_token_file: cannot read ".*missing": ENOENT$/m);
    assert.match(text, /^web\.conf:6: agent\.web\.tls_kye: unknown key "tls_kye" \(did you mean "tls_key"\?\)/m);
    assert.match(text, /^web\.conf:8: agent\.web\.basic_auth_users\.alice: must be a bcrypt hash .* not a password$/m);
    assert.match(text, /^web\.conf:9: agent\.web\.basic_auth_users\."bob:x": a user name must not be empty or contain ":"/m);
    assert.match(text, /^web\.conf:10: agent\.web\.basic_auth_users\.carol: bcrypt cost 99 is out of range/m);
    assert.doesNotMatch(text, /hunter2/);
  });

  test('a certificate with the wrong key, an empty token file, an empty users table', () => {
    const empty = join(dir, 'empty-token');
    writeFileSync(empty, '\n');
    const text = issues(
      doc(['listen = "127.0.0.1:0"'], `tls_cert = ${q(tls.serverCert)}`, `tls_key = ${q(tls.clientKey)}`, `bearer_token_file = ${q(empty)}`, '[agent.web.basic_auth_users]'),
    ).join('\n');
    assert.match(text, /agent\.web\.tls_key: ".*" and ".*" are not a PEM certificate and its private key: .*key values mismatch/);
    assert.match(text, /agent\.web\.bearer_token_file: is empty: a token of random characters is needed/);
    assert.match(text, /agent\.web\.basic_auth_users: is empty: list at least one user/);
  });

  test('a SIGHUP that changes [agent.web] is reported as waiting for a restart', () => {
    const a = load(doc(['listen = "127.0.0.1:0"'], 'bearer_token = "one"'));
    const b = load(doc(['listen = "127.0.0.1:0"'], 'bearer_token = "two"'));
    assert.deepEqual(agentReloadPlan(a.agent, a.agent, b.agent, false).needRestart, ['web']);
    assert.deepEqual(agentReloadPlan(a.agent, a.agent, load(doc(['listen = "127.0.0.1:0"'], 'bearer_token = "one"')).agent, false).needRestart, []);
  });
});
