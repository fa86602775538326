// allocs, threadcreate and custom types against the real Go fixture, end to
// end through `collector --once` to a DataKit intake and a Pyroscope double:
// what is requested, what ships, under which names. fgprof (-fgprof) is a
// custom window profile that is not the CPU profiler; a custom type that is
// the CPU profiler takes its turn with cpu.

import assert from 'node:assert/strict';
import { join } from 'node:path';
import { describe, it, type TestContext } from 'node:test';
import { readRequestLog, type RequestLogLine } from '../../fixtures/go-target/harness.js';
import { goSuite } from '../helpers/go-suite.js';
import { onceRig, runOnce, type OnceRig } from '../helpers/once-rig.js';
import { decodeGzipped, goToolPprof, i64, sampleTypeNames } from '../helpers/pprof.js';

const suite = goSuite('pprof-types-');

const rig = (fgprof: boolean) => onceRig(suite, { fgprof });

/** `collector --once` over one block (2 s windows), which must succeed with nothing refused. */
async function once(r: OnceRig, block: string[], t: TestContext, toFiles = false) {
  const out = await runOnce(r, [block], t, { profileDuration: '2s', toFiles });
  assert.deepEqual(out.exit, { code: 0, signal: null }, `${out.stdout}\n${out.stderr.slice(-2000)}`);
  assert.deepEqual(r.intake.rejections, []);
  assert.deepEqual(r.pyro.rejections, []);
  return out;
}

/** The fixture's request times, ms: [start, end). */
const span = (l: RequestLogLine): [number, number] => [Date.parse(l.time), Date.parse(l.time) + l.duration_ms];

function total(gz: Buffer, sampleType: string): bigint {
  const p = decodeGzipped(gz);
  const i = sampleTypeNames(p).indexOf(sampleType);
  assert.ok(i >= 0, `no ${sampleType}`);
  return p.sample.reduce((a, s) => a + i64(s.value[i]!), 0n);
}

describe('more profile types', () => {
  it('allocs is a delta like heap and threadcreate ships as scraped, each under its own names', { timeout: 90_000 }, async (t) => {
    const r = await rig(false);
    const { rows } = await once(r, ['enabled_types = ["allocs", "threadcreate"]'], t);
    assert.deepEqual(rows.map((x) => `${x.type} ${x.result} ${x.delivered}`), ['threadcreate shipped yes', 'allocs shipped yes']);
    const log = readRequestLog(r.requestLog);
    assert.deepEqual(log.filter((l) => l.path === '/debug/pprof/allocs').map((l) => l.status), [200, 200], 'allocs: a baseline and a second scrape');
    assert.deepEqual(log.filter((l) => l.path === '/debug/pprof/threadcreate').map((l) => l.status), [200]);
    assert.equal(log.filter((l) => /delta_/.test(l.path)).length, 0, 'godeltaprof has no allocs: never asked');

    const allocs = r.intake.uploads.find((u) => u.fileName === 'delta-allocs.pprof');
    assert.ok(allocs, 'allocs uploaded as delta-allocs.pprof');
    const p = decodeGzipped(allocs.gzipped);
    assert.deepEqual(sampleTypeNames(p), ['alloc_objects', 'alloc_space', 'inuse_objects', 'inuse_space']);
    assert.ok(p.durationNanos > 0, 'a delta over the window between the two scrapes');
    const shipped = total(allocs.gzipped, 'alloc_space');
    // A delta over ~2 s of a workload that allocates all the time: positive,
    // and far below what the process allocated since it started.
    const since = await (await fetch(`${r.target.url}/debug/pprof/allocs`)).arrayBuffer();
    assert.ok(shipped > 0n && shipped < total(Buffer.from(since), 'alloc_space'), `alloc_space delta ${shipped}`);

    const tc = r.intake.uploads.find((u) => u.fileName === 'threadcreate.pprof');
    assert.ok(tc, 'threadcreate uploaded as threadcreate.pprof');
    assert.deepEqual(sampleTypeNames(decodeGzipped(tc.gzipped)), ['threadcreate']);
    assert.ok(total(tc.gzipped, 'threadcreate') > 0n, 'threads created since the start, as Go counts them');
    const raw = goToolPprof(tc.gzipped, join(r.dir, 'threadcreate.pb.gz'), ['-raw']);
    assert.equal(raw.status, 0, `go tool pprof reads what was shipped: ${raw.stderr}`);

    const byName = new Map(r.pyro.accepted.map((a) => [a.name, a]));
    assert.equal(byName.get('allocs')?.labels.__delta__, 'false');
    assert.ok(byName.has('threadcreate'));
    assert.equal(byName.get('threadcreate')!.labels.__delta__, undefined, 'shipped as scraped: no __delta__');
  });

  it('fgprof as a custom type: ?seconds=<profile_duration>, a window profile running beside cpu (it is not the CPU profiler)', { timeout: 90_000 }, async (t) => {
    const r = await rig(true);
    const { rows } = await once(r, ['enabled_types = ["cpu"]', '[[inputs.profile.go.custom]]', 'name = "fgprof"', 'path = "/debug/fgprof"', 'seconds = true'], t);
    assert.deepEqual(rows.map((x) => `${x.type} ${x.result} ${x.delivered}`), ['cpu shipped yes', 'fgprof shipped yes']);
    const log = readRequestLog(r.requestLog);
    const fg = log.filter((l) => l.path === '/debug/fgprof');
    const cpu = log.filter((l) => l.path === '/debug/pprof/profile');
    assert.deepEqual(fg.map((l) => `${l.status} ${l.query}`), ['200 seconds=2']);
    assert.deepEqual(cpu.map((l) => `${l.status} ${l.query}`), ['200 seconds=2']);
    const [fs, fe] = span(fg[0]!);
    const [cs, ce] = span(cpu[0]!);
    assert.ok(fs < ce && cs < fe, `fgprof and cpu ran at the same time (fgprof ${fs}..${fe}, cpu ${cs}..${ce}): fgprof does not take the CPU turn`);

    const u = r.intake.uploads.find((x) => x.fileName === 'fgprof.pprof');
    assert.ok(u, 'fgprof uploaded as fgprof.pprof');
    const p = decodeGzipped(u.gzipped);
    assert.deepEqual(sampleTypeNames(p), ['samples', 'time']);
    assert.equal(u.gzipped.length, fg[0]!.bytes, 'shipped as scraped');
    // The window: from our request, as long as fgprof says it profiled.
    assert.equal(u.endNs - u.startNs, BigInt(p.durationNanos), 'window = the duration fgprof measured');
    assert.ok(Number(p.durationNanos) >= 1.9e9 && Number(p.durationNanos) < 3e9, `duration ${p.durationNanos}`);
    const pushed = r.pyro.accepted.find((a) => a.name === 'fgprof');
    assert.ok(pushed, 'pushed as __name__=fgprof');
    assert.equal(pushed.labels.__delta__, undefined);
  });

  it('a custom type that is the CPU profiler (cpu_profiler = true) takes its turn with cpu: never two CPU profiles at once', { timeout: 90_000 }, async (t) => {
    const r = await rig(false);
    const { rows } = await once(
      r,
      [
        'enabled_types = ["cpu"]',
        '[[inputs.profile.go.custom]]',
        'name = "cpu_labels"',
        'path = "profile"',
        'seconds = true',
        'cpu_profiler = true',
        'pyroscope_name = "process_cpu_labels"',
      ],
      t,
      true,
    );
    assert.deepEqual(rows.map((x) => `${x.type} ${x.result} ${x.delivered}`), ['cpu shipped yes', 'cpu_labels shipped yes']);
    const cpu = readRequestLog(r.requestLog).filter((l) => l.path === '/debug/pprof/profile');
    assert.deepEqual(cpu.map((l) => `${l.status} ${l.query}`), ['200 seconds=2', '200 seconds=2']);
    const [a, b] = cpu.map(span).sort((x, y) => x[0] - y[0]);
    assert.ok(b![0] >= a![1] - 5, `the second CPU profile started (${b![0]}) after the first ended (${a![1]})`);
    assert.equal((await r.target.stats()).cpu_max_in_flight, 1);
  });
});
