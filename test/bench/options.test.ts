import assert from 'node:assert/strict';
import { test } from 'node:test';
import { DEFAULT_RUNS, estimateSeconds, formatDuration, parseDuration, planBench, WARMUP_S, STAGE_SECONDS } from '../../bench/options.js';

const runs = (args: string[]) => planBench(args).runs.map((r) => `${r.heap}@${r.targets}`);

test('by default: the issue\'s three runs (typical heap at 1,000 targets, large at 500 and 1,000), 40 s each, the profile stage first', () => {
  const plan = planBench([]);
  assert.deepEqual(runs([]), ['typical@1000', 'large@500', 'large@1000']);
  assert.deepEqual(plan.runs, DEFAULT_RUNS);
  assert.equal(plan.seconds, 40);
  assert.equal(plan.stage, true);
  assert.equal(plan.soakSeconds, undefined);
});

test('--targets runs both heaps at those sizes; --heap narrows to one', () => {
  assert.deepEqual(runs(['--targets', '1000']), ['typical@1000', 'large@1000']);
  assert.deepEqual(runs(['--targets', '1000', '--heap', 'typical']), ['typical@1000']);
  assert.deepEqual(runs(['--targets', '100,500', '--heap', 'large']), ['large@100', 'large@500']);
  assert.deepEqual(runs(['--heap', 'large']), ['large@500', 'large@1000']);
  assert.deepEqual(runs(['--heap', 'typical', '--targets', '20', '--seconds', '20']), ['typical@20']);
  assert.equal(planBench(['--seconds', '20']).seconds, 20);
  assert.equal(planBench(['--no-stage']).stage, false);
});

test('--soak: one run of that long, 200 targets and the typical heap unless told, no profile stage', () => {
  const plan = planBench(['--soak', '30m', '--targets', '200']);
  assert.deepEqual(plan.runs, [{ heap: 'typical', targets: 200 }]);
  assert.equal(plan.soakSeconds, 1800);
  assert.equal(plan.stage, false);
  assert.deepEqual(planBench(['--soak', '3m']).runs, [{ heap: 'typical', targets: 200 }]);
  assert.deepEqual(planBench(['--soak', '1h', '--heap', 'large', '--targets', '20']).runs, [{ heap: 'large', targets: 20 }]);
});

test('durations', () => {
  assert.equal(parseDuration('30m'), 1800);
  assert.equal(parseDuration('90s'), 90);
  assert.equal(parseDuration('1h30m'), 5400);
  assert.throws(() => parseDuration('30'), /--soak: "30" is not a duration; use a number with h, m or s/);
  assert.throws(() => parseDuration('30s'), /too short; a soak reports once a minute, so give at least 1m/);
  assert.throws(() => parseDuration(''), /is not a duration/);
});

test('bad options are refused with what is allowed', () => {
  assert.throws(() => planBench(['--heap', 'huge']), /--heap: "huge" is not a heap of the bench; use typical, large, service/);
  assert.throws(() => planBench(['--targets', '0']), /--targets: "0" is not a whole number above 0/);
  assert.throws(() => planBench(['--targets', '10,x']), /--targets: "x" is not a whole number above 0/);
  assert.throws(() => planBench(['--heap', 'service']), /--heap service: not in the default runs; say how many targets with --targets/);
  assert.throws(() => planBench(['--soak', '10m', '--seconds', '20']), /a soak runs for its own duration/);
  assert.throws(() => planBench(['--soak', '10m', '--targets', '10,20']), /--soak runs once/);
  assert.throws(() => planBench(['--typical', '1000']), /Unknown option '--typical'[\s\S]*usage: npm run bench/);
});

test('the time it takes: start and stop, warm-up and measured time per run, and the profile stage', () => {
  const small = planBench(['--targets', '20', '--seconds', '20', '--heap', 'typical', '--no-stage']);
  assert.equal(estimateSeconds(small), 5 + WARMUP_S + 20);
  const soak = planBench(['--soak', '3m', '--targets', '20']);
  assert.equal(estimateSeconds(soak), 5 + 180);
  assert.equal(estimateSeconds(planBench([])), STAGE_SECONDS + (6 + 55) + (5 + 55) + (6 + 55));
  assert.equal(formatDuration(45), '45 s');
  assert.equal(formatDuration(120), '2 min');
  assert.equal(formatDuration(245), '4 min 5 s');
});
