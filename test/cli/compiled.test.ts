// The collector runs compiled: bin/collector.js and the worker threads it
// starts (profile workers, the relabel worker, the file writer) load dist/ only, never tsx and
// never the TypeScript in src/. Checked on a copy of the package that has
// bin/, dist/ and package.json but no src/, and a node_modules without tsx:
// anything that reached for either would fail to load there. `npm test`
// builds dist/ first; run alone: `npm run build` first.
//
//   node --import tsx --test test/cli/compiled.test.ts

import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { cpSync, mkdirSync, mkdtempSync, readdirSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join, relative } from 'node:path';
import { fileURLToPath } from 'node:url';
import { after, before, describe, test } from 'node:test';
import { VERSION } from '../../src/core/version.js';
import { FIXTURE_PROFILES } from '../helpers/records.js';

const ROOT = join(dirname(fileURLToPath(import.meta.url)), '..', '..');

function filesUnder(dir: string): string[] {
  return readdirSync(dir, { withFileTypes: true }).flatMap((e) => (e.isDirectory() ? filesUnder(join(dir, e.name)) : [join(dir, e.name)]));
}

/** A node with none of the parent's flags (no --import tsx) and no NODE_OPTIONS. */
function plainNode(cwd: string, args: string[]) {
  const env = { ...process.env };
  delete env.NODE_OPTIONS;
  return spawnSync(process.execPath, args, { cwd, env, encoding: 'utf8', timeout: 30_000 });
}

// Starts a profile worker, the relabel worker and the file writer thread as
// the collector does, and gives each one job: a job only answers once its
// thread's module has loaded.
const DRIVER = `
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { silentLogger } from './dist/core/log.js';
import { WorkerRelabeler } from './dist/discovery/relabeler.js';
import { ThreadProfileWriter } from './dist/output/file-writer.js';
import { WorkerPool } from './dist/profile/workers.js';

const pool = new WorkerPool(1, silentLogger());
const relabeler = new WorkerRelabeler();
const writer = new ThreadProfileWriter();
const out = mkdtempSync(join(tmpdir(), 'compiled-writer-'));
try {
  await writer.write({ root: out, dir: join(out, 'svc'), stem: join(out, 'svc', 'p'), pprof: new Uint8Array([1, 2, 3]), json: '{}' });
  const written = readFileSync(join(out, 'svc', 'p.pprof')).length;
  const profile = await pool.run({
    targetId: 'compiled-test', type: 'goroutine', deltaSampleTypes: [],
    body: readFileSync(process.argv[2]), maxDecompressedBytes: 64 << 20,
    scrapedAtNanos: BigInt(Date.now()) * 1000000n,
  });
  const relabeled = await relabeler.run([{ source_labels: ['app'], target_label: 'service', replacement: 'svc-$1' }], [[['__address__', '127.0.0.1:1'], ['app', 'cart']]]);
  console.log(JSON.stringify({ profile: profile.kind, relabeled, written }));
} finally {
  await pool.close();
  await relabeler.close();
  await writer.close();
  rmSync(out, { recursive: true, force: true });
}
`;

describe('the compiled collector (dist/) loads no tsx and no src/', () => {
  let copy = '';

  before(() => {
    copy = mkdtempSync(join(tmpdir(), 'collector-compiled-'));
    for (const part of ['bin', 'dist', 'conf.d', 'package.json']) cpSync(join(ROOT, part), join(copy, part), { recursive: true });
    // The real packages, but tsx (and its loader's esbuild) unresolvable.
    mkdirSync(join(copy, 'node_modules'));
    for (const name of readdirSync(join(ROOT, 'node_modules'))) {
      if (['tsx', 'esbuild', '@esbuild', '.bin'].includes(name)) continue;
      symlinkSync(join(ROOT, 'node_modules', name), join(copy, 'node_modules', name));
    }
    writeFileSync(join(copy, 'driver.mjs'), DRIVER);
  });

  after(() => {
    if (copy) rmSync(copy, { recursive: true, force: true });
  });

  test('dist/ has the compiled module of every source file (npm run build has run)', () => {
    const want = filesUnder(join(ROOT, 'src'))
      .filter((f) => f.endsWith('.ts'))
      .map((f) => relative(join(ROOT, 'src'), f).replace(/\.ts$/, '.js'));
    const have = new Set(filesUnder(join(ROOT, 'dist')).map((f) => relative(join(ROOT, 'dist'), f)));
    assert.deepEqual(want.filter((f) => !have.has(f)), []);
  });

  test('the copy cannot reach tsx (so the checks below can fail)', () => {
    const res = plainNode(copy, ['--input-type=module', '-e', "await import('tsx/esm/api')"]);
    assert.notEqual(res.status, 0);
    assert.match(res.stderr, /ERR_MODULE_NOT_FOUND|Cannot find package 'tsx'/);
  });

  test('collector --version: the short way (bin alone) and through cli.ts say the same', () => {
    for (const args of [['--version'], ['--version', '--log-level', 'info']]) {
      const res = plainNode(copy, ['bin/collector.js', ...args]);
      assert.equal(res.stderr, '', args.join(' '));
      assert.equal(res.status, 0, args.join(' '));
      assert.equal(res.stdout, `${VERSION}\n`, args.join(' '));
    }
  });

  test('collector --check', () => {
    const res = plainNode(copy, ['bin/collector.js', '-c', 'conf.d/profile.conf', '--check']);
    assert.equal(res.status, 0, res.stderr);
    assert.match(res.stdout, /conf\.d\/profile\.conf: valid/);
  });

  test('a profile worker, the relabel worker and the file writer thread run a job each', () => {
    const res = plainNode(copy, ['driver.mjs', join(FIXTURE_PROFILES, 'goroutine.pb.gz')]);
    assert.equal(res.status, 0, res.stderr);
    assert.deepEqual(JSON.parse(res.stdout), {
      profile: 'snapshot',
      relabeled: [{ kind: 'kept', labels: [['__address__', '127.0.0.1:1'], ['app', 'cart'], ['service', 'svc-cart']] }],
      written: 3,
    });
  });
});
