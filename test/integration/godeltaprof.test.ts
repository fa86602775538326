// delta_source against real Go programs (fixtures/go-target): one with
// godeltaprof registered (-godeltaprof), one without (the auto fallback).
// Each case runs `collector --once` (a baseline, then a second read one
// profile_duration later) with a DataKit intake and a Pyroscope double, and
// reads the fixture's request log to see what the collector asked for.

import assert from 'node:assert/strict';
import { createServer } from 'node:http';
import { describe, it, type TestContext } from 'node:test';
import { readRequestLog, type RequestLogLine } from '../../fixtures/go-target/harness.js';
import { goSuite } from '../helpers/go-suite.js';
import { Collector } from '../../src/collector.js';
import { systemClock } from '../../src/core/clock.js';
import { silentLogger } from '../../src/core/log.js';
import { rigConfig } from '../helpers/collector-rig.js';
import { onceRig, runOnce, type OnceRig } from '../helpers/once-rig.js';
import { closeServer, listenLocal } from '../helpers/servers.js';
import { decodeGzipped, sampleTypeNames } from '../helpers/pprof.js';

const suite = goSuite('pprof-godeltaprof-');
const TYPES = ['heap', 'mutex', 'block'] as const;
const FILE: Record<string, string> = { heap: 'delta-heap.pprof', mutex: 'delta-mutex.pprof', block: 'delta-block.pprof' };
const NAME: Record<string, string> = { heap: 'memory', mutex: 'mutex', block: 'block' };
const SAMPLE_TYPES: Record<string, string[]> = { heap: ['alloc_objects', 'alloc_space', 'inuse_objects', 'inuse_space'], mutex: ['contentions', 'delay'], block: ['contentions', 'delay'] };

const rig = (godeltaprof: boolean) => onceRig(suite, { godeltaprof });
const once = (r: OnceRig, blocks: string[][], t: TestContext) => runOnce(r, blocks, t, { profileDuration: '1s' });

const byPath = (log: readonly RequestLogLine[], path: string) => log.filter((l) => l.path === `/debug/pprof/${path}`);
/** When the fixture got the request (its log's RFC 3339 time, to the ns). */
function ns(l: RequestLogLine): bigint {
  const m = /^(.*T\d\d:\d\d:\d\d)(?:\.(\d+))?Z$/.exec(l.time);
  assert.ok(m, `request log time ${l.time}`);
  return BigInt(Date.parse(`${m[1]}Z`)) * 1_000_000n + BigInt((m[2] ?? '').padEnd(9, '0').slice(0, 9));
}

describe('delta_source', () => {
  it('auto, godeltaprof registered: heap, mutex, block read from delta_*, the first read kept as the baseline, the second shipped byte for byte over our read times', { timeout: 90_000 }, async (t) => {
    const r = await rig(true);
    const out = await once(r, [['enabled_types = ["heap", "mutex", "block"]']], t);
    assert.deepEqual(out.exit, { code: 0, signal: null }, out.stderr.slice(-2000));
    for (const type of TYPES) {
      const row = out.rows.find((x) => x.type === `${type} (godeltaprof)`);
      assert.ok(row, `a "${type} (godeltaprof)" row:\n${out.stdout}`);
      assert.equal(row.result, 'shipped', row.line);
      assert.equal(row.delivered, 'yes', row.line);
    }
    assert.match(out.stderr, /reading godeltaprof at .*delta_heap.*no other scraper may read this endpoint/);

    const log = readRequestLog(r.requestLog);
    assert.deepEqual(r.intake.rejections, []);
    assert.deepEqual(r.pyro.rejections, []);
    for (const type of TYPES) {
      const reads = byPath(log, `delta_${type}`);
      assert.deepEqual(reads.map((l) => l.status), [200, 200], `${type}: the baseline read and the shipped one`);
      assert.equal(byPath(log, type).length, 0, `${type}: /${type} is never read when godeltaprof answers`);
      const uploads = r.intake.uploads.filter((u) => u.fileName === FILE[type]);
      assert.equal(uploads.length, 1, `${type}: one upload (the first read is not shipped)`);
      const u = uploads[0]!;
      // Not re-encoded: exactly the bytes godeltaprof wrote, its own times kept.
      assert.equal(u.gzipped.length, reads[1]!.bytes, `${type}: the shipped bytes are the second read's`);
      const p = decodeGzipped(u.gzipped);
      assert.equal(Number(p.durationNanos), 0, `${type}: godeltaprof sets no duration, and nothing was re-encoded`);
      assert.deepEqual(sampleTypeNames(p), SAMPLE_TYPES[type]);
      // The window is our own: from the first read to the second (collector
      // ms; the fixture logs when each request came in).
      const slack = 1_000_000n;
      assert.ok(u.startNs + slack >= ns(reads[0]!) && u.startNs <= ns(reads[1]!), `${type}: window start ${u.startNs} between the two reads`);
      assert.ok(u.endNs + slack >= ns(reads[1]!) && u.endNs > u.startNs, `${type}: window end ${u.endNs} after the second read`);
      const pushed = r.pyro.accepted.filter((a) => a.name === NAME[type]);
      assert.equal(pushed.length, 1, `${type}: one push`);
      assert.equal(pushed[0]!.labels.__delta__, 'false', `${type}: labelled like our own deltas`);
      assert.ok(pushed[0]!.raw.equals(u.gzipped), `${type}: the same bytes to Pyroscope`);
    }
  });

  it('auto, godeltaprof not registered: one 404 per type, then our own deltas of /heap, /mutex, /block', { timeout: 90_000 }, async (t) => {
    const r = await rig(false);
    const out = await once(r, [['enabled_types = ["heap", "mutex", "block"]']], t);
    assert.deepEqual(out.exit, { code: 0, signal: null }, out.stderr.slice(-2000));
    const log = readRequestLog(r.requestLog);
    for (const type of TYPES) {
      const row = out.rows.find((x) => x.type === type);
      assert.ok(row && row.result === 'shipped', `${type} shipped:\n${out.stdout}`);
      assert.deepEqual(byPath(log, `delta_${type}`).map((l) => l.status), [404], `${type}: asked once, not again at the second scrape`);
      assert.deepEqual(byPath(log, type).map((l) => l.status), [200, 200], `${type}: baseline and delta from /${type}`);
      const u = r.intake.uploads.find((x) => x.fileName === FILE[type]);
      assert.ok(u, `${type} uploaded`);
      assert.ok(decodeGzipped(u.gzipped).durationNanos > 0, `${type}: our own delta carries its window as the duration`);
      assert.equal(r.pyro.accepted.find((a) => a.name === NAME[type])?.labels.__delta__, 'false');
    }
    assert.match(out.stderr, /delta_heap answered 404 \(godeltaprof is not registered\): our own deltas of .*\/heap instead/);
  });

  it('delta_source = "godeltaprof" on a target without it: the type fails, in words', { timeout: 90_000 }, async (t) => {
    const r = await rig(false);
    const out = await once(r, [['enabled_types = ["heap"]', 'delta_source = "godeltaprof"']], t);
    assert.deepEqual(out.exit, { code: 1, signal: null });
    const row = out.rows.find((x) => x.type === 'heap');
    assert.ok(row, out.stdout);
    assert.equal(row.result, 'failed');
    assert.match(row.problem, /delta_heap: 404 .*delta_source = "godeltaprof" but the target does not serve it; register godeltaprof/);
    assert.equal(byPath(readRequestLog(r.requestLog), 'heap').length, 0, 'no fallback to /heap');
  });

  it('two listings of one process share one godeltaprof reader: one listing reads delta_heap, the other /heap', { timeout: 90_000 }, async (t) => {
    const r = await rig(true);
    const out = await once(r, [['enabled_types = ["heap"]', '[inputs.profile.go.tags]', 'listing = "a"'], ['enabled_types = ["heap"]', '[inputs.profile.go.tags]', 'listing = "b"']], t);
    assert.deepEqual(out.exit, { code: 0, signal: null }, out.stderr.slice(-2000));
    assert.deepEqual(out.rows.map((x) => `${x.type} ${x.result}`).sort(), ['heap (godeltaprof) shipped', 'heap shipped']);
    const log = readRequestLog(r.requestLog);
    assert.deepEqual(byPath(log, 'delta_heap').map((l) => l.status), [200, 200], 'one reader: its baseline and its delta, nobody else');
    assert.deepEqual(byPath(log, 'heap').map((l) => l.status), [200, 200], 'the other listing: its own delta of /heap');
    const uploads = r.intake.uploads.filter((u) => u.type === 'heap');
    assert.deepEqual(uploads.map((u) => u.tags.listing).sort(), ['a', 'b'], 'each listing shipped its heap');
    assert.match(out.stderr, /another listing of the same process\) reads its godeltaprof delta_heap, and each read moves its baseline/);
  });

  it('auto, a catch-all route answering godeltaprof\'s path with 200 and a page: fails once, in words, then reads /heap', { timeout: 60_000 }, async () => {
    suite.requireGo();
    const go = await suite.goTarget();
    // In front of the plain fixture: delta_heap gets a login page, the rest goes through.
    const proxy = createServer((req, res) => {
      if (req.url === '/debug/pprof/delta_heap') {
        res.writeHead(200, { 'content-type': 'text/html' }).end('<html><body>Sign in</body></html>');
        return;
      }
      void fetch(`${go.url}${req.url}`).then(async (r) => res.writeHead(r.status, { 'content-type': r.headers.get('content-type') ?? '' }).end(Buffer.from(await r.arrayBuffer())));
    });
    const port = await listenLocal(proxy);
    suite.cleanup.add(() => closeServer(proxy));
    const config = rigConfig(suite.tempDir(), ['[[inputs.profile.go]]', `url = "http://127.0.0.1:${port}"`, 'service = "catch-all"', 'enabled_types = ["heap"]']);
    const collector = new Collector(config, { clock: systemClock, logger: silentLogger() });
    suite.cleanup.add(() => collector.stop(0));
    const target = collector.resolveNow()[0]!;
    const first = await collector.collect(target, 'heap');
    assert.equal(first.result, 'failed');
    assert.match(first.error!.message, /delta_heap: the response is an HTML page.*\(the next scrape reads http:\/\/127\.0\.0\.1:\d+\/debug\/pprof\/heap instead\)/);
    assert.equal((await collector.collect(target, 'heap')).result, 'baseline');
    const third = await collector.collect(target, 'heap');
    assert.equal(third.result, 'shipped');
    assert.equal(third.godeltaprof, false);
  });
});
