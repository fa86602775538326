import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { test } from 'node:test';
import { gunzipSync } from 'node:zlib';
import { Profile } from 'pprof-format';
import { BIG_HEAP_FILE, bigHeapFixture, MAX_DEPTH } from '../../bench/big-heap.js';
import { ROOT } from '../helpers/processes.js';

const PROFILES = join(ROOT, 'fixtures', 'profiles');
const committed = readFileSync(join(PROFILES, BIG_HEAP_FILE));
const sha256 = (b: Uint8Array) => createHash('sha256').update(b).digest('hex');

test('the committed big-service heap is what bench/big-heap.ts makes from its seed, and the manifest says so', () => {
  const made = bigHeapFixture();
  assert.equal(sha256(gunzipSync(made.gz)), sha256(gunzipSync(committed)));
  const manifest = JSON.parse(readFileSync(join(PROFILES, 'manifest.json'), 'utf8')) as { files: Record<string, string> };
  assert.equal(manifest.files[BIG_HEAP_FILE], made.note);
});

test('the big-service heap is over 1 MB gzipped, with stacks up to 128 frames sharing deep common prefixes', () => {
  assert.ok(committed.length >= 1_000_000, `${committed.length} bytes`);
  const p = Profile.decode(gunzipSync(committed));
  const strings = p.stringTable.strings;
  assert.deepEqual(
    p.sampleType.map((t) => strings[Number(t.type)]),
    ['alloc_objects', 'alloc_space', 'inuse_objects', 'inuse_space'],
  );
  const depths = p.sample.map((s) => s.locationId.length).sort((a, b) => a - b);
  assert.equal(depths[depths.length - 1], MAX_DEPTH);
  assert.ok(depths.filter((d) => d === MAX_DEPTH).length >= 100, 'stacks cut at 128 frames');
  assert.ok(p.location.length >= 20_000 && p.function.length >= 5_000, `${p.location.length} locations, ${p.function.length} functions`);
  for (const s of p.sample) {
    assert.equal(strings[Number(s.label[0]!.key)], 'bytes', 'every sample has Go\'s bytes label');
    assert.ok(BigInt(s.value[1]!) === BigInt(s.value[0]!) * BigInt(s.label[0]!.num), 'alloc_space = alloc_objects x size');
  }
  // Root first, sorted: a stack's common prefix with its neighbour is what it shares with the closest other stack.
  const stacks = p.sample.map((s) => s.locationId.map(Number).reverse()).sort((a, b) => {
    for (let i = 0; i < Math.min(a.length, b.length); i++) if (a[i] !== b[i]) return a[i]! - b[i]!;
    return a.length - b.length;
  });
  const shared = stacks.slice(1).map((s, i) => {
    const prev = stacks[i]!;
    let n = 0;
    while (n < s.length && n < prev.length && s[n] === prev[n]) n++;
    return n;
  });
  shared.sort((a, b) => a - b);
  const median = shared[shared.length >> 1]!;
  assert.ok(median >= 20, `median prefix shared with the closest stack: ${median} frames`);
  const distinct = new Set(p.sample.map((s) => `${s.locationId.join(',')}|${s.label[0]!.num}`));
  assert.equal(distinct.size, p.sample.length, 'one sample per stack and size, as Go writes them');
});
