// spool_max_bytes and spool_max_age end to end through OutputSet
// (src/output/index.ts), as README "What happens when things fail" says:
// while a backend stays down the spool grows up to spool_max_bytes and keeps
// profiles up to spool_max_age; past either, the oldest are dropped, counted
// (reason spool_full / too_old) and logged. The output is a real DataKit
// output pointed at a loopback server that answers 503 to everything; time
// is a FakeClock, so the 60 s bounds period and the ages are exact.
//
//   node --import tsx --test test/output/spool-bounds.test.ts

import assert from 'node:assert/strict';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import type { DatakitOutputConfig } from '../../src/config/types.js';
import { createLogger } from '../../src/core/log.js';
import { OutputSet } from '../../src/output/index.js';
import type { DropReason } from '../../src/output/queue.js';
import { Backoff } from '../../src/output/retry.js';
import { idTimeMs, spooledBytes } from '../../src/output/spool/spool.js';
import { newRecordId, type ProfileRecord } from '../../src/profile/record.js';
import { FakeClock } from '../helpers/fake-clock.js';
import { cleanupAfterEach, sleep, waitFor } from '../helpers/processes.js';
import { makeRecord } from '../helpers/records.js';

const cleanup = cleanupAfterEach();

const T0 = 1_700_000_000_000;
const OUTPUT = 'dk';

/** A loopback "DataKit" that answers 503 to every request, and counts them. */
async function downBackend(): Promise<{ url: string; requests: string[] }> {
  const requests: string[] = [];
  const server: Server = createServer((req, res) => {
    requests.push(String(req.headers['x-profile-id']));
    req.resume();
    req.on('end', () => res.writeHead(503, { 'content-type': 'text/plain' }).end('down for maintenance\n'));
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  cleanup.add(() => new Promise<void>((resolve) => server.close(() => resolve())));
  cleanup.add(() => server.closeAllConnections());
  const { port } = server.address() as AddressInfo;
  return { url: `http://127.0.0.1:${port}/profiling/v1/input`, requests };
}

interface Harness {
  readonly set: OutputSet;
  readonly clock: FakeClock;
  readonly drops: Array<{ output: string; id: string; reason: DropReason }>;
  readonly logged: () => Array<Record<string, unknown>>;
  /** Ids the spool still holds. */
  readonly spoolFiles: () => string[];
  readonly requests: string[];
}

async function open(maxBytes: number, maxAgeMs: number): Promise<Harness> {
  const clock = new FakeClock(T0);
  const backend = await downBackend();
  const dir = cleanup.tempDir('spool-bounds-');
  const lines: string[] = [];
  const logger = createLogger({ level: 'debug', destination: { write: (s: string) => void lines.push(s) } });
  const drops: Harness['drops'] = [];
  const output: DatakitOutputConfig = { kind: 'datakit', name: OUTPUT, source: { file: 'test.conf', line: 1 }, url: backend.url, timeoutMs: 5_000, headers: {} };
  const set = await OutputSet.open(
    [output],
    {
      clock,
      logger,
      // After the first 503 the next attempt is LIMITS.retryAfterMaxMs (10 min)
      // away: within these tests the backend is asked exactly once, so no send
      // is in flight when the bounds apply.
      backoff: new Backoff({ initialMs: 3600_000, maxMs: 3600_000, random: () => 0 }),
      events: { onDrop: (o, r, reason) => void drops.push({ output: o, id: r.id, reason }) },
    },
    { dir: join(dir, 'spool'), maxBytes, maxAgeMs },
  );
  cleanup.add(() => set.close());
  return {
    set,
    clock,
    drops,
    logged: () => lines.map((l) => JSON.parse(l) as Record<string, unknown>),
    spoolFiles: () => set.spooled(OUTPUT).sort(),
    requests: backend.requests,
  };
}

/** A record whose UUIDv7 id carries time `ms` (the spool ages profiles by it). */
function recordAt(ms: number): ProfileRecord {
  const r = makeRecord({ id: newRecordId(ms) });
  assert.equal(idTimeMs(r.id), ms);
  return r;
}

/** Dispatches the first record and waits until the backend has refused it once. */
async function firstRefused(h: Harness, r: ProfileRecord): Promise<void> {
  await h.set.dispatch(r);
  await waitFor(() => h.set.stats()[OUTPUT]!.retried === 1, 5_000, 'the first 503');
  assert.deepEqual(h.requests, [r.id]);
}

const fileOf = (r: ProfileRecord) => r.id;

describe('spool bounds through OutputSet, with the backend down', () => {
  it('past spool_max_bytes the oldest are dropped: onDrop spool_full for exactly those ids, their files gone, logged, counted', async () => {
    const one = spooledBytes(recordAt(T0), [OUTPUT]);
    const h = await open(one * 3 + 10, 24 * 3600_000); // room for three profiles
    const records = [0, 1, 2, 3, 4].map((i) => recordAt(T0 - 5_000 + i * 1_000));

    await firstRefused(h, records[0]!);
    for (const r of records.slice(1, 3)) await h.set.dispatch(r);
    assert.deepEqual(h.drops, [], 'three fit');
    assert.equal(h.spoolFiles().length, 3);

    for (const r of records.slice(3)) await h.set.dispatch(r);
    assert.deepEqual(
      h.drops,
      [records[0]!, records[1]!].map((r) => ({ output: OUTPUT, id: r.id, reason: 'spool_full' })),
      'the two oldest, with reason spool_full',
    );
    assert.deepEqual(h.spoolFiles(), records.slice(2).map(fileOf).sort(), 'their spool files are gone, the rest stay');
    const stats = h.set.stats()[OUTPUT]!;
    assert.equal(stats.dropped, 2);
    assert.equal(stats.depth, 3, 'the queue forgot them too');

    const warns = h.logged().filter((l) => l.level === 'warn' && /over spool_max_bytes/.test(String(l.msg)));
    assert.ok(warns.length > 0, `a line about spool_max_bytes; got: ${JSON.stringify(h.logged().map((l) => l.msg))}`);
    assert.ok(warns.every((l) => l.reason === 'spool_full'));
    assert.equal(
      warns.reduce((n, l) => n + Number(l.dropped), 0),
      2,
      'the lines count the two drops',
    );
    assert.equal(h.requests.length, 1, 'the backend was asked once (the premise: nothing in flight)');
  });

  it('past spool_max_age the old ones are dropped at the next 60 s bounds check: onDrop too_old, files gone, logged, counted', async () => {
    const MAX_AGE = 70_000;
    const h = await open(1 << 30, MAX_AGE);
    assert.equal(h.clock.nextTimerAt(), T0 + 60_000, 'the first bounds check is 60 s after open');
    // Two profiles at T0, two at T0 + 50 s.
    const old = [recordAt(T0), recordAt(T0 + 1)];
    await firstRefused(h, old[0]!);
    await h.set.dispatch(old[1]!);
    await h.clock.advance(50_000);
    const young = [recordAt(T0 + 50_000), recordAt(T0 + 50_001)];
    for (const r of young) await h.set.dispatch(r);

    // The bounds check runs every 60 s from open (T0): at T0 + 60 s nothing
    // is 70 s old yet. From T0 + 70 s the old ones are past spool_max_age,
    // but the next check is at T0 + 120 s: at T0 + 119 s they are still there
    // (a check of any other period would have come in (T0 + 70 s, T0 + 119 s]).
    await h.clock.advance(119_000 - 50_000);
    assert.equal(h.clock.now(), T0 + 119_000);
    assert.equal(h.clock.nextTimerAt(), T0 + 120_000, 'the next bounds check is 60 s after the last');
    await sleep(50); // a check that had run would be unlinking files now
    assert.deepEqual(h.drops, []);
    assert.equal(h.spoolFiles().length, 4);

    await h.clock.advance(1_000);
    // The check unlinks files (real I/O): let it finish.
    await waitFor(() => h.drops.length >= 2, 5_000, 'the too_old drops');
    assert.deepEqual(
      h.drops,
      old.map((r) => ({ output: OUTPUT, id: r.id, reason: 'too_old' })),
      'the two from T0, with reason too_old',
    );
    assert.deepEqual(h.spoolFiles(), young.map(fileOf).sort(), 'their files are gone, the young ones stay');
    const stats = h.set.stats()[OUTPUT]!;
    assert.equal(stats.dropped, 2);
    assert.equal(stats.depth, 2);
    const warns = h.logged().filter((l) => l.level === 'warn' && /older than spool_max_age/.test(String(l.msg)));
    assert.equal(warns.length, 1, `one line about spool_max_age; got: ${JSON.stringify(h.logged().map((l) => l.msg))}`);
    assert.equal(warns[0]!.dropped, 2);
    assert.equal(warns[0]!.reason, 'too_old');

    // And it keeps checking: the young ones (T0 + 50 s, just 70 s old at the
    // T0 + 120 s check, not older) go at the next one, T0 + 180 s.
    await h.clock.advance(59_000);
    assert.equal(h.drops.length, 2);
    await h.clock.advance(1_000);
    await waitFor(() => h.drops.length >= 4, 5_000, 'the later too_old drops');
    assert.deepEqual(
      h.drops.slice(2),
      young.map((r) => ({ output: OUTPUT, id: r.id, reason: 'too_old' })),
    );
    assert.deepEqual(h.spoolFiles(), []);
    assert.equal(h.set.stats()[OUTPUT]!.dropped, 4);
    assert.equal(h.requests.length, 1, 'the backend was asked once (the premise: nothing in flight)');
  });
});
