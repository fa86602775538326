// An empty mutex or block profile is not proof that profiling is off (issue
// 10 item 12). Only a scraped profile with no samples at all, for
// EMPTY_WINDOWS_BEFORE_HINT windows in a row, gets the hint (once in the
// log, on every outcome from then on); a scraped profile that has samples
// but no new ones in the window (a zero delta) never does.
//
// The real ProfilePipeline, processor and HTTP scrape against a local
// node:http server serving recorded profiles of the Go fixture
// (fixtures/profiles/mutex-off.pb.gz, mutex-*.pb.gz, block-*), each with the
// profile time moved to the fake clock's now so every scrape is a window.

import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { gunzipSync, gzipSync } from 'node:zlib';
import { Profile } from 'pprof-format';
import { createLogger } from '../../src/core/log.js';
import { ProfilePipeline } from '../../src/pipeline.js';
import { BaselineStore } from '../../src/profile/baselines.js';
import { ProfileProcessor } from '../../src/profile/processor.js';
import { CpuProfileGate, CpuWindows } from '../../src/scrape/cpu-gate.js';
import { DispatcherPool } from '../../src/scrape/dispatchers.js';
import { EmptyWindows } from '../../src/server/empty-windows.js';
import { HealthStore, type CollectOutcome } from '../../src/server/health.js';
import { EMPTY_WINDOWS_BEFORE_HINT } from '../../src/server/hints.js';
import { FakeClock } from '../helpers/fake-clock.js';
import { ROOT } from '../helpers/processes.js';
import { testTarget } from '../helpers/targets.js';

const PROFILES = join(ROOT, 'fixtures', 'profiles');
const INTERVAL_MS = 10_000;
const CALL = { mutex: 'runtime.SetMutexProfileFraction', block: 'runtime.SetBlockProfileRate' } as const;

const clock = new FakeClock();
/** What the server answers next, per path: file names, the last one repeated. */
const serving = new Map<string, string[]>();
let server: Server;
let port = 0;
const pool = new DispatcherPool();

/** A recorded profile with its time set to now (the fake clock), as a live target would answer. */
function recordedNow(file: string): Buffer {
  const p = Profile.decode(gunzipSync(readFileSync(join(PROFILES, file))));
  p.timeNanos = BigInt(clock.now()) * 1_000_000n;
  return gzipSync(p.encode());
}

before(async () => {
  server = createServer((req, res) => {
    req.resume();
    const path = (req.url ?? '').split('?')[0]!.replace(/^\/debug\/pprof\//, '');
    const files = serving.get(path) ?? [];
    const file = files.length > 1 ? files.shift()! : files[0];
    if (!file) return void res.writeHead(404, { 'x-go-pprof': '1' }).end('Unknown profile\n');
    res.writeHead(200, { 'content-type': 'application/octet-stream' }).end(recordedNow(file));
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  port = (server.address() as AddressInfo).port;
});

after(async () => {
  await pool.close();
  server.closeAllConnections();
  await new Promise<void>((resolve) => server.close(() => resolve()));
});

interface Line {
  level: string;
  msg: string;
  type?: string;
  hint?: string;
  windows?: number;
}

function setup(type: 'mutex' | 'block') {
  const raw: string[] = [];
  const logger = createLogger({ level: 'debug', destination: { write: (s: string) => void raw.push(s) } });
  const target = testTarget({ baseUrl: `http://127.0.0.1:${port}/debug/pprof`, enabledTypes: [type], intervalMs: INTERVAL_MS });
  const pipeline = new ProfilePipeline({
    clock,
    logger,
    dispatchers: pool,
    processor: new ProfileProcessor({ baselines: new BaselineStore(), now: () => clock.now() }),
    cpuGate: new CpuProfileGate(clock),
    cpuWindows: new CpuWindows(() => clock.now()),
    health: new HealthStore(),
    emit: async () => undefined,
  });
  const hinted = () => raw.map((s) => JSON.parse(s) as Line).filter((l) => l.level === 'warn' && String(l.hint ?? '').includes(CALL[type]));
  /** One scrape, then the clock moves one interval on. */
  const scrape = async (): Promise<CollectOutcome> => {
    const o = await pipeline.collect(target, type);
    clock.stall(INTERVAL_MS);
    return o;
  };
  return { scrape, hinted, pipeline, target };
}

describe('the profiling-off hint of mutex and block', () => {
  for (const type of ['mutex', 'block'] as const) {
    it(`${type}: a scraped profile with no samples gets the hint only after ${EMPTY_WINDOWS_BEFORE_HINT} empty windows in a row, logged once`, async () => {
      assert.ok(EMPTY_WINDOWS_BEFORE_HINT >= 2, 'several windows, not one');
      serving.set(type, [`${type}-off.pb.gz`]);
      const s = setup(type);
      const first = await s.scrape();
      assert.equal(first.result, 'baseline');
      assert.equal(first.hint, undefined, 'a baseline is no window');
      for (let w = 1; w < EMPTY_WINDOWS_BEFORE_HINT; w++) {
        const o = await s.scrape();
        assert.equal(o.result, 'shipped');
        assert.equal(o.samples, 0);
        assert.equal(o.hint, undefined, `no hint after ${w} empty window(s)`);
        assert.deepEqual(s.hinted(), [], `nothing logged after ${w} empty window(s)`);
      }
      const nth = await s.scrape();
      assert.ok(nth.hint, `the hint after ${EMPTY_WINDOWS_BEFORE_HINT} empty windows`);
      assert.match(nth.hint, new RegExp(`^no contention recorded in ${EMPTY_WINDOWS_BEFORE_HINT} consecutive windows; if you expected some, call ${CALL[type].replace('.', '\\.')}`));
      assert.equal(s.hinted().length, 1, 'said in the log');
      assert.equal(s.hinted()[0]!.type, type);
      for (let w = 1; w <= 3; w++) {
        const o = await s.scrape();
        assert.match(String(o.hint), new RegExp(`in ${EMPTY_WINDOWS_BEFORE_HINT + w} consecutive windows`), 'every outcome after carries it (for /targets), counting on');
      }
      assert.equal(s.hinted().length, 1, 'logged once, not once per window');
    });

    it(`${type}: a profile with samples but nothing new in the window (a zero delta) never gets the hint`, async () => {
      // The same cumulative profile again and again: every delta is empty.
      serving.set(type, [`${type}-3.pb.gz`]);
      const s = setup(type);
      assert.equal((await s.scrape()).result, 'baseline');
      for (let w = 1; w <= EMPTY_WINDOWS_BEFORE_HINT + 3; w++) {
        const o = await s.scrape();
        assert.equal(o.result, 'shipped');
        assert.equal(o.samples, 0, 'nothing new in the window');
        assert.equal(o.hint, undefined, `window ${w}: the profile has samples, so profiling is on`);
      }
      assert.deepEqual(s.hinted(), []);
    });

    it(`${type}: once the scraped profile has samples the hint is gone at once; a new run of empty windows starts from zero`, async () => {
      const off = Array<string>(EMPTY_WINDOWS_BEFORE_HINT + 1).fill(`${type}-off.pb.gz`);
      serving.set(type, [...off, `${type}-1.pb.gz`, `${type}-2.pb.gz`]);
      const s = setup(type);
      for (let i = 0; i < off.length; i++) await s.scrape();
      assert.equal(s.hinted().length, 1);
      const on = await s.scrape();
      assert.equal(on.result, 'shipped');
      assert.ok(on.samples > 0, 'contention recorded');
      assert.equal(on.hint, undefined, 'samples: no hint');
      assert.equal((await s.scrape()).hint, undefined);
    });
  }
});

describe('EmptyWindows', () => {
  const scraped = (kind: 'baseline' | 'reset' | 'shipped', scrapedSamples: number) => ({ kind, scrapedSamples });

  it('baselines and resets are no windows; samples end the run; types without a hint are never counted', () => {
    const e = new EmptyWindows();
    assert.equal(e.observe('t', 'mutex', scraped('baseline', 0)).hint, undefined);
    for (let i = 1; i < EMPTY_WINDOWS_BEFORE_HINT; i++) assert.equal(e.observe('t', 'mutex', scraped('shipped', 0)).hint, undefined);
    // A target restart re-baselines: not a window, and not the end of the run.
    assert.equal(e.observe('t', 'mutex', scraped('reset', 0)).hint, undefined);
    const news = e.observe('t', 'mutex', scraped('shipped', 0));
    assert.ok(news.hint);
    assert.equal(news.news, true);
    assert.equal(e.observe('t', 'mutex', scraped('shipped', 0)).news, false);
    assert.equal(e.observe('t', 'mutex', scraped('reset', 0)).hint, news.hint.replace(`${EMPTY_WINDOWS_BEFORE_HINT} consecutive`, `${EMPTY_WINDOWS_BEFORE_HINT + 1} consecutive`), 'a reset keeps the hint standing');
    assert.deepEqual(e.observe('t', 'mutex', scraped('shipped', 5)), { news: false });
    // heap, cpu, goroutine: an empty profile is not about a setting.
    for (let i = 0; i < 10; i++) assert.deepEqual(e.observe('t', 'heap', scraped('shipped', 0)), { news: false });
  });

  it('targets and types are counted apart; retainTargets forgets the gone ones', () => {
    const e = new EmptyWindows();
    for (let i = 0; i < EMPTY_WINDOWS_BEFORE_HINT - 1; i++) {
      e.observe('a', 'mutex', scraped('shipped', 0));
      e.observe('b', 'mutex', scraped('shipped', 0));
    }
    e.retainTargets(new Set(['a']));
    assert.equal(e.observe('a', 'mutex', scraped('shipped', 0)).news, true);
    assert.equal(e.observe('a', 'block', scraped('shipped', 0)).hint, undefined, 'block of a: its own count (1)');
    assert.equal(e.observe('b', 'mutex', scraped('shipped', 0)).hint, undefined, 'b was forgotten: its count starts over');
  });

  it('a godeltaprof read (only the window\'s changes) with no samples is no evidence: never counted, never hinted; one with samples ends a run', () => {
    const e = new EmptyWindows();
    for (let i = 0; i < EMPTY_WINDOWS_BEFORE_HINT * 3; i++) assert.deepEqual(e.observe('t', 'mutex', { kind: 'shipped', scrapedSamples: 0, deltaOnly: true }), { news: false });
    for (let i = 1; i < EMPTY_WINDOWS_BEFORE_HINT; i++) e.observe('t', 'block', scraped('shipped', 0));
    e.observe('t', 'block', { kind: 'shipped', scrapedSamples: 2, deltaOnly: true });
    assert.equal(e.observe('t', 'block', scraped('shipped', 0)).hint, undefined, 'the run started over');
  });
});

