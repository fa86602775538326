import assert from 'node:assert/strict';
import { join } from 'node:path';
import { after, test } from 'node:test';
import { gunzipSync } from 'node:zlib';
import { Profile } from 'pprof-format';
import { Farm, loadFarmProfiles } from '../../bench/farm.js';
import { ROOT } from '../helpers/processes.js';

const PROFILES = join(ROOT, 'fixtures', 'profiles');
const START_MS = 1_800_000_000_000;

async function get(url: string): Promise<{ status: number; body: Buffer }> {
  const res = await fetch(url);
  return { status: res.status, body: Buffer.from(await res.arrayBuffer()) };
}

function allocTotal(gz: Buffer): { timeNanos: bigint; alloc: bigint[] } {
  const p = Profile.decode(gunzipSync(gz));
  return { timeNanos: BigInt(p.timeNanos), alloc: p.sample.map((s) => BigInt(s.value[1]!)) };
}

test('every farm target serves version k at its k-th heap scrape, past the 16 versions the farm used to stop at', async () => {
  const profiles = loadFarmProfiles(PROFILES, { heapFile: 'heap-6.pb.gz', intervalMs: 10_000, startMs: START_MS });
  const farm = await Farm.start(2, profiles);
  after(() => farm.close());
  const [a, b] = farm.urls as [string, string];
  const seen: Buffer[] = [];
  for (let k = 0; k < 24; k++) {
    const ra = await get(`${a}/debug/pprof/heap`);
    assert.equal(ra.status, 200);
    seen.push(ra.body);
    if (k > 0) {
      const prev = allocTotal(seen[k - 1]!);
      const cur = allocTotal(ra.body);
      assert.equal(cur.timeNanos - prev.timeNanos, 10_000_000_000n, `scrape ${k + 1}: the profile time moves on by the interval`);
      cur.alloc.forEach((v, i) => assert.ok(v > prev.alloc[i]!, `scrape ${k + 1}: stack ${i} alloc_space grew (${prev.alloc[i]} -> ${v})`));
    }
  }
  assert.equal(allocTotal(seen[0]!).timeNanos, BigInt(START_MS) * 1_000_000n);
  // The second target, scraped later, walks the same versions (built once).
  for (let k = 0; k < 24; k++) assert.deepEqual((await get(`${b}/debug/pprof/heap`)).body, seen[k]);
  assert.equal(profiles.cumulative.heap.builds, 24);
  assert.deepEqual(profiles.cumulative.heap.heldVersions, []);

  // The other types: as recorded, and Go's answer to an unknown profile.
  assert.equal((await get(`${a}/debug/pprof/goroutine`)).body.length, profiles.goroutine.length);
  const mutex = [await get(`${a}/debug/pprof/mutex`), await get(`${a}/debug/pprof/mutex`)];
  assert.notDeepEqual(mutex[0]!.body, mutex[1]!.body);
  const unknown = await get(`${a}/debug/pprof/nope`);
  assert.equal(unknown.status, 404);
  assert.equal(unknown.body.toString(), 'Unknown profile\n');
});
