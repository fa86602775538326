// [agent] profile_workers (README "[agent]"): worker threads that decode
// profiles and compute deltas; default every core but one (1 to 4); 0 runs
// them on the main thread. The key's parsing and errors (src/config/validate/agent.ts),
// and a durable Collector with profile_workers = 0, which must use the inline
// engine and still ship (src/collector.ts).
//
//   node --import tsx --test test/config/profile-workers.test.ts

import assert from 'node:assert/strict';
import { availableParallelism } from 'node:os';
import { existsSync, readdirSync } from 'node:fs';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { Collector } from '../../src/collector.js';
import type { Config } from '../../src/config/types.js';
import { issuesOfText, loadText } from '../helpers/config-text.js';
import type { CollectOutcome } from '../../src/server/health.js';
import { silentLogger } from '../../src/core/log.js';
import { defaultWorkerCount } from '../../src/core/limits.js';
import { fakePprofServers, rigConfig, stepSeconds } from '../helpers/collector-rig.js';
import { FakeClock } from '../helpers/fake-clock.js';
import { cleanupAfterEach, waitFor } from '../helpers/processes.js';

const cleanup = cleanupAfterEach();

const FILE = 'conf.d/workers.conf';
const TARGET = ['[[inputs.profile.go]]', 'url = "http://127.0.0.1:6060"'];

/** `[agent]` with `profile_workers = <value>` on line 3, then a target. */
function withWorkers(value: string | undefined): string {
  return ['[agent]', 'listen = ""', ...(value === undefined ? [] : [`profile_workers = ${value}`]), ...TARGET, ''].join('\n');
}

const load = (source: string): Config => loadText(source, FILE);
const issuesOf = (source: string): string[] => issuesOfText(source, FILE);

describe('[agent] profile_workers', () => {
  it('defaults to every core but one, at least 1, at most 4', () => {
    const expected = Math.max(1, Math.min(4, availableParallelism() - 1));
    assert.equal(defaultWorkerCount(), expected);
    assert.equal(load(withWorkers(undefined)).agent.profileWorkers, expected);
    assert.ok(expected >= 1 && expected <= 4);
  });

  it('takes whole numbers from 0 (no worker threads) to 64', () => {
    for (const n of [0, 1, 2, 4, 17, 64]) assert.equal(load(withWorkers(String(n))).agent.profileWorkers, n, `profile_workers = ${n}`);
  });

  it('anything else is an error at its line, saying what is allowed', () => {
    const cases: Array<[value: string, got: RegExp]> = [
      ['65', /got 65$/],
      ['-1', /got -1$/],
      ['1000', /got 1000$/],
      ['1.5', /got 1\.5$/],
      ['"2"', /got "2"/],
      ['true', /got a boolean/],
      ['[1]', /got an array/],
    ];
    for (const [value, got] of cases) {
      const issues = issuesOf(withWorkers(value));
      assert.equal(issues.length, 1, `profile_workers = ${value}: ${issues.join(' | ')}`);
      const printed = issues[0]!;
      assert.ok(printed.startsWith(`${FILE}:3: agent.profile_workers: `), `profile_workers = ${value}: ${printed}`);
      assert.match(printed, /must be a whole number from 0 \(no worker threads\) to 64/);
      assert.match(printed, got, `profile_workers = ${value}: ${printed}`);
    }
  });
});

describe('a durable Collector with profile_workers = 0', () => {
  it('runs the profile jobs inline and still ships a profile', async () => {
    const clock = new FakeClock(1_700_000_000_000);
    const [server] = await fakePprofServers(1, clock, cleanup);
    const dir = cleanup.tempDir('profile-workers-');
    const out = join(dir, 'out');
    const config = rigConfig(
      dir,
      ['[[inputs.profile.go]]', `url = "${server!.url}"`, 'service = "inline"', 'interval = "10s"', 'enabled_types = ["goroutine"]'],
      ['profile_workers = 0'],
    );
    assert.equal(config.agent.profileWorkers, 0);
    const outcomes: CollectOutcome[] = [];
    const sent: string[] = [];
    const collector = new Collector(config, {
      clock,
      logger: silentLogger(),
      durable: true,
      onOutcome: (o) => outcomes.push(o),
      deliveryEvents: { onSent: (_o, r) => void sent.push(r.id) },
    });
    await collector.start();
    cleanup.add(() => collector.stop(0));
    assert.equal(collector.outputSet?.durable, true, 'the premise: durable, so the spool (and worker threads, were any asked for) are in use');

    // One interval, a second at a time; each step lets the real HTTP finish.
    await stepSeconds(clock, 15, { until: () => outcomes.length > 0, settleMs: 20 });
    assert.deepEqual(
      outcomes.map((o) => [o.result, o.error?.code]),
      [['shipped', undefined]],
      `outcomes: ${JSON.stringify(outcomes)}`,
    );
    await waitFor(() => sent.length === 1, 5_000, 'the file output to accept the profile');
    assert.equal(sent[0], outcomes[0]!.recordId);
    const files = existsSync(join(out, 'inline')) ? readdirSync(join(out, 'inline')) : [];
    assert.equal(files.filter((f) => f.endsWith('.pprof')).length, 1, `files: ${files.join(', ')}`);
    assert.ok(existsSync(join(dir, 'data', 'spool')), 'the spool is under data_dir');

    const report = await collector.stop(0);
    assert.equal(report.undelivered, 0);
  });
});
