import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { expandEnv, UnsetVariableError } from '../../src/config/env.js';
import { ConfigError, formatIssue, parseConfig } from '../../src/config/index.js';

describe('expandEnv', () => {
  const env = { HOST: '127.0.0.1', PORT: '6060', EMPTY: '', SVC: 'checkout' };

  test('a string without ${ is returned as it is', () => {
    assert.equal(expandEnv('http://127.0.0.1:6060', env), 'http://127.0.0.1:6060');
    assert.equal(expandEnv('$HOST and $PORT stay', env), '$HOST and $PORT stay');
    assert.equal(expandEnv('', env), '');
  });

  test('${VAR} is replaced, several times in one string', () => {
    assert.equal(expandEnv('${SVC}', env), 'checkout');
    assert.equal(expandEnv('http://${HOST}:${PORT}/debug/pprof', env), 'http://127.0.0.1:6060/debug/pprof');
    assert.equal(expandEnv('${SVC}-${SVC}', env), 'checkout-checkout');
  });

  test('${VAR:-default} uses the variable when set, the default when unset or empty', () => {
    assert.equal(expandEnv('${SVC:-other}', env), 'checkout');
    assert.equal(expandEnv('${MISSING:-other}', env), 'other');
    assert.equal(expandEnv('${EMPTY:-other}', env), 'other');
    assert.equal(expandEnv('${MISSING:-}', env), '');
    assert.equal(expandEnv('${MISSING:-http://127.0.0.1:6060/x}', env), 'http://127.0.0.1:6060/x');
  });

  test('a variable set to "" without a default expands to ""', () => {
    assert.equal(expandEnv('a${EMPTY}b', env), 'ab');
  });

  test('$${ writes a literal ${ and is not expanded', () => {
    assert.equal(expandEnv('$${SVC}', env), '${SVC}');
    assert.equal(expandEnv('pass$${word}', env), 'pass${word}');
    assert.equal(expandEnv('$${MISSING} ${SVC}', env), '${MISSING} checkout');
  });

  test('an unset variable is an error naming the variable and the way to give a default', () => {
    assert.throws(
      () => expandEnv('http://${TARGET_HOST}:6060', env),
      (err: unknown) => {
        assert.ok(err instanceof UnsetVariableError);
        assert.equal(err.variable, 'TARGET_HOST');
        assert.match(err.message, /environment variable TARGET_HOST is not set/);
        assert.match(err.message, /\$\{TARGET_HOST:-default\}/);
        return true;
      },
    );
  });

  test('names of Object.prototype members are unset variables, not functions', () => {
    for (const name of ['toString', 'hasOwnProperty', 'valueOf', 'constructor']) {
      assert.throws(
        () => expandEnv(`\${${name}}`, {}),
        (err: unknown) => err instanceof UnsetVariableError && err.variable === name,
        name,
      );
      assert.equal(expandEnv(`\${${name}:-d}`, {}), 'd', name);
    }
  });

  test('the environment given is used, not process.env', () => {
    const name = 'PATH';
    assert.ok(process.env[name] !== undefined);
    assert.throws(() => expandEnv('${PATH}', {}), UnsetVariableError);
  });

  for (const bad of ['${}', '${1ABC}', '${A-B}', '${A B}', '${unclosed', 'x ${SVC']) {
    test(`invalid reference ${JSON.stringify(bad)} is an error that says how to write one`, () => {
      assert.throws(
        () => expandEnv(bad, env),
        (err: unknown) => {
          assert.ok(err instanceof Error);
          assert.ok(!(err instanceof UnsetVariableError));
          assert.match(err.message, /invalid variable reference/);
          assert.match(err.message, /\$\{NAME\}/);
          return true;
        },
      );
    });
  }
});

describe('${VAR} in config values that are not free text', () => {
  const parse = (lines: string[], env: Record<string, string>) =>
    parseConfig(['[agent]', ...lines.filter((l) => l.startsWith('spool')), '[[inputs.profile.go]]', 'url = "http://127.0.0.1:6060"', ...lines.filter((l) => !l.startsWith('spool')), ''].join('\n'), 'env.conf', { env, osHostname: 'h' });

  test('spool_max_bytes and enabled_types entries are expanded like any string', () => {
    const c = parse(['spool_max_bytes = "${SPOOL:-2GiB}"', 'enabled_types = ["${FIRST}", "heap"]'], { FIRST: 'cpu' });
    assert.equal(c.agent.spoolMaxBytes, 2 * 1024 ** 3);
    assert.deepEqual(c.targets[0]!.enabledTypes, ['cpu', 'heap']);
    assert.equal(parse(['spool_max_bytes = "${SPOOL}"'], { SPOOL: '512MiB' }).agent.spoolMaxBytes, 512 * 1024 ** 2);
  });

  test('an unset variable there is a config error with the line, and the expanded value is what errors show', () => {
    assert.throws(
      () => parse(['spool_max_bytes = "${NOPE}"', 'enabled_types = ["${T}"]'], { T: 'cpuu' }),
      (err: unknown) => {
        assert.ok(err instanceof ConfigError);
        const text = err.issues.map(formatIssue).join('\n');
        assert.match(text, /env\.conf:2: agent\.spool_max_bytes: .*environment variable NOPE is not set/);
        assert.match(text, /env\.conf:5: inputs\.profile\.go\.enabled_types: unknown profile type "cpuu"/);
        return true;
      },
    );
  });
});
