import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { expandEnv, UnsetVariableError } from '../../src/config/env.js';

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
