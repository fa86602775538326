// A target block's credentials and tenant through parseConfig: basic_auth,
// bearer_token(_file), user:password in the url, tenant_id and
// allow_insecure_credentials, with their errors as FILE:LINE: key.path.
//
//   node --import tsx --test test/config/target-auth.test.ts

import assert from 'node:assert/strict';
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { ConfigError, parseConfig, type Config } from '../../src/config/index.js';

const FILE = 'auth.conf';
const doc = (...lines: string[]): string => `${lines.join('\n')}\n`;
const q = (s: string) => JSON.stringify(s);

function load(text: string): Config {
  return parseConfig(text, FILE, { env: { TOKEN: 'from-env' }, osHostname: 'box' });
}

function issues(text: string): string[] {
  try {
    load(text);
  } catch (err) {
    assert.ok(err instanceof ConfigError, String(err));
    return err.message.split('\n');
  }
  assert.fail(`the config was accepted:\n${text}`);
}

let dir = '';
let tokenFile = '';
let passFile = '';
before(() => {
  dir = mkdtempSync(join(tmpdir(), 'target-auth-config-'));
  tokenFile = join(dir, 'token');
  passFile = join(dir, 'pass');
  writeFileSync(tokenFile, 'tok\n');
  writeFileSync(passFile, 'pw\n');
  mkdirSync(join(dir, 'a-dir'));
  writeFileSync(join(dir, 'big'), 'x'.repeat(64 * 1024 + 1));
});
after(() => rmSync(dir, { recursive: true, force: true }));

/** A static block (line 1) with `lines` after its url. */
const target = (...lines: string[]) => doc('[[inputs.profile.go]]', 'url = "https://10.0.0.1:6060"', ...lines);
/** A file_sd block (line 1): `lines`, then its discovery table. */
const template = (...lines: string[]) => doc('[[inputs.profile.go]]', ...lines, '[inputs.profile.go.file_sd]', 'files = ["t.json"]');

describe('credentials', () => {
  test('bearer_token_file: the file is checked now and named, its token is not kept', () => {
    const t = load(target(`bearer_token_file = ${q(tokenFile)}`)).targets[0]!;
    assert.deepEqual(t.auth, { kind: 'bearer', tokenFile });
  });

  test('bearer_token inline, with ${VAR}', () => {
    assert.deepEqual(load(target('bearer_token = "${TOKEN}"')).targets[0]!.auth, { kind: 'bearer', token: 'from-env' });
  });

  test('basic_auth with password or password_file', () => {
    assert.deepEqual(load(target('[inputs.profile.go.basic_auth]', 'username = "u"', 'password = "p"')).targets[0]!.auth, { kind: 'basic', username: 'u', password: 'p' });
    assert.deepEqual(load(target(`basic_auth = { username = "u", password_file = ${q(passFile)} }`)).targets[0]!.auth, { kind: 'basic', username: 'u', passwordFile: passFile });
  });

  test('on a template block, for every target it discovers', () => {
    const t = load(template(`bearer_token_file = ${q(tokenFile)}`, 'allow_insecure_credentials = true', 'tenant_id = "team-a"')).templates[0]!;
    assert.deepEqual(t.auth, { kind: 'bearer', tokenFile });
    assert.equal(t.allowInsecureCredentials, true);
    assert.equal(t.tenantId, 'team-a');
  });

  test('errors', () => {
    assert.deepEqual(issues(target(`bearer_token_file = ${q(join(dir, 'missing'))}`)), [`${FILE}:3: inputs.profile.go.bearer_token_file: cannot read "${join(dir, 'missing')}": ENOENT`]);
    assert.deepEqual(issues(target(`bearer_token_file = ${q(join(dir, 'a-dir'))}`)), [`${FILE}:3: inputs.profile.go.bearer_token_file: cannot read "${join(dir, 'a-dir')}": not a regular file`]);
    assert.deepEqual(issues(target(`bearer_token_file = ${q(join(dir, 'big'))}`)), [`${FILE}:3: inputs.profile.go.bearer_token_file: cannot read "${join(dir, 'big')}": larger than 64 KiB (a token or password file is small)`]);
    assert.deepEqual(issues(target('bearer_token = "a"', `bearer_token_file = ${q(tokenFile)}`)), [`${FILE}:4: inputs.profile.go.bearer_token_file: set bearer_token or bearer_token_file, not both`]);
    assert.deepEqual(issues(target('bearer_token = "a"', 'basic_auth = { username = "u", password = "p" }')), [`${FILE}:3: inputs.profile.go.bearer_token: set basic_auth or a bearer token, not both`]);
    assert.deepEqual(issues(doc('[[inputs.profile.go]]', 'url = "http://u:p@10.0.0.1:6060"', 'bearer_token = "a"')), [`${FILE}:3: inputs.profile.go.bearer_token: set user:password in the url or a bearer token, not both`]);
    assert.deepEqual(issues(doc('[[inputs.profile.go]]', 'url = "http://u:p@10.0.0.1:6060"', 'basic_auth = { username = "u", password = "p" }')), [
      `${FILE}:3: inputs.profile.go.basic_auth: the url already carries user:password; set the credentials in one place`,
    ]);
    assert.deepEqual(issues(target('[inputs.profile.go.basic_auth]', 'password = "p"')), [`${FILE}:3: inputs.profile.go.basic_auth.username: is required in basic_auth`]);
    assert.deepEqual(issues(target('[inputs.profile.go.basic_auth]', 'username = "u"')), [`${FILE}:3: inputs.profile.go.basic_auth.password: basic_auth needs password or password_file`]);
    assert.deepEqual(issues(target('[inputs.profile.go.basic_auth]', 'username = "u"', 'pasword = "p"')), [
      `${FILE}:5: inputs.profile.go.basic_auth.pasword: unknown key "pasword" (did you mean "password"?); allowed here: username, password, password_file`,
      `${FILE}:3: inputs.profile.go.basic_auth.password: basic_auth needs password or password_file`,
    ].sort((a, b) => Number(a.split(':')[1]) - Number(b.split(':')[1])));
    assert.deepEqual(issues(target('basic_auth = "u:p"')), [`${FILE}:3: inputs.profile.go.basic_auth: must be a table ([inputs.profile.go.basic_auth] with username and password or password_file), got a string`]);
    assert.deepEqual(issues(target('bearer_token = """a\nb"""')), [`${FILE}:3: inputs.profile.go.bearer_token: must be one line (a token has no line breaks)`]);
  });

  test('a secret is never in a message', () => {
    const text = issues(target('bearer_token = "S3CRET-1"', 'basic_auth = { username = "u", password = "S3CRET-2" }')).join('\n');
    assert.ok(!/S3CRET/.test(text), text);
  });
});

describe('tenant_id', () => {
  test('on a target', () => {
    assert.equal(load(target('tenant_id = "team-a"')).targets[0]!.tenantId, 'team-a');
    assert.equal(load(target()).targets[0]!.tenantId, undefined);
    assert.equal(load(target('tenant_id = ""')).targets[0]!.tenantId, undefined, 'empty: the output\'s tenant');
  });

  test('Pyroscope\'s rule: letters, digits and ! - _ . * \' ( ), at most 150, not . or ..', () => {
    assert.equal(load(target(`tenant_id = "A-z_0.9!*'()"`)).targets[0]!.tenantId, "A-z_0.9!*'()");
    assert.deepEqual(issues(target('tenant_id = "team a"')), [`${FILE}:3: inputs.profile.go.tenant_id: tenant ID "team a" has the character " ": a tenant ID takes letters, digits and ! - _ . * ' ( ) only (Pyroscope's rule for X-Scope-OrgID)`]);
    assert.deepEqual(issues(target('tenant_id = "a|b"')), [`${FILE}:3: inputs.profile.go.tenant_id: tenant ID "a|b" has the character "|": a tenant ID takes letters, digits and ! - _ . * ' ( ) only (Pyroscope's rule for X-Scope-OrgID)`]);
    assert.deepEqual(issues(target('tenant_id = "a\\nb"')), [`${FILE}:3: inputs.profile.go.tenant_id: tenant ID "a\\nb" has the character "\\u000a": a tenant ID takes letters, digits and ! - _ . * ' ( ) only (Pyroscope's rule for X-Scope-OrgID)`]);
    assert.deepEqual(issues(target('tenant_id = ".."')), [`${FILE}:3: inputs.profile.go.tenant_id: tenant ID must not be ".." (Pyroscope's rule for X-Scope-OrgID)`]);
    assert.deepEqual(issues(target(`tenant_id = "${'t'.repeat(151)}"`)), [`${FILE}:3: inputs.profile.go.tenant_id: tenant ID is 151 characters long; at most 150 (Pyroscope's rule for X-Scope-OrgID)`]);
  });
});

describe('allow_insecure_credentials', () => {
  test('must be a boolean; on a block with url it is a notice (it changes nothing there)', () => {
    assert.deepEqual(issues(template('allow_insecure_credentials = "yes"')), [`${FILE}:2: inputs.profile.go.allow_insecure_credentials: must be true or false, got a string`]);
    const c = load(target('allow_insecure_credentials = true'));
    assert.deepEqual(c.notices.filter((n) => n.path.endsWith('allow_insecure_credentials')), [
      { path: 'inputs.profile.go.allow_insecure_credentials', line: 3, message: 'has an effect only on a block with a discovery: the credentials of a block with url go to that url as written' },
    ]);
  });
});
