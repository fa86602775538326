// [agent] memory_limit (README "[agent]"): the memory budget's size, parsed
// like spool_max_bytes (src/config/validate/agent.ts): a number of bytes or a
// size like "256MiB", at least 1MiB, default 256 MiB; anything else is an
// error at its line and key. A reload applies a new limit at once (it is not
// one of the keys that wait for a restart).
//
//   node --import tsx --test test/config/memory-limit.test.ts

import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { ConfigError, formatIssue } from '../../src/config/errors.js';
import { parseConfig } from '../../src/config/load.js';
import { agentReloadPlan } from '../../src/config/reload.js';
import type { Config } from '../../src/config/types.js';
import { LIMITS } from '../../src/core/limits.js';

const FILE = 'conf.d/memory.conf';
const TARGET = ['[[inputs.profile.go]]', 'url = "http://127.0.0.1:6060"'];
const MiB = 1024 * 1024;

/** `[agent]` with `memory_limit = <value>` on line 3, then a target. */
function withLimit(value: string | undefined): string {
  return ['[agent]', 'listen = ""', ...(value === undefined ? [] : [`memory_limit = ${value}`]), ...TARGET, ''].join('\n');
}

function load(source: string): Config {
  return parseConfig(source, FILE, { env: {}, osHostname: 'host' });
}

function issuesOf(source: string): string[] {
  try {
    load(source);
  } catch (err) {
    if (err instanceof ConfigError) return err.issues.map(formatIssue);
    throw err;
  }
  assert.fail(`expected a ConfigError for:\n${source}`);
}

describe('[agent] memory_limit', () => {
  it('defaults to 256 MiB', () => {
    assert.equal(LIMITS.memoryLimitBytes, 256 * MiB);
    assert.equal(load(withLimit(undefined)).agent.memoryLimitBytes, 256 * MiB);
  });

  it('takes a number of bytes or a size with a unit', () => {
    const cases: Array<[string, number]> = [
      ['"256MiB"', 256 * MiB],
      ['"1GiB"', 1024 * MiB],
      ['"512 MB"', 512e6],
      ['"1.5GiB"', 1.5 * 1024 * MiB],
      ['2097152', 2 * MiB],
      ['"1MiB"', MiB],
    ];
    for (const [value, bytes] of cases) assert.equal(load(withLimit(value)).agent.memoryLimitBytes, bytes, `memory_limit = ${value}`);
  });

  it('anything else is an error at its line and key, saying what is allowed', () => {
    const cases: Array<[value: string, words: RegExp]> = [
      ['"lots"', /"lots" is not a size: write a number of bytes or a size like "512MiB" or "1GB"$/],
      ['"256 parsecs"', /is not a size/],
      ['"-1MiB"', /is not a size/],
      ['"512KiB"', /must be at least 1MiB, got 512KiB$/],
      ['1000', /must be at least 1MiB, got 1000$/],
      ['0', /must be at least 1MiB, got 0$/],
      ['true', /must be a number of bytes or a size like "512MiB" or "1GB", got a boolean/],
      ['["1GiB"]', /got an array/],
    ];
    for (const [value, words] of cases) {
      const issues = issuesOf(withLimit(value));
      assert.equal(issues.length, 1, `memory_limit = ${value}: ${issues.join(' | ')}`);
      const printed = issues[0]!;
      assert.ok(printed.startsWith(`${FILE}:3: agent.memory_limit: `), `memory_limit = ${value}: ${printed}`);
      assert.match(printed, words, `memory_limit = ${value}: ${printed}`);
    }
  });

  it('a misspelt key is an error too, not a silent default', () => {
    const issues = issuesOf(withLimit(undefined).replace('listen = ""', 'listen = ""\nmemory_limits = "1GiB"'));
    assert.equal(issues.length, 1, issues.join(' | '));
    assert.match(issues[0]!, /^conf\.d\/memory\.conf:3: agent\.memory_limits: .*memory_limit/);
  });

  it('a reload applies a new limit at once: it does not wait for a restart', () => {
    const a = load(withLimit('"256MiB"')).agent;
    const b = load(withLimit('"64MiB"')).agent;
    assert.deepEqual(agentReloadPlan(a, a, b, false).needRestart, []);
  });
});
