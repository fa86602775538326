// What the pipeline does for the schedule and trigger features: a CPU scrape
// on a cron pattern waits for another listing's CPU window up to the
// pattern's shortest gap (not `interval`), and a triggered collection ships
// its profile tagged trigger=<metric>, on top of the target's tags.

import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { createServer } from 'node:http';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { silentLogger } from '../../src/core/log.js';
import { ProfilePipeline } from '../../src/pipeline.js';
import { BaselineStore } from '../../src/profile/baselines.js';
import { ProfileProcessor } from '../../src/profile/processor.js';
import type { ProfileRecord } from '../../src/profile/record.js';
import { CpuProfileGate, CpuWindows } from '../../src/scrape/cpu-gate.js';
import { DispatcherPool } from '../../src/scrape/dispatchers.js';
import { HealthStore, type CollectOutcome } from '../../src/server/health.js';
import { FakeClock } from '../helpers/fake-clock.js';
import { cleanupAfterEach, ROOT } from '../helpers/processes.js';
import { closeServer, listenLocal } from '../helpers/servers.js';
import { testTarget } from '../helpers/targets.js';

const cleanup = cleanupAfterEach();

function pipelineOn(clock: FakeClock, gate: CpuProfileGate, emitted: ProfileRecord[]): ProfilePipeline {
  const pool = new DispatcherPool();
  cleanup.add(() => pool.close());
  return new ProfilePipeline({
    clock,
    logger: silentLogger(),
    dispatchers: pool,
    processor: new ProfileProcessor({ baselines: new BaselineStore(), now: () => clock.now() }),
    cpuGate: gate,
    cpuWindows: new CpuWindows(() => clock.now()),
    health: new HealthStore(),
    emit: async (r) => void emitted.push(r),
  });
}

describe('ProfilePipeline with schedules and triggers', () => {
  it('a cpu on a cron pattern waits for the process\'s CPU up to the pattern\'s shortest gap, then skips (cpu_busy)', async () => {
    const clock = new FakeClock();
    const gate = new CpuProfileGate(clock);
    const target = testTarget({ baseUrl: 'http://127.0.0.1:9/debug/pprof', enabledTypes: ['cpu'], intervalMs: 10_000, schedule: { cpu: { pattern: '0 * * * * *', minGapMs: 60_000 } } });
    assert.ok(gate.tryAcquire(target.instance), 'another listing of the process holds its CPU');
    const seen: CollectOutcome[] = [];
    void pipelineOn(clock, gate, []).collect(target, 'cpu').then((o) => seen.push(o));
    await clock.advance(10_001);
    assert.equal(seen.length, 0, 'still waiting after one interval');
    assert.equal(gate.waiting(target.instance), 1);
    await clock.advance(50_000);
    assert.equal(seen[0]?.result, 'skipped');
    assert.equal(seen[0]?.error?.code, 'cpu_busy');
  });

  it('a triggered collection ships its profile tagged trigger=<metric>; an ordinary one is not tagged', async () => {
    const body = readFileSync(join(ROOT, 'fixtures', 'profiles', 'goroutine.pb.gz'));
    const server = createServer((req, res) => {
      req.resume();
      res.writeHead(200, { 'content-type': 'application/octet-stream' }).end(body);
    });
    const port = await listenLocal(server);
    cleanup.add(() => closeServer(server));
    const clock = new FakeClock();
    const emitted: ProfileRecord[] = [];
    const pipeline = pipelineOn(clock, new CpuProfileGate(clock), emitted);
    const target = testTarget({ baseUrl: `http://127.0.0.1:${port}/debug/pprof`, enabledTypes: ['goroutine'] });
    assert.equal((await pipeline.collect(target, 'goroutine', undefined, { trigger: 'goroutines' })).result, 'shipped');
    assert.equal((await pipeline.collect(target, 'goroutine')).result, 'shipped');
    assert.deepEqual(emitted[0]!.tags, { ...target.tags, trigger: 'goroutines' });
    assert.deepEqual(emitted[0]!.customTags, target.customTags, 'not one of the tags the user wrote');
    assert.deepEqual(emitted[1]!.tags, target.tags);
  });
});
