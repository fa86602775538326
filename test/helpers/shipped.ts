// Records as the profile stage ships them, from the recorded fixture
// profiles: cpu and goroutine as scraped, heap/mutex/block as the delta of
// two consecutive scrapes (ProfileProcessor, the production path).

import { ProfileProcessor } from '../../src/profile/processor.js';
import type { ProfileRecord } from '../../src/profile/record.js';
import type { ProfileTypeName } from '../../src/profile/types.js';
import { decode, fixture, i64 } from './pprof-model.js';
import { testTarget } from './targets.js';

/** Which fixtures make each shipped record: one scrape, or a baseline and the next scrape. */
export const SHIPPED_FIXTURES: ReadonlyArray<readonly [ProfileTypeName, readonly string[]]> = [
  ['cpu', ['cpu.pb.gz']],
  ['goroutine', ['goroutine.pb.gz']],
  ['heap', ['heap-1.pb.gz', 'heap-2.pb.gz']],
  ['mutex', ['mutex-1.pb.gz', 'mutex-2.pb.gz']],
  ['block', ['block-1.pb.gz', 'block-2.pb.gz']],
  ['heap', ['heap-large-1.pb.gz', 'heap-large-2.pb.gz']],
];

export interface ShippedFixture {
  readonly label: string;
  readonly record: ProfileRecord;
}

/** One shipped record per SHIPPED_FIXTURES entry, through the real processor. */
export async function shippedRecords(): Promise<ShippedFixture[]> {
  const out: ShippedFixture[] = [];
  for (const [type, names] of SHIPPED_FIXTURES) {
    const proc = new ProfileProcessor({ now: () => 1_800_000_000_000 });
    const target = testTarget();
    let record: ProfileRecord | undefined;
    for (const name of names) {
      const gz = fixture(name);
      const ms = Number(i64(decode(gz).timeNanos) / 1_000_000n);
      // cpu: the request spans the 2 s window; the others are snapshots.
      const startedAtMs = type === 'cpu' ? ms : ms - 20;
      const r = await proc.process({ target, type, body: gz, contentType: 'application/octet-stream', startedAtMs, finishedAtMs: type === 'cpu' ? ms + 2000 : ms });
      if (r.kind === 'shipped') record = r.record;
    }
    if (!record) throw new Error(`${names.join(' -> ')}: the processor shipped nothing`);
    out.push({ label: names.join(' -> '), record });
  }
  return out;
}
