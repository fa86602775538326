// Output secrets are hidden from backend answers before anything logs them
// (a backend may echo the credentials it was sent). The end-to-end check is
// test/integration/secrets.test.ts; these pin the forms that are hidden.

import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { outputSecrets, redactSecrets } from '../../src/core/redact.js';

const b64 = (s: string) => Buffer.from(s).toString('base64');

describe('outputSecrets / redactSecrets', () => {
  it('basic auth: the password, its url-encoded form and base64(user:password); not the user name', () => {
    const s = outputSecrets({ kind: 'basic', username: 'dk', password: 'p@ss word' });
    assert.deepEqual(new Set(s), new Set([b64('dk:p@ss word'), 'p@ss word', 'p%40ss%20word']));
    const echoed = `denied: Authorization: Basic ${b64('dk:p@ss word')} (user dk, password p@ss word, url dk:p%40ss%20word@)`;
    assert.equal(redactSecrets(echoed, s), 'denied: Authorization: Basic [redacted] (user dk, password [redacted], url dk:[redacted]@)');
  });

  it('bearer token, custom header values of 4+ characters, and the JSON-escaped form', () => {
    const s = outputSecrets({ kind: 'bearer', token: 'to"ken' }, { 'X-Api-Key': 'k3y-value', 'X-Flag': '1' });
    assert.deepEqual(new Set(s), new Set(['to"ken', 'to\\"ken', 'k3y-value']));
    assert.equal(redactSecrets('{"message":"bad token to\\"ken, key k3y-value, flag 1"}', s), '{"message":"bad token [redacted], key [redacted], flag 1"}');
  });

  it('longest first: a secret containing another is hidden whole', () => {
    const s = outputSecrets({ kind: 'basic', username: 'u', password: 'abcd' }, { 'X-Token': 'abcdefgh' });
    assert.equal(redactSecrets('abcdefgh abcd', s), '[redacted] [redacted]');
  });

  it('no credentials: nothing to hide, text unchanged', () => {
    assert.deepEqual(outputSecrets(undefined), []);
    assert.equal(redactSecrets('plain 500', []), 'plain 500');
  });
});
