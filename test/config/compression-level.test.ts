// [agent] compression_level (README "[agent]"): the gzip level of the deltas
// the collector writes, 1 to 9, default 1. Its parsing and errors at their
// line (src/config/validate/agent.ts), and that the level reaches zlib: the
// processor hands it to the engine, and the delta a job writes carries it
// (the gzip header's XFL byte says 4 for level 1 and 2 for level 9, and the
// sizes differ) while inflating to the same profile.
//
//   node --import tsx --test test/config/compression-level.test.ts

import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { gunzipSync } from 'node:zlib';
import type { Config } from '../../src/config/types.js';
import { issuesOfText, loadText } from '../helpers/config-text.js';
import { agentReloadPlan } from '../../src/config/reload.js';
import { BaselineStore } from '../../src/profile/baselines.js';
import { ProfileJobRunner, type ProfileJob, type ProfileJobResult } from '../../src/profile/job.js';
import { ProfileProcessor } from '../../src/profile/processor.js';
import type { ProfileEngine } from '../../src/profile/workers.js';
import { fixture } from '../helpers/pprof-model.js';
import { testTarget } from '../helpers/targets.js';

const FILE = 'conf.d/compression.conf';
const TARGET = ['[[inputs.profile.go]]', 'url = "http://127.0.0.1:6060"'];

/** `[agent]` with `compression_level = <value>` on line 3, then a target. */
function withLevel(value: string | undefined): string {
  return ['[agent]', 'listen = ""', ...(value === undefined ? [] : [`compression_level = ${value}`]), ...TARGET, ''].join('\n');
}

const load = (source: string): Config => loadText(source, FILE);
const issuesOf = (source: string): string[] => issuesOfText(source, FILE);

/** The gzip header's XFL byte: 4 when zlib compressed at level 1, 2 at level 9, 0 between. */
const xfl = (gz: Uint8Array) => gz[8];

describe('[agent] compression_level', () => {
  it('defaults to 1 and takes whole numbers from 1 to 9', () => {
    assert.equal(load(withLevel(undefined)).agent.compressionLevel, 1);
    for (const n of [1, 3, 6, 9]) assert.equal(load(withLevel(String(n))).agent.compressionLevel, n);
  });

  it('anything else is an error at its line and key, saying what is allowed', () => {
    const cases: Array<[value: string, got: RegExp]> = [
      ['0', /got 0$/],
      ['10', /got 10$/],
      ['-1', /got -1$/],
      ['1.5', /got 1\.5$/],
      ['"6"', /got "6"/],
      ['true', /got a boolean/],
    ];
    for (const [value, got] of cases) {
      const issues = issuesOf(withLevel(value));
      assert.equal(issues.length, 1, `compression_level = ${value}: ${issues.join(' | ')}`);
      const printed = issues[0]!;
      assert.ok(printed.startsWith(`${FILE}:3: agent.compression_level: `), printed);
      assert.match(printed, /must be a whole number from 1 \(fastest\) to 9 \(smallest\)/);
      assert.match(printed, got, printed);
    }
  });

  it('a reload that changes it waits for a restart, and says so', () => {
    const a = load(withLevel('1')).agent;
    const b = load(withLevel('6')).agent;
    assert.deepEqual(agentReloadPlan(a, a, b, false).needRestart, ['compression_level']);
  });
});

describe('the level reaches zlib', () => {
  async function delta(gzipLevel: number | undefined): Promise<Uint8Array> {
    const runner = new ProfileJobRunner({ baselines: new BaselineStore() });
    const job = (name: string, ns: bigint): ProfileJob => ({
      targetId: 't',
      type: 'heap',
      deltaSampleTypes: ['alloc_objects', 'alloc_space'],
      body: fixture(name),
      maxDecompressedBytes: 1 << 28,
      scrapedAtNanos: ns,
      ...(gzipLevel !== undefined ? { gzipLevel } : {}),
    });
    await runner.run(job('heap-1.pb.gz', 1n));
    const r = await runner.run(job('heap-2.pb.gz', 2n));
    assert.equal(r.kind, 'delta');
    return (r as Extract<ProfileJobResult, { kind: 'delta' }>).gzipped;
  }

  it('a job gzips its delta at the level it is given (default 1)', async () => {
    const [byDefault, one, nine] = [await delta(undefined), await delta(1), await delta(9)];
    assert.equal(xfl(byDefault), 4, 'level 1 by default');
    assert.equal(xfl(one), 4);
    assert.equal(xfl(nine), 2);
    assert.notEqual(one.length, nine.length);
    assert.deepEqual(gunzipSync(one), gunzipSync(nine), 'the same profile either way');
  });

  it('the processor hands its level to the engine with every job', async () => {
    const jobs: ProfileJob[] = [];
    const runner = new ProfileJobRunner({ baselines: new BaselineStore() });
    const engine: ProfileEngine = {
      run: (job) => (jobs.push(job), runner.run(job)),
      retainTargets: () => undefined,
      close: async () => undefined,
    };
    const proc = new ProfileProcessor({ engine, gzipLevel: 9, now: () => 1_800_000_000_000 });
    const target = testTarget();
    for (const [i, name] of ['heap-1.pb.gz', 'heap-2.pb.gz'].entries()) {
      await proc.process({ target, type: 'heap', body: fixture(name), startedAtMs: 1_000 + i, finishedAtMs: 1_000 + i });
    }
    assert.deepEqual(
      jobs.map((j) => j.gzipLevel),
      [9, 9],
    );
  });
});
