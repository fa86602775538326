// The file output: <dir>/<service>/<stem>.pprof plus <stem>.json beside it.

import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { mkdtempSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import type { FileOutputConfig } from '../../src/config/types.js';
import { FileSender, fileStem } from '../../src/output/file.js';
import { fixtureProfile, makeRecord } from '../helpers/records.js';

describe('FileSender', () => {
  let dir: string;

  before(() => {
    dir = mkdtempSync(join(tmpdir(), 'pprof-file-test-'));
  });

  after(() => {
    rmSync(dir, { recursive: true, force: true });
  });

  const cfg = (): FileOutputConfig => ({ kind: 'file', name: 'files', source: { file: 'test.conf', line: 1 }, dir });

  it('writes <dir>/<service>/<stem>.pprof and .json with type, window and every tag', async () => {
    const r = makeRecord({ service: 'checkout', startNs: 1_763_772_312_123_456_789n, endNs: 1_763_772_321_000_000_042n });
    await new FileSender(cfg()).send(r);

    const stem = fileStem(r);
    assert.ok(stem.startsWith('checkout/'), `stem ${stem} is under the service`);
    const files = readdirSync(join(dir, 'checkout')).sort();
    const base = stem.slice('checkout/'.length);
    assert.deepEqual(files, [`${base}.json`, `${base}.pprof`], 'exactly the two files, no temp files left');
    assert.match(base, /^20251122T004521\.000Z_127\.0\.0\.1_6060_cpu_[0-9a-f]{8}$/);

    const pprof = readFileSync(join(dir, `${stem}.pprof`));
    assert.ok(pprof.equals(r.pprof), 'the pprof bytes are the record bytes');

    const side = JSON.parse(readFileSync(join(dir, `${stem}.json`), 'utf8')) as Record<string, unknown>;
    assert.equal(side.type, 'cpu');
    assert.equal(side.start, '2025-11-22T00:45:12.123456789Z');
    assert.equal(side.end, '2025-11-22T00:45:21.000000042Z');
    assert.equal(side.file, `${base}.pprof`);
    assert.equal(side.id, r.id);
    assert.deepEqual(side.tags, {
      host: 'build-box',
      instance: '127.0.0.1:6060',
      team: 'payments',
      region: 'eu-1',
      service: 'checkout',
      env: 'staging',
      version: '1.4.2',
    });
    assert.deepEqual(side.custom_tags, { team: 'payments', region: 'eu-1' });
  });

  it('writes a file `go tool pprof -raw` reads, for every type', async (t) => {
    const go = spawnSync('go', ['version'], { encoding: 'utf8' });
    assert.equal(go.status, 0, 'go is not on PATH: this test needs `go tool pprof` (CI puts /usr/local/go/bin on PATH)');
    const sender = new FileSender(cfg());
    for (const [type, fixture, sampleHeader] of [
      ['cpu', 'cpu.pb.gz', 'samples/count cpu/nanoseconds'],
      ['heap', 'heap-2.pb.gz', 'alloc_objects/count alloc_space/bytes inuse_objects/count inuse_space/bytes'],
      ['goroutine', 'goroutine.pb.gz', 'goroutine/count'],
      ['mutex', 'mutex-2.pb.gz', 'contentions/count delay/nanoseconds'],
      ['block', 'block-2.pb.gz', 'contentions/count delay/nanoseconds'],
    ] as const) {
      const r = makeRecord({ type, service: 'svc-raw', pprof: fixtureProfile(fixture) });
      await sender.send(r);
      const path = join(dir, `${fileStem(r)}.pprof`);
      const res = spawnSync('go', ['tool', 'pprof', '-raw', '-symbolize=none', path], { encoding: 'utf8', timeout: 30_000 });
      assert.equal(res.status, 0, `${type}: go tool pprof -raw failed: ${res.stderr}`);
      assert.ok(res.stdout.includes(sampleHeader), `${type}: -raw output lacks "${sampleHeader}":\n${res.stdout.slice(0, 400)}`);
      t.diagnostic(`${type}: ${res.stdout.split('\n').length} lines of -raw output`);
    }
    assert.equal(readdirSync(join(dir, 'svc-raw')).length, 10);
  });

  it('keeps records of different services apart and never overwrites', async () => {
    const sender = new FileSender(cfg());
    const a = makeRecord({ service: 'svc-a' });
    const b = makeRecord({ service: 'svc-a' }); // same window and type, other id
    const c = makeRecord({ service: 'svc/../b' }); // path separators are not honoured
    const d = makeRecord({ service: '..' });
    for (const r of [a, b, c, d]) await sender.send(r);
    assert.equal(readdirSync(join(dir, 'svc-a')).length, 4);
    for (const r of [c, d]) {
      const parts = fileStem(r).split('/');
      assert.equal(parts.length, 2, `stem ${fileStem(r)} is one directory deep`);
      assert.ok(!/^\.+$/.test(parts[0]!), `stem ${fileStem(r)} escapes the output directory`);
      assert.ok(readFileSync(join(dir, `${fileStem(r)}.pprof`)).equals(r.pprof));
    }
  });
});
