// `collector --once` with nothing to scrape: an empty table is not a
// success. A file_sd list that is empty gives exit 1 and a sentence saying
// why nothing was checked, instead of "all profiles scraped and delivered".
// And how long --once waits for delivery: every output kind's own timeout.
//
//   node --import tsx --test test/once/no-targets.test.ts

import assert from 'node:assert/strict';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { onceDeliveryWaitMs } from '../../src/once.js';
import { parseConfig } from '../../src/config/index.js';
import { cleanupAfterEach, spawnCollector } from '../helpers/processes.js';

const cleanup = cleanupAfterEach();

describe('--once with no targets', () => {
  it('exits 1 and says that nothing was scraped', { timeout: 60_000 }, async () => {
    const dir = cleanup.tempDir('once-empty-');
    const list = join(dir, 'targets.json');
    writeFileSync(list, '[]');
    const q = JSON.stringify;
    const conf = join(dir, 'profile.conf');
    writeFileSync(
      conf,
      [
        '[agent]',
        'listen = ""',
        `data_dir = ${q(join(dir, 'data'))}`,
        '[[inputs.profile.go]]',
        'service = "from-sd"',
        '[inputs.profile.go.file_sd]',
        `files = [${q(list)}]`,
        '[[outputs.file]]',
        `dir = ${q(join(dir, 'out'))}`,
        '',
      ].join('\n'),
    );
    const c = spawnCollector(['-c', conf, '--once']);
    cleanup.add(() => c.kill());
    const exit = await c.waitExit(45_000);
    assert.deepEqual(exit, { code: 1, signal: null }, `stdout:\n${c.stdout}\nstderr:\n${c.stderr.slice(-2000)}`);
    assert.match(c.stdout, /^no targets to scrape: the config lists none, or discovery found none within 3s\n$/);
    assert.doesNotMatch(c.stdout, /all profiles scraped and delivered/);
  });
});

describe('--once delivery wait', () => {
  it("is the slowest output's own timeout plus 5 s, whatever its kind", () => {
    const outputs = parseConfig(
      [
        '[[inputs.profile.go]]',
        'url = "http://127.0.0.1:6060"',
        '[[outputs.file]]',
        'dir = "/tmp/x"',
        '[[outputs.datakit]]',
        'url = "http://127.0.0.1:9529/profiling/v1/input"',
        'timeout = "20s"',
        '[[outputs.pyroscope]]',
        'url = "http://127.0.0.1:4040"',
        'timeout = "45s"',
        '[[outputs.otlp]]',
        'url = "http://127.0.0.1:4318/v1development/profiles"',
        'timeout = "70s"',
        '[[outputs.datadog]]',
        'url = "http://127.0.0.1:8126/profiling/v1/input"',
        'timeout = "60s"',
        '',
      ].join('\n'),
      'wait.conf',
      { env: {}, osHostname: 'h' },
    ).outputs;
    assert.equal(onceDeliveryWaitMs(outputs), 75_000);
    assert.equal(onceDeliveryWaitMs(outputs.filter((o) => o.kind !== 'otlp')), 65_000);
    assert.equal(onceDeliveryWaitMs(outputs.filter((o) => o.kind !== 'otlp' && o.kind !== 'datadog')), 50_000);
    assert.equal(onceDeliveryWaitMs(outputs.filter((o) => o.kind === 'file' || o.kind === 'datakit')), 25_000);
    assert.equal(onceDeliveryWaitMs(outputs.filter((o) => o.kind === 'file')), 15_000);
  });
});
