import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { parseConfig } from '../../src/config/load.js';
import type { Config, GoTargetConfig } from '../../src/config/types.js';
import { goTargetConfig } from '../helpers/targets.js';
import type { Target } from '../../src/core/target.js';
import { buildTarget, instanceOf, isLoopbackHost, staticTargets, targetId } from '../../src/discovery/static.js';

const AGENT = 'agent-box';

const doc = (...lines: string[]): string => lines.join('\n') + '\n';

function load(source: string): Config {
  return parseConfig(source, 'test.conf', { env: {}, osHostname: AGENT });
}

function only(source: string): Target {
  const targets = staticTargets(load(source));
  assert.equal(targets.length, 1);
  return targets[0]!;
}

/** A typed target config, for the functions that take one directly. */
function goTarget(over: Partial<GoTargetConfig> = {}): GoTargetConfig {
  return goTargetConfig({ service: 'svc', env: '', version: '', enabledTypes: ['cpu', 'heap'], inputTags: {}, goTags: {}, ...over });
}

describe('tags', () => {
  test('precedence, lowest first: input tags, then service/env/version, then go tags', () => {
    const t = only(
      doc(
        '[[inputs.profile]]',
        '[inputs.profile.tags]',
        'region = "eu-1"',
        'team = "input-team"',
        'service = "input-service"',
        'env = "input-env"',
        'version = "input-version"',
        '[[inputs.profile.go]]',
        'url = "http://127.0.0.1:6060"',
        'service = "checkout"',
        'env = "staging"',
        'version = "1.4.2"',
        '[inputs.profile.go.tags]',
        'team = "payments"',
        'version = "go-tag-version"',
      ),
    );
    assert.deepEqual(t.tags, {
      host: AGENT,
      instance: '127.0.0.1:6060',
      region: 'eu-1', // input tag, nothing above it
      team: 'payments', // go tag over input tag
      service: 'checkout', // service over input tag
      env: 'staging', // env over input tag
      version: 'go-tag-version', // go tag over version
    });
    assert.equal(t.service, 'checkout');
    assert.equal(t.env, 'staging');
    assert.equal(t.version, 'go-tag-version');
  });

  test('input tags for service/env/version count when those keys are not written', () => {
    const t = only(
      doc(
        '[[inputs.profile]]',
        '[inputs.profile.tags]',
        'service = "input-service"',
        'env = "input-env"',
        '[[inputs.profile.go]]',
        'url = "http://127.0.0.1:6060"',
      ),
    );
    assert.equal(t.tags.service, 'input-service');
    assert.equal(t.tags.env, 'input-env');
    assert.equal(t.tags.version, undefined);
    assert.equal(t.service, 'input-service');
  });

  test('without any service, the placeholder; without env/version, no such tags', () => {
    const t = only(doc('[[inputs.profile.go]]', 'url = "http://127.0.0.1:6060"'));
    assert.deepEqual(t.tags, { host: AGENT, instance: '127.0.0.1:6060', service: 'unnamed-service' });
    assert.equal(t.env, '');
    assert.equal(t.version, '');
  });

  test('host and instance set explicitly win over the derived ones', () => {
    const fromInput = only(
      doc('[[inputs.profile]]', '[inputs.profile.tags]', 'host = "explicit-host"', '[[inputs.profile.go]]', 'url = "http://127.0.0.1:6060"'),
    );
    assert.equal(fromInput.tags.host, 'explicit-host');
    assert.equal(fromInput.tags.instance, '127.0.0.1:6060');
    const fromGo = only(doc('[[inputs.profile.go]]', 'url = "http://127.0.0.1:6060"', '[inputs.profile.go.tags]', 'instance = "pod-7"', 'host = "h2"'));
    assert.equal(fromGo.tags.instance, 'pod-7');
    assert.equal(fromGo.tags.host, 'h2');
    // The scheduling unit stays the real host:port.
    assert.equal(fromGo.instance, '127.0.0.1:6060');
  });

  test('customTags holds only the input and go tags', () => {
    const t = only(
      doc(
        '[[inputs.profile]]',
        '[inputs.profile.tags]',
        'region = "eu-1"',
        'team = "a"',
        '[[inputs.profile.go]]',
        'url = "http://127.0.0.1:6060"',
        'service = "checkout"',
        'env = "prod"',
        '[inputs.profile.go.tags]',
        'team = "b"',
      ),
    );
    assert.deepEqual(t.customTags, { region: 'eu-1', team: 'b' });
  });

  test('tags and the target are frozen', () => {
    const t = only(doc('[[inputs.profile.go]]', 'url = "http://127.0.0.1:6060"'));
    assert.ok(Object.isFrozen(t));
    assert.ok(Object.isFrozen(t.tags));
    assert.ok(Object.isFrozen(t.customTags));
  });
});

describe('host and instance', () => {
  test('a loopback target is tagged with the agent host name', () => {
    for (const url of ['http://127.0.0.1:6060', 'http://127.0.0.2:6060', 'http://localhost:6060', 'http://LOCALHOST:6060', 'http://[::1]:6060']) {
      assert.equal(only(doc('[[inputs.profile.go]]', `url = "${url}"`)).tags.host, AGENT, url);
    }
  });

  test('[agent] hostname is the agent host name when written', () => {
    const t = only(doc('[agent]', 'hostname = "named-box"', '[[inputs.profile.go]]', 'url = "http://127.0.0.1:6060"'));
    assert.equal(t.tags.host, 'named-box');
  });

  test('any other target is tagged with the host name of its URL', () => {
    // Parsed only; nothing connects to these names.
    assert.equal(only(doc('[[inputs.profile.go]]', 'url = "http://checkout-7.svc.internal:6060"')).tags.host, 'checkout-7.svc.internal');
    assert.equal(only(doc('[[inputs.profile.go]]', 'url = "http://[fd00::1]:6060"')).tags.host, 'fd00::1');
  });

  test('isLoopbackHost', () => {
    for (const h of ['127.0.0.1', '127.1.2.3', 'localhost', '::1', '[::1]', '[::ffff:127.0.0.1]']) assert.equal(isLoopbackHost(h), true, h);
    for (const h of ['10.0.0.1', '128.0.0.1', 'localhost.example', 'mylocalhost', '::2', '0.0.0.0']) assert.equal(isLoopbackHost(h), false, h);
  });

  test('instance is host:port, with 80/443 when the URL gives none', () => {
    assert.equal(instanceOf('http://127.0.0.1:6060/debug/pprof'), '127.0.0.1:6060');
    assert.equal(instanceOf('http://127.0.0.1/debug/pprof'), '127.0.0.1:80');
    assert.equal(instanceOf('https://127.0.0.1/debug/pprof'), '127.0.0.1:443');
    assert.equal(instanceOf('http://127.0.0.1:80/x'), '127.0.0.1:80');
    assert.equal(instanceOf('https://localhost:8443/x'), 'localhost:8443');
    assert.equal(instanceOf('http://[::1]:6060/x'), '[::1]:6060');
    assert.equal(only(doc('[[inputs.profile.go]]', 'url = "https://localhost"')).instance, 'localhost:443');
    assert.equal(only(doc('[[inputs.profile.go]]', 'url = "http://localhost"')).tags.instance, 'localhost:80');
  });
});

describe('target id', () => {
  const src = (url: string, team: string, interval = '10s') =>
    doc('[[inputs.profile.go]]', `url = "${url}"`, `interval = "${interval}"`, 'service = "s"', '[inputs.profile.go.tags]', `team = "${team}"`);

  test('is stable for the same URL and tags, across loads', () => {
    const a = only(src('http://127.0.0.1:6060', 'a'));
    const b = only(src('http://127.0.0.1:6060', 'a'));
    assert.match(a.id, /^[0-9a-f]{16}$/);
    assert.equal(a.id, b.id);
    // Settings that are not URL or tags do not change who the target is.
    assert.equal(only(src('http://127.0.0.1:6060', 'a', '30s')).id, a.id);
  });

  test('changes when the URL or a tag changes', () => {
    const a = only(src('http://127.0.0.1:6060', 'a')).id;
    assert.notEqual(only(src('http://127.0.0.1:6061', 'a')).id, a);
    assert.notEqual(only(src('http://127.0.0.1:6060/other/pprof', 'a')).id, a);
    assert.notEqual(only(src('http://127.0.0.1:6060', 'b')).id, a);
  });

  test('does not depend on tag order', () => {
    assert.equal(targetId('http://x', { a: '1', b: '2' }), targetId('http://x', { b: '2', a: '1' }));
    assert.notEqual(targetId('http://x', { a: '1', b: '2' }), targetId('http://x', { a: '2', b: '1' }));
    assert.notEqual(targetId('http://x', { a: '1' }), targetId('http://y', { a: '1' }));
    // A tag value cannot be confused with the next key.
    assert.notEqual(targetId('http://x', { a: 'b', c: '' }), targetId('http://x', { a: '', bc: '' }));
  });

  test('two blocks with the same URL but different tags are different targets', () => {
    const config = load(
      doc(
        '[[inputs.profile.go]]',
        'url = "http://127.0.0.1:6060"',
        'service = "a"',
        '[[inputs.profile.go]]',
        'url = "http://127.0.0.1:6060"',
        'service = "b"',
      ),
    );
    const [a, b] = staticTargets(config);
    assert.ok(a && b);
    assert.notEqual(a.id, b.id);
    assert.equal(a.instance, b.instance);
  });

  test('buildTarget takes the agent host name it is given', () => {
    const t = buildTarget(goTarget(), 'other-box');
    assert.equal(t.tags.host, 'other-box');
    assert.equal(t.id, targetId(t.baseUrl, t.tags));
    assert.notEqual(buildTarget(goTarget(), 'box-a').id, buildTarget(goTarget(), 'box-b').id);
  });
});
