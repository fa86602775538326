// node --import tsx bench/spool-bound.ts [--entries 10000,200000] [--puts 2000]
//
// The cost of a put with the spool at spool_max_bytes: each put is followed
// by the bound check OutputSet runs after every write, which drops the
// oldest profile(s) to make room. Fills a spool to its bound with N entries,
// then times M more puts, one at a time, and the bound check after each.
// Prints figures and one BENCH_SPOOL line per N.

import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { silentLogger } from '../src/core/log.js';
import { Spool, spooledBytes } from '../src/output/spool/spool.js';
import { freezeRecord, newRecordId, type ProfileRecord } from '../src/profile/record.js';
import { PROFILE_TYPES, shipNames } from '../src/profile/types.js';

const { values } = parseArgs({ options: { entries: { type: 'string', default: '10000,200000' }, puts: { type: 'string', default: '2000' } } });
const sizes = values.entries.split(',').map(Number);
const PUTS = Number(values.puts);
const OUTPUTS = ['datakit'];

let seq = 0;
function record(): ProfileRecord {
  seq++;
  return freezeRecord({
    id: newRecordId(1_800_000_000_000 + seq),
    targetId: `t${seq % 1000}`,
    type: 'heap',
    service: 'bench',
    env: 'bench',
    version: '1',
    instance: `10.0.${(seq >> 8) & 255}.${seq & 255}:6060`,
    startNs: 1n,
    endNs: 2n,
    tags: { service: 'bench' },
    customTags: {},
    pprof: Buffer.alloc(512, seq & 255),
    sampleCount: 1,
    isDelta: true,
    ...shipNames(PROFILE_TYPES.heap),
  });
}

for (const n of sizes) {
  const dir = mkdtempSync(join(tmpdir(), 'spool-bound-'));
  const per = spooledBytes(record(), OUTPUTS);
  const { spool } = await Spool.open({ dir, maxBytes: per * n, maxAgeMs: 365 * 86_400_000, logger: silentLogger() }, OUTPUTS);
  const fillStart = performance.now();
  for (let i = 0; i < n; i += 1000) await Promise.all(Array.from({ length: Math.min(1000, n - i) }, () => spool.put(record(), OUTPUTS)));
  const fillMs = performance.now() - fillStart;
  if (spool.profiles < n * 0.95) throw new Error(`filled ${spool.profiles}, wanted about ${n}`);

  // One put at a time (each waits for its own fsync), the bound check after
  // each timed alone: what the spool costs the main thread per profile.
  const checks: number[] = [];
  let dropped = 0;
  const start = performance.now();
  for (let i = 0; i < PUTS; i++) {
    await spool.put(record(), OUTPUTS);
    const t = performance.now();
    const gone = await spool.enforceBounds(false);
    checks.push(performance.now() - t);
    dropped += gone.length;
  }
  const totalMs = performance.now() - start;
  const held = spool.profiles;
  await spool.close();
  rmSync(dir, { recursive: true, force: true });
  checks.sort((a, b) => a - b);
  const boundUs = (checks.reduce((a, b) => a + b, 0) / PUTS) * 1000;
  const medianUs = checks[Math.floor(PUTS / 2)]! * 1000;
  const putUs = (totalMs / PUTS) * 1000;
  console.log(
    `spool at its bound with ${n} entries: bound check ${boundUs.toFixed(1)} µs per put (median ${medianUs.toFixed(1)}), put + check ${putUs.toFixed(0)} µs (one put at a time, each with its fsync); ${dropped} dropped for ${PUTS} puts; filled in ${(fillMs / 1000).toFixed(1)} s`,
  );
  console.log(`BENCH_SPOOL entries=${n} bound_check_us=${boundUs.toFixed(1)} bound_check_median_us=${medianUs.toFixed(1)} put_us=${putUs.toFixed(0)} dropped=${dropped} puts=${PUTS}`);
  if (held < n * 0.95) throw new Error(`after the puts the spool holds ${held}, wanted about ${n}`);
}
