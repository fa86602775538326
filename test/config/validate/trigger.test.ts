// [inputs.profile.go.trigger]: what loads, and every refusal as
// FILE:LINE: key.path: what is wrong and what is allowed.

import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { doc, issuesOfText, loadText } from '../../helpers/config-text.js';

const FILE = 'conf.d/test.conf';
const load = (source: string, env: Record<string, string> = {}) => loadText(source, FILE, env);
const problems = (source: string) => issuesOfText(source, FILE);

/** A block whose [inputs.profile.go.trigger] starts at line 4, its keys from line 5 on. */
const trigger = (types: string | null, ...keys: string[]) =>
  doc('[[inputs.profile.go]]', 'url = "http://127.0.0.1:6060"', types ?? '# all types', '[inputs.profile.go.trigger]', ...keys);

const P = `${FILE}:5: inputs.profile.go.trigger`;

describe('[inputs.profile.go.trigger]', () => {
  test('thresholds, types and cooldown as written', () => {
    const t = load(
      trigger(
        null,
        'cpu_cores_above = 0.6',
        'heap_live_bytes_above = 536870912',
        'goroutines_above = 10000',
        'mutex_wait_seconds_per_second_above = 0.25',
        'types = ["cpu", "goroutine"]',
        'cooldown = "2m"',
      ),
    ).targets[0]!.trigger;
    assert.deepEqual(t, {
      above: { cpu_cores: 0.6, heap_live_bytes: 536870912, goroutines: 10000, mutex_wait_seconds_per_second: 0.25 },
      types: ['cpu', 'goroutine'],
      cooldownMs: 120_000,
    });
  });

  test('defaults: every enabled type, a 5m cooldown; no table, no trigger', () => {
    const t = load(trigger('enabled_types = ["cpu", "heap"]', 'cpu_cores_above = 1')).targets[0]!.trigger;
    assert.deepEqual(t, { above: { cpu_cores: 1 }, types: ['cpu', 'heap'], cooldownMs: 300_000 });
    assert.equal(load(doc('[[inputs.profile.go]]', 'url = "http://127.0.0.1:6060"')).targets[0]!.trigger, undefined);
  });

  test('a table without a threshold, and a value that is not a number from 0 up', () => {
    assert.deepEqual(problems(trigger(null, 'cooldown = "1m"')), [
      `${FILE}:4: inputs.profile.go.trigger: has no threshold: set at least one of cpu_cores_above, heap_live_bytes_above, goroutines_above, mutex_wait_seconds_per_second_above`,
    ]);
    assert.deepEqual(problems(trigger(null, 'cpu_cores_above = -1', 'heap_live_bytes_above = "512MiB"')), [
      `${P}.cpu_cores_above: must be a number from 0 up, in CPU cores, like 0.8; got -1`,
      `${FILE}:6: inputs.profile.go.trigger.heap_live_bytes_above: must be a number from 0 up, in bytes, like 536870912 (512 MiB); got "512MiB"`,
    ]);
  });

  test('a threshold on a metric whose type the block does not scrape', () => {
    assert.deepEqual(problems(trigger('enabled_types = ["heap"]', 'cpu_cores_above = 0.5', 'heap_live_bytes_above = 1e9')), [
      `${P}.cpu_cores_above: cpu_cores is derived from the cpu profile, which this block does not scrape: add "cpu" to enabled_types, or remove cpu_cores_above`,
    ]);
  });

  test('unknown keys with a suggestion; types unknown, not enabled, twice or none; a short cooldown', () => {
    assert.deepEqual(problems(trigger(null, 'cpu_core_above = 0.5')), [
      `${P}.cpu_core_above: unknown key "cpu_core_above" (did you mean "cpu_cores_above"?); allowed here: cpu_cores_above, heap_live_bytes_above, goroutines_above, mutex_wait_seconds_per_second_above, types, cooldown`,
    ]);
    assert.deepEqual(problems(trigger('enabled_types = ["cpu", "heap"]', 'cpu_cores_above = 0.5', 'types = ["cpu", "goroutine", "hep", "cpu"]', 'cooldown = "5s"')), [
      `${FILE}:6: inputs.profile.go.trigger.types: "goroutine" is not in enabled_types (cpu, heap): a trigger takes types this block scrapes`,
      `${FILE}:6: inputs.profile.go.trigger.types: unknown profile type "hep" (did you mean "heap"?); allowed: cpu, heap, goroutine, mutex, block, allocs, threadcreate`,
      `${FILE}:6: inputs.profile.go.trigger.types: "cpu" is listed twice`,
      `${FILE}:7: inputs.profile.go.trigger.cooldown: must be at least 10s, got 5s: each firing takes a set of profiles, like a scheduled scrape`,
    ]);
    assert.deepEqual(problems(trigger(null, 'cpu_cores_above = 0.5', 'types = []')), [
      `${FILE}:6: inputs.profile.go.trigger.types: must list at least one profile type (leave it out to take every type in enabled_types)`,
    ]);
    assert.deepEqual(problems(doc('[[inputs.profile.go]]', 'url = "http://127.0.0.1:6060"', 'trigger = 1')), [
      `${FILE}:3: inputs.profile.go.trigger: must be a table like [inputs.profile.go.trigger] with cpu_cores_above = 0.8, got an integer`,
    ]);
  });
});
