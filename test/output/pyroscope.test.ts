// The Pyroscope output against the strict Pyroscope double: the push body as
// protobufjs decodes it by the schema, the /ingest query and multipart body,
// names and labels per type, auth and tenant headers, tag renames, and the
// retry decision for each connect code and HTTP status (through the real
// DeliveryQueue and Backoff on a fake clock). Secrets never reach a log line.

import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, beforeEach, describe, it, type TestContext } from 'node:test';
import { Agent } from 'undici';
import type { OutputAuth, PyroscopeOutputConfig } from '../../src/config/types.js';
import { createLogger, type Logger } from '../../src/core/log.js';
import { ingestBody, ingestQuery, pushRequestBody, PyroscopeSender } from '../../src/output/pyroscope.js';
import { DeliveryQueue, type DeliveryEvents } from '../../src/output/queue.js';
import { Backoff, type DeliveryError } from '../../src/output/retry.js';
import type { ProfileRecord } from '../../src/profile/record.js';
import type { DefaultTypeName as ProfileTypeName } from '../../src/profile/types.js';
import { FakeClock } from '../helpers/fake-clock.js';
import { goToolPprof } from '../helpers/pprof.js';
import { sleep, waitFor } from '../helpers/processes.js';
import {
  decodePushRequest,
  encodePushRequest,
  INGEST_PATH,
  PUSH_PATH,
  PyroscopeServer,
  startPyroscope,
  type ConnectCode,
  type DecodedLabel,
  type PyroscopeMode,
} from '../helpers/pyroscope-server.js';
import { fixtureProfile, makeRecord } from '../helpers/records.js';

const PASSWORD = 'pw-Zq81-never-logged';
const TOKEN = 'tok-Hk52-never-logged';
const USER = 'pyro-user';
const BASIC = `Basic ${Buffer.from(`${USER}:${PASSWORD}`).toString('base64')}`;

const FIXTURE: Record<ProfileTypeName, string> = {
  cpu: 'cpu.pb.gz',
  heap: 'heap-2.pb.gz',
  goroutine: 'goroutine.pb.gz',
  mutex: 'mutex-2.pb.gz',
  block: 'block-2.pb.gz',
};
const TYPES = Object.keys(FIXTURE) as ProfileTypeName[];
const PUSH_NAME: Record<ProfileTypeName, string> = { cpu: 'process_cpu', heap: 'memory', goroutine: 'goroutine', mutex: 'mutex', block: 'block' };
const INGEST_NAME: Record<ProfileTypeName, string> = { cpu: 'process_cpu', heap: 'memory', goroutine: 'goroutines', mutex: 'mutex', block: 'block' };
const DELTA = new Set<ProfileTypeName>(['heap', 'mutex', 'block']);

/** Every log line of every logger in this file (for the secrets check at the end). */
const allLines: string[] = [];

function capture(): { lines: string[]; logger: Logger } {
  const lines: string[] = [];
  const logger = createLogger({
    level: 'debug',
    destination: {
      write(s: string) {
        lines.push(s);
        allLines.push(s);
      },
    },
  });
  return { lines, logger };
}

const parsed = (lines: readonly string[]) => lines.map((l) => JSON.parse(l) as Record<string, unknown>);

function recordOf(type: ProfileTypeName, over: Partial<ProfileRecord> = {}): ProfileRecord {
  return makeRecord({ type, pprof: fixtureProfile(FIXTURE[type]), isDelta: DELTA.has(type), ...over });
}

/** The labels makeRecord's default tags become, in the order they are sent. */
function expectedLabels(type: ProfileTypeName): DecodedLabel[] {
  const ls: Array<[string, string]> = [
    ['__name__', PUSH_NAME[type]],
    ['service_name', 'checkout'],
    ['host', 'build-box'],
    ['instance', '127.0.0.1:6060'],
    ['team', 'payments'],
    ['region', 'eu-1'],
    ['env', 'staging'],
    ['version', '1.4.2'],
  ];
  if (DELTA.has(type)) ls.push(['__delta__', 'false']);
  return ls.map(([name, value]) => ({ name, value }));
}

/** How often waitFor polls here: deliveries to the loopback double take milliseconds. */
const POLL_MS = 5;

describe('pushRequestBody, decoded by the schema with protobufjs', () => {
  for (const type of TYPES) {
    it(`${type}: one series, exactly the expected labels, one sample with the record id and bytes`, (t: TestContext) => {
      const r = recordOf(type);
      const body = pushRequestBody(r);
      const d = decodePushRequest(body);
      assert.equal(d.canonical, true, 'protobufjs re-encodes the decoded message to the same bytes (no stray fields)');
      assert.equal(d.series.length, 1);
      const s = d.series[0]!;
      assert.deepEqual(s.labels, expectedLabels(type));
      assert.equal(s.samples.length, 1);
      assert.equal(s.samples[0]!.ID, r.id);
      assert.ok(s.samples[0]!.raw_profile.equals(r.pprof), 'raw_profile is the record bytes, unchanged');
      if (type === 'heap') {
        t.diagnostic(`push request (heap): ${body.length} bytes, raw_profile ${r.pprof.length} bytes, labels ${s.labels.map((l) => `${l.name}=${JSON.stringify(l.value)}`).join(' ')}`);
      }
    });
  }

  it('a sanitised tag is sent under its new name, its value unchanged', () => {
    const r = makeRecord({ tags: { service: 'checkout', host: 'h', instance: 'i:1', 'team-name': 'core', 'k8s.pod': 'p-1' } });
    const d = decodePushRequest(pushRequestBody(r));
    assert.deepEqual(d.series[0]!.labels, [
      { name: '__name__', value: 'process_cpu' },
      { name: 'service_name', value: 'checkout' },
      { name: 'host', value: 'h' },
      { name: 'instance', value: 'i:1' },
      { name: 'team_name', value: 'core' },
      { name: 'k8s.pod', value: 'p-1' },
    ]);
  });
});

describe('the Pyroscope double is strict (so an accept means something)', () => {
  let pyro: PyroscopeServer;
  before(async () => {
    pyro = await startPyroscope();
  });
  after(() => pyro.close());
  beforeEach(() => pyro.reset());

  const gz = fixtureProfile('cpu.pb.gz');
  const good: DecodedLabel[] = [
    { name: '__name__', value: 'process_cpu' },
    { name: 'service_name', value: 'svc' },
  ];
  const uuid = '0190a1b2-c3d4-7e5f-8a9b-0c1d2e3f4a5b';
  const push = (body: Uint8Array, headers: Record<string, string> = { 'content-type': 'application/proto', 'connect-protocol-version': '1' }, method = 'POST') =>
    fetch(`${pyro.url}${PUSH_PATH}`, { method, headers, ...(method === 'POST' ? { body } : {}) });
  const one = (labels: DecodedLabel[], raw: Uint8Array = gz, ID = uuid) => encodePushRequest([{ labels, samples: [{ raw_profile: raw, ID }] }]);

  it('push: off-contract requests get the connect error the server gives, and are recorded', async () => {
    const many = [...good, ...Array.from({ length: 29 }, (_, i) => ({ name: `t${i}`, value: 'v' }))];
    const cases: Array<[Promise<globalThis.Response>, number, string | undefined, RegExp]> = [
      [push(one([{ name: '__name__', value: 'process_cpu' }])), 400, 'invalid_argument', /service name is not provided/],
      [push(one([...good, { name: 'team-name', value: 'x' }])), 400, 'invalid_argument', /invalid label name 'team-name'/],
      [push(one(many)), 400, 'invalid_argument', /has 31 label names; limit 30/],
      [push(one([...good, { name: 'env', value: 'a' }, { name: 'env', value: 'b' }])), 400, 'invalid_argument', /duplicate label name: 'env'/],
      [push(one([{ name: '__name__', value: 'cpu' }, good[1]!])), 400, 'invalid_argument', /unknown profile name "cpu"/],
      [push(one(good, Buffer.from('not a profile at all'))), 400, 'invalid_argument', /failed to parse pprof/],
      [push(one(good, gz, 'profile-1')), 400, 'invalid_argument', /is not a UUID/],
      [push(Buffer.from([0x0a, 0xff, 0xff])), 400, 'invalid_argument', /unmarshal into \*v1.PushRequest/],
      [push(one(good), { 'content-type': 'application/proto' }), 400, 'invalid_argument', /Connect-Protocol-Version/],
      [push(one(good), { 'content-type': 'application/json', 'connect-protocol-version': '1' }), 415, undefined, /unsupported content-type/],
      [push(one(good), {}, 'GET'), 405, undefined, /method GET/],
    ];
    for (const [res, status, code, reason] of cases) {
      const r = await res;
      assert.equal(r.status, status, String(reason));
      const text = await r.text();
      if (code) {
        assert.equal(r.headers.get('content-type'), 'application/json');
        const e = JSON.parse(text) as { code: string; message: string };
        assert.equal(e.code, code);
        assert.match(e.message, reason);
      } else {
        assert.match(text, reason);
      }
    }
    assert.equal(pyro.rejections.length, cases.length);
    assert.equal(pyro.accepted.length, 0);
    const ok = await push(one(good));
    assert.equal(ok.status, 200);
    assert.equal(ok.headers.get('content-type'), 'application/proto');
    assert.equal((await ok.arrayBuffer()).byteLength, 0);
    assert.equal(pyro.accepted.length, 1);
    assert.equal(pyro.accepted[0]!.id, uuid);
    assert.equal(pyro.accepted[0]!.name, 'process_cpu');
  });

  it('ingest: off-contract requests get 400/422 with a reason; format=pprof reads the body raw, not as multipart', async () => {
    const block = makeRecord({ type: 'block', pprof: fixtureProfile('block-2.pb.gz') });
    const mp = ingestBody(block);
    const q = ingestQuery(block);
    const post = (query: string, ct: string, body: Uint8Array) => fetch(`${pyro.url}${INGEST_PATH}?${query}`, { method: 'POST', headers: { 'content-type': ct }, body });
    const without = (k: string) => {
      const c = new URLSearchParams(q);
      c.delete(k);
      return c.toString();
    };
    const withParam = (k: string, v: string) => {
      const c = new URLSearchParams(q);
      c.set(k, v);
      return c.toString();
    };
    const avg = Buffer.from(mp.body.toString('latin1').replace('"display-name":"block_count"', '"display-name":"block_count","aggregation":"avg"'), 'latin1');
    const cases: Array<[Promise<globalThis.Response>, number, RegExp]> = [
      [post(withParam('format', 'pprof'), mp.contentType, mp.body), 422, /failed to parse pprof/],
      [post(without('from'), mp.contentType, mp.body), 400, /from is required/],
      [post(withParam('until', '123456789012'), mp.contentType, mp.body), 400, /12 digits/],
      [post(withParam('name', 'app{a=b'), mp.contentType, mp.body), 400, /no closing '}'/],
      [post(withParam('name', 'app{a=b}x'), mp.contentType, mp.body), 400, /characters after '}'/],
      [post(without('name'), mp.contentType, mp.body), 400, /"name" is required/],
      [post(q.toString(), 'application/octet-stream', block.pprof), 400, /without format=pprof/],
      [post(q.toString(), mp.contentType, avg), 422, /aggregation is "avg"/],
    ];
    for (const [res, status, reason] of cases) {
      const r = await res;
      assert.equal(r.status, status, String(reason));
      assert.match(await r.text(), reason);
    }
    assert.equal(pyro.rejections.length, cases.length);
    assert.equal(pyro.accepted.length, 0);

    // The same raw profile with format=pprof is accepted, and (no sample_type_config) a block profile is taken for mutex.
    const raw = await post(withParam('format', 'pprof'), 'application/octet-stream', block.pprof);
    assert.equal(raw.status, 200);
    assert.equal(pyro.accepted.at(-1)!.name, 'mutex');
    // A sample_type_config sent as a plain field (no filename) is not read, as in Go's form.File.
    const plain = Buffer.from(mp.body.toString('latin1').replace('; filename="sample_type_config.json"', ''), 'latin1');
    assert.equal((await post(q.toString(), mp.contentType, plain)).status, 200);
    assert.equal(pyro.accepted.at(-1)!.name, 'mutex');
    assert.equal(pyro.accepted.at(-1)!.sampleTypeConfig, undefined);
    // As the collector sends it: named block.
    assert.equal((await post(q.toString(), mp.contentType, mp.body)).status, 200);
    assert.equal(pyro.accepted.at(-1)!.name, 'block');
  });
});

describe('PyroscopeSender against the double', () => {
  let pyro: PyroscopeServer;
  let agent: Agent;
  let dir: string;

  before(async () => {
    pyro = await startPyroscope();
    agent = new Agent({ connections: 8 });
    dir = mkdtempSync(join(tmpdir(), 'pyro-test-'));
  });
  after(async () => {
    await agent.close();
    await pyro.close();
    rmSync(dir, { recursive: true, force: true });
  });
  beforeEach(() => pyro.reset());

  function cfg(over: Partial<PyroscopeOutputConfig> = {}): PyroscopeOutputConfig {
    return { kind: 'pyroscope', name: 'pyro', source: { file: 'test.conf', line: 1 }, url: pyro.url, api: 'push', tenantId: '', headers: {}, timeoutMs: 5_000, ...over };
  }

  const signal = () => new AbortController().signal;

  it('push: each of the five types is accepted with its __name__, __delta__ only on the delta types, and go tool pprof reads it', async () => {
    const { logger } = capture();
    const sender = new PyroscopeSender(cfg(), agent, logger);
    const records = TYPES.map((type) => recordOf(type));
    for (const r of records) await sender.send(r, signal());
    assert.deepEqual(pyro.rejections, []);
    assert.equal(pyro.accepted.length, 5);
    pyro.accepted.forEach((a, i) => {
      const r = records[i]!;
      assert.equal(a.api, 'push');
      assert.equal(a.name, PUSH_NAME[r.type as ProfileTypeName]);
      assert.deepEqual(
        a.labelOrder.map((k) => ({ name: k, value: a.labels[k] })),
        expectedLabels(r.type as ProfileTypeName),
        r.type,
      );
      assert.equal(a.labels.__delta__, DELTA.has(r.type as ProfileTypeName) ? 'false' : undefined, `${r.type}: __delta__`);
      assert.equal(a.id, r.id);
      assert.equal(a.requestSeries, 1);
      assert.equal(a.seriesSamples, 1);
      assert.equal(a.canonical, true);
      assert.equal(a.gzipped, true);
      assert.ok(a.raw.equals(r.pprof));
      assert.equal(a.headers['content-type'], 'application/proto');
      assert.equal(a.headers['connect-protocol-version'], '1');
      assert.equal(a.headers['connect-timeout-ms'], '5000');
      assert.equal(a.headers['x-scope-orgid'], undefined, 'no tenant configured: no X-Scope-OrgID');
      assert.equal(a.headers.authorization, undefined);
      const raw = goToolPprof(a.raw, join(dir, `push-${r.type}.pb.gz`), ['-raw']);
      assert.equal(raw.status, 0, `${r.type}: go tool pprof -raw: ${raw.stderr}`);
      assert.match(raw.stdout, /^PeriodType: /m);
    });
  });

  it('ingest: each type is named as Pyroscope should store it, with the window in ns and no format=pprof', async (t: TestContext) => {
    const { logger } = capture();
    const sender = new PyroscopeSender(cfg({ api: 'ingest' }), agent, logger);
    const records = TYPES.map((type) => recordOf(type, { startNs: 1_763_772_312_123_456_789n, endNs: 1_763_772_322_987_654_321n }));
    for (const r of records) await sender.send(r, signal());
    assert.deepEqual(pyro.rejections, []);
    assert.equal(pyro.accepted.length, 5);
    pyro.accepted.forEach((a, i) => {
      const r = records[i]!;
      assert.equal(a.api, 'ingest');
      assert.equal(a.name, INGEST_NAME[r.type as ProfileTypeName], `${r.type}: __name__ as Pyroscope derives it`);
      assert.equal(a.appName, 'checkout');
      assert.deepEqual(a.labels, {
        host: 'build-box',
        instance: '127.0.0.1:6060',
        team: 'payments',
        region: 'eu-1',
        env: 'staging',
        version: '1.4.2',
        service_name: 'checkout',
        __name__: INGEST_NAME[r.type as ProfileTypeName],
      });
      assert.equal(a.fromNs, r.startNs);
      assert.equal(a.untilNs, r.endNs);
      assert.equal(a.query!.from, '1763772312123456789');
      assert.equal(a.query!.until, '1763772322987654321');
      assert.equal(a.query!.name, 'checkout{host=build-box,instance=127.0.0.1:6060,team=payments,region=eu-1,env=staging,version=1.4.2}');
      assert.equal(a.query!.spyName, 'gospy');
      assert.equal('format' in a.query!, false, `${r.type}: format=pprof would make Pyroscope skip the multipart parts`);
      assert.equal(a.query!.sampleRate, r.type === 'cpu' ? '100' : undefined);
      assert.ok(a.raw.equals(r.pprof));
      assert.equal(a.gzipped, true);
      const stc = a.sampleTypeConfig;
      assert.ok(stc, `${r.type}: a sample_type_config part was read`);
      for (const st of a.sampleTypes) assert.ok(st in stc, `${r.type}: sample type ${st} is configured`);
      if (DELTA.has(r.type as ProfileTypeName)) {
        for (const [k, v] of Object.entries(stc)) assert.equal(v.cumulative, false, `${r.type}.${k}: cumulative must be false (already a delta)`);
      }
      if (i === 0) t.diagnostic(`ingest query (cpu): ${a.rawQuery}`);
    });
    const byType = Object.fromEntries(pyro.accepted.map((a, i) => [records[i]!.type, a.sampleTypeConfig!]));
    assert.equal(byType.block!.contentions!['display-name'], 'block_count');
    assert.equal(byType.block!.delay!['display-name'], 'block_duration');
    assert.equal(byType.mutex!.contentions!['display-name'], 'mutex_count');
    assert.equal(byType.goroutine!.goroutine!['display-name'], 'goroutines');
    assert.equal(byType.goroutine!.goroutine!.aggregation, 'average');
    assert.equal(byType.heap!.inuse_space!.aggregation, 'average');
    assert.equal(byType.heap!.alloc_space!.aggregation, undefined);
  });

  for (const api of ['push', 'ingest'] as const) {
    it(`${api}: tenant_id -> X-Scope-OrgID, bearer token, extra headers`, async () => {
      const authed = await startPyroscope({ expectAuthorization: `Bearer ${TOKEN}` });
      try {
        const { logger } = capture();
        const auth: OutputAuth = { kind: 'bearer', token: TOKEN };
        const sender = new PyroscopeSender(cfg({ url: authed.url, api, tenantId: 'tenant-42', auth, headers: { 'x-extra': 'one', 'x-team': 'perf' } }), agent, logger);
        await sender.send(recordOf('heap'), signal());
        assert.deepEqual(authed.rejections, []);
        const a = authed.accepted[0]!;
        assert.equal(a.headers['x-scope-orgid'], 'tenant-42');
        assert.equal(a.headers.authorization, `Bearer ${TOKEN}`);
        assert.equal(a.headers['x-extra'], 'one');
        assert.equal(a.headers['x-team'], 'perf');
      } finally {
        await authed.close();
      }
    });

    it(`${api}: the profile's own tenant (its target's tenant_id or __tenant_id__) wins over the output's, per profile`, async () => {
      const { logger } = capture();
      const sender = new PyroscopeSender(cfg({ api, tenantId: 'output-tenant' }), agent, logger);
      const records = [recordOf('heap', { tenantId: 'team-a' }), recordOf('heap'), recordOf('cpu', { tenantId: 'team-b' })];
      for (const r of records) await sender.send(r, signal());
      assert.deepEqual(pyro.rejections, []);
      assert.deepEqual(pyro.accepted.map((a) => a.headers['x-scope-orgid']), ['team-a', 'output-tenant', 'team-b']);
      // Without an output tenant, a profile without one sends none.
      pyro.reset();
      const bare = new PyroscopeSender(cfg({ api }), agent, logger);
      await bare.send(recordOf('goroutine', { tenantId: 'team-c' }), signal());
      await bare.send(recordOf('goroutine'), signal());
      assert.deepEqual(pyro.accepted.map((a) => a.headers['x-scope-orgid']), ['team-c', undefined]);
    });

    it(`${api}: basic auth; a wrong password is refused 401 and dropped, not retried`, async () => {
      const authed = await startPyroscope({ expectAuthorization: BASIC });
      try {
        const { logger } = capture();
        const sender = new PyroscopeSender(cfg({ url: authed.url, api, auth: { kind: 'basic', username: USER, password: PASSWORD } }), agent, logger);
        await sender.send(recordOf('mutex'), signal());
        assert.equal(authed.accepted.length, 1);
        assert.equal(authed.accepted[0]!.headers.authorization, BASIC);

        const wrong = new PyroscopeSender(cfg({ url: authed.url, api, auth: { kind: 'basic', username: USER, password: `${PASSWORD}-old` } }), agent, logger);
        await assert.rejects(wrong.send(recordOf('mutex'), signal()), (err: DeliveryError) => {
          assert.equal(err.retryable, false);
          assert.equal(err.opts.status, 401);
          if (api === 'push') assert.equal(err.opts.code, 'unauthenticated');
          assert.match(err.message, /authentication required/);
          return true;
        });
      } finally {
        await authed.close();
      }
    });

    it(`${api}: a tag named with '-' is sent sanitised, and the rename is logged once over several sends`, async () => {
      const { lines, logger } = capture();
      const sender = new PyroscopeSender(cfg({ api }), agent, logger);
      const tags = { host: 'h', instance: '127.0.0.1:6060', 'team-name': 'core', service: 'checkout' };
      for (let i = 0; i < 3; i++) await sender.send(makeRecord({ type: 'goroutine', pprof: fixtureProfile('goroutine.pb.gz'), tags }), signal());
      assert.deepEqual(pyro.rejections, []);
      assert.equal(pyro.accepted.length, 3);
      for (const a of pyro.accepted) {
        assert.equal(a.labels.team_name, 'core');
        assert.equal('team-name' in a.labels, false);
      }
      if (api === 'ingest') assert.equal(pyro.accepted[0]!.query!.name, 'checkout{host=h,instance=127.0.0.1:6060,team_name=core}');
      const renames = parsed(lines).filter((l) => typeof l.msg === 'string' && l.msg.includes('team-name'));
      assert.equal(renames.length, 1, `one rename line, got:\n${lines.join('')}`);
      assert.equal(renames[0]!.tag, 'team-name');
      assert.equal(renames[0]!.label, 'team_name');
      assert.equal(renames[0]!.msg, 'tag "team-name" is sent as Pyroscope label "team_name" (label names allow only [A-Za-z0-9_.])');
    });
  }
});

describe('retry decisions through DeliveryQueue + Backoff (fake clock)', () => {
  let pyro: PyroscopeServer;
  let agent: Agent;

  before(async () => {
    pyro = await startPyroscope({ expectAuthorization: `Bearer ${TOKEN}` });
    agent = new Agent({ connections: 8 });
  });
  after(async () => {
    await agent.close();
    await pyro.close();
  });
  beforeEach(() => pyro.reset());

  function setup(api: 'push' | 'ingest') {
    const clock = new FakeClock();
    const { lines, logger } = capture();
    const sent: string[] = [];
    const retries: Array<{ id: string; delayMs: number; err: DeliveryError }> = [];
    const drops: Array<{ id: string; reason: string; err?: DeliveryError }> = [];
    const events: DeliveryEvents = {
      onSent: (_o, r) => void sent.push(r.id),
      onRetry: (_o, r, err, delayMs) => void retries.push({ id: r.id, delayMs, err }),
      onDrop: (_o, r, reason, err) => void drops.push({ id: r.id, reason, ...(err ? { err } : {}) }),
    };
    const c: PyroscopeOutputConfig = {
      kind: 'pyroscope',
      name: 'pyro',
      source: { file: 'test.conf', line: 1 },
      url: pyro.url,
      api,
      tenantId: 'tenant-1',
      headers: {},
      timeoutMs: 5_000,
      auth: { kind: 'bearer', token: TOKEN },
    };
    // random 0: the first retry waits exactly half of the 500 ms first step.
    const q = new DeliveryQueue({ sender: new PyroscopeSender(c, agent, logger, () => clock.now()), clock, logger, events, backoff: new Backoff({ random: () => 0 }) });
    return { clock, lines, q, sent, retries, drops };
  }

  interface RetryCase {
    readonly api: 'push' | 'ingest';
    readonly mode: PyroscopeMode;
    readonly status: number;
    readonly code?: ConnectCode;
    readonly delayMs: number;
  }
  const retryCases: RetryCase[] = [
    { api: 'push', mode: { code: 'unavailable' }, status: 503, code: 'unavailable', delayMs: 250 },
    { api: 'push', mode: { code: 'resource_exhausted', headers: { 'retry-after': '2' } }, status: 429, code: 'resource_exhausted', delayMs: 2_000 },
    { api: 'push', mode: { code: 'deadline_exceeded' }, status: 504, code: 'deadline_exceeded', delayMs: 250 },
    { api: 'push', mode: { code: 'internal' }, status: 500, code: 'internal', delayMs: 250 },
    { api: 'push', mode: { code: 'unknown' }, status: 500, code: 'unknown', delayMs: 250 },
    { api: 'push', mode: { code: 'aborted' }, status: 409, code: 'aborted', delayMs: 250 },
    { api: 'push', mode: { status: 502 }, status: 502, delayMs: 250 },
    { api: 'ingest', mode: { code: 'unavailable' }, status: 503, delayMs: 250 },
    { api: 'ingest', mode: { status: 429, headers: { 'retry-after': '3' } }, status: 429, delayMs: 3_000 },
  ];

  for (const c of retryCases) {
    const label = `${c.api}: ${c.code ?? `plain ${c.status} without JSON`}${c.code ? `/${c.status}` : ''}`;
    it(`${label} -> retried after ${c.delayMs} ms (fake clock) and delivered once`, async () => {
      const { clock, q, sent, retries, drops } = setup(c.api);
      pyro.setMode({ ...c.mode, times: 1 });
      const r = recordOf('block');
      q.enqueue(r);
      await waitFor(() => retries.length === 1 || drops.length > 0, 5_000, 'the failed attempt', POLL_MS);
      assert.deepEqual(drops, []);
      const e = retries[0]!.err;
      assert.equal(e.retryable, true);
      assert.equal(e.opts.status, c.status);
      assert.equal(e.opts.code, c.code);
      assert.equal(retries[0]!.delayMs, c.delayMs);
      await waitFor(() => clock.pending >= 1, 2_000, 'the backoff timer', POLL_MS);
      await clock.advance(c.delayMs - 1);
      await sleep(100);
      assert.equal(pyro.attempts.length, 1, 'retried before the backoff elapsed');
      await clock.advance(1);
      await waitFor(() => sent.length === 1, 5_000, 'the retry', POLL_MS);
      assert.deepEqual(
        pyro.attempts.map((a) => a.status),
        [c.status, 200],
      );
      assert.equal(pyro.accepted.length, 1);
      if (c.api === 'push') assert.deepEqual(pyro.attempts.map((a) => a.ids), [[r.id], [r.id]]);
      assert.deepEqual(sent, [r.id]);
      const s = q.stats();
      assert.deepEqual([s.sent, s.retried, s.dropped], [1, 1, 0]);
      await q.close();
    });
  }

  interface DropCase {
    readonly api: 'push' | 'ingest';
    readonly mode: PyroscopeMode;
    readonly status: number;
    readonly code?: ConnectCode;
  }
  const dropCases: DropCase[] = [
    { api: 'push', mode: { code: 'invalid_argument', message: "invalid labels '{x}' with error: the double says no (case A)" }, status: 400, code: 'invalid_argument' },
    { api: 'push', mode: { code: 'permission_denied', message: 'tenant-1 may not write here (case B)' }, status: 403, code: 'permission_denied' },
    { api: 'ingest', mode: { code: 'invalid_argument', message: 'ingest refused: the double says no (case C)' }, status: 400 },
    { api: 'ingest', mode: { code: 'permission_denied', message: 'ingest forbidden (case D)' }, status: 403 },
  ];

  for (const c of dropCases) {
    it(`${c.api}: ${c.code ?? 'text'} ${c.status} -> dropped, not retried, the server's message in the logged error`, async () => {
      const { clock, lines, q, sent, retries, drops } = setup(c.api);
      pyro.setMode({ ...c.mode, times: 5 });
      const r = recordOf('heap');
      q.enqueue(r);
      await waitFor(() => drops.length === 1 || retries.length > 0, 5_000, 'the drop', POLL_MS);
      await clock.advance(10 * 60_000);
      await sleep(100);
      assert.equal(pyro.attempts.length, 1, 'must not be retried');
      assert.deepEqual(retries, []);
      assert.deepEqual(sent, []);
      assert.equal(drops[0]!.id, r.id);
      assert.equal(drops[0]!.reason, 'rejected');
      assert.equal(drops[0]!.err!.opts.status, c.status);
      assert.equal(drops[0]!.err!.opts.code, c.code);
      assert.equal(q.stats().dropped, 1);
      const errors = parsed(lines).filter((l) => l.level === 'error');
      assert.equal(errors.length, 1, `one error line, got:\n${lines.join('')}`);
      const message = c.mode.message!;
      assert.ok(String(errors[0]!.msg).includes(message), `the server's message in the logged error: ${String(errors[0]!.msg)}`);
      assert.ok(String(errors[0]!.response).includes(message), `the response body is logged: ${String(errors[0]!.response)}`);
      assert.equal(errors[0]!.profile_id, r.id);
      await q.close();
    });
  }
});

describe('secrets', () => {
  it('no log line of these tests holds the password, the token or the basic credentials', () => {
    assert.ok(allLines.length >= 20, `the tests above logged (${allLines.length} lines captured)`);
    const b64 = Buffer.from(`${USER}:${PASSWORD}`).toString('base64');
    for (const secret of [PASSWORD, TOKEN, b64, 'never-logged']) {
      const hits = allLines.filter((l) => l.includes(secret));
      assert.deepEqual(hits, [], `log lines holding "${secret}"`);
    }
  });
});
