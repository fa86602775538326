// pprofPathProblem: the pprof prefix from __pprof_path__ or the Kubernetes
// path annotation stays a plain path on the target.
//
//   node --import tsx --test test/discovery/pprof-path.test.ts

import assert from 'node:assert/strict';
import { test } from 'node:test';
import fc from 'fast-check';
import { pprofPathProblem } from '../../src/discovery/pprof-path.js';

test('accepted', () => {
  for (const p of ['/', '/debug/pprof', '/debug/pprof/', '/internal/pprof', '/a.b/c-d_e~f', '/x%20y', '/debug//pprof', '/..a/b..', '/%2e.x']) assert.equal(pprofPathProblem(p), null, p);
});

test('refused, with the reason', () => {
  const cases: Array<[string, RegExp]> = [
    ['', /not absolute/],
    ['debug/pprof', /not absolute/],
    ['http://evil.example/debug/pprof', /has a scheme/],
    ['javascript:alert(1)', /has a scheme/],
    ['/x/https://evil.example', /has a scheme/],
    ['//evil.example/pprof', /starts with "\/\/"/],
    ['/debug/pprof/../../admin', /"\.\." segment/],
    ['/debug/pprof/..', /"\.\." segment/],
    ['/./debug', /"\." segment/],
    ['/%2E%2E/admin', /"%2E%2E" segment/],
    ['/.%2e/admin', /".%2e" segment/],
    ['/a%2Fb', /encoded "\/"/],
    ['/a%5cb', /encoded/],
    ['/a\\..\\b', /backslash/],
    ['/a?b', /query or fragment/],
    ['/a#b', /query or fragment/],
    ['/a\tb', /white space or control/],
    ['/a\u0000', /control/],
    ['/%zz', /not a %XX escape/],
    [`/${'p'.repeat(1024)}`, /at most 1024/],
  ];
  for (const [p, re] of cases) assert.match(pprofPathProblem(p) ?? 'accepted', re, JSON.stringify(p));
});

test('whatever is accepted stays on the target: the URL it makes has the same origin and no dot segment', () => {
  fc.assert(
    fc.property(fc.oneof(fc.string(), fc.webPath(), fc.array(fc.constantFrom('a', '.', '..', '%2e', '%2E%2e', '/', '\\', '?', '#', '//', ':', '@')).map((a) => a.join(''))), (p) => {
      if (pprofPathProblem(p) !== null) return;
      const u = new URL(`http://10.0.0.1:6060${p.replace(/\/+$/, '')}/heap`);
      assert.equal(u.origin, 'http://10.0.0.1:6060', p);
      assert.equal(u.search, '', p);
      // No segment was resolved away: the path is the prefix as written, plus the type.
      assert.equal(decodeURI(u.pathname), decodeURI(`${p.replace(/\/+$/, '')}/heap`), p);
    }),
    { numRuns: 3000 },
  );
});
