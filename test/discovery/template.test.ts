// expandTemplate: one discovered address plus its group's labels, applied to
// the [[inputs.profile.go]] block that holds the discovery.
//
//   node --import tsx --test test/discovery/template.test.ts

import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import fc from 'fast-check';
import type { GoTargetConfig } from '../../src/config/types.js';
import { buildTarget } from '../../src/discovery/static.js';
import { BadAddressError, expandTemplate } from '../../src/discovery/template.js';
import type { TargetGroup } from '../../src/discovery/types.js';
import { goTargetConfig } from '../helpers/targets.js';

/** A template block as validate.ts makes it: no url, a discovery, its own settings. */
function template(over: Partial<GoTargetConfig> = {}): GoTargetConfig {
  return goTargetConfig({
    source: { file: 'sd.conf', line: 7 },
    baseUrl: '',
    discovery: { kind: 'file_sd', files: ['/etc/targets/*.json'], refreshIntervalMs: 300_000 },
    service: 'block-service',
    env: 'block-env',
    version: 'block-version',
    enabledTypes: ['cpu', 'heap', 'goroutine'],
    goTags: { team: 'payments', tier: 'gold' },
    intervalMs: 20_000,
    profileDurationMs: 9_000,
    httpTimeoutMs: 15_000,
    ...over,
  });
}

const group = (labels: Record<string, string> = {}, targets: string[] = []): TargetGroup => ({ targets, labels });

describe('expandTemplate: addresses', () => {
  const cases: Array<[string, Record<string, string>, string]> = [
    ['10.0.0.1:6060', {}, 'http://10.0.0.1:6060/debug/pprof'],
    ['pod-a.ns.svc:6060', {}, 'http://pod-a.ns.svc:6060/debug/pprof'],
    ['[fd00::1]:6060', {}, 'http://[fd00::1]:6060/debug/pprof'],
    // host:port with the scheme's default port is still host:port.
    ['10.0.0.1:80', {}, 'http://10.0.0.1/debug/pprof'],
    ['10.0.0.1:443', { __scheme__: 'https' }, 'https://10.0.0.1/debug/pprof'],
    ['10.0.0.1:6060', { __scheme__: 'https' }, 'https://10.0.0.1:6060/debug/pprof'],
    ['http://10.0.0.1:6060', {}, 'http://10.0.0.1:6060/debug/pprof'],
    ['https://api.example.com', {}, 'https://api.example.com/debug/pprof'],
    ['http://10.0.0.1:6060/internal/pprof/', {}, 'http://10.0.0.1:6060/internal/pprof'],
    // A URL's own scheme wins over __scheme__.
    ['http://10.0.0.1:6060', { __scheme__: 'https' }, 'http://10.0.0.1:6060/debug/pprof'],
    ['10.0.0.1:6060', { __pprof_path__: '/admin/pprof/' }, 'http://10.0.0.1:6060/admin/pprof'],
    // pprof served at the root: no trailing slash (types are appended as /goroutine).
    ['10.0.0.1:6060', { __pprof_path__: '/' }, 'http://10.0.0.1:6060'],
    ['http://10.0.0.1:6060//', {}, 'http://10.0.0.1:6060'],
    // __pprof_path__ wins over the URL's path.
    ['http://10.0.0.1:6060/a/pprof', { __pprof_path__: '/b/pprof' }, 'http://10.0.0.1:6060/b/pprof'],
  ];
  for (const [address, labels, want] of cases) {
    test(`${address} ${JSON.stringify(labels)} -> ${want}`, () => {
      const c = expandTemplate(template(), group(labels, [address]), address);
      assert.equal(c.baseUrl, want);
    });
  }

  test('every setting of the block is inherited; the discovery itself is not', () => {
    const t = template({ cpuBudget: { budgetMs: 10_000, periodMs: 60_000 }, tls: { insecureSkipVerify: true } });
    const c = expandTemplate(t, group(), '10.0.0.9:7070');
    assert.equal(c.discovery, undefined);
    assert.ok(!('discovery' in c), 'no discovery key on a target');
    assert.deepEqual(c.source, { file: 'sd.conf', line: 7 });
    assert.equal(c.intervalMs, 20_000);
    assert.equal(c.profileDurationMs, 9_000);
    assert.equal(c.httpTimeoutMs, 15_000);
    assert.deepEqual(c.enabledTypes, ['cpu', 'heap', 'goroutine']);
    assert.deepEqual(c.cpuBudget, { budgetMs: 10_000, periodMs: 60_000 });
    assert.deepEqual(c.tls, { insecureSkipVerify: true });
    assert.deepEqual(c.inputTags, t.inputTags);
    assert.equal(c.bodySizeLimitBytes, t.bodySizeLimitBytes);
    // The template is not changed.
    assert.equal(t.baseUrl, '');
    assert.ok(t.discovery);
  });
});

describe('expandTemplate: labels', () => {
  test('labels become tags; a label overrides the block tag of the same name; __ labels are dropped', () => {
    const c = expandTemplate(template(), group({ tier: 'silver', zone: 'eu-1a', __meta_x: 'secret', __scheme__: 'http' }), '10.0.0.1:6060');
    assert.deepEqual(c.goTags, { team: 'payments', tier: 'silver', zone: 'eu-1a' });
    // And on the built target, the label wins over everything below it.
    const target = buildTarget(c, 'agent');
    assert.equal(target.tags.tier, 'silver');
    assert.equal(target.tags.zone, 'eu-1a');
    assert.equal(target.tags.__meta_x, undefined);
    assert.equal(target.instance, '10.0.0.1:6060');
  });

  test('no labels: the block names the target', () => {
    const c = expandTemplate(template(), group(), '10.0.0.1:6060');
    assert.equal(c.service, 'block-service');
    assert.equal(c.env, 'block-env');
    assert.equal(c.version, 'block-version');
    assert.deepEqual(c.goTags, { team: 'payments', tier: 'gold' });
  });

  test('service, env and version come from labels', () => {
    const c = expandTemplate(template(), group({ service: 'checkout', env: 'prod', version: '1.4.2' }), '10.0.0.1:6060');
    assert.equal(c.service, 'checkout');
    assert.equal(c.env, 'prod');
    assert.equal(c.version, '1.4.2');
    const target = buildTarget(c, 'agent');
    assert.equal(target.service, 'checkout');
    assert.equal(target.env, 'prod');
    assert.equal(target.version, '1.4.2');
  });

  test('service_name (Pyroscope) names the service and is not kept as a tag; service wins over it', () => {
    const a = expandTemplate(template(), group({ service_name: 'cart' }), '10.0.0.1:6060');
    assert.equal(a.service, 'cart');
    assert.equal(a.goTags.service_name, undefined);
    assert.equal(a.goTags.service, 'cart');
    const b = expandTemplate(template(), group({ service_name: 'cart', service: 'checkout' }), '10.0.0.1:6060');
    assert.equal(b.service, 'checkout');
    assert.equal(b.goTags.service_name, undefined);
  });

  test('__types__ restricts the block\'s enabled_types, in the block\'s order', () => {
    const c = expandTemplate(template(), group({ __types__: ' goroutine , cpu,mutex' }), '10.0.0.1:6060');
    assert.deepEqual(c.enabledTypes, ['cpu', 'goroutine'], 'mutex is not enabled in the block, so it is not added');
    const all = expandTemplate(template(), group({ __types__: 'cpu,heap,goroutine,block' }), '10.0.0.1:6060');
    assert.deepEqual(all.enabledTypes, ['cpu', 'heap', 'goroutine']);
  });

  test('__types__ that leaves no type is a BadAddressError naming the types', () => {
    assert.throws(
      () => expandTemplate(template(), group({ __types__: 'mutex,block' }), '10.0.0.1:6060'),
      (err: unknown) => err instanceof BadAddressError && /10\.0\.0\.1:6060/.test(err.message) && /mutex,block/.test(err.message),
    );
    // An empty label is no label (as in Prometheus): every type of the block.
    assert.deepEqual(expandTemplate(template(), group({ __types__: '' }), '10.0.0.1:6060').enabledTypes, ['cpu', 'heap', 'goroutine']);
  });
});

describe('expandTemplate: bad addresses', () => {
  const bad: Array<[string, Record<string, string>, RegExp]> = [
    ['10.0.0.1', {}, /has no port/],
    ['pod-a.ns.svc', {}, /has no port/],
    ['[fd00::1]', {}, /has no port/],
    ['10.0.0.1:', {}, /has no port/],
    ['ftp://10.0.0.1:21', {}, /scheme must be http or https/],
    ['file:///etc/passwd', {}, /scheme must be http or https|no host/],
    ['10.0.0.1:6060', { __scheme__: 'ftp' }, /scheme must be http or https/],
    ['10.0.0.1:99999', {}, /not host:port/],
    ['10.0.0.1:abc', {}, /not host:port/],
    ['not an address', {}, /not host:port/],
    ['', {}, /has no address/],
    ['http://', {}, /not host:port|no host/],
    ['%%%:1', {}, /not host:port/],
    // __pprof_path__ (from an SD, a pod annotation or a relabel rule) stays a plain path on the target.
    ['10.0.0.1:6060', { __pprof_path__: 'admin/pprof' }, /not absolute/],
    ['10.0.0.1:6060', { __pprof_path__: '/debug/pprof/../../admin/shutdown' }, /"\.\." segment/],
    ['10.0.0.1:6060', { __pprof_path__: '/debug/%2e%2e/admin' }, /"%2e%2e" segment/],
    ['10.0.0.1:6060', { __pprof_path__: '/./pprof' }, /"\." segment/],
    ['10.0.0.1:6060', { __pprof_path__: 'http://evil.example/pprof' }, /has a scheme/],
    ['10.0.0.1:6060', { __pprof_path__: '/x/http://evil.example' }, /has a scheme/],
    ['10.0.0.1:6060', { __pprof_path__: '//evil.example/pprof' }, /starts with "\/\/"/],
    ['10.0.0.1:6060', { __pprof_path__: '/pprof?seconds=300' }, /query or fragment/],
    ['10.0.0.1:6060', { __pprof_path__: '/pprof#x' }, /query or fragment/],
    ['10.0.0.1:6060', { __pprof_path__: '/a\\b' }, /backslash/],
    ['10.0.0.1:6060', { __pprof_path__: '/a b' }, /white space/],
    ['10.0.0.1:6060', { __pprof_path__: '/a%2fb' }, /encoded/],
    ['10.0.0.1:6060', { __pprof_path__: '/a%zz' }, /not a %XX escape/],
    ['10.0.0.1:6060', { __pprof_path__: `/${'a'.repeat(1100)}` }, /at most 1024/],
    ['10.0.0.1:6060', { __tenant_id__: 'team a' }, /__tenant_id__: tenant ID "team a" has the character " "/],
    ['10.0.0.1:6060', { __tenant_id__: '..' }, /must not be "\.\."/],
    ['10.0.0.1:6060', { __tenant_id__: 'x'.repeat(151) }, /at most 150/],
  ];
  for (const [address, labels, re] of bad) {
    test(`${JSON.stringify(address)} ${JSON.stringify(labels)} -> BadAddressError`, () => {
      assert.throws(
        () => expandTemplate(template(), group(labels), address),
        (err: unknown) => err instanceof BadAddressError && err.name === 'BadAddressError' && re.test(err.message),
      );
    });
  }

  test('any string: either a BadAddressError or an http(s) base URL (never another error)', () => {
    fc.assert(
      fc.property(fc.oneof(fc.string(), fc.webUrl(), fc.domain().map((d) => `${d}:6060`)), (address) => {
        try {
          const c = expandTemplate(template(), group(), address);
          const u = new URL(c.baseUrl);
          assert.ok(u.protocol === 'http:' || u.protocol === 'https:', c.baseUrl);
          assert.ok(u.hostname !== '', c.baseUrl);
          assert.ok(!c.baseUrl.endsWith('/'), `${c.baseUrl} ends with /`);
        } catch (err) {
          if (!(err instanceof BadAddressError)) throw err;
        }
      }),
      { numRuns: 500 },
    );
  });
});
