// OutputSet over the spool: what is spooled survives a restart and is
// delivered once; when the spool cannot be written, profiles go to memory
// (bounded); a removed output's profiles are reported dropped; a profile the
// spool drops while it is being sent is settled by that send.

import assert from 'node:assert/strict';
import { join } from 'node:path';
import { after, describe, test } from 'node:test';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { LIMITS } from '../../src/core/limits.js';
import { silentLogger } from '../../src/core/log.js';
import { OutputSet } from '../../src/output/index.js';
import type { ProfileSender } from '../../src/output/queue.js';
import { Backoff, DeliveryError } from '../../src/output/retry.js';
import { Spool, spooledBytes } from '../../src/output/spool/spool.js';
import { newRecordId, type ProfileRecord } from '../../src/profile/record.js';
import { FakeClock } from '../helpers/fake-clock.js';
import { makeRecord } from '../helpers/records.js';

const dirs: string[] = [];
function tempDir(): string {
  const d = mkdtempSync(join(tmpdir(), 'output-set-test-'));
  dirs.push(d);
  return d;
}
after(() => {
  for (const d of dirs) rmSync(d, { recursive: true, force: true });
});

const log = silentLogger();
const BIG = 1 << 30;
const DAY = 24 * 3600 * 1000;

/** A record whose id carries time `ms` (ids are UUIDv7: the spool orders by them). */
function recordAt(ms: number, over: Partial<ProfileRecord> = {}): ProfileRecord {
  return makeRecord({ id: newRecordId(ms), ...over });
}

/** What a closed spool still holds for an output. */
async function spooledOnDisk(dir: string, output: string): Promise<string[]> {
  const { spool, pending } = await Spool.open({ dir, maxBytes: BIG, maxAgeMs: DAY * 3650, logger: log }, [output]);
  await spool.close();
  return pending.get(output)!.map((e) => e.id);
}

/** A sender that fails (retryably) until `up`, and records what it accepted. */
function flakySender(name: string, state: { up: boolean; got: string[] }): ProfileSender {
  return {
    kind: 'test',
    name,
    send: async (r) => {
      if (!state.up) throw new DeliveryError('backend down', true, { status: 503 });
      state.got.push(r.id);
    },
  };
}

describe('OutputSet with the spool: nothing is lost across a restart', () => {
  test('profiles spooled while the backend is down are delivered, once, after the collector restarts', async () => {
    const dir = tempDir();
    const clock = new FakeClock(Date.now());
    const state = { up: false, got: [] as string[] };
    const file = { kind: 'file' as const, name: 'files', source: { file: 'x', line: 1 }, dir: join(dir, 'files') };
    const deps = { clock, logger: log, backoff: new Backoff({ random: () => 0 }) };
    const settings = { dir: join(dir, 'spool'), maxBytes: BIG, maxAgeMs: DAY };

    const first = await OutputSet.open([file], deps, settings);
    // Swap the file sender for the flaky one: same name, same spool directory.
    (first.all[0] as unknown as { sender: ProfileSender }).sender = flakySender('files', state);
    const records = Array.from({ length: 5 }, (_, i) => recordAt(clock.now() - 10_000 + i));
    for (const r of records) await first.dispatch(r);
    await clock.advance(2_000); // a few failed attempts
    assert.deepEqual(state.got, []);
    const left = await first.close(); // the "crash": nothing delivered
    assert.equal(left, 5);
    assert.equal((await spooledOnDisk(join(dir, 'spool'), 'files')).length, 5, 'all five on disk');

    state.up = true;
    const second = await OutputSet.open([file], deps, settings);
    (second.all[0] as unknown as { sender: ProfileSender }).sender = flakySender('files', state);
    // Replayed items were queued at open; pump them.
    await clock.advance(1_000);
    await second.drain(5_000);
    assert.deepEqual([...state.got].sort(), records.map((r) => r.id).sort(), 'every profile, exactly once');
    assert.deepEqual(second.spooled('files'), [], 'the spool is empty once delivered');
    await second.close();
    assert.deepEqual(await spooledOnDisk(join(dir, 'spool'), 'files'), [], 'and stays empty at the next start');
  });
});

describe('OutputSet when the spool cannot be written', () => {
  async function openBroken(dir: string, clock: FakeClock, drops: string[]) {
    const state = { up: false, got: [] as string[] };
    const file = { kind: 'file' as const, name: 'files', source: { file: 'x', line: 1 }, dir: join(dir, 'files') };
    const events = { onDrop: (_o: string, _r: unknown, reason: string) => void drops.push(reason) };
    const disk = { full: false };
    const fault = () => {
      if (disk.full) throw Object.assign(new Error('ENOSPC: no space left on device, write'), { code: 'ENOSPC' });
    };
    const set = await OutputSet.open([file], { clock, logger: log, backoff: new Backoff({ random: () => 0 }), events }, { dir: join(dir, 'spool'), maxBytes: BIG, maxAgeMs: DAY, fault });
    (set.all[0] as unknown as { sender: ProfileSender }).sender = flakySender('files', state);
    const breakSpool = () => void (disk.full = true);
    const mendSpool = () => void (disk.full = false);
    return { set, state, breakSpool, mendSpool };
  }

  test('profiles are delivered from memory, at most outputQueueProfiles of them; /readyz is ready only while they are safe', async () => {
    const dir = tempDir();
    const clock = new FakeClock(Date.now());
    const drops: string[] = [];
    const { set, state, breakSpool, mendSpool } = await openBroken(dir, clock, drops);
    assert.equal(set.readiness().ready, true, set.readiness().why);

    // The backend fails: still ready, the spool holds the profile.
    const spooled = recordAt(clock.now());
    await set.dispatch(spooled);
    await clock.advance(100);
    let r = set.readiness();
    assert.equal(r.ready, true, r.why);
    assert.match(r.why, /failing, retried: files/);

    // The spool breaks too: profiles go to memory, bounded by count.
    breakSpool();
    const max = LIMITS.outputQueueProfiles;
    const memory = Array.from({ length: max + 5 }, (_, i) => recordAt(clock.now() + 1 + i));
    for (const m of memory) await set.dispatch(m);
    r = set.readiness();
    assert.equal(r.ready, false, r.why);
    assert.match(r.why, /the spool cannot be written \(ENOSPC\) and outputs are failing \(files\)/);
    assert.deepEqual(drops, new Array(5).fill('queue_full'), 'the 5 oldest beyond the bound are dropped');

    // The backend comes back: everything still held is delivered from memory.
    state.up = true;
    for (let i = 0; i < 20 && set.stats().files!.depth + set.stats().files!.inFlight > 0; i++) {
      await clock.advance(1_000);
      await set.drain(1_000);
    }
    assert.deepEqual(
      [...state.got].sort(),
      [spooled, ...memory.slice(5)].map((m) => m.id).sort(),
      'the spooled one and the newest outputQueueProfiles from memory',
    );
    r = set.readiness();
    assert.equal(r.ready, true, `every output delivers, though the spool is still broken: ${r.why}`);

    mendSpool();
    await set.dispatch(recordAt(clock.now() + 10_000));
    assert.match(set.readiness().why, /outputs deliver or spool/);
    await set.close();
  });

  test('at close, what is only in memory is counted as dropped at shutdown; what is spooled stays for the next start', async () => {
    const dir = tempDir();
    const clock = new FakeClock(Date.now());
    const drops: string[] = [];
    const { set, breakSpool } = await openBroken(dir, clock, drops);
    await set.dispatch(recordAt(clock.now()));
    breakSpool();
    for (let i = 1; i <= 3; i++) await set.dispatch(recordAt(clock.now() + i));
    await clock.advance(100);
    const left = await set.close();
    assert.equal(left, 4);
    assert.deepEqual(drops, ['shutdown', 'shutdown', 'shutdown'], 'the three memory-only profiles are lost, and counted');
    assert.equal((await spooledOnDisk(join(dir, 'spool'), 'files')).length, 1, 'the spooled one is on disk for the next start');
  });
});

describe('OutputSet: a removed output', () => {
  test('its undelivered profiles are reported dropped with reason output_removed, on reload and on a start without it', async () => {
    const dir = tempDir();
    const clock = new FakeClock(Date.now());
    const drops: Array<[string, string, string]> = [];
    const events = { onDrop: (output: string, r: { id: string }, reason: string) => void drops.push([output, r.id, reason]) };
    const deps = { clock, logger: log, backoff: new Backoff({ random: () => 0 }), events };
    const settings = { dir: join(dir, 'spool'), maxBytes: BIG, maxAgeMs: DAY };
    const output = (name: string) => ({ kind: 'file' as const, name, source: { file: 'x', line: 1 }, dir: join(dir, name) });
    const down: ProfileSender = { kind: 'test', name: 'x', send: async () => Promise.reject(new DeliveryError('backend down', true, { status: 503 })) };
    const downAll = (set: OutputSet) => {
      for (const q of set.all) (q as unknown as { sender: ProfileSender }).sender = { ...down, name: q.name };
    };

    const first = await OutputSet.open([output('a'), output('b'), output('c')], deps, settings);
    downAll(first);
    const records = [recordAt(clock.now()), recordAt(clock.now() + 1)];
    for (const r of records) await first.dispatch(r);
    await first.reconfigure([output('a'), output('b')]);
    assert.deepEqual(drops.sort(), records.map((r) => ['c', r.id, 'output_removed']).sort(), 'reload without c');
    await first.close();

    drops.length = 0;
    const second = await OutputSet.open([output('a')], deps, settings);
    assert.deepEqual(drops.sort(), records.map((r) => ['b', r.id, 'output_removed']).sort(), 'a start without b');
    await second.close();
  });
});

describe('OutputSet: the spool drops a profile while it is being sent', () => {
  /** A sender whose sends wait until the test settles them. */
  function heldSender() {
    const waiting: Array<{ id: string; settle: (ok: boolean) => void }> = [];
    const sender: ProfileSender = {
      kind: 'test',
      name: 'held',
      send: (r) =>
        new Promise<void>((resolve, reject) => {
          waiting.push({ id: r.id, settle: (ok) => (ok ? resolve() : reject(new DeliveryError('backend down', true, { status: 503 }))) });
        }),
    };
    return { sender, waiting };
  }

  async function fourInFlightRoomForTwo() {
    const dir = tempDir();
    const clock = new FakeClock(Date.now());
    const drops: Array<[string, string]> = [];
    const sent: string[] = [];
    const events = { onDrop: (_o: string, r: { id: string }, reason: string) => void drops.push([r.id, reason]), onSent: (_o: string, r: { id: string }) => void sent.push(r.id) };
    const records = Array.from({ length: 4 }, (_, i) => recordAt(clock.now() + i));
    const perFile = spooledBytes(records[0]!, ['held']);
    const file = { kind: 'file' as const, name: 'held', source: { file: 'x', line: 1 }, dir: join(dir, 'held') };
    const set = await OutputSet.open([file], { clock, logger: log, backoff: new Backoff({ random: () => 0 }), events }, { dir: join(dir, 'spool'), maxBytes: perFile * 2 + perFile / 2, maxAgeMs: DAY });
    const held = heldSender();
    (set.all[0] as unknown as { sender: ProfileSender }).sender = held.sender;
    for (const r of records) await set.dispatch(r);
    const settled = async () => {
      for (let i = 0; i < 50 && set.stats().held!.inFlight > 0; i++) await new Promise((r) => setTimeout(r, 5));
    };
    return { set, held, records, drops, sent, settled };
  }

  test('a send that then fails is dropped with the spool reason, not retried from a file that is gone', async () => {
    const t = await fourInFlightRoomForTwo();
    assert.equal(t.held.waiting.length, 4, 'all four are being sent (concurrency 4)');
    for (const w of t.held.waiting) w.settle(false);
    await t.settled();
    assert.deepEqual(t.drops.sort(), t.records.slice(0, 2).map((r) => [r.id, 'spool_full']).sort(), 'the two oldest are dropped, and counted');
    assert.deepEqual(t.set.stats().held, { sent: 0, retried: 2, dropped: 2, depth: 2, inFlight: 0 }, 'the two still spooled wait for a retry');
    await t.set.close();
  });

  test('a send that then succeeds is delivered, and not counted as dropped', async () => {
    const t = await fourInFlightRoomForTwo();
    for (const w of t.held.waiting) w.settle(true);
    await t.settled();
    assert.deepEqual(t.drops, []);
    assert.deepEqual(t.sent.sort(), t.records.map((r) => r.id).sort());
    await t.set.close();
  });
});
