// Restart safety of deltas: the collector is SIGKILLed between scrapes at
// several offsets into the heap interval and started again each time. The
// delivered windows of each cumulative type must tile time (each starts
// where the previous one ended: nothing counted twice, nothing skipped), and
// the heap allocations shipped over the run must equal what the target's
// own totals grew by over the same span, never more.

import assert from 'node:assert/strict';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { test, type TestContext } from 'node:test';
import { startIntake } from '../helpers/datakit-intake.js';
import { goSuite } from '../helpers/go-suite.js';
import { quietMoment } from '../helpers/kill-timing.js';
import { decodeGzipped, i64 } from '../helpers/pprof.js';
import { sleep, spawnCollector, waitFor, type CollectorProcess } from '../helpers/processes.js';
import type { Profile } from 'pprof-format';

const suite = goSuite('pprof-restart-');
const CUMULATIVE = ['heap', 'mutex', 'block'] as const;
/** Marks the test's own heap requests in the target's request log (Go ignores the parameter). */
const SAMPLER_QUERY = 'sampler=1';

function total(p: Profile, sampleType: string): bigint {
  const strings = p.stringTable.strings;
  const i = p.sampleType.findIndex((st) => strings[Number(st.type)] === sampleType);
  assert.ok(i >= 0, `no ${sampleType} in the profile`);
  return p.sample.reduce((a, s) => a + i64(s.value[i]!), 0n);
}

/** The target's own alloc_space total over time, sampled by the test itself. */
class AllocSampler {
  readonly points: Array<{ ns: bigint; bytes: bigint }> = [];
  private stopped = false;
  private readonly done: Promise<void>;

  constructor(heapUrl: string, everyMs: number) {
    this.done = (async () => {
      while (!this.stopped) {
        const res = await fetch(heapUrl).catch(() => null);
        if (res?.ok) {
          const p = decodeGzipped(Buffer.from(await res.arrayBuffer()));
          this.points.push({ ns: BigInt(p.timeNanos), bytes: total(p, 'alloc_space') });
        }
        await sleep(everyMs);
      }
    })();
  }

  async stop(): Promise<void> {
    this.stopped = true;
    await this.done;
  }

  /** alloc_space at `ns`, linear between the two samples around it. */
  at(ns: bigint): number {
    const pts = this.points;
    assert.ok(pts.length >= 2 && pts[0]!.ns <= ns && pts[pts.length - 1]!.ns >= ns, `no samples around ${ns}`);
    let i = pts.findIndex((p) => p.ns >= ns);
    if (pts[i]!.ns === ns) return Number(pts[i]!.bytes);
    const a = pts[i - 1]!;
    const b = pts[i]!;
    const f = Number(ns - a.ns) / Number(b.ns - a.ns);
    return Number(a.bytes) + f * Number(b.bytes - a.bytes);
  }
}

test('SIGKILL between scrapes at several offsets: windows of every cumulative type tile time, and heap allocations are shipped exactly once', { timeout: 240_000 }, async (t: TestContext) => {
  suite.requireGo();
  const dir = suite.tempDir();
  const requestLog = join(dir, 'requests.jsonl');
  const target = await suite.goTarget({ requestLog });
  const intake = await startIntake();
  suite.cleanup.add(() => intake.close());
  const sampler = new AllocSampler(`${target.url}/debug/pprof/heap?${SAMPLER_QUERY}`, 250);
  suite.cleanup.add(() => sampler.stop());

  const cfg = join(dir, 'profile.conf');
  writeFileSync(
    cfg,
    [
      '[agent]',
      'listen = ""',
      `data_dir = ${JSON.stringify(join(dir, 'data'))}`,
      'log_level = "debug"',
      '[[inputs.profile.go]]',
      `url = ${JSON.stringify(target.url)}`,
      'interval = "10s"',
      'service = "restart"',
      'env = "ci"',
      'version = "1.0.0"',
      'enabled_types = ["heap", "mutex", "block"]',
      '[[outputs.datakit]]',
      `url = ${JSON.stringify(intake.url)}`,
      '',
    ].join('\n'),
  );
  const runs: CollectorProcess[] = [];
  const start = () => {
    const c = spawnCollector(['-c', cfg]);
    runs.push(c);
    suite.cleanup.add(() => c.kill());
    return c;
  };
  const heapUploads = () => intake.uploads.filter((u) => u.type === 'heap').length;
  const t0 = Date.now();
  const at = () => `+${((Date.now() - t0) / 1000).toFixed(1)} s`;
  const events: string[] = [];

  let collector = start();
  let startedAt = Date.now();
  await waitFor(() => heapUploads() >= 1, 40_000, 'the first heap delta').catch((err: Error) => {
    throw new Error(`${err.message}\n${collector.stdout.slice(-3000)}\n${collector.stderr.slice(-2000)}`);
  });
  // Kill at several offsets into the heap interval after a heap delta went out.
  for (const offsetMs of [2_500, 5_500, 8_000]) {
    const before = heapUploads();
    await sleep(offsetMs);
    await quietMoment(requestLog, 300, 15_000, { minPaths: 3, ignore: (l) => l.query === SAMPLER_QUERY, collector: { process: collector, sinceMs: startedAt } });
    events.push(`kill ${at()} (${offsetMs} ms after a heap delta)`);
    await collector.kill();
    await sleep(1_000);
    startedAt = Date.now();
    collector = start();
    events.push(`restart ${at()}`);
    await waitFor(() => heapUploads() > before && intake.uploads.length > 0, 40_000, 'a heap delta after the restart').catch((err: Error) => {
      throw new Error(`${err.message}\n${collector.stdout.slice(-3000)}\n${collector.stderr.slice(-2000)}`);
    });
    // And one more, so a window after the first post-restart one is seen too.
    const now = heapUploads();
    await waitFor(() => heapUploads() > now, 25_000, 'a second heap delta after the restart');
  }
  collector.signal('SIGTERM');
  assert.equal((await collector.waitExit(30_000)).code, 0);
  await sleep(300);
  await sampler.stop();

  assert.deepEqual(intake.rejections.map((r) => r.reason), []);
  const unique = new Map(intake.uploads.map((u) => [u.profileId, u]));
  const lines: string[] = [];
  for (const type of CUMULATIVE) {
    const windows = [...unique.values()].filter((u) => u.type === type).sort((a, b) => (a.startNs < b.startNs ? -1 : a.startNs > b.startNs ? 1 : 0));
    const rel = (ns: bigint) => ((Number(ns / 1_000_000n) - t0) / 1000).toFixed(3);
    lines.push(`${type}: ${windows.map((w) => `${rel(w.startNs)}→${rel(w.endNs)}`).join(' ')}`);
    assert.ok(windows.length >= 5, `${type}: only ${windows.length} windows delivered`);
    for (let i = 1; i < windows.length; i++) {
      const prev = windows[i - 1]!;
      const cur = windows[i]!;
      assert.ok(cur.startNs >= prev.endNs, `${type}: window ${rel(cur.startNs)}→${rel(cur.endNs)} overlaps the one before it (${rel(prev.startNs)}→${rel(prev.endNs)}): counted twice\n${lines.join('\n')}`);
      assert.equal(cur.startNs, prev.endNs, `${type}: a gap between ${rel(prev.endNs)} and ${rel(cur.startNs)}: the restart re-baselined instead of continuing\n${lines.join('\n')}`);
    }
  }
  // Heap: what was shipped against what the target itself says it allocated.
  const heaps = [...unique.values()].filter((u) => u.type === 'heap');
  const shipped = heaps.reduce((a, u) => a + Number(total(decodeGzipped(u.gzipped), 'alloc_space')), 0);
  const first = heaps.reduce((m, u) => (u.startNs < m ? u.startNs : m), heaps[0]!.startNs);
  const last = heaps.reduce((m, u) => (u.endNs > m ? u.endNs : m), heaps[0]!.endNs);
  const grew = sampler.at(last) - sampler.at(first);
  const ratio = shipped / grew;
  for (const d of [events.join('; '), ...lines, `alloc_space shipped ${shipped} B, target grew ${Math.round(grew)} B over the same span: ratio ${ratio.toFixed(4)}; collector runs: ${runs.length}`]) t.diagnostic(d);
  assert.ok(ratio <= 1.03, `shipped ${ratio.toFixed(3)}x what the target allocated: allocations counted twice`);
  assert.ok(ratio >= 0.97, `shipped only ${ratio.toFixed(3)}x what the target allocated`);
});
