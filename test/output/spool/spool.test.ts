import assert from 'node:assert/strict';
import { readdirSync, readFileSync, statSync, truncateSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, test } from 'node:test';
import { silentLogger } from '../../../src/core/log.js';
import { Spool, SpoolCorruptError, spooledBytes, type SavedBaseline, type SpoolOptions } from '../../../src/output/spool/spool.js';
import { newRecordId, type ProfileRecord } from '../../../src/profile/record.js';
import { cleanupAfterEach } from '../../helpers/processes.js';
import { fixtureProfile, makeRecord } from '../../helpers/records.js';

const cleanup = cleanupAfterEach();
const log = silentLogger();
const BIG = 1 << 30;
const DAY = 24 * 3600 * 1000;
const HOUR = 3600 * 1000;

function recordAt(ms: number, over: Partial<ProfileRecord> = {}): ProfileRecord {
  return makeRecord({ id: newRecordId(ms), ...over });
}

function baseline(targetId: string, timeNs: bigint, body = fixtureProfile('heap-2.pb.gz'), savedAtMs = Date.now()): SavedBaseline {
  return { targetId, type: 'heap', timeNs, savedAtMs, body };
}

async function open(dir: string, outputs: string[], over: Partial<SpoolOptions> = {}) {
  const opened = await Spool.open({ dir, maxBytes: BIG, maxAgeMs: DAY, baselineMaxAgeMs: HOUR, logger: log, ...over }, outputs);
  cleanup.add(() => opened.spool.close());
  return opened;
}

const segments = (dir: string) => readdirSync(join(dir, 'segments')).sort();

describe('Spool: profiles', () => {
  test('one entry for every output; each output releases its own; bytes are freed with the last one', async () => {
    const dir = cleanup.tempDir('spool-');
    const { spool } = await open(dir, ['a', 'b']);
    const r = recordAt(Date.now());
    const entry = await spool.put(r, ['a', 'b']);
    assert.equal(entry.bytes, spooledBytes(r, ['a', 'b']));
    assert.equal(spool.bytes, entry.bytes);
    assert.deepEqual(spool.heldFor('a'), [r.id]);
    assert.equal((await spool.load('b', r.id)).id, r.id);
    await spool.release('a', r.id);
    assert.deepEqual(spool.heldFor('a'), []);
    assert.equal(spool.bytes, entry.bytes, 'still held for b');
    await spool.release('b', r.id);
    assert.equal(spool.bytes, 0);
    assert.equal(spool.profiles, 0);
    await assert.rejects(spool.load('b', r.id), SpoolCorruptError);
  });

  test('reopening replays what each output still holds, oldest first; profiles of outputs no longer configured are dropped once', async () => {
    const dir = cleanup.tempDir('spool-');
    const t0 = Date.now() - 60_000;
    const ids: string[] = [];
    {
      const { spool } = await open(dir, ['a', 'b', 'gone']);
      for (const i of [3, 1, 2]) {
        const r = recordAt(t0 + i * 1000, { sampleCount: i });
        ids[i] = r.id;
        await spool.put(r, ['a', 'b', 'gone']);
      }
      await spool.release('b', ids[1]!);
      await spool.close();
    }
    const { spool, pending, dropped } = await open(dir, ['a', 'b']);
    assert.deepEqual(pending.get('a')!.map((e) => e.createdMs), [t0 + 1000, t0 + 2000, t0 + 3000]);
    assert.deepEqual(pending.get('b')!.map((e) => e.id), [ids[2], ids[3]], 'b had released its oldest');
    assert.deepEqual(dropped.map((d) => [d.output, d.reason]), new Array(3).fill(['gone', 'output_removed']));
    assert.equal(spool.profiles, 3);
    assert.equal((await spool.load('a', ids[1]!)).sampleCount, 1);
    await spool.close();
    const again = await open(dir, ['a', 'b']);
    assert.deepEqual(again.dropped, [], 'the drops were written down: not reported twice');
  });

  test('a crash in the middle of a write: the torn entry is cut off at the next start, everything before it is intact', async () => {
    const dir = cleanup.tempDir('spool-');
    const good = recordAt(Date.now() - 2000);
    const torn = recordAt(Date.now() - 1000);
    {
      const { spool } = await open(dir, ['a']);
      await spool.put(good, ['a']);
      await spool.put(torn, ['a'], baseline('t1', 2n));
      await spool.close();
    }
    const seg = join(dir, 'segments', segments(dir)[0]!);
    const size = statSync(seg).size;
    truncateSync(seg, size - 100);
    const { spool, pending } = await open(dir, ['a']);
    assert.deepEqual(pending.get('a')!.map((e) => e.id), [good.id]);
    assert.equal(await spool.savedBaseline('t1', 'heap'), undefined, 'the baseline went with the torn record: neither or both');
    assert.equal(statSync(seg).size < size - 100, true, 'the torn bytes are cut off');
  });

  test('an entry damaged on disk is dropped for the output that loads it, with the error; the rest is unaffected', async () => {
    const dir = cleanup.tempDir('spool-');
    const { spool } = await open(dir, ['a', 'b']);
    const good = recordAt(Date.now() - 2000);
    const bad = recordAt(Date.now() - 1000);
    await spool.put(good, ['a']);
    await spool.put(bad, ['a', 'b']);
    const seg = join(dir, 'segments', segments(dir)[0]!);
    const buf = readFileSync(seg);
    const at = buf.lastIndexOf(Buffer.from(bad.id)) + 4;
    buf[at] = buf[at]! ^ 0xff;
    writeFileSync(seg, buf);
    await assert.rejects(spool.load('a', bad.id), /corrupt/);
    assert.deepEqual(spool.heldFor('a'), [good.id]);
    assert.deepEqual(spool.heldFor('b'), [bad.id], 'b has not tried yet');
    assert.equal((await spool.load('a', good.id)).id, good.id);
  });

  test('spool_max_bytes drops the oldest first; spool_max_age drops what is too old', async () => {
    const dir = cleanup.tempDir('spool-');
    let now = Date.now();
    const one = spooledBytes(makeRecord(), ['a']);
    const { spool } = await open(dir, ['a'], { maxBytes: one * 3 + 10, maxAgeMs: 60_000, now: () => now });
    const ids: string[] = [];
    for (let i = 0; i < 5; i++) {
      const r = recordAt(now - 5000 + i * 1000);
      ids.push(r.id);
      await spool.put(r, ['a']);
    }
    const byBytes = await spool.enforceBounds(false);
    assert.deepEqual(byBytes.map((d) => [d.id, d.reason]), [
      [ids[0], 'spool_full'],
      [ids[1], 'spool_full'],
    ]);
    assert.equal(spool.profiles, 3);
    now += 60_000 - 1500; // the cutoff is now at t0-1500: ids[2] and ids[3] are too old, ids[4] is not
    const byAge = await spool.enforceBounds();
    assert.deepEqual(byAge.map((d) => [d.id, d.reason]), [
      [ids[2], 'too_old'],
      [ids[3], 'too_old'],
    ]);
    assert.deepEqual(spool.heldFor('a'), [ids[4]]);
  });

  test('a segment goes once nothing in it is live: every profile released, every baseline replaced', async () => {
    const dir = cleanup.tempDir('spool-');
    const { spool } = await open(dir, ['a'], { segmentBytes: 4096 });
    const records = Array.from({ length: 6 }, (_, i) => recordAt(Date.now() - 10_000 + i));
    for (const r of records) await spool.put(r, ['a'], baseline('t1', BigInt(r.startNs)));
    const before = segments(dir);
    assert.ok(before.length >= 3, `small segments: ${before.length}`);
    for (const r of records) await spool.release('a', r.id);
    await new Promise((r) => setImmediate(r)); // the acknowledgements go out
    const after = segments(dir);
    const newest = before[before.length - 1]!;
    assert.ok(
      after.every((s) => s >= newest),
      `only the segment holding the live baseline (${newest}) and any newer one being written stay: ${after.join(', ')}`,
    );
    assert.ok(await spool.savedBaseline('t1', 'heap'));
  });
});

describe('Spool: delta baselines', () => {
  test('the newest baseline of a target and type survives a restart, whether written with a delta or alone', async () => {
    const dir = cleanup.tempDir('spool-');
    {
      const { spool } = await open(dir, ['a']);
      await spool.putBaseline(baseline('t1', 1n, fixtureProfile('heap-1.pb.gz')));
      await spool.put(recordAt(Date.now()), ['a'], baseline('t1', 2n, fixtureProfile('heap-2.pb.gz')));
      await spool.putBaseline(baseline('t2', 5n, fixtureProfile('heap-3.pb.gz')));
      await spool.close();
    }
    const { spool } = await open(dir, ['a']);
    const t1 = await spool.savedBaseline('t1', 'heap');
    assert.equal(t1?.timeNs, 2n);
    assert.ok(Buffer.from(t1!.body).equals(fixtureProfile('heap-2.pb.gz')));
    assert.equal((await spool.savedBaseline('t2', 'heap'))?.timeNs, 5n);
    assert.equal(await spool.savedBaseline('t1', 'mutex'), undefined);
  });

  test('a baseline older than baselineMaxAgeMs is not used', async () => {
    const dir = cleanup.tempDir('spool-');
    let now = Date.now();
    const { spool } = await open(dir, ['a'], { now: () => now });
    await spool.putBaseline(baseline('t1', 1n, undefined, now));
    now += HOUR + 1;
    assert.equal(await spool.savedBaseline('t1', 'heap'), undefined);
  });

  test('an invalidated baseline (its successor could not be written) is not used after a restart', async () => {
    const dir = cleanup.tempDir('spool-');
    {
      const { spool } = await open(dir, ['a']);
      await spool.putBaseline(baseline('t1', 1n));
      spool.invalidateBaseline('t1', 'heap');
      assert.equal(await spool.savedBaseline('t1', 'heap'), undefined);
      await spool.close();
    }
    const { spool } = await open(dir, ['a']);
    assert.equal(await spool.savedBaseline('t1', 'heap'), undefined);
  });

  test('retainBaselines forgets the baselines this run wrote for targets that are gone, and keeps the ones a previous run left', async () => {
    const dir = cleanup.tempDir('spool-');
    {
      const { spool } = await open(dir, ['a']);
      await spool.putBaseline(baseline('from-before', 1n));
      await spool.close();
    }
    {
      const { spool } = await open(dir, ['a']);
      await spool.putBaseline(baseline('stays', 1n));
      await spool.putBaseline(baseline('goes', 1n));
      spool.retainBaselines(new Set(['stays']));
      assert.equal(await spool.savedBaseline('goes', 'heap'), undefined);
      assert.ok(await spool.savedBaseline('from-before', 'heap'), 'not seen by this run: discovery may still report it');
      await spool.close();
    }
    const { spool } = await open(dir, ['a']);
    assert.equal(await spool.savedBaseline('goes', 'heap'), undefined, 'forgotten on disk too');
    assert.ok(await spool.savedBaseline('stays', 'heap'));
    assert.ok(await spool.savedBaseline('from-before', 'heap'));
  });

  test('an old segment kept only by a few baselines is rewritten: the baselines move, the segment goes', async () => {
    const dir = cleanup.tempDir('spool-');
    let now = Date.now();
    const { spool } = await open(dir, ['a'], { segmentBytes: 4096, now: () => now });
    await spool.putBaseline(baseline('idle', 7n, undefined, now));
    for (let i = 0; i < 6; i++) {
      const r = recordAt(now + i);
      await spool.put(r, ['a'], baseline('busy', BigInt(i), undefined, now));
      await spool.release('a', r.id);
    }
    const first = segments(dir)[0]!;
    now += 3 * 60_000;
    await spool.enforceBounds();
    assert.ok(!segments(dir).includes(first), `${first} is gone: ${segments(dir).join(', ')}`);
    assert.equal((await spool.savedBaseline('idle', 'heap'))?.timeNs, 7n);
    assert.equal((await spool.savedBaseline('busy', 'heap'))?.timeNs, 5n);
  });
});
