// file_sd: JSON and TOML files of target groups in a temp dir, found by
// globs. Time is a FakeClock: the debounce after a watch event and the
// refresh_interval timer fire only when the test advances it. The file
// system and its watch events are real, so waits are bounded polls.
//
//   node --import tsx --test test/discovery/file-sd.test.ts

import assert from 'node:assert/strict';
import { mkdirSync, renameSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, it, test } from 'node:test';
import { FileSd, parseSdFile } from '../../src/discovery/file-sd.js';
import { FakeClock } from '../helpers/fake-clock.js';
import { cleanupAfterEach, sleep, waitFor } from '../helpers/processes.js';
import { capturingLogger, flat, metaOf, recordUpdates, type SdLogLine } from '../helpers/sd.js';

/** Long enough that no refresh timer fires while a test advances for a watch event. */
const REFRESH_MS = 3_600_000;
/** The provider's debounce after a watch event is 200 ms (fake time). */
const DEBOUNCE_STEP_MS = 250;

const cleanup = cleanupAfterEach();

interface LogLine extends SdLogLine {
  file?: string;
}

const tempDir = () => cleanup.tempDir('file-sd-test-');

/** Written under a name no glob of the tests matches, then renamed: readers never see half a file. */
function writeAtomic(file: string, text: string): void {
  const tmp = `${file}.${process.pid}.partial`;
  writeFileSync(tmp, text);
  renameSync(tmp, file);
}

const json = (groups: Array<{ targets: string[]; labels?: Record<string, string> }>) => JSON.stringify(groups);

function toml(groups: Array<{ targets: string[]; labels?: Record<string, string> }>): string {
  return groups
    .map((g) => {
      const labels = Object.entries(g.labels ?? {})
        .map(([k, v]) => `${k} = ${JSON.stringify(v)}`)
        .join(', ');
      return `[[group]]\ntargets = ${JSON.stringify(g.targets)}\nlabels = { ${labels} }\n`;
    })
    .join('\n');
}

function startSd(files: string[], refreshMs = REFRESH_MS) {
  const clock = new FakeClock();
  const { logger, lines } = capturingLogger<LogLine>();
  const sd = new FileSd(files, refreshMs, clock, logger);
  const { updates, latest } = recordUpdates(sd, cleanup);
  const last = () => flat(latest());
  /** The first refresh (real file I/O) has finished: its timer is armed. */
  const started = () => waitFor(() => clock.pending >= 1 && updates.length >= 1, 5_000, 'the first file_sd refresh');
  /**
   * Waits for a watch event to lead to an update: real time for the event,
   * fake time for the debounce, never as far as the refresh timer.
   */
  const byWatch = async (pred: () => boolean, what: string) => {
    const startedAt = clock.now();
    for (let i = 0; i < 40; i++) {
      if (pred()) return;
      await sleep(50);
      await clock.advance(DEBOUNCE_STEP_MS);
      await sleep(10);
    }
    assert.ok(pred(), `no update from the watch within 40 steps: ${what}`);
    assert.ok(clock.now() - startedAt < refreshMs, 'the refresh timer did not fire meanwhile');
  };
  const warnsAbout = (file: string) => lines.filter((l) => l.level === 'warn' && l.file === file);
  return { sd, clock, updates, lines, last, started, byWatch, warnsAbout, latest };
}

describe('parseSdFile', () => {
  test('JSON: Prometheus file_sd shape', () => {
    assert.deepEqual(parseSdFile('[{"targets": ["a:1", "b:2"], "labels": {"env": "prod"}}, {"targets": []}]', 't.json'), [
      { targets: ['a:1', 'b:2'], labels: { env: 'prod' } },
      { targets: [], labels: {} },
    ]);
  });

  test('TOML: [[group]] tables; a file without groups is an empty list', () => {
    assert.deepEqual(parseSdFile('[[group]]\ntargets = ["a:1"]\nlabels = { service = "x" }\n[[group]]\ntargets = ["b:2"]\n', 't.TOML'), [
      { targets: ['a:1'], labels: { service: 'x' } },
      { targets: ['b:2'], labels: {} },
    ]);
    assert.deepEqual(parseSdFile('# nothing yet\n', 't.toml'), []);
  });

  const bad: Array<[string, string, RegExp]> = [
    ['{"targets": ["a:1"]}', 'x.json', /expected a JSON array/],
    ['[1]', 'x.json', /group 0 is not an object/],
    ['[{"targets": "a:1"}]', 'x.json', /"targets" must be an array of strings/],
    ['[{"targets": ["a:1", 2]}]', 'x.json', /"targets" must be an array of strings/],
    ['[{"targets": ["a:1"], "labels": ["env"]}]', 'x.json', /"labels" must be an object/],
    ['[{"targets": ["a:1"], "labels": {"port": 6060}}]', 'x.json', /label "port" must be a string/],
    ['[{"targets": ["a:1"]', 'x.json', /JSON|Unexpected|Expected/],
    ['[[group]]\ntargets = [1]\n', 'x.toml', /"targets" must be an array of strings/],
    ['group = 3\n', 'x.toml', /expected a JSON array/],
    ['[[group]\n', 'x.toml', /./],
  ];
  for (const [text, file, re] of bad) {
    test(`${file} ${JSON.stringify(text)} is refused`, () => {
      assert.throws(() => parseSdFile(text, file), re);
    });
  }
});

describe('FileSd', () => {
  it('reads JSON and TOML files matched by globs; a change is picked up by the watch', async () => {
    const dir = tempDir();
    writeAtomic(join(dir, 'a.json'), json([{ targets: ['10.0.0.1:6060', '10.0.0.2:6060'], labels: { service: 'checkout' } }]));
    writeAtomic(join(dir, 'b.toml'), toml([{ targets: ['10.0.1.1:6060'], labels: { service: 'cart', env: 'prod' } }]));
    writeAtomic(join(dir, 'ignored.yaml'), '- targets: ["10.9.9.9:1"]\n');
    const sd = startSd([join(dir, '*.json'), join(dir, '*.toml')]);
    await sd.started();
    assert.deepEqual(sd.last(), [
      '10.0.0.1:6060 {"service":"checkout"}',
      '10.0.0.2:6060 {"service":"checkout"}',
      '10.0.1.1:6060 {"env":"prod","service":"cart"}',
    ]);
    assert.equal(sd.updates.length, 1);
    // Each target carries the file it came from as __meta_filepath (for relabel rules), as in Prometheus.
    const from = (f: string) => JSON.stringify({ __meta_filepath: join(dir, f) });
    assert.deepEqual(metaOf(sd.latest()), [`10.0.0.1:6060 ${from('a.json')}`, `10.0.0.2:6060 ${from('a.json')}`, `10.0.1.1:6060 ${from('b.toml')}`]);

    // Add a target to the JSON file: the watch sees it, no refresh timer needed.
    writeAtomic(join(dir, 'a.json'), json([{ targets: ['10.0.0.1:6060', '10.0.0.2:6060', '10.0.0.3:6060'], labels: { service: 'checkout' } }]));
    await sd.byWatch(() => sd.updates.length === 2, 'the third checkout target');
    assert.deepEqual(sd.last(), [
      '10.0.0.1:6060 {"service":"checkout"}',
      '10.0.0.2:6060 {"service":"checkout"}',
      '10.0.0.3:6060 {"service":"checkout"}',
      '10.0.1.1:6060 {"env":"prod","service":"cart"}',
    ]);

    // A new file matching a glob.
    writeAtomic(join(dir, 'c.toml'), toml([{ targets: ['10.0.2.1:6060'], labels: { service: 'search' } }]));
    await sd.byWatch(() => sd.last().some((x) => x.startsWith('10.0.2.1:6060')), 'the new file c.toml');
    assert.equal(sd.last().length, 5);

    // A deleted file takes its targets with it.
    rmSync(join(dir, 'b.toml'));
    await sd.byWatch(() => !sd.last().some((x) => x.startsWith('10.0.1.1:6060')), 'b.toml deleted');
    assert.deepEqual(sd.last(), [
      '10.0.0.1:6060 {"service":"checkout"}',
      '10.0.0.2:6060 {"service":"checkout"}',
      '10.0.0.3:6060 {"service":"checkout"}',
      '10.0.2.1:6060 {"service":"search"}',
    ]);
    // A file that is simply gone is not an error to log.
    assert.deepEqual(sd.warnsAbout(join(dir, 'b.toml')), []);

    // Nothing changed: a refresh sends nothing.
    const n = sd.updates.length;
    await sd.sd.refresh();
    assert.equal(sd.updates.length, n, 'an unchanged list is not sent again');
  });

  it('a change is picked up by refresh_interval when there is no watch', async () => {
    const root = tempDir();
    // The directory does not exist yet: it cannot be watched, so only the timer sees it.
    const dir = join(root, 'later');
    const sd = startSd([join(dir, '*.json')], 30_000);
    await sd.started();
    assert.deepEqual(sd.last(), [], 'no files yet: no targets');
    assert.ok(
      sd.lines.some((l) => l.level === 'warn' && /cannot watch/.test(l.msg)),
      `the log says the directory cannot be watched: ${JSON.stringify(sd.lines.map((l) => l.msg))}`,
    );
    mkdirSync(dir);
    writeAtomic(join(dir, 't.json'), json([{ targets: ['10.0.0.7:6060'] }]));
    await sleep(300);
    assert.equal(sd.updates.length, 1, 'nothing happens before the refresh timer fires');
    await sd.clock.advance(29_000);
    await sleep(100);
    assert.equal(sd.updates.length, 1, 'still nothing 1 s before refresh_interval');
    await sd.clock.advance(1_000);
    await waitFor(() => sd.updates.length === 2, 5_000, 'the timer-driven refresh');
    assert.deepEqual(sd.last(), ['10.0.0.7:6060 {}']);
    // And it re-arms: the next change comes with the next interval.
    writeAtomic(join(dir, 't.json'), json([{ targets: ['10.0.0.8:6060'] }]));
    await waitFor(() => sd.clock.pending === 1, 5_000, 'the refresh to re-arm its timer');
    await sd.clock.advance(30_000);
    await waitFor(() => sd.updates.length === 3, 5_000, 'the second timer-driven refresh');
    assert.deepEqual(sd.last(), ['10.0.0.8:6060 {}']);
  });

  it('refresh() re-reads a watched file too', async () => {
    const dir = tempDir();
    const file = join(dir, 'one.json');
    writeAtomic(file, json([{ targets: ['10.0.0.1:6060'] }]));
    const sd = startSd([file]);
    await sd.started();
    writeAtomic(file, json([{ targets: ['10.0.0.2:6060'] }]));
    await sd.sd.refresh();
    assert.deepEqual(sd.last(), ['10.0.0.2:6060 {}']);
  });

  it('a broken file keeps its last good groups and is logged once; fixed, it is said and used', async () => {
    const dir = tempDir();
    const a = join(dir, 'a.json');
    const b = join(dir, 'b.toml');
    writeAtomic(a, json([{ targets: ['10.0.0.1:6060'], labels: { service: 'checkout' } }]));
    writeAtomic(b, toml([{ targets: ['10.0.1.1:6060'] }]));
    const sd = startSd([join(dir, '*.json'), join(dir, '*.toml')]);
    await sd.started();
    const good = sd.last();
    assert.equal(good.length, 2);

    writeAtomic(a, '[{"targets": ["10.0.0.1:6060", ');
    writeAtomic(b, '[[group]]\ntargets = "10.0.1.1:6060"\n');
    await sd.byWatch(() => sd.warnsAbout(a).length > 0 && sd.warnsAbout(b).length > 0, 'warnings about both broken files');
    for (let i = 0; i < 3; i++) await sd.sd.refresh();
    await sd.clock.advance(REFRESH_MS);
    await waitFor(() => sd.clock.pending === 1, 5_000, 'the refresh to re-arm');

    assert.equal(sd.updates.length, 1, 'the broken files changed nothing');
    assert.deepEqual(sd.last(), good);
    const warnA = sd.warnsAbout(a);
    const warnB = sd.warnsAbout(b);
    assert.equal(warnA.length, 1, `one warning for ${a} over five refreshes: ${JSON.stringify(warnA)}`);
    assert.equal(warnB.length, 1, `one warning for ${b}: ${JSON.stringify(warnB)}`);
    assert.match(warnA[0]!.msg, /keeping its last good targets/);
    assert.match(warnB[0]!.err?.message ?? '', /"targets" must be an array of strings/);

    // A different problem with the same file is news.
    writeAtomic(a, '{"targets": []}');
    await sd.sd.refresh();
    assert.equal(sd.warnsAbout(a).length, 2);
    assert.match(sd.warnsAbout(a)[1]!.err?.message ?? '', /expected a JSON array/);

    // Fixed: said once at info, and the new content is used.
    writeAtomic(a, json([{ targets: ['10.0.0.9:6060'], labels: { service: 'checkout' } }]));
    await sd.sd.refresh();
    assert.deepEqual(sd.last(), ['10.0.0.9:6060 {"service":"checkout"}', '10.0.1.1:6060 {}']);
    assert.equal(sd.lines.filter((l) => l.level === 'info' && l.file === a && /reads fine again/.test(l.msg)).length, 1);
  });

  it('a named (not globbed) file that is deleted removes its groups, logged once as not found', async () => {
    const dir = tempDir();
    const a = join(dir, 'a.json');
    const b = join(dir, 'b.json');
    writeAtomic(a, json([{ targets: ['10.0.0.1:6060'] }]));
    writeAtomic(b, json([{ targets: ['10.0.0.2:6060'] }]));
    const sd = startSd([a, b]);
    await sd.started();
    assert.deepEqual(sd.last(), ['10.0.0.1:6060 {}', '10.0.0.2:6060 {}']);
    rmSync(a);
    await sd.byWatch(() => sd.last().length === 1, 'a.json deleted');
    await sd.sd.refresh();
    await sd.sd.refresh();
    assert.deepEqual(sd.last(), ['10.0.0.2:6060 {}']);
    const warns = sd.warnsAbout(a);
    assert.equal(warns.length, 1, JSON.stringify(warns));
    assert.match(warns[0]!.err?.message ?? '', /file not found/);
    // Back again.
    writeAtomic(a, json([{ targets: ['10.0.0.3:6060'] }]));
    await sd.byWatch(() => sd.last().length === 2, 'a.json back');
    assert.deepEqual(sd.last(), ['10.0.0.2:6060 {}', '10.0.0.3:6060 {}']);
  });

  it('stop(): no timer left, and later changes are not reported', async () => {
    const dir = tempDir();
    const a = join(dir, 'a.json');
    writeAtomic(a, json([{ targets: ['10.0.0.1:6060'] }]));
    const sd = startSd([join(dir, '*.json')]);
    await sd.started();
    await sd.sd.stop();
    assert.equal(sd.clock.pending, 0, 'no timer armed after stop');
    writeAtomic(a, json([{ targets: ['10.0.0.2:6060'] }]));
    await sleep(300);
    await sd.clock.advance(REFRESH_MS * 2);
    await sleep(100);
    assert.equal(sd.updates.length, 1);
    assert.equal(sd.clock.pending, 0);
  });
});
