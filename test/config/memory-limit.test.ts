// [agent] memory_limit (README "[agent]"): the memory budget's size, parsed
// like spool_max_bytes (src/config/validate/agent.ts): a number of bytes or a
// size like "256MiB", at least 1MiB, default 256 MiB; anything else is an
// error at its line and key. A reload applies a new limit at once (it is not
// one of the keys that wait for a restart). A Collector exports the budget
// on /metrics and resizes it on reload.
//
//   node --import tsx --test test/config/memory-limit.test.ts

import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { Collector } from '../../src/collector.js';
import { agentReloadPlan } from '../../src/config/reload.js';
import type { Config } from '../../src/config/types.js';
import { issuesOfText, loadText } from '../helpers/config-text.js';
import { LIMITS } from '../../src/core/limits.js';
import { silentLogger } from '../../src/core/log.js';
import type { CollectOutcome } from '../../src/server/health.js';
import { CollectorMetrics } from '../../src/server/metrics.js';
import { fakePprofServers, rigConfig, stepSeconds } from '../helpers/collector-rig.js';
import { FakeClock } from '../helpers/fake-clock.js';
import { cleanupAfterEach } from '../helpers/processes.js';
import { parsePromText, valueOf } from '../helpers/prom-text.js';

const cleanup = cleanupAfterEach();

const FILE = 'conf.d/memory.conf';
const TARGET = ['[[inputs.profile.go]]', 'url = "http://127.0.0.1:6060"'];
const MiB = 1024 * 1024;

/** `[agent]` with `memory_limit = <value>` on line 3, then a target. */
function withLimit(value: string | undefined): string {
  return ['[agent]', 'listen = ""', ...(value === undefined ? [] : [`memory_limit = ${value}`]), ...TARGET, ''].join('\n');
}

const load = (source: string): Config => loadText(source, FILE);
const issuesOf = (source: string): string[] => issuesOfText(source, FILE);

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

describe('a Collector with memory_limit', () => {
  it('exports the budget, its use and peak on /metrics, and a reload resizes it', async () => {
    const clock = new FakeClock(1_700_000_000_000);
    const [server] = await fakePprofServers(1, clock, cleanup);
    const dir = cleanup.tempDir('memory-limit-');
    const body = ['[[inputs.profile.go]]', `url = "${server!.url}"`, 'service = "budgeted"', 'interval = "10s"', 'enabled_types = ["goroutine"]'];
    const metrics = new CollectorMetrics({ defaultMetrics: false });
    const outcomes: CollectOutcome[] = [];
    const collector = new Collector(rigConfig(dir, body, ['memory_limit = "1MiB"']), { clock, logger: silentLogger(), metrics, onOutcome: (o) => outcomes.push(o) });
    await collector.start();
    cleanup.add(() => collector.stop(0));
    const gauge = async (name: string) => valueOf(parsePromText(await metrics.registry.metrics()), name);

    assert.equal(await gauge('collector_memory_budget_bytes'), MiB);
    await stepSeconds(clock, 15, { until: () => outcomes.length > 0, settleMs: 20 });
    // The first scrape's estimate (4 MiB) is more than the whole budget: cut to
    // the limit, it runs when nothing else is held rather than never.
    assert.deepEqual(outcomes.map((o) => o.result), ['shipped']);
    assert.equal(await gauge('collector_memory_budget_in_use_bytes'), 0);
    assert.equal(await gauge('collector_memory_budget_in_use_peak_bytes'), MiB);

    await collector.reload(rigConfig(dir, body, ['memory_limit = "3MiB"']));
    assert.equal(await gauge('collector_memory_budget_bytes'), 3 * MiB);
    assert.equal(collector.memoryBudget.limit, 3 * MiB);
  });
});
