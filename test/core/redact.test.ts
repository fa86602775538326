// Output secrets are hidden from backend answers before anything logs them
// (a backend may echo the credentials it was sent). The end-to-end check is
// test/integration/secrets.test.ts; these pin the forms that are hidden.

import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { outputSecrets, redactedUrl, redactSecrets, redactUrlSecrets, urlSecrets } from '../../src/core/redact.js';
import { createLogger } from '../../src/core/log.js';

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

describe('redactedUrl / redactUrlSecrets: query-string secrets and passwords in URLs', () => {
  it('every secret-looking parameter is hidden, case-insensitively; the others are kept', () => {
    const names = ['token', 'access_token', 'key', 'api_key', 'apikey', 'password', 'passwd', 'secret', 'sig', 'signature', 'auth',
      'X-Amz-Signature', 'X-Amz-Security-Token', 'X-Amz-Credential', 'X-Goog-Signature', 'client_secret', 'refresh_token', 'private_key', 'api-key',
      'TOKEN', 'Access_Token', 'APIKEY', 'Sig'];
    for (const n of names) {
      assert.equal(redactedUrl(`https://h.example/p?${n}=s3cr3t&name=svc`), `https://h.example/p?${n}=xxxxx&name=svc`, n);
      assert.equal(redactedUrl(`https://h.example/p?name=svc&${n}=s3cr3t`), `https://h.example/p?name=svc&${n}=xxxxx`, n);
    }
    // Not secrets: kept as they are (a parameter that only contains a secret word is not one).
    for (const n of ['name', 'from', 'until', 'spyName', 'keyword', 'monkey', 'tokens_total', 'signed', 'author', 'format']) {
      assert.equal(redactedUrl(`http://h/p?${n}=v1&x=2`), `http://h/p?${n}=v1&x=2`, n);
    }
  });

  it('the password of user:password, several secrets, an empty value, a fragment, ; separators, encoded names', () => {
    assert.equal(redactedUrl('http://u:p%40ss@h:1/a?token=t1&b=2&sig=s2#x'), 'http://u:xxxxx@h:1/a?token=xxxxx&b=2&sig=xxxxx#x');
    assert.equal(redactedUrl('http://h/a?token=&b=2'), 'http://h/a?token=&b=2');
    assert.equal(redactedUrl('http://h/cb#access_token=abc&state=1'), 'http://h/cb#access_token=xxxxx&state=1');
    assert.equal(redactedUrl('http://h/a?x=1;api_key=k'), 'http://h/a?x=1;api_key=xxxxx');
    assert.equal(redactedUrl('http://h/a?api%5Fkey=k&%ZZ=1'), 'http://h/a?api%5Fkey=xxxxx&%ZZ=1');
    assert.equal(redactedUrl('http://h:6060/debug/pprof'), 'http://h:6060/debug/pprof');
  });

  it('in free text: every URL and query in an error message or log line', () => {
    const text =
      'GET http://h:6060/debug/pprof/heap: answered 302 redirect to https://bucket.s3.example/p?X-Amz-Credential=AKIA1&X-Amz-Signature=abcdef; ' +
      'POST https://dk:pw@openway.example/v1/write/profiling?token=tkn_123 (heap of svc); path /ingest?name=a&apikey=zz';
    assert.equal(
      redactUrlSecrets(text),
      'GET http://h:6060/debug/pprof/heap: answered 302 redirect to https://bucket.s3.example/p?X-Amz-Credential=xxxxx&X-Amz-Signature=xxxxx; ' +
        'POST https://dk:xxxxx@openway.example/v1/write/profiling?token=xxxxx (heap of svc); path /ingest?name=a&apikey=xxxxx',
    );
    // JSON-quoted and HTML-attribute URLs end at the quote.
    assert.equal(redactUrlSecrets('{"url":"http://h/x?token=abc","n":1}'), '{"url":"http://h/x?token=xxxxx","n":1}');
    assert.equal(redactUrlSecrets('nothing to hide here'), 'nothing to hide here');
    // The text's punctuation after a URL stays; a value's own colons are hidden with it.
    assert.equal(redactUrlSecrets('POST http://h/y?sig=abc: answered 401 (see http://h/z?token=t).'), 'POST http://h/y?sig=xxxxx: answered 401 (see http://h/z?token=xxxxx).');
    assert.equal(redactUrlSecrets('http://h/y?token=a:b&x=1'), 'http://h/y?token=xxxxx&x=1');
  });

  it('urlSecrets: the values a backend might echo, to hide in its answers', () => {
    const s = urlSecrets('https://u:p4ss@h/x?token=tkn_123&name=svc&X-Amz-Signature=sig%2Fxyz');
    assert.deepEqual(new Set(s), new Set(['sig%2Fxyz', 'tkn_123', 'sig/xyz', 'p4ss']));
    assert.deepEqual(s.map((v) => v.length), [...s.map((v) => v.length)].sort((a, b) => b - a), 'longest first');
    assert.deepEqual(urlSecrets('http://h/x?name=svc'), []);
  });

  it('every log line: message, fields, child bindings and err.message pass through it', () => {
    const lines: string[] = [];
    const log = createLogger({ level: 'debug', destination: { write: (s: string) => void lines.push(s) } });
    const child = log.child({ target: 'http://h:1/debug/pprof?token=B1NDING', output: 'dk' });
    child.warn({ url: 'http://h/x?api_key=F1ELD', err: { message: 'POST http://h/y?sig=ERR0R: answered 401' }, nested: { where: 'http://h/z?secret=NEST' } }, 'send to http://h/w?password=MESSAGE failed');
    child.info('plain %s', 'http://h/v?token=ARG');
    const all = lines.join('');
    for (const s of ['B1NDING', 'F1ELD', 'ERR0R', 'NEST', 'MESSAGE', 'ARG']) assert.ok(!all.includes(s), `${s} leaked: ${all}`);
    assert.match(all, /token=xxxxx/);
    assert.match(all, /api_key=xxxxx/);
    assert.match(all, /"output":"dk"/);
  });
});
