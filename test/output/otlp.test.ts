// The OTLP output against the Go receiver (pdata's decoder): the request on
// the wire (gzip and none, headers, tenant, auth), OTLP/HTTP's retry rules
// (429/502/503/504 retried with Retry-After; every other status final), and
// the partial-success answer (logged, counted, never retried).

import assert from 'node:assert/strict';
import { after, beforeEach, describe, it } from 'node:test';
import { Agent } from 'undici';
import type { OtlpOutputConfig } from '../../src/config/types.js';
import { createLogger, type Logger } from '../../src/core/log.js';
import { OtlpSender, type OtlpPartialSuccess } from '../../src/output/otlp.js';
import { DeliveryQueue } from '../../src/output/queue.js';
import { Backoff } from '../../src/output/retry.js';
import type { ProfileRecord } from '../../src/profile/record.js';
import { systemClock } from '../../src/core/clock.js';
import { USER_AGENT } from '../../src/core/version.js';
import { goReceiverSuite, sendOutcome as sendOnce, type RunningGoReceiver } from '../helpers/go-receiver.js';
import { waitFor } from '../helpers/processes.js';

const TOKEN = 'otlp-bearer-token-5f2a';

const suite = goReceiverSuite();
const need = (): RunningGoReceiver => suite.receiver();
let heap: ProfileRecord;
let cpu: ProfileRecord;
/** The records of the suite, once its before hook has made them. */
function records(): void {
  heap = suite.shipped().find((s) => s.label === 'heap-1.pb.gz -> heap-2.pb.gz')!.record;
  cpu = suite.shipped().find((s) => s.label === 'cpu.pb.gz')!.record;
}
const agent = new Agent({ connections: 8 });
let lines: string[] = [];
let logger: Logger;

after(() => agent.close());
beforeEach(() => {
  records();
  lines = [];
  logger = createLogger({ level: 'debug', destination: { write: (s: string) => void lines.push(s) } });
});

function cfg(over: Partial<OtlpOutputConfig> = {}): OtlpOutputConfig {
  return { kind: 'otlp', name: 'otel', source: { file: 'test.conf', line: 1 }, url: need().otlpUrl, timeoutMs: 5_000, headers: {}, compression: 'gzip', tenantId: '', ...over };
}

describe('OTLP output: the request', () => {
  it('gzip: Content-Encoding gzip, application/x-protobuf, tenant, auth and custom headers; pdata decodes four heap profiles', async () => {
    const r = need();
    const sender = new OtlpSender(cfg({ tenantId: 'team-a', auth: { kind: 'bearer', token: TOKEN }, headers: { 'x-extra': 'yes' } }), agent, logger);
    assert.equal(await sendOnce(sender, heap), undefined);
    const [req] = await r.summary();
    assert.ok(req);
    assert.deepEqual(req.errors, []);
    assert.equal(req.status, 200);
    assert.equal(req.headers['Content-Type'], 'application/x-protobuf');
    assert.equal(req.headers['Content-Encoding'], 'gzip');
    assert.equal(req.headers['X-Scope-Orgid'], 'team-a');
    assert.equal(req.headers.Authorization, `Bearer ${TOKEN}`);
    assert.equal(req.headers['User-Agent'], USER_AGENT);
    assert.ok(req.wire_bytes < req.decoded_bytes, `gzip on the wire: ${req.wire_bytes} < ${req.decoded_bytes}`);
    const profiles = req.resources![0]!.scopes[0]!.profiles;
    assert.deepEqual(
      profiles.map((p) => p.sample_type),
      ['alloc_objects/count', 'alloc_space/bytes', 'inuse_objects/count', 'inuse_space/bytes'],
    );
  });

  it('compression none: no Content-Encoding, the body as encoded; no tenant header when tenant_id is empty', async () => {
    const r = need();
    const sender = new OtlpSender(cfg({ compression: 'none' }), agent, logger);
    assert.equal(await sendOnce(sender, cpu), undefined);
    const [req] = await r.summary();
    assert.deepEqual(req!.errors, []);
    assert.equal(req!.headers['Content-Encoding'], undefined);
    assert.equal(req!.headers['X-Scope-Orgid'], undefined);
    assert.equal(req!.wire_bytes, req!.decoded_bytes);
    assert.deepEqual(
      req!.resources![0]!.scopes[0]!.profiles.map((p) => p.sample_type),
      ['samples/count', 'cpu/nanoseconds'],
    );
  });
});

describe('OTLP output: tenants', () => {
  it('the profile\'s own tenant (its target\'s tenant_id or __tenant_id__) wins over the output\'s, per profile', async () => {
    const r = need();
    const sender = new OtlpSender(cfg({ tenantId: 'output-tenant' }), agent, logger);
    for (const rec of [{ ...heap, tenantId: 'team-a' }, heap, { ...cpu, tenantId: 'team-b' }]) assert.equal(await sendOnce(sender, rec), undefined);
    const bare = new OtlpSender(cfg(), agent, logger);
    for (const rec of [{ ...cpu, tenantId: 'team-c' }, cpu]) assert.equal(await sendOnce(bare, rec), undefined);
    const seen = await r.summary();
    assert.deepEqual(seen.map((q) => q.errors), [[], [], [], [], []]);
    assert.deepEqual(seen.map((q) => q.headers['X-Scope-Orgid']), ['team-a', 'output-tenant', 'team-b', 'team-c', undefined]);
  });
});

describe('OTLP output: answers', () => {
  it('partial success: the send succeeds (never retried), the rejection is logged at warn and reported to the hook', async () => {
    const r = need();
    const seen: Array<OtlpPartialSuccess & { output: string; id: string }> = [];
    const sender = new OtlpSender(cfg(), agent, logger, { onPartialSuccess: (output, record, p) => void seen.push({ output, id: record.id, ...p }) });
    await r.answerOtlp([{ rejected: 3, message: 'ingestion limit: 3 profiles dropped' }, { message: 'deprecated field used' }]);
    assert.equal(await sendOnce(sender, heap), undefined);
    assert.equal(await sendOnce(sender, cpu), undefined);
    assert.deepEqual(seen, [
      { output: 'otel', id: heap.id, rejectedProfiles: 3, errorMessage: 'ingestion limit: 3 profiles dropped', sentProfiles: 4 },
      { output: 'otel', id: cpu.id, rejectedProfiles: 0, errorMessage: 'deprecated field used', sentProfiles: 2 },
    ]);
    const logged = lines.map((l) => JSON.parse(l) as { level: string; msg: string; rejected_profiles?: number });
    const warn = logged.find((l) => l.level === 'warn' && l.rejected_profiles === 3);
    assert.ok(warn, lines.join('\n'));
    assert.match(warn.msg, /rejected 3 of 4 profile\(s\): ingestion limit: 3 profiles dropped; not retried/);
    assert.ok(logged.some((l) => l.level === 'info' && /accepted with a warning: deprecated field used/.test(l.msg)));
    assert.deepEqual((await r.summary()).map((q) => q.partial_success), [
      { rejected_profiles: 3, error_message: 'ingestion limit: 3 profiles dropped' },
      { rejected_profiles: 0, error_message: 'deprecated field used' },
    ]);
  });

  it('429, 502, 503 and 504 are retried (Retry-After read); 400, 401, 413 and 500 are final; the Status message is in the error', async () => {
    const r = need();
    const sender = new OtlpSender(cfg({ auth: { kind: 'bearer', token: TOKEN } }), agent, logger);
    const cases: Array<[number, boolean, string | undefined]> = [
      [429, true, '7'],
      [502, true, undefined],
      [503, true, '2'],
      [504, true, undefined],
      [400, false, undefined],
      [401, false, undefined],
      [413, false, undefined],
      [500, false, undefined],
    ];
    await r.answerOtlp(cases.map(([status, , retryAfter]) => ({ status, message: `told ${status} (token ${TOKEN})`, ...(retryAfter ? { retry_after: retryAfter } : {}) })));
    for (const [status, retryable, retryAfter] of cases) {
      const err = await sendOnce(sender, cpu);
      assert.ok(err, `${status}: the send must fail`);
      assert.equal(err.retryable, retryable, `${status}: retryable`);
      assert.equal(err.opts.status, status);
      assert.equal(err.opts.retryAfterMs, retryAfter ? Number(retryAfter) * 1000 : undefined, `${status}: Retry-After`);
      assert.match(err.message, new RegExp(`answered ${status}: told ${status} \\(token \\[redacted\\]\\)`), err.message);
    }
    assert.equal((await r.summary()).length, cases.length);
  });

  it('a refused connection is retried', async () => {
    const sender = new OtlpSender(cfg({ url: 'http://127.0.0.1:1/v1development/profiles' }), agent, logger);
    const err = await sendOnce(sender, cpu);
    assert.ok(err?.retryable, err?.message);
  });

  it('through the delivery queue: 503 then 200 delivers once after one retry; a 400 is dropped after one attempt', async () => {
    const r = need();
    const sent: string[] = [];
    const retried: number[] = [];
    const dropped: string[] = [];
    const q = new DeliveryQueue({
      sender: new OtlpSender(cfg(), agent, logger),
      clock: systemClock,
      logger,
      backoff: new Backoff({ initialMs: 40, maxMs: 200, random: () => 0 }),
      events: {
        onSent: (_o, rec) => void sent.push(rec.id),
        onRetry: (_o, _rec, err) => void retried.push(err.opts.status ?? 0),
        onDrop: (_o, rec, reason) => void dropped.push(`${rec.id}:${reason}`),
      },
    });
    await r.answerOtlp([{ status: 503 }]);
    q.enqueue(heap);
    await waitFor(() => sent.length === 1, 10_000, 'the heap profile to be delivered after the retry', 10);
    assert.deepEqual(retried, [503]);
    assert.deepEqual((await r.summary()).map((x) => x.status), [503, 200]);

    await r.answerOtlp([{ status: 400, message: 'malformed' }]);
    q.enqueue(cpu);
    await waitFor(() => dropped.length === 1, 10_000, 'the cpu profile to be dropped', 10);
    assert.deepEqual(dropped, [`${cpu.id}:rejected`]);
    assert.deepEqual(retried, [503], 'the 400 is not retried');
    assert.equal((await r.summary()).length, 3);
    await q.close();
  });
});
