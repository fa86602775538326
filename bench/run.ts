// npm run bench: prints the figures; asserts nothing.

import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { measureProfileStage } from './profile-stage.js';

const PROFILES = join(dirname(fileURLToPath(import.meta.url)), '..', 'fixtures', 'profiles');

async function main(): Promise<void> {
  process.stdout.write('profile stage: heap delta per profile vs the floor (gunzip + gzip of the same bytes), medians\n');
  const figures = await measureProfileStage(PROFILES, [
    ['heap (fixture, small)', 'heap-5.pb.gz', 'heap-6.pb.gz'],
    ['heap (3k stacks)', 'heap-large-1.pb.gz', 'heap-large-2.pb.gz'],
  ]);
  const rows = [['profile', 'gz bytes', 'samples', 'floor ms', 'delta ms', 'delta/floor', 'pprof-format decode+encode ms']];
  for (const f of figures) {
    rows.push([f.name, String(f.bytes), String(f.samples), f.floorMs.toFixed(2), f.deltaMs.toFixed(2), (f.deltaMs / f.floorMs).toFixed(2), f.decodeEncodeMs.toFixed(2)]);
  }
  const w = rows[0]!.map((_, i) => Math.max(...rows.map((r) => r[i]!.length)));
  for (const r of rows) process.stdout.write(`  ${r.map((c, i) => c.padEnd(w[i]!)).join('  ')}\n`);
  process.stdout.write(`peak RSS ${(process.resourceUsage().maxRSS / 1024).toFixed(0)} MB\n`);
}

await main();
