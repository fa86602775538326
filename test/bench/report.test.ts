import assert from 'node:assert/strict';
import { test } from 'node:test';
import { parseProm } from '../../bench/prom.js';
import { benchLine, BudgetWatch, memoryLine, parseBenchLine, type RunFigures } from '../../bench/report.js';

const MIB = 1024 * 1024;
const run: RunFigures = {
  heapLabel: '~60 KB',
  targets: 1000,
  heapKb: 59.6,
  cpuPercent: 97.25,
  peakRssMb: 391.4,
  profilesPerSecond: 498.66,
  expectedPerSecond: 500,
  lateP50Ms: 0.6,
  lateP99Ms: 212.34,
  heapScrapeMsAvg: 40,
  skipped: 3,
  failed: 0,
  memory: { peakRssMb: 391.4 },
};

test('the BENCH line carries the fields a script reads, in order, and parses back', () => {
  const line = benchLine(run);
  assert.equal(line, 'BENCH targets=1000 heap_kb=60 cpu_pct=97.3 rss_mb=391 profiles_per_s=498.7 expected_per_s=500.0 late_p99_ms=212.3 skipped=3 failed=0');
  assert.deepEqual(parseBenchLine(line), {
    targets: '1000',
    heap_kb: '60',
    cpu_pct: '97.3',
    rss_mb: '391',
    profiles_per_s: '498.7',
    expected_per_s: '500.0',
    late_p99_ms: '212.3',
    skipped: '3',
    failed: '0',
  });
  assert.equal(parseBenchLine('BENCH_STAGE profile=x kb=1'), undefined);
  assert.deepEqual(parseBenchLine('BENCH_STAGE profile=x kb=1', 'BENCH_STAGE'), { profile: 'x', kb: '1' });
  // No lateness observed (nothing scraped in the window) still makes a line a script can read.
  assert.match(benchLine({ ...run, lateP99Ms: NaN }), / late_p99_ms=nan /);
});

test('the memory line puts the budget, the peak in use and RSS side by side, or n/a without a budget metric', () => {
  assert.equal(memoryLine({ peakRssMb: 391.4 }), 'memory: budget n/a | peak in use n/a | peak RSS 391.4 MB | RSS - budget n/a');
  assert.equal(
    memoryLine({ peakRssMb: 391.4, budgetBytes: 256 * MIB, peakInUseBytes: 200.5 * MIB }),
    'memory: budget 256.0 MB | peak in use 200.5 MB | peak RSS 391.4 MB | RSS - budget 135.4 MB',
  );
});

test('the budget watch keeps the budget and the highest in-use value seen, and nothing when the collector exports neither', () => {
  const none = new BudgetWatch();
  none.see(parseProm('process_resident_memory_bytes 1000\n'));
  assert.equal(none.present, false);
  assert.deepEqual(none.figures(300), { peakRssMb: 300 });
  assert.match(memoryLine(none.figures(300)), /budget n\/a \| peak in use n\/a \| peak RSS 300\.0 MB \| RSS - budget n\/a/);

  const w = new BudgetWatch();
  const at = (inUseMb: number) =>
    parseProm(
      [
        '# HELP collector_memory_budget_bytes The memory budget.',
        '# TYPE collector_memory_budget_bytes gauge',
        `collector_memory_budget_bytes ${256 * MIB}`,
        `collector_memory_budget_in_use_bytes ${inUseMb * MIB}`,
      ].join('\n'),
    );
  for (const mb of [10, 180, 95]) w.see(at(mb));
  assert.equal(w.present, true);
  assert.deepEqual(w.figures(400), { peakRssMb: 400, budgetBytes: 256 * MIB, peakInUseBytes: 180 * MIB });
  assert.equal(memoryLine(w.figures(400)), 'memory: budget 256.0 MB | peak in use 180.0 MB | peak RSS 400.0 MB | RSS - budget 144.0 MB');
});
