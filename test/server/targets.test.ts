// The /targets page as HTML, without a browser: times in words, escaping of
// what targets and configs control, the hint beside the error, the download
// link only for a kept profile, and a flame graph drawn from a real Go CPU
// profile (fixtures/profiles/cpu.pb.gz, recorded from fixtures/go-target) by
// /api/flame, once per profile. Paging and filtering over 5,000 synthetic
// targets: a page builds only its own rows and decodes no profile.
// The browser side is in test/integration/status.test.ts; the timing of a
// page at 10 and 5,000 targets is bench/targets-page.ts.

import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import type { IncomingMessage, ServerResponse } from 'node:http';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { selectPage, type TargetQuery, type TargetStatus } from '../../src/server/target-status.js';
import type { ProfileRecord } from '../../src/profile/record.js';
import { buildFlameGraph } from '../../src/server/flame.js';
import { FlameCache } from '../../src/server/flame-cache.js';
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
    datakitFileName: 'cpu.pprof',
    pyroscopeName: 'process_cpu',
    ...over,
  };
}

/** Pages of ready-made rows; `built` counts the rows a page asked for. */
function pager(targets: readonly TargetStatus[]) {
  const p = {
    built: 0,
    page: (q: TargetQuery) =>
      selectPage(
        targets,
        q,
        (s) => ({ service: s.service, healths: s.types.map((x) => x.health) }),
        (s) => (p.built++, s),
      ),
  };
  return p;
}

function source(targets: TargetStatus[], kept: ProfileRecord[] = []): StatusSource {
  const lastProfiles = new LastProfiles();
  for (const r of kept) lastProfiles.put(r);
  return {
    page: pager(targets).page,
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

  it('links the kept profile and leaves a slot for its flame graph, which /api/flame draws; /api/profile serves it', async () => {
    const src = source([good, bad], [record()]);
    const html = renderTargetsPage(src);
    assert.match(html, /<a href="\/api\/profile\?target=good&amp;type=cpu" download>/);
    const g = buildFlameGraph(CPU);
    assert.equal(g.unit, 'cpu nanoseconds');
    assert.ok(g.total > 0);
    assert.match(html, new RegExp(`<div class="flame-slot" data-src="/api/flame\\?target=good&amp;profile=${record().id}">`));
    assert.doesNotMatch(html, /class="frame"/, 'the page itself draws no flame graph');
    assert.match(html, /<p class="caption" data-for="good"><\/p>/);
    assert.doesNotMatch(html, /(src|href)="https?:/, 'nothing loaded from elsewhere');
    const flame = await call(statusRoutes(src)['/api/flame']!, `/api/flame?target=good&profile=${record().id}`);
    assert.equal(flame.status, 200);
    assert.match(flame.body.toString(), /class="frame"[^>]*data-name="main\.cpuBurner"/, 'the burner has a frame');
    assert.equal((await call(statusRoutes(src)['/api/flame']!, '/api/flame?target=bad')).status, 404);

    const res = await call(statusRoutes(src)['/api/profile']!, '/api/profile?target=good&type=cpu');
    assert.equal(res.status, 200);
    assert.ok(res.body.equals(CPU));
    assert.equal((await call(statusRoutes(src)['/api/profile']!, '/api/profile?target=good&type=heap')).status, 404);
  });
});

/** 5,000 targets: services svc-0000..svc-0499 (ten replicas each); every 7th has a type down, every 11th is pending. */
function synthetic(n: number): TargetStatus[] {
  return Array.from({ length: n }, (_, i): TargetStatus => {
    const health = i % 7 === 0 ? 'down' : i % 11 === 0 ? 'pending' : 'up';
    const id = `t${i}`;
    return {
      ...good,
      id,
      service: `svc-${String(Math.floor(i / 10)).padStart(4, '0')}`,
      url: `http://10.0.${Math.floor(i / 250)}.${i % 250}:6060/debug/pprof`,
      instance: `10.0.${Math.floor(i / 250)}.${i % 250}:6060`,
      types: [
        { ...good.types[0]!, profile: { id: `p-${id}`, bytes: CPU.length, startNs: '0', endNs: '0' } },
        { type: 'heap', health, consecutiveFailures: health === 'down' ? 2 : 0 },
      ],
    };
  });
}

describe('/targets paging and filtering', () => {
  const N = 5_000;
  const targets = synthetic(N);
  const kept = targets.map((t) => record({ id: `p-${t.id}`, targetId: t.id }));
  /** A source whose page builder counts rows, and routes whose flame cache counts decodes. */
  function setup() {
    const src = source(targets, kept);
    const p = pager(targets);
    const counted: StatusSource = { ...src, page: p.page };
    const flames = new FlameCache();
    return { p, flames, routes: statusRoutes(counted, flames) };
  }
  const sections = (html: string) => [...html.matchAll(/<section class="target" data-target-id="([^"]+)" data-service="([^"]+)">/g)].map((m) => ({ id: m[1]!, service: m[2]! }));
  const pagerOf = (html: string) => /<p class="pager" data-page="(\d+)" data-pages="(\d+)" data-matched="(\d+)">/.exec(html)!.slice(1).map(Number);

  it('at 5,000 targets a page builds its 50 rows only and decodes no profile; the header still counts every target and job', async () => {
    const { p, flames, routes } = setup();
    const res = await call(routes['/targets']!, '/targets');
    assert.equal(res.status, 200);
    const html = res.body.toString();
    assert.deepEqual(sections(html).map((x) => x.id), targets.slice(0, 50).map((t) => t.id));
    assert.equal(p.built, 50, 'rows built for one page');
    assert.equal(flames.builds, 0, 'profiles decoded to show the page');
    assert.doesNotMatch(html, /class="frame"/);
    const down = targets.filter((t) => t.types.some((x) => x.health === 'down')).length;
    assert.match(html, new RegExp(`<b>${N * 2 - down - targets.filter((t) => t.types[1]!.health === 'pending').length}</b> up, <b>${down}</b> down, ${N * 2} jobs`));
    assert.deepEqual(pagerOf(html), [1, 100, N]);
    assert.match(html, /targets 1–50 of 5000 shown \(5000 in all\)/);
    assert.match(html, /<a rel="next" href="\/targets\?page=2">next ›<\/a>/);
    assert.match(html, /<a rel="last" href="\/targets\?page=100">last »<\/a>/);
    assert.match(html, /<option value="down">down \(715\)<\/option>/, 'the health filter counts targets');
  });

  it('filters by health (a target is as healthy as its worst type) and by part of the service name, any case; pages keep the filter', async () => {
    const { p, routes } = setup();
    const html = (await call(routes['/targets']!, '/targets?health=down&per_page=25&page=3')).body.toString();
    const wantDown = targets.filter((t) => t.types.some((x) => x.health === 'down'));
    assert.deepEqual(sections(html).map((x) => x.id), wantDown.slice(50, 75).map((t) => t.id));
    assert.equal(p.built, 25);
    assert.deepEqual(pagerOf(html), [3, Math.ceil(wantDown.length / 25), wantDown.length]);
    assert.match(html, /<a rel="next" href="\/targets\?health=down&#38;per_page=25&#38;page=4">/);
    assert.match(html, /<a rel="prev" href="\/targets\?health=down&#38;per_page=25&#38;page=2">/);
    assert.match(html, /<option value="down" selected>/);

    const svc = (await call(routes['/targets']!, '/targets?service=SVC-004&per_page=100')).body.toString();
    const got = sections(svc);
    assert.deepEqual([...new Set(got.map((x) => x.service))], Array.from({ length: 10 }, (_, i) => `svc-004${i}`));
    assert.equal(got.length, 100, 'svc-0040..svc-0049, ten replicas each');
    assert.deepEqual(pagerOf(svc), [1, 1, 100]);
    assert.match(svc, /<option selected>100<\/option>/);
    assert.match(svc, /<input name="service" value="SVC-004"/);

    const none = (await call(routes['/targets']!, '/targets?service=nope&health=up')).body.toString();
    assert.deepEqual(sections(none), []);
    assert.match(none, /no target matches: <a href="\/targets">show all<\/a>/);
    // Past the last page: the last page.
    assert.deepEqual(pagerOf((await call(routes['/targets']!, '/targets?page=999')).body.toString()), [100, 100, N]);
  });

  it('a bad query is a 400 that says what is allowed', async () => {
    const { routes } = setup();
    for (const [path, want] of [
      ['/targets?health=sick', /^health must be one of down, skipped, pending, up \(or empty for any\), got "sick"$/],
      ['/targets?page=0', /^page must be a whole number from 1$/],
      ['/targets?per_page=5000', /^per_page must be a whole number from 1 to 1000$/],
      ['/api/targets?page=x', /^page must be a whole number from 1$/],
    ] as const) {
      const res = await call(routes[path.split('?')[0]!]!, path);
      assert.equal(res.status, 400, path);
      assert.match(res.body.toString().trim(), want, path);
    }
  });

  it('/api/targets: every target without a query, the same filters and pages with one', async () => {
    const { routes } = setup();
    const all = JSON.parse((await call(routes['/api/targets']!, '/api/targets')).body.toString()) as { targets: TargetStatus[]; matched: number; total: number; pages: number };
    assert.equal(all.targets.length, N);
    assert.deepEqual([all.matched, all.total, all.pages], [N, N, 1]);
    const down = JSON.parse((await call(routes['/api/targets']!, '/api/targets?health=down&service=svc-00&per_page=10')).body.toString()) as { targets: TargetStatus[]; matched: number; perPage: number };
    const want = targets.filter((t) => t.service.startsWith('svc-00') && t.types.some((x) => x.health === 'down'));
    assert.equal(down.matched, want.length);
    assert.equal(down.perPage, 10);
    assert.deepEqual(down.targets.map((t) => t.id), want.slice(0, 10).map((t) => t.id));
  });

  it('/api/flame draws a profile once, whatever the views; a newer profile of the target replaces it', async () => {
    const { flames, routes } = setup();
    const one = kept[42]!;
    for (let i = 0; i < 5; i++) {
      const res = await call(routes['/api/flame']!, `/api/flame?target=${one.targetId}`);
      assert.equal(res.status, 200);
      assert.match(res.body.toString(), /data-name="main\.cpuBurner"/);
    }
    assert.equal(flames.builds, 1);
    assert.equal(flames.size, 1);
    const src = source(targets, kept);
    src.lastProfiles.put(record({ id: 'p-newer', targetId: one.targetId }));
    const routes2 = statusRoutes(src, flames);
    await call(routes2['/api/flame']!, `/api/flame?target=${one.targetId}`);
    await call(routes2['/api/flame']!, `/api/flame?target=${one.targetId}`);
    assert.equal(flames.builds, 2, 'the newer profile is drawn once');
    assert.equal(flames.size, 1, 'the older drawing is dropped');
  });
});

describe('FlameCache', () => {
  it('stays within its byte budget, dropping the least recently used drawing', () => {
    const flames = new FlameCache(10_000, () => 'x'.repeat(3_000));
    for (const id of ['a', 'b', 'c']) flames.html(record({ id, targetId: id }));
    flames.html(record({ id: 'a', targetId: 'a' })); // a is now the most recent
    flames.html(record({ id: 'd', targetId: 'd' }));
    assert.equal(flames.size, 3);
    assert.equal(flames.builds, 4);
    flames.html(record({ id: 'a', targetId: 'a' }));
    assert.equal(flames.builds, 4, 'a was kept');
    flames.html(record({ id: 'b', targetId: 'b' }));
    assert.equal(flames.builds, 5, 'b was dropped');
  });

  it('a profile it cannot draw says so, escaped', () => {
    const flames = new FlameCache();
    assert.match(flames.html(record({ pprof: Buffer.from('<not a profile>') })), /^<p class="flame-empty">cannot draw this profile: /);
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
