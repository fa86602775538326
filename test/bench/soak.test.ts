import assert from 'node:assert/strict';
import { test } from 'node:test';
import { analyseSoak, benchSoakLine, fitLine, leastSquaresSlope, soakSample, soakVerdict, type SoakSample } from '../../bench/soak.js';
import { parseProm } from '../../bench/prom.js';
import { parseBenchLine } from '../../bench/report.js';

const MIB = 1024 * 1024;

test('least squares slope', () => {
  assert.equal(leastSquaresSlope([0, 1, 2, 3], [1, 3, 5, 7]), 2);
  assert.equal(leastSquaresSlope([0, 1, 2, 3], [5, 5, 5, 5]), 0);
  assert.ok(Math.abs(leastSquaresSlope([0, 1, 2, 3], [0, 1.1, 1.9, 3])! - 0.98) < 1e-9);
  assert.equal(leastSquaresSlope([1], [1]), undefined);
  assert.equal(leastSquaresSlope([2, 2], [1, 3]), undefined);
  // The standard error of the slope: 0 on a straight line, sqrt(SSE / (n - 2) / Sxx) otherwise.
  assert.deepEqual(fitLine([0, 1, 2, 3], [1, 3, 5, 7]), { slope: 2, stderr: 0 });
  const noisy = fitLine([0, 1, 2, 3], [0, 1.1, 1.9, 3])!;
  assert.ok(Math.abs(noisy.stderr - Math.sqrt(0.018 / 2 / 5)) < 1e-9, String(noisy.stderr));
  assert.equal(fitLine([0, 1], [0, 1])!.stderr, Infinity);
});

test('a sample reads RSS and prom-client\'s heap and external gauges (and the budget in use, when exported)', () => {
  const m = parseProm(
    [
      `nodejs_heap_size_used_bytes ${50 * MIB}`,
      `nodejs_heap_size_total_bytes ${80 * MIB}`,
      `nodejs_external_memory_bytes ${10 * MIB}`,
      'collector_output_sent_total{output="file"} 120',
      'collector_output_sent_total{output="other"} 3',
    ].join('\n'),
  );
  assert.deepEqual(soakSample(60, 300, m), { t: 60, rssMb: 300, heapUsedMb: 50, heapTotalMb: 80, externalMb: 10, sent: 123 });
  assert.equal(soakSample(60, 300, parseProm(`collector_memory_budget_in_use_bytes ${64 * MIB}`)).inUseMb, 64);
  // The worker threads' heaps and external memory, summed over threads.
  const threads = parseProm(
    [
      `collector_thread_heap_size_bytes{thread="profile-worker-0"} ${30 * MIB}`,
      `collector_thread_heap_size_bytes{thread="file-writer-file"} ${6 * MIB}`,
      `collector_thread_external_memory_bytes{thread="profile-worker-0"} ${3 * MIB}`,
      `collector_thread_external_memory_bytes{thread="file-writer-file"} ${1 * MIB}`,
    ].join('\n'),
  );
  assert.equal(soakSample(60, 300, threads).threadsMb, 40);
});

test('growth in a worker thread is named as such, not as the rest of RSS', () => {
  // The rest of RSS of series() is what grows; with the threads exported, it is theirs.
  const samples = series(30, { heapUsed: 0, external: 0, rest: 60 }).map((s) => ({ ...s, threadsMb: 50 + (60 * s.t) / 3600 }));
  const a = analyseSoak(samples, 120);
  assert.deepEqual(a.grows, ['worker threads']);
  assert.ok(Math.abs(a.slopes['rest of RSS']!) < 1e-6, String(a.slopes['rest of RSS']));
  assert.match(soakVerdict(a, 120).join('\n'), /external \+0\.0 MB\/h, worker threads \+60\.0 MB\/h, rest of RSS [+-]0\.0 MB\/h/);
  assert.equal(parseBenchLine(benchSoakLine(200, 53, samples, a), 'BENCH_SOAK')!.threads_slope_mb_per_h, '60.0');
});

/** Samples every 15 s for `minutes`, each part of memory a line in MB per hour, plus `noise(i)` MB on the rest of RSS. */
function series(minutes: number, perHour: { heapUsed: number; external: number; rest: number }, noise: (i: number) => number = () => 0): SoakSample[] {
  const out: SoakSample[] = [];
  for (let t = 15; t <= minutes * 60; t += 15) {
    const h = t / 3600;
    // The warm-up climbs fast, then each part follows its line.
    const warm = t < 120 ? (120 - t) * -0.5 : 0;
    const heapUsed = 60 + perHour.heapUsed * h + warm;
    const heapTotal = heapUsed + 20;
    const external = 15 + perHour.external * h;
    const rest = 150 + perHour.rest * h + noise(out.length);
    out.push({ t, rssMb: heapTotal + external + rest, heapUsedMb: heapUsed, heapTotalMb: heapTotal, externalMb: external, sent: t * 10 });
  }
  return out;
}

test('a flat soak: nothing grows (the warm-up is left out of the fit)', () => {
  const a = analyseSoak(series(30, { heapUsed: 0, external: 0, rest: 0 }), 120);
  assert.equal(a.samples, 113);
  assert.ok(Math.abs(a.rssSlope!) < 1e-6, String(a.rssSlope));
  assert.deepEqual(a.grows, []);
  assert.equal(a.rssGrows, false);
  assert.match(soakVerdict(a, 120).join('\n'), /grows: nothing \(no line rises 5 MB over the span by more than the noise\)/);
});

test('RSS swinging by tens of MB as threads collect garbage is noise, not growth; a steady rise under the same noise is growth', () => {
  // +-20 MB every other sample, as a worker's heap fills and empties.
  const swing = (i: number) => (i % 2 === 0 ? 20 : -20);
  const flat = analyseSoak(series(3, { heapUsed: 0, external: 0, rest: 0 }, swing), 120);
  assert.deepEqual(flat.grows, []);
  assert.equal(flat.rssGrows, false);
  assert.match(soakVerdict(flat, 120).join('\n'), /over 1\.0 min these slopes are mostly noise: soak 15 minutes or more/);
  const leak = analyseSoak(series(30, { heapUsed: 0, external: 0, rest: 60 }, swing), 120);
  assert.deepEqual(leak.grows, ['rest of RSS']);
  assert.equal(leak.rssGrows, true);
  assert.ok(Math.abs(leak.rssSlope! - 60) < 5, String(leak.rssSlope));
  assert.doesNotMatch(soakVerdict(leak, 120).join('\n'), /mostly noise/);
});

test('a leak in the JS heap is named, and told from growth of external memory and the rest of RSS', () => {
  const a = analyseSoak(series(30, { heapUsed: 40, external: 12, rest: 2 }), 120);
  assert.ok(Math.abs(a.slopes['heap used']! - 40) < 1e-6);
  assert.ok(Math.abs(a.slopes.external! - 12) < 1e-6);
  assert.ok(Math.abs(a.rssSlope! - 54) < 1e-6);
  // Over 28 minutes: heap used +18.7 MB and external +5.6 MB grow; the rest (+0.9 MB) does not.
  assert.deepEqual(a.grows, ['heap used', 'external']);
  const verdict = soakVerdict(a, 120).join('\n');
  assert.match(verdict, /slope after the first 2 min \(least squares over 113 samples, 28\.0 min\): RSS \+54\.0 MB\/h; heap used \+40\.0 MB\/h, external \+12\.0 MB\/h, rest of RSS \+2\.0 MB\/h/);
  assert.match(verdict, /grows: heap used \(\+40\.0 MB\/h\), external \(\+12\.0 MB\/h\)/);
  const line = parseBenchLine(benchSoakLine(200, 53, series(30, { heapUsed: 40, external: 12, rest: 2 }), a), 'BENCH_SOAK')!;
  assert.equal(line.grows, 'heap_used,external');
  assert.equal(line.rss_slope_mb_per_h, '54.0');
  assert.equal(line.minutes, '30.0');
});

test('without prom-client\'s gauges only RSS is fitted; too short a soak cannot tell', () => {
  const rssOnly = series(10, { heapUsed: 0, external: 0, rest: 60 }).map((s) => ({ t: s.t, rssMb: s.rssMb, sent: s.sent }));
  const a = analyseSoak(rssOnly, 120);
  assert.deepEqual(a.slopes, {});
  assert.equal(a.rssGrows, true);
  assert.match(soakVerdict(a, 120).join('\n'), /grows: RSS, and no single part of it by 5 MB/);
  const short = analyseSoak(series(2, { heapUsed: 0, external: 0, rest: 0 }), 120);
  assert.match(soakVerdict(short, 120).join('\n'), /grows: too few samples after the warm-up to tell/);
});
