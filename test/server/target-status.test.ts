// Collector.status(), what /targets and /api/targets show, for a target that
// answers 404 on every type: its types fail one after another within the
// first interval, each before all its siblings had answered, so the hint each
// failure carried speaks of one path. The status asks once every type has
// answered and shows the whole-target cause on every row.
//
//   node --import tsx --test test/server/target-status.test.ts

import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { Collector } from '../../src/collector.js';
import { HealthStore, type CollectOutcome } from '../../src/server/health.js';
import { LastProfiles } from '../../src/server/last-profiles.js';
import { targetStatusPage } from '../../src/server/target-status.js';
import { testTarget } from '../helpers/targets.js';
import { silentLogger } from '../../src/core/log.js';
import { fakePprofServers, rigConfig, stepSeconds } from '../helpers/collector-rig.js';
import { FakeClock } from '../helpers/fake-clock.js';
import { cleanupAfterEach } from '../helpers/processes.js';

const cleanup = cleanupAfterEach();

const WHOLE_TARGET = /^every pprof path answers 404: net\/http\/pprof is not registered/;

describe('Collector.status() hints', () => {
  it('a target with 404 on every type shows the whole-target hint on every type after its first cycle', async () => {
    const clock = new FakeClock(1_700_000_000_000);
    // The fake serves goroutine and profile only: heap, mutex and block are 404.
    const [server] = await fakePprofServers(1, clock, cleanup);
    const config = rigConfig(cleanup.tempDir('target-status-'), [
      '[[inputs.profile.go]]',
      `url = "${server!.url}"`,
      'service = "bare"',
      'interval = "10s"',
      'enabled_types = ["heap", "mutex", "block"]',
    ]);
    const outcomes: CollectOutcome[] = [];
    const collector = new Collector(config, { clock, logger: silentLogger(), onOutcome: (o) => outcomes.push(o) });
    await collector.start();
    cleanup.add(() => collector.stop(0));

    // One interval, a second at a time; each step lets the real HTTP finish.
    await stepSeconds(clock, 10, { until: () => outcomes.length >= 3, settleMs: 20 });
    assert.deepEqual(outcomes.map((o) => o.error?.code), ['not_found', 'not_found', 'not_found'], 'each type failed once with 404');
    // The first failure could not know of the others (the premise of this test).
    assert.doesNotMatch(outcomes[0]!.hint ?? '', WHOLE_TARGET, `first failure's own hint: ${outcomes[0]!.hint}`);

    const [target] = collector.status();
    assert.ok(target);
    assert.deepEqual(target.types.map((t) => t.health), ['down', 'down', 'down']);
    for (const t of target.types) assert.match(t.hint ?? '', WHOLE_TARGET, `${t.type}: ${t.hint}`);
  });
});

describe('targetStatusPage', () => {
  it("pages and filters the collector's targets by the health store: a target is as healthy as its worst type", () => {
    const targets = Array.from({ length: 30 }, (_, i) =>
      testTarget({ baseUrl: `http://10.0.0.${i + 1}:6060/debug/pprof`, service: i < 20 ? 'api' : 'worker', enabledTypes: ['heap', 'goroutine'] }),
    );
    const health = new HealthStore();
    const at = 1_700_000_000_000;
    targets.forEach((t, i) => {
      // 0..9: both up; 10..14: heap down; 15..19: heap skipped; 20..29: nothing yet (pending).
      if (i >= 20) return;
      health.update({ targetId: t.id, type: 'goroutine', result: 'shipped', startedAtMs: at, durationMs: 5, bytes: 10, samples: 1 });
      const heap: CollectOutcome['result'] = i < 10 ? 'shipped' : i < 15 ? 'failed' : 'skipped';
      health.update({ targetId: t.id, type: 'heap', result: heap, startedAtMs: at, durationMs: 5, bytes: 10, samples: 1, ...(heap === 'failed' ? { error: { code: 'timeout', message: 't' } } : {}) });
    });
    const inputs = { health, lastProfiles: new LastProfiles(), nextRun: () => undefined };
    const down = targetStatusPage(targets, inputs, { health: 'down', page: 1, perPage: 50 });
    assert.deepEqual(down.targets.map((t) => t.id), targets.slice(10, 15).map((t) => t.id));
    assert.deepEqual(down.targets[0]!.types.map((x) => x.health), ['down', 'up']);
    assert.deepEqual(down.targetsByHealth, { down: 5, skipped: 5, pending: 10, up: 10 });
    assert.deepEqual(down.jobsByHealth, { down: 5, skipped: 5, pending: 20, up: 30 });
    const workers = targetStatusPage(targets, inputs, { service: 'WORK', page: 2, perPage: 4 });
    assert.deepEqual(workers.targets.map((t) => t.id), targets.slice(24, 28).map((t) => t.id));
    assert.deepEqual([workers.matched, workers.pages, workers.page, workers.total], [10, 3, 2, 30]);
    assert.equal(targetStatusPage(targets, inputs, { health: 'up', page: 1, perPage: Infinity }).targets.length, 10);
  });
});
