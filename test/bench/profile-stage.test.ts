import assert from 'node:assert/strict';
import { test } from 'node:test';
import { formatStage, measureProfileStage, stageLine, stagePairs } from '../../bench/profile-stage.js';
import { parseBenchLine } from '../../bench/report.js';

test('the stage times every bench heap: the fixture, the farm\'s typical and large heaps, and the big service\'s', async () => {
  const pairs = stagePairs();
  assert.deepEqual(
    pairs.map((p) => p.slug),
    ['fixture', 'typical', 'large', 'service'],
  );
  for (const p of pairs) assert.notDeepEqual(p.prev, p.cur, `${p.slug}: two different versions`);
  assert.ok(pairs.find((p) => p.slug === 'service')!.cur.length >= 1_000_000);

  const [fixture] = await measureProfileStage(pairs.slice(0, 1));
  assert.equal(fixture!.samples, 22);
  assert.equal(fixture!.bytes, 2615);
  assert.ok(fixture!.deltaMs > 0 && fixture!.floorMs > 0);
  const line = parseBenchLine(stageLine(fixture!), 'BENCH_STAGE')!;
  assert.deepEqual(Object.keys(line), ['profile', 'kb', 'delta_ms', 'floor_ms', 'ratio']);
  assert.equal(line.profile, 'fixture');
  assert.equal(line.kb, '3');
  assert.equal(Number(line.ratio), Number((fixture!.deltaMs / fixture!.floorMs).toFixed(2)));
  assert.match(formatStage([fixture!]), /^profile stage: heap delta per profile vs the floor \(gunzip \+ gzip level 6 of the same bytes\), medians\n[\s\S]*fixture heap, 22 samples[\s\S]*\nBENCH_STAGE profile=fixture /);
});
