import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { ackEntry, baselineEntry, baselineFromEntry, EntryKind, parseEntry, recordEntry, recordFromEntry, SpoolCorruptError, type SavedBaseline } from '../../../src/output/spool/format.js';
import { newRecordId } from '../../../src/profile/record.js';
import { fixtureProfile, makeRecord } from '../../helpers/records.js';

const join = (parts: Buffer[]) => Buffer.concat(parts);
const baseline: SavedBaseline = { targetId: 't1', type: 'heap', timeNs: 1_795_000_010_987_654_321n, savedAtMs: 1_795_000_011_000, body: fixtureProfile('heap-2.pb.gz') };

describe('spool entry format', () => {
  test('a record survives encode/parse exactly, bigints and tags included, with and without the baseline it carries', () => {
    const r = makeRecord({ id: newRecordId(Date.now()), startNs: 1_795_000_000_123_456_789n, endNs: 1_795_000_010_987_654_321n, isDelta: true, type: 'heap' });
    for (const b of [undefined, baseline]) {
      const e = parseEntry(join(recordEntry(r, ['a', 'b'], b)), 0)!;
      assert.equal(e.kind, EntryKind.Record);
      const back = recordFromEntry(e);
      assert.deepEqual({ ...back, pprof: back.pprof.toString('hex') }, { ...r, pprof: r.pprof.toString('hex') });
      assert.ok(Object.isFrozen(back));
      assert.deepEqual(e.header.outputs, ['a', 'b']);
      const saved = baselineFromEntry(e);
      if (!b) assert.equal(saved, null);
      else assert.deepEqual({ ...saved!, body: Buffer.from(saved!.body).toString('hex') }, { ...b, body: Buffer.from(b.body).toString('hex') });
    }
  });

  test('a record\'s tenant survives encode/parse (a restart must not send it under the output\'s tenant); none stays none', () => {
    const withTenant = recordFromEntry(parseEntry(join(recordEntry(makeRecord({ tenantId: 'team-a' }), ['out'])), 0)!);
    assert.equal(withTenant.tenantId, 'team-a');
    const without = recordFromEntry(parseEntry(join(recordEntry(makeRecord(), ['out'])), 0)!);
    assert.equal('tenantId' in without, false);
  });

  test('a baseline entry carries the body and its time', () => {
    const e = parseEntry(join(baselineEntry(baseline)), 0)!;
    assert.equal(e.kind, EntryKind.Baseline);
    const b = baselineFromEntry(e)!;
    assert.equal(b.timeNs, baseline.timeNs);
    assert.ok(Buffer.from(b.body).equals(Buffer.from(baseline.body)));
  });

  test('entries follow each other; a torn or flipped entry is refused (null), never half-read', () => {
    const a = join(ackEntry('out', ['x', 'y']));
    const r = join(recordEntry(makeRecord(), ['out']));
    const buf = Buffer.concat([a, r]);
    const first = parseEntry(buf, 0)!;
    assert.equal(first.size, a.length);
    assert.deepEqual(first.header, { output: 'out', ids: ['x', 'y'] });
    assert.equal(parseEntry(buf, first.size)!.kind, EntryKind.Record);
    assert.equal(parseEntry(buf.subarray(0, buf.length - 1), first.size), null, 'torn tail');
    const flipped = Buffer.from(buf);
    flipped[first.size + 40] = flipped[first.size + 40]! ^ 0xff;
    assert.equal(parseEntry(flipped, first.size), null, 'flipped byte');
    assert.equal(parseEntry(Buffer.from('not an entry at all, really not'), 0), null);
    assert.equal(parseEntry(buf, buf.length), null, 'the end');
  });

  test('a custom type keeps the names it ships under; an entry from before the names were kept gets its built-in type\'s', () => {
    const fg = makeRecord({ type: 'fgprof', datakitFileName: 'fgprof.pprof', pyroscopeName: 'fgprof' });
    const back = recordFromEntry(parseEntry(join(recordEntry(fg, ['a'])), 0)!);
    assert.deepEqual([back.type, back.datakitFileName, back.pyroscopeName], ['fgprof', 'fgprof.pprof', 'fgprof']);

    // An older entry: the same header without the two names.
    const older = (r: typeof fg) => {
      const e = parseEntry(join(recordEntry(r, ['a'])), 0)!;
      const { datakitFileName: _d, pyroscopeName: _p, ...header } = e.header;
      return { ...e, header };
    };
    const heap = recordFromEntry(older(makeRecord({ type: 'heap', isDelta: true })));
    assert.deepEqual([heap.datakitFileName, heap.pyroscopeName], ['delta-heap.pprof', 'memory']);
    assert.throws(() => recordFromEntry(older(fg)), SpoolCorruptError);
  });

  test('a godeltaprof read is a baseline with an empty body and its time', () => {
    const read: SavedBaseline = { targetId: 't1', type: 'heap', timeNs: 1_795_000_020_000_000_000n, savedAtMs: 1_795_000_020_001, body: new Uint8Array(0) };
    for (const e of [parseEntry(join(baselineEntry(read)), 0)!, parseEntry(join(recordEntry(makeRecord({ type: 'heap', isDelta: true }), ['a'], read)), 0)!]) {
      const b = baselineFromEntry(e)!;
      assert.equal(b.timeNs, read.timeNs);
      assert.equal(b.body.length, 0);
    }
  });
});
