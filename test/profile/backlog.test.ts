// ProfileProcessor.backlog (src/profile/processor.ts): the jobs waiting or
// running on the worker a target's jobs go to, and how long the oldest has
// waited: what "workers behind" (src/scrape/admission.ts) is judged on.
// Each worker (lane) is counted on its own: a slow worker does not make the
// targets of another look behind.
//
//   node --import tsx --test test/profile/backlog.test.ts

import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import type { ProfileJob, ProfileJobResult } from '../../src/profile/job.js';
import { ProfileProcessor } from '../../src/profile/processor.js';
import { makeRunner, type ProfileEngine } from '../../src/profile/workers.js';
import { FakeClock, flushMicrotasks } from '../helpers/fake-clock.js';
import { ROOT } from '../helpers/processes.js';
import { testTarget } from '../helpers/targets.js';

const GOROUTINE = readFileSync(join(ROOT, 'fixtures', 'profiles', 'goroutine.pb.gz'));

/** Two lanes (the targets named in `second` go to lane 1), each job held until the test lets it go. */
class GatedEngine implements ProfileEngine {
  private readonly runner = makeRunner();
  readonly held: Array<() => void> = [];
  readonly second = new Set<string>();
  laneOf(targetId: string): number {
    return this.second.has(targetId) ? 1 : 0;
  }
  async run(job: ProfileJob): Promise<ProfileJobResult> {
    await new Promise<void>((resolve) => this.held.push(resolve));
    return this.runner.run(job);
  }
  retainTargets(): void {}
  async close(): Promise<void> {}
}

describe('ProfileProcessor.backlog', () => {
  it('counts the jobs of each worker and the age of its oldest, until they are done', async () => {
    const clock = new FakeClock();
    const engine = new GatedEngine();
    const processor = new ProfileProcessor({ engine, now: () => clock.now() });
    const a = testTarget({ baseUrl: 'http://127.0.0.1:6000/debug/pprof' });
    const b = testTarget({ baseUrl: 'http://127.0.0.1:7000/debug/pprof' });
    engine.second.add(b.id);
    assert.equal(engine.laneOf(a.id), 0);
    assert.equal(engine.laneOf(b.id), 1);
    const job = (target: typeof a) => processor.process({ target, type: 'goroutine', body: GOROUTINE, startedAtMs: clock.now(), finishedAtMs: clock.now() });

    assert.deepEqual(processor.backlog(a.id), { jobs: 0, oldestWaitMs: 0 });
    const first = job(a);
    clock.stall(3_000);
    const second = job(a);
    clock.stall(2_000);
    await flushMicrotasks();
    assert.deepEqual(processor.backlog(a.id), { jobs: 2, oldestWaitMs: 5_000 });
    assert.deepEqual(processor.backlog(b.id), { jobs: 0, oldestWaitMs: 0 }, "the other worker's targets are not behind");

    engine.held.shift()!();
    assert.equal((await first).kind, 'shipped');
    assert.deepEqual(processor.backlog(a.id), { jobs: 1, oldestWaitMs: 2_000 }, 'the oldest is now the second job');
    engine.held.shift()!();
    await second;
    assert.deepEqual(processor.backlog(a.id), { jobs: 0, oldestWaitMs: 0 });
  });
});
