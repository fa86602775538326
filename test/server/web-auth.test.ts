// WebAuth (src/server/web-auth.ts): who may read the status server. Basic
// auth against bcrypt hashes (real bcryptjs, and a counting compare to see
// what is remembered), a bearer token, one check at a time, and a bound on
// how many unremembered checks a second may cost a bcrypt.
//
//   node --import tsx --test test/server/web-auth.test.ts

import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import bcrypt from 'bcryptjs';
import { WebAuth, describeWeb } from '../../src/server/web-auth.js';

const basic = (user: string, password: string) => `Basic ${Buffer.from(`${user}:${password}`).toString('base64')}`;
const HASH = bcrypt.hashSync('right horse', 4);

/** A compare that counts its calls and how many ran at once, answering like bcrypt. */
function countingCompare(delayMs = 0) {
  const c = {
    calls: 0,
    inFlight: 0,
    maxInFlight: 0,
    fn: async (password: string, hash: string) => {
      c.calls++;
      c.inFlight++;
      c.maxInFlight = Math.max(c.maxInFlight, c.inFlight);
      if (delayMs > 0) await new Promise((r) => setTimeout(r, delayMs));
      c.inFlight--;
      return bcrypt.compareSync(password, hash);
    },
  };
  return c;
}

describe('WebAuth', () => {
  it('asks nothing without [agent.web] users or token', async () => {
    const auth = new WebAuth(undefined);
    assert.equal(auth.required, false);
    assert.equal(await auth.check(undefined), 'ok');
    assert.equal(describeWeb(undefined), 'http, no authentication');
  });

  it('basic auth with real bcrypt: the right password ($2b$, and the $2y$ htpasswd writes) passes; a wrong one, an unknown user, no header, a malformed one do not', async () => {
    for (const hash of [HASH, HASH.replace(/^\$2b\$/, '$2y$')]) {
      const auth = new WebAuth({ basicAuthUsers: { prom: hash } });
      assert.equal(auth.required, true);
      assert.match(auth.challenge(), /^Basic realm=/);
      assert.equal(await auth.check(basic('prom', 'right horse')), 'ok');
      assert.equal(await auth.check(basic('prom', 'wrong horse')), 'unauthorized');
      assert.equal(await auth.check(basic('nobody', 'right horse')), 'unauthorized');
      assert.equal(await auth.check(undefined), 'unauthorized');
      assert.equal(await auth.check('Basic !!!'), 'unauthorized');
      assert.equal(await auth.check(`Basic ${Buffer.from('no-colon').toString('base64')}`), 'unauthorized');
      assert.equal(await auth.check('Bearer right horse'), 'unauthorized', 'no token is configured');
    }
  });

  it('a password that passed once is remembered: 100 scrapes cost one bcrypt; wrong passwords are never remembered; an unknown user costs a bcrypt too', async () => {
    const c = countingCompare();
    const auth = new WebAuth({ basicAuthUsers: { prom: HASH } }, { compare: c.fn, burst: 1000 });
    for (let i = 0; i < 100; i++) assert.equal(await auth.check(basic('prom', 'right horse')), 'ok');
    assert.equal(c.calls, 1, 'bcrypt runs once for the same user and password');
    for (let i = 0; i < 3; i++) assert.equal(await auth.check(basic('prom', 'wrong')), 'unauthorized');
    assert.equal(c.calls, 4, 'each wrong password is checked');
    assert.equal(await auth.check(basic('eve', 'right horse')), 'unauthorized');
    assert.equal(c.calls, 5, 'an unknown user is checked against a hash as well (timing tells nothing)');
  });

  it('checks run one at a time', async () => {
    const c = countingCompare(20);
    const auth = new WebAuth({ basicAuthUsers: { prom: HASH } }, { compare: c.fn, burst: 100 });
    const results = await Promise.all(Array.from({ length: 6 }, (_, i) => auth.check(basic('prom', i % 2 ? 'right horse' : `guess ${i}`))));
    assert.equal(c.maxInFlight, 1);
    assert.deepEqual(results, ['unauthorized', 'ok', 'unauthorized', 'ok', 'unauthorized', 'ok']);
  });

  it('at most `burst` unremembered checks at once, then `perSecond`: a guesser gets "throttled" without a bcrypt; a remembered password still passes', async () => {
    let now = 1_000_000;
    const c = countingCompare();
    const auth = new WebAuth({ basicAuthUsers: { prom: HASH } }, { compare: c.fn, now: () => now, burst: 5, perSecond: 2 });
    assert.equal(await auth.check(basic('prom', 'right horse')), 'ok');
    for (let i = 0; i < 4; i++) assert.equal(await auth.check(basic('prom', `guess ${i}`)), 'unauthorized');
    assert.equal(c.calls, 5);
    assert.equal(await auth.check(basic('prom', 'guess 5')), 'throttled');
    assert.equal(c.calls, 5, 'no bcrypt for a throttled check');
    assert.equal(await auth.check(basic('prom', 'right horse')), 'ok', 'remembered: not throttled');
    now += 499;
    assert.equal(await auth.check(basic('prom', 'guess 6')), 'throttled');
    now += 1;
    assert.equal(await auth.check(basic('prom', 'guess 6')), 'unauthorized', 'one check back after 1/perSecond');
    assert.equal(await auth.check(basic('prom', 'guess 7')), 'throttled');
  });

  it('bearer token: exact match only; with users too, either works; the challenge asks for Basic', async () => {
    const only = new WebAuth({ bearerToken: 'tok-123' });
    assert.match(only.challenge(), /^Bearer realm=/);
    assert.equal(await only.check('Bearer tok-123'), 'ok');
    assert.equal(await only.check('bearer tok-123'), 'ok', 'the scheme is case-insensitive');
    for (const h of ['Bearer tok-1234', 'Bearer tok-12', 'Bearer ', 'tok-123', basic('x', 'tok-123')]) assert.equal(await only.check(h), 'unauthorized', h);
    const both = new WebAuth({ bearerToken: 'tok-123', basicAuthUsers: { prom: HASH } });
    assert.match(both.challenge(), /^Basic realm=/);
    assert.equal(await both.check('Bearer tok-123'), 'ok');
    assert.equal(await both.check(basic('prom', 'right horse')), 'ok');
    assert.equal(describeWeb({ bearerToken: 'tok-123', basicAuthUsers: { prom: HASH, ops: HASH } }), 'http, basic auth (2 users: prom, ops) or bearer token for everything but /healthz and /readyz');
  });
});
