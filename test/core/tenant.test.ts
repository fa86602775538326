// tenantIdProblem: Pyroscope's (dskit's) tenant ID rule, which X-Scope-OrgID must follow.
//
//   node --import tsx --test test/core/tenant.test.ts

import assert from 'node:assert/strict';
import { test } from 'node:test';
import fc from 'fast-check';
import { MAX_TENANT_ID_LENGTH, tenantIdProblem } from '../../src/core/tenant.js';

test('accepted: letters, digits and ! - _ . * \' ( ), up to 150; "" is "no tenant"', () => {
  for (const id of ['', 'a', 'team-a', 'Team_A.1', "!-_.*'()", 'x'.repeat(MAX_TENANT_ID_LENGTH), '...', '.a']) assert.equal(tenantIdProblem(id), null, id);
});

test('refused, with the reason', () => {
  const cases: Array<[string, RegExp]> = [
    ['a b', /has the character " "/],
    ['a|b', /has the character "\|"/],
    ['a/b', /has the character "\/"/],
    ['ü', /has the character "ü"/],
    ['a\r\nX-Evil: 1', /has the character "\\u000d"/],
    ['x'.repeat(151), /151 characters long; at most 150/],
    ['.', /must not be "\."/],
    ['..', /must not be "\.\."/],
  ];
  for (const [id, re] of cases) assert.match(tenantIdProblem(id) ?? 'accepted', re, JSON.stringify(id));
});

test('anything accepted is a valid HTTP header value', () => {
  fc.assert(
    fc.property(fc.string({ maxLength: 200 }), (id) => {
      if (tenantIdProblem(id) !== null) return;
      assert.doesNotThrow(() => new Headers({ 'x-scope-orgid': id }));
      assert.match(id, /^[A-Za-z0-9!\-_.*'()]*$/);
    }),
    { numRuns: 2000 },
  );
});
