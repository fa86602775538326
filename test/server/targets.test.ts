// The /targets page as HTML, without a browser: times in words, escaping of
// what targets and configs control, the hint beside the error, the download
// link only for a kept profile, and a flame graph drawn from a real Go CPU
// profile (fixtures/profiles/cpu.pb.gz, recorded from fixtures/go-target).
// The browser side is in test/integration/status.test.ts.

import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import type { IncomingMessage, ServerResponse } from 'node:http';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import type { TargetStatus } from '../../src/server/target-status.js';
import type { ProfileRecord } from '../../src/profile/record.js';
import { buildFlameGraph } from '../../src/server/flame.js';
import { LastProfiles } from '../../src/server/last-profiles.js';
import { renderTargetsPage, statusRoutes, type StatusSource } from '../../src/server/targets.js';
import { ROOT } from '../helpers/processes.js';

const NOW = 1_700_000_000_000;
const CPU = readFileSync(join(ROOT, 'fixtures', 'profiles', 'cpu.pb.gz'));

function record(over: Partial<ProfileRecord> = {}): ProfileRecord {
  return {
    id: '0190aaaa-bbbb-7ccc-8ddd-eeeeeeeeeeee',
    targetId: 'good',
    type: 'cpu',
    service: 'svc',
    env: 'e',
    version: 'v',
    instance: '127.0.0.1:6060',
    startNs: BigInt(NOW - 9_000) * 1_000_000n,
    endNs: BigInt(NOW) * 1_000_000n,
    tags: {},
    customTags: {},
    pprof: CPU,
    sampleCount: 10,
    isDelta: false,
    ...over,
  };
}

function source(targets: TargetStatus[], kept: ProfileRecord[] = []): StatusSource {
  const lastProfiles = new LastProfiles();
  for (const r of kept) lastProfiles.put(r);
  return {
    status: () => targets,
    outputStats: () => ({ file: { sent: 3, retried: 1, dropped: 0, depth: 2, inFlight: 0 } }),
    lastProfiles,
    about: () => ({ configFile: 'conf.d/profile.conf', version: '0.1.0', startedAtMs: NOW - 60_000 }),
    now: () => NOW,
  };
}

const good: TargetStatus = {
  id: 'good',
  url: 'http://127.0.0.1:6060/debug/pprof',
  service: 'svc',
  env: 'e',
  version: 'v',
  instance: '127.0.0.1:6060',
  tags: { team: 'a&b' },
  intervalMs: 10_000,
  types: [
    {
      type: 'cpu',
      health: 'up',
      result: 'shipped',
      lastScrapeAtMs: NOW - 12_000,
      durationMs: 9_100,
      // A slot 200 ms away rounds to 0 s: said as "now".
      nextScrapeAtMs: NOW + 200,
      samples: 10,
      bytes: CPU.length,
      consecutiveFailures: 0,
      profile: { id: record().id, bytes: CPU.length, startNs: '0', endNs: '0' },
    },
    { type: 'heap', health: 'pending', consecutiveFailures: 0, nextScrapeAtMs: NOW + 4_000 },
  ],
};

const bad: TargetStatus = {
  id: 'bad',
  url: 'http://127.0.0.1:9999/debug/pprof',
  service: '<script>alert(1)</script>',
  env: 'e',
  version: 'v',
  instance: '127.0.0.1:9999',
  tags: {},
  intervalMs: 10_000,
  types: [
    {
      type: 'heap',
      health: 'down',
      result: 'failed',
      lastScrapeAtMs: NOW - 3_000,
      durationMs: 2,
      nextScrapeAtMs: NOW + 7_000,
      samples: 0,
      bytes: 0,
      error: { code: 'invalid_profile', message: 'the response is an HTML page: <html>' },
      hint: 'an HTML page answers here: point url at "the port"',
      consecutiveFailures: 4,
    },
  ],
};

describe('/targets page', () => {
  it('says times in words, with "now" for a slot under half a second away', () => {
    const html = renderTargetsPage(source([good, bad], [record()]));
    const cpuRow = /<tr class="type-row health-up" data-type="cpu"[\s\S]*?<\/tr>/.exec(html)?.[0] ?? '';
    assert.match(cpuRow, /<td>12s ago<\/td><td>9\.10s<\/td>\s*<td>now<\/td>/, cpuRow);
    assert.doesNotMatch(html, /0s ago/);
    assert.match(html, /<td>in 4s<\/td>/, 'a pending type shows its first slot');
    assert.match(html, /<b>1<\/b> up, <b>1<\/b> down, 3 jobs/);
  });

  it('escapes what targets and configs control; shows the error, the hint, the failure streak', () => {
    const html = renderTargetsPage(source([good, bad], [record()]));
    assert.doesNotMatch(html, /<script>alert/);
    assert.match(html, /&#60;script&#62;alert\(1\)&#60;\/script&#62;/);
    assert.match(html, /team=a&#38;b/);
    const badRow = /<tr class="type-row health-down"[\s\S]*?<\/tr>/.exec(html)?.[0] ?? '';
    assert.match(badRow, /<span class="badge down">down<\/span> <small>4× in a row<\/small>/);
    assert.match(badRow, /<div class="err">the response is an HTML page: &#60;html&#62;<\/div>/);
    assert.match(badRow, /<div class="hint">an HTML page answers here: point url at &#34;the port&#34;<\/div>/);
    assert.match(badRow, /<td>-<\/td>\s*<td class="problem">/, 'no download link without a kept profile');
  });

  it('links the kept profile and draws its flame graph; /api/profile serves it', async () => {
    const src = source([good, bad], [record()]);
    const html = renderTargetsPage(src);
    assert.match(html, /<a href="\/api\/profile\?target=good&amp;type=cpu" download>/);
    const g = buildFlameGraph(CPU);
    assert.equal(g.unit, 'cpu nanoseconds');
    assert.ok(g.total > 0);
    assert.match(html, /class="frame"[^>]*data-name="main\.cpuBurner"/, 'the burner has a frame');
    assert.match(html, /<p class="caption" data-for="good"><\/p>/);
    assert.doesNotMatch(html, /(src|href)="https?:/, 'nothing loaded from elsewhere');

    const res = await call(statusRoutes(src)['/api/profile']!, '/api/profile?target=good&type=cpu');
    assert.equal(res.status, 200);
    assert.ok(res.body.equals(CPU));
    assert.equal((await call(statusRoutes(src)['/api/profile']!, '/api/profile?target=good&type=heap')).status, 404);
  });
});

/** Runs a route with a minimal request/response pair. */
async function call(route: NonNullable<ReturnType<typeof statusRoutes>[string]>, path: string): Promise<{ status: number; body: Buffer }> {
  let status = 0;
  const chunks: Buffer[] = [];
  const res = {
    headersSent: false,
    writeHead(s: number) {
      status = s;
      return res;
    },
    end(b?: string | Uint8Array) {
      if (b !== undefined) chunks.push(Buffer.from(b));
      return res;
    },
  };
  await route({} as IncomingMessage, res as unknown as ServerResponse, new URL(path, 'http://collector'));
  return { status, body: Buffer.concat(chunks) };
}
