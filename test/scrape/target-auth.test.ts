// TargetCredentials: the Authorization header of a scrape, with token and
// password files read again whenever they change (a rotated token), and
// only then. Also prints what a scrape's look at the file costs (a stat),
// against reading it every time; nothing about time is asserted.
//
//   node --import tsx --test test/scrape/target-auth.test.ts

import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync, renameSync, rmSync, symlinkSync, unlinkSync, utimesSync, writeFileSync } from 'node:fs';
import { readFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { performance } from 'node:perf_hooks';
import { after, before, describe, test } from 'node:test';
import { CredentialError, TargetCredentials } from '../../src/scrape/target-auth.js';

let dir = '';
before(() => {
  dir = mkdtempSync(join(tmpdir(), 'target-auth-'));
});
after(() => rmSync(dir, { recursive: true, force: true }));

const b64 = (s: string) => Buffer.from(s).toString('base64');

describe('headers', () => {
  test('none, inline bearer, inline basic', async () => {
    const c = new TargetCredentials();
    assert.deepEqual(await c.headers(undefined), {});
    assert.deepEqual(await c.headers({ kind: 'bearer', token: 't0k' }), { authorization: 'Bearer t0k' });
    assert.deepEqual(await c.headers({ kind: 'basic', username: 'u', password: 'p:w' }), { authorization: `Basic ${b64('u:p:w')}` });
    assert.equal(c.reads, 0);
  });

  test('a token file: trimmed, read once while it does not change', async () => {
    const f = join(dir, 'token-a');
    writeFileSync(f, '  tok-1\n');
    const c = new TargetCredentials();
    for (let i = 0; i < 5; i++) assert.deepEqual(await c.headers({ kind: 'bearer', tokenFile: f }), { authorization: 'Bearer tok-1' });
    assert.equal(c.reads, 1, 'one read for five scrapes');
  });

  test('rotation: a new file renamed over it, a rewrite in place, a symlink swap (Kubernetes ..data): each is read at the next scrape', async () => {
    const f = join(dir, 'token-b');
    writeFileSync(f, 'tok-1');
    const c = new TargetCredentials();
    const bearer = { kind: 'bearer' as const, tokenFile: f };
    assert.equal((await c.headers(bearer)).authorization, 'Bearer tok-1');
    // Renamed over (a new inode), same size.
    writeFileSync(`${f}.new`, 'tok-2');
    renameSync(`${f}.new`, f);
    assert.equal((await c.headers(bearer)).authorization, 'Bearer tok-2');
    // Rewritten in place with the same size; its mtime set apart so the change shows on any file system.
    writeFileSync(f, 'tok-3');
    const t = new Date(Date.now() + 5_000);
    utimesSync(f, t, t);
    assert.equal((await c.headers(bearer)).authorization, 'Bearer tok-3');
    // A symlink to a versioned file, switched as the kubelet does.
    const link = join(dir, 'token-link');
    writeFileSync(join(dir, 'v1'), 'tok-v1');
    writeFileSync(join(dir, 'v2'), 'tok-v2');
    symlinkSync(join(dir, 'v1'), link);
    const viaLink = { kind: 'bearer' as const, tokenFile: link };
    assert.equal((await c.headers(viaLink)).authorization, 'Bearer tok-v1');
    symlinkSync(join(dir, 'v2'), `${link}.tmp`);
    renameSync(`${link}.tmp`, link);
    assert.equal((await c.headers(viaLink)).authorization, 'Bearer tok-v2');
    assert.equal(c.reads, 5);
  });

  test('a password file', async () => {
    const f = join(dir, 'pass');
    writeFileSync(f, 'pw-1\n');
    const c = new TargetCredentials();
    assert.deepEqual(await c.headers({ kind: 'basic', username: 'u', passwordFile: f }), { authorization: `Basic ${b64('u:pw-1')}` });
  });

  test('a file that is gone, not a file, too large or of two lines: a CredentialError naming the file, never its content', async () => {
    const c = new TargetCredentials();
    const f = join(dir, 'token-c');
    writeFileSync(f, 'SECRET-TOKEN');
    await c.headers({ kind: 'bearer', tokenFile: f });
    unlinkSync(f);
    await assert.rejects(c.headers({ kind: 'bearer', tokenFile: f }), (err: unknown) => err instanceof CredentialError && err.code === 'credentials' && err.message.includes(f) && /ENOENT/.test(err.message) && !err.message.includes('SECRET'));
    await assert.rejects(c.headers({ kind: 'bearer', tokenFile: dir }), /is not a regular file/);
    writeFileSync(join(dir, 'big'), 'x'.repeat(64 * 1024 + 1));
    await assert.rejects(c.headers({ kind: 'bearer', tokenFile: join(dir, 'big') }), /larger than 64 KiB/);
    writeFileSync(join(dir, 'two'), 'SECRET-A\nSECRET-B\n');
    await assert.rejects(c.headers({ kind: 'basic', username: 'u', passwordFile: join(dir, 'two') }), (err: unknown) => /more than one line/.test(String(err)) && !String(err).includes('SECRET'));
  });

  test('secrets(): every form the credentials travel in, the rotated token included', async () => {
    const f = join(dir, 'token-d');
    writeFileSync(f, 'rot-1');
    const c = new TargetCredentials();
    const auth = { kind: 'bearer' as const, tokenFile: f };
    assert.deepEqual(c.secrets(auth), [], 'nothing read yet');
    await c.headers(auth);
    assert.ok(c.secrets(auth).includes('rot-1'));
    writeFileSync(`${f}.n`, 'rot-2');
    renameSync(`${f}.n`, f);
    await c.headers(auth);
    assert.ok(c.secrets(auth).includes('rot-2'));
    assert.ok(c.secrets({ kind: 'basic', username: 'u', password: 'pw' }).includes(b64('u:pw')));
  });

  test('retainFiles forgets files no target names', async () => {
    const f = join(dir, 'token-e');
    writeFileSync(f, 'x');
    const c = new TargetCredentials();
    await c.headers({ kind: 'bearer', tokenFile: f });
    c.retainFiles(new Set());
    await c.headers({ kind: 'bearer', tokenFile: f });
    assert.equal(c.reads, 2);
  });
});

test('cost per scrape: a stat (file unchanged) against reading the file every time (printed, not asserted)', async () => {
  const f = join(dir, 'token-cost');
  // A Kubernetes service-account token is about 1 KB.
  writeFileSync(f, 'e'.repeat(1100));
  const c = new TargetCredentials();
  const auth = { kind: 'bearer' as const, tokenFile: f };
  const N = 2000;
  const time = async (fn: () => Promise<unknown>) => {
    for (let i = 0; i < 200; i++) await fn();
    const t0 = performance.now();
    for (let i = 0; i < N; i++) await fn();
    return ((performance.now() - t0) / N) * 1000;
  };
  const cached = await time(() => c.headers(auth));
  const readEach = await time(async () => (await readFile(f, 'utf8')).trim());
  assert.equal(c.reads, 1);
  assert.equal(readFileSync(f, 'utf8').length, 1100);
  console.log(`# token file per scrape: stat and cached ${cached.toFixed(1)} us, readFile every time ${readEach.toFixed(1)} us (mean of ${N} in a row on this machine)`);
});
