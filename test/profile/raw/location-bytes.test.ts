// The encoder copies a sample's location ids as they are when it can (one
// packed field, written as it would write it, ids kept). How a profile
// writes those ids must not change a byte of the delta: the same profile
// with its samples' ids written one by one, padded, split over two fields or
// behind a padded key or length ships exactly what the plain one ships.

import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { describe, it } from 'node:test';
import { gunzipSync } from 'node:zlib';
import { PbReader, PbWriter, WIRE_LEN, WIRE_VARINT } from '../../../src/core/pb.js';
import { rawDelta, rawSampleTypeIndexes, scanProfile, validateRaw } from '../../../src/profile/raw/index.js';
import { ProfileVersions } from '../../../bench/versions.js';

const PROFILES = new URL('../../../fixtures/profiles/', import.meta.url);
const read = (f: string) => readFileSync(new URL(f, PROFILES));
const HEAP_DELTAS = ['alloc_objects', 'alloc_space'];

type Rewrite = (ids: number[], w: PbWriter) => void;

/** A varint with one byte of padding (a continuation bit and a 0 byte): legal, not the shortest. */
function paddedVarint(w: PbWriter, v: number): void {
  const tmp = new PbWriter(16);
  tmp.uint(v);
  const b = tmp.finish();
  const out = new Uint8Array(b.length + 1);
  out.set(b);
  out[b.length - 1]! |= 0x80;
  out[b.length] = 0;
  w.bytes(out);
}

function packed(ids: number[]): PbWriter {
  const p = new PbWriter(64);
  for (const id of ids) p.uint(id);
  return p;
}

const REWRITES: Record<string, Rewrite> = {
  'one field per id': (ids, w) => {
    for (const id of ids) {
      w.tag(1, WIRE_VARINT);
      w.uint(id);
    }
  },
  'padded ids': (ids, w) => {
    const p = new PbWriter(64);
    for (const id of ids) paddedVarint(p, id);
    w.message(1, p);
  },
  'two packed fields': (ids, w) => {
    const half = ids.length >> 1;
    w.message(1, packed(ids.slice(0, half)));
    w.message(1, packed(ids.slice(half)));
  },
  'a padded length': (ids, w) => {
    const p = packed(ids);
    w.tag(1, WIRE_LEN);
    paddedVarint(w, p.pos);
    w.bytes(p.finish());
  },
  'a padded key': (ids, w) => {
    const p = packed(ids);
    paddedVarint(w, (1 << 3) | WIRE_LEN);
    w.uint(p.pos);
    w.bytes(p.finish());
  },
};

/** The profile with every sample's location ids rewritten; all else as it was. */
function rewriteSamples(raw: Uint8Array, rewrite: Rewrite): Uint8Array {
  const out = new PbWriter(raw.length * 2);
  const r = new PbReader(raw);
  while (!r.done) {
    const fieldStart = r.pos;
    const t = r.tag();
    if (t !== ((2 << 3) | WIRE_LEN)) {
      r.skip(t & 7);
      out.bytes(raw.subarray(fieldStart, r.pos));
      continue;
    }
    const start = r.lenRange();
    const s = new PbReader(raw, start, r.pos);
    const ids: number[] = [];
    const rest = new PbWriter(256);
    while (!s.done) {
      const f0 = s.pos;
      const st = s.tag();
      if (st >>> 3 === 1) s.repeatedUint(st & 7, (id) => ids.push(id));
      else {
        s.skip(st & 7);
        rest.bytes(raw.subarray(f0, s.pos));
      }
    }
    const sample = new PbWriter(256);
    if (ids.length > 0) rewrite(ids, sample);
    sample.bytes(rest.finish());
    out.message(2, sample);
  }
  return out.finish().slice();
}

function delta(prev: Uint8Array, cur: Uint8Array): Uint8Array {
  const pa = scanProfile(prev);
  const idx = rawSampleTypeIndexes(pa, HEAP_DELTAS, 'heap');
  const base = rawDelta(pa, validateRaw(pa), undefined, idx, BigInt(pa.timeNanos)).baseline;
  const pb = scanProfile(cur);
  const out = rawDelta(pb, validateRaw(pb), base, idx, BigInt(pb.timeNanos));
  assert.equal(out.kind, 'delta');
  return out.kind === 'delta' ? out.profile : new Uint8Array();
}

const versions = new ProfileVersions(read('heap-typical.pb.gz'), { type: 'heap', startNanos: 1_700_000_000_000_000_000n, intervalNs: 10_000_000_000n });
const PAIRS: Record<string, [Uint8Array, Uint8Array]> = {
  // Some stacks unchanged: locations dropped, ids renumbered.
  'recorded heap-5 -> heap-6': [gunzipSync(read('heap-5.pb.gz')), gunzipSync(read('heap-6.pb.gz'))],
  // Every stack changed: every location kept with its id.
  'typical heap, versions 0 -> 1': [gunzipSync(versions.build(0)), gunzipSync(versions.build(1))],
};

describe('how a sample writes its location ids does not change the delta', () => {
  for (const [pair, [prev, cur]] of Object.entries(PAIRS)) {
    const plain = delta(prev, cur);
    for (const [how, rewrite] of Object.entries(REWRITES)) {
      it(`${pair}: ${how}`, () => {
        const rewritten = rewriteSamples(cur, rewrite);
        assert.notDeepEqual(rewritten, cur);
        assert.deepEqual(delta(prev, rewritten), plain);
      });
    }
  }
});
