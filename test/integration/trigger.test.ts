// Triggered profiles end to end: the real Go fixture turns up its CPU burn
// (POST /knob), the collector derives cpu_cores from its CPU profiles, the
// crossing takes cpu, goroutine and heap at once, tagged trigger=cpu_cores
// in every output (file JSON, DataKit tags, Pyroscope label), counted in
// /metrics and said in one log line per firing; once per excursion and
// cooldown; the CPU one-in-flight rule holds; the heap deltas, triggered or
// not, tile without a gap or an overlap.
//
// The collector runs in this process on the real clock, with interval 3s,
// profile_duration 2s and cooldown 5s set on the validated config: the
// product's minimums (10s) would make this test take minutes. The burn
// follows wall time and the machine is shared, so the knob (1.5 cores) is
// far above the threshold (0.6) and the fixture idles at ~0.2-0.3.
//
//   node --import tsx --test test/integration/trigger.test.ts

import assert from 'node:assert/strict';
import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { it } from 'node:test';
import { Collector } from '../../src/collector.js';
import { parseConfig } from '../../src/config/index.js';
import { systemClock } from '../../src/core/clock.js';
import { createLogger } from '../../src/core/log.js';
import { runtimeValues } from '../../src/profile/runtime-values.js';
import { CollectorMetrics } from '../../src/server/metrics.js';
import { DatakitIntake } from '../helpers/datakit-intake.js';
import { goSuite } from '../helpers/go-suite.js';
import { decodeGzipped, sumFor } from '../helpers/pprof.js';
import { waitFor } from '../helpers/processes.js';
import { PyroscopeServer } from '../helpers/pyroscope-server.js';

const { cleanup, requireGo, tempDir, goTarget } = goSuite('pprof-trigger-');

const THRESHOLD = 0.6;
const KNOB = 1.5;
const COOLDOWN_MS = 5_000;
const TRIGGER_TYPES = ['cpu', 'goroutine', 'heap'];

interface Sidecar {
  readonly type: string;
  readonly file: string;
  readonly start_unix_nano: string;
  readonly end_unix_nano: string;
  readonly tags: Record<string, string>;
}

function sidecars(dir: string): Sidecar[] {
  const service = join(dir, 'trigger-it');
  return readdirSync(service)
    .filter((f) => f.endsWith('.json'))
    .map((f) => JSON.parse(readFileSync(join(service, f), 'utf8')) as Sidecar);
}

it('cpu_cores_above: one firing per excursion and cooldown, tagged and counted profiles, one log line each', async (t) => {
  requireGo();
  const target = await goTarget({ parked: 12 });
  await target.setKnobs({ cpu_cores: KNOB });
  const intake = await new DatakitIntake().start();
  cleanup.add(() => intake.close());
  const pyroscope = await new PyroscopeServer().start();
  cleanup.add(() => pyroscope.close());
  const dir = tempDir();
  const q = JSON.stringify;
  const parsed = parseConfig(
    [
      '[agent]',
      `data_dir = ${q(join(dir, 'data'))}`,
      'listen = ""',
      '[[inputs.profile.go]]',
      `url = ${q(target.url)}`,
      'service = "trigger-it"',
      'env = "it"',
      'version = "1.0.0"',
      'enabled_types = ["cpu", "goroutine", "heap"]',
      '[inputs.profile.go.trigger]',
      `cpu_cores_above = ${THRESHOLD}`,
      `types = ${q(TRIGGER_TYPES)}`,
      '[[outputs.file]]',
      `dir = ${q(join(dir, 'out'))}`,
      '[[outputs.datakit]]',
      `url = ${q(intake.url)}`,
      '[[outputs.pyroscope]]',
      `url = ${q(pyroscope.url)}`,
      '',
    ].join('\n'),
    'trigger.conf',
    { env: {}, osHostname: 'it-host' },
  );
  // Faster than the product's minimums (see the top of the file).
  const config = { ...parsed, targets: parsed.targets.map((t) => ({ ...t, intervalMs: 3_000, profileDurationMs: 2_000, trigger: { ...t.trigger!, cooldownMs: COOLDOWN_MS } })) };

  const logs: Array<Record<string, unknown>> = [];
  const metrics = new CollectorMetrics({ defaultMetrics: false });
  /** cpu_cores of every shipped CPU profile (regular or triggered), in order, and whether it fired. */
  const cpu: Array<{ value: number; atMs: number; fired: boolean }> = [];
  const isFiring = (l: Record<string, unknown>) => typeof l.msg === 'string' && l.msg.startsWith('trigger cpu_cores:');
  const logger = createLogger({
    level: 'info',
    format: 'json',
    destination: {
      write: (s: string) => {
        const line = JSON.parse(s) as Record<string, unknown>;
        logs.push(line);
        // The firing is said in the same call that handed the collector the value.
        if (isFiring(line)) cpu.at(-1)!.fired = true;
      },
    },
  });
  const collector = new Collector(config, {
    clock: systemClock,
    logger,
    metrics,
    durable: true,
    onOutcome: (o) => {
      const v = runtimeValues(o.type, o.result, o.stats).cpu_cores;
      if (v !== undefined) cpu.push({ value: v, atMs: Date.now(), fired: false });
    },
  });
  let stopped = false;
  cleanup.add(async () => {
    if (!stopped) await collector.stop(2_000);
  });
  await collector.start();

  const firings = () => logs.filter(isFiring);
  const seen = () => `cpu_cores of the CPU profiles: ${cpu.map((c) => `${c.value.toFixed(2)}${c.fired ? ' (fired)' : ''}`).join(', ')}`;
  const wait = (pred: () => boolean | Promise<boolean>, what: string) => waitFor(pred, 45_000, what).catch((err: Error) => assert.fail(`${err.message}; ${seen()}`));
  const shipped = async (type: string) =>
    (await metrics.registry.getSingleMetric('collector_triggered_profiles_total')!.get()).values.filter((v) => v.labels.type === type).reduce((a, v) => a + v.value, 0);

  // Up: a firing. Then high for longer than the cooldown and two more CPU profiles.
  await wait(() => firings().length >= 1, 'the first firing');
  const firstAt = Date.now();
  await wait(() => Date.now() - firstAt > COOLDOWN_MS && cpu.filter((c) => c.atMs > firstAt).length >= 2, 'two more CPU profiles, past the cooldown');
  // Down to at or below the threshold, and up again: another firing.
  await target.setKnobs({ cpu_cores: 0 });
  const lowFrom = cpu.length;
  await wait(() => cpu.slice(lowFrom).some((c) => c.value <= THRESHOLD), 'a CPU profile at or below the threshold after the knob went to 0');
  const before = firings().length;
  await target.setKnobs({ cpu_cores: KNOB });
  await wait(() => firings().length > before, 'a firing after the value went below and above again');
  await target.setKnobs({ cpu_cores: 0 });
  // Every firing's cpu and goroutine profiles shipped.
  await wait(async () => (await shipped('cpu')) === firings().length && (await shipped('goroutine')) === firings().length, 'the triggered profiles of every firing');
  await collector.stop(10_000);
  stopped = true;

  // The firings are exactly what the rule says for the values the collector saw: on a value
  // above the threshold, only after the value was at or below it since the last firing (once
  // per excursion), never within the cooldown of the last one, and never missed when both held.
  // (The machine is shared: the burn the knob sets is not always measured above the threshold,
  // so the sequence is checked as it came; test/schedule/trigger.test.ts pins each case exactly.)
  const SLACK_MS = 50; // between our Date.now() and the collector's, in the same call
  let armed = true;
  let lastFiredAt = -Infinity;
  cpu.forEach((c, i) => {
    const what = `CPU profile ${i} (${c.value.toFixed(3)}); ${seen()}`;
    if (c.value <= THRESHOLD) {
      assert.equal(c.fired, false, what);
      armed = true;
    } else if (c.fired) {
      assert.ok(armed, `fired without going at or below the threshold since the last firing: ${what}`);
      assert.ok(c.atMs - lastFiredAt >= COOLDOWN_MS - SLACK_MS, `fired within the cooldown: ${what}`);
      armed = false;
      lastFiredAt = c.atMs;
    } else {
      assert.ok(!armed || c.atMs - lastFiredAt < COOLDOWN_MS + SLACK_MS, `a crossing past the cooldown did not fire: ${what}`);
    }
  });
  const fired = cpu.filter((c) => c.fired);
  t.diagnostic(seen());
  assert.ok(fired.length >= 2, seen());
  assert.deepEqual(firings().map((l) => l.value), fired.map((c) => c.value), 'each log line gives the value that crossed');

  // One log line per firing, in words, with its fields.
  for (const l of firings()) {
    assert.match(
      l.msg as string,
      new RegExp(`^trigger cpu_cores: \\d+\\.\\d{3} is above ${THRESHOLD} on ${target.addr.replace(/\./g, '\\.')} \\(trigger-it\\): taking cpu, goroutine, heap now, tagged trigger=cpu_cores; no other firing for this target within 5s$`),
    );
    assert.equal(l.level, 'info');
    assert.equal(l.trigger, 'cpu_cores');
    assert.ok((l.value as number) > THRESHOLD);
    assert.deepEqual(l.types, TRIGGER_TYPES);
  }

  // The profiles: tagged in every output, and only the triggered ones.
  const files = sidecars(join(dir, 'out'));
  const triggered = files.filter((f) => 'trigger' in f.tags);
  assert.ok(triggered.every((f) => f.tags.trigger === 'cpu_cores' && TRIGGER_TYPES.includes(f.type)), JSON.stringify(triggered.map((f) => [f.type, f.tags.trigger])));
  const byType = (xs: readonly { type: string }[], type: string) => xs.filter((x) => x.type === type).length;
  assert.equal(byType(triggered, 'cpu'), fired.length, 'one triggered CPU profile per firing');
  assert.equal(byType(triggered, 'goroutine'), fired.length);
  assert.ok(byType(triggered, 'heap') >= fired.length - 1, 'a triggered heap delta per firing (the first one may be the baseline)');
  assert.ok(files.length - triggered.length >= 10, `regular profiles too: ${files.length - triggered.length}`);
  assert.deepEqual(intake.rejections, [], 'the DataKit intake double took every upload');
  assert.equal(intake.uploads.length, files.length);
  const dk = intake.uploads.filter((u) => u.tags.trigger !== undefined);
  assert.deepEqual(dk.map((u) => u.tags.trigger).sort(), triggered.map(() => 'cpu_cores'), 'DataKit tags_profiler carries trigger:cpu_cores on the same profiles');
  assert.ok(dk.every((u) => !('trigger' in u.customTags)), 'not a custom tag (sub_custom_tags)');
  const pyro = pyroscope.accepted.filter((a) => a.labels.trigger !== undefined);
  assert.equal(pyro.length, triggered.length, 'Pyroscope label trigger="cpu_cores" on the same profiles');
  assert.ok(pyro.every((a) => a.labels.trigger === 'cpu_cores'));
  // What a triggered CPU profile carries, as shipped (for the record of a run).
  const dkCpu = dk.find((u) => u.type === 'cpu')!;
  const pyroCpu = pyro.find((a) => a.name === 'process_cpu')!;
  t.diagnostic(`DataKit event.tags_profiler: ${dkCpu.event.tags_profiler}; sub_custom_tags: "${dkCpu.event.sub_custom_tags}"`);
  t.diagnostic(`Pyroscope labels: ${JSON.stringify(pyroCpu.labels)}`);
  t.diagnostic(`file JSON tags: ${JSON.stringify(triggered.find((f) => f.type === 'cpu')!.tags)}`);

  // The triggered CPU profile shows the burn that crossed the threshold.
  const firstCpu = triggered.filter((f) => f.type === 'cpu').sort((a, b) => Number(BigInt(a.start_unix_nano) - BigInt(b.start_unix_nano)))[0]!;
  const profile = decodeGzipped(readFileSync(join(dir, 'out', 'trigger-it', firstCpu.file)));
  assert.ok(sumFor(profile, 'cpu', 'main.knobCPUBurner') > 0n, 'the triggered CPU profile has samples in main.knobCPUBurner');

  // Counted: firings and triggered profiles by type match what was shipped.
  const firingsTotal = (await metrics.registry.getSingleMetric('collector_trigger_firings_total')!.get()).values;
  assert.deepEqual(firingsTotal.map((v) => [v.labels.metric, v.value]), [['cpu_cores', fired.length]]);
  const counted = (await metrics.registry.getSingleMetric('collector_triggered_profiles_total')!.get()).values;
  for (const type of TRIGGER_TYPES) {
    assert.equal(counted.find((v) => v.labels.type === type && v.labels.metric === 'cpu_cores')?.value ?? 0, byType(triggered, type), `collector_triggered_profiles_total{type="${type}"}`);
  }

  // One CPU profile at a time in the target, triggered ones included.
  assert.equal((await target.stats()).cpu_max_in_flight, 1);
  // The heap deltas, regular and triggered, tile: each starts where the one before ended.
  const heap = files.filter((f) => f.type === 'heap').sort((a, b) => Number(BigInt(a.start_unix_nano) - BigInt(b.start_unix_nano)));
  assert.ok(heap.length >= 5);
  for (let i = 1; i < heap.length; i++) {
    assert.equal(heap[i]!.start_unix_nano, heap[i - 1]!.end_unix_nano, `heap delta ${i} (${heap[i]!.tags.trigger ?? 'regular'}) starts where delta ${i - 1} (${heap[i - 1]!.tags.trigger ?? 'regular'}) ended`);
  }
});
