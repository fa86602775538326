// The DataKit output against the strict intake double: the body on the wire,
// and delivery (retry, Retry-After, drop on 4xx, queue bound, concurrency).

import assert from 'node:assert/strict';
import { after, before, beforeEach, describe, it } from 'node:test';
import { readFileSync } from 'node:fs';
import { gunzipSync } from 'node:zlib';
import { Agent } from 'undici';
import type { DatakitOutputConfig } from '../../src/config/types.js';
import { createLogger, type Logger } from '../../src/core/log.js';
import { datakitBody, datakitEvent, datakitTagString, DatakitSender, PROFILE_ID_HEADER } from '../../src/output/datakit.js';
import { DeliveryQueue, type DeliveryEvents } from '../../src/output/queue.js';
import { Backoff, type DeliveryError } from '../../src/output/retry.js';
import type { ProfileRecord } from '../../src/profile/record.js';
import { systemClock, type Clock } from '../../src/core/clock.js';
import { DatakitIntake, parseTagString, parseUpload, OffContract, startIntake } from '../helpers/datakit-intake.js';
import { FakeClock } from '../helpers/fake-clock.js';
import { ROOT, sleep, waitFor } from '../helpers/processes.js';
import { fixtureProfile, makeRecord } from '../helpers/records.js';

const packageVersion = (JSON.parse(readFileSync(`${ROOT}/package.json`, 'utf8')) as { version: string }).version;

/** How often waitFor polls here: deliveries to the loopback intake take milliseconds. */
const POLL_MS = 10;

describe('datakitBody / datakitEvent', () => {
  it('builds the event field by field, with RFC3339 nanosecond UTC start/end', () => {
    const r = makeRecord({ startNs: 1_763_772_312_123_456_789n, endNs: 1_763_772_321_000_000_001n });
    const ev = datakitEvent(r);
    assert.equal(ev.format, 'pprof');
    assert.equal(ev.profiler, 'pprof');
    assert.equal(ev.language, 'golang');
    assert.equal(ev.family, 'go');
    assert.deepEqual(ev.attachments, ['cpu.pprof']);
    assert.equal(ev.start, '2025-11-22T00:45:12.123456789Z');
    assert.equal(ev.end, '2025-11-22T00:45:21.000000001Z');
    assert.equal(
      ev.tags_profiler,
      'host:build-box,instance:127.0.0.1:6060,team:payments,region:eu-1,service:checkout,env:staging,version:1.4.2',
    );
    assert.equal(ev.sub_custom_tags, 'team:payments,region:eu-1');
  });

  it('names the file part by type', () => {
    const names: Record<string, string> = {
      cpu: 'cpu.pprof',
      heap: 'delta-heap.pprof',
      goroutine: 'goroutines.pprof',
      mutex: 'delta-mutex.pprof',
      block: 'delta-block.pprof',
    };
    for (const [type, file] of Object.entries(names)) {
      assert.deepEqual(datakitEvent(makeRecord({ type: type as ProfileRecord['type'] })).attachments, [file], type);
    }
  });

  it('tag strings: commas in values and commas/colons in keys cannot split an item', () => {
    const s = datakitTagString({ service: 'a,b', 'we:ird,key': 'x:y', instance: '10.0.0.1:6060' });
    assert.equal(s, 'service:a_b,we_ird_key:x:y,instance:10.0.0.1:6060');
    // And DataKit's split (commas, then the first colon) gets the values back.
    assert.deepEqual(parseTagString(s, 't'), { service: 'a_b', we_ird_key: 'x:y', instance: '10.0.0.1:6060' });
  });

  it('produces a body the strict intake parser accepts, and it parses back to the record', async () => {
    for (const [type, fixture] of [
      ['cpu', 'cpu.pb.gz'],
      ['heap', 'heap-2.pb.gz'],
      ['goroutine', 'goroutine.pb.gz'],
      ['mutex', 'mutex-2.pb.gz'],
      ['block', 'block-2.pb.gz'],
    ] as const) {
      const r = makeRecord({ type, pprof: fixtureProfile(fixture), startNs: 1_763_772_312_123_456_789n, endNs: 1_763_772_322_987_654_321n });
      const { contentType, body } = datakitBody(r);
      assert.match(contentType, /^multipart\/form-data; boundary=\S+$/);
      const up = await parseUpload(contentType, body);
      assert.equal(up.type, type);
      assert.ok(up.gzipped.equals(r.pprof), `${type}: the file part is the record's bytes`);
      assert.ok(gunzipSync(up.gzipped).length > 0);
      assert.equal(up.event.start, '2025-11-22T00:45:12.123456789Z');
      assert.equal(up.event.end, '2025-11-22T00:45:22.987654321Z');
      assert.equal(up.startNs, r.startNs);
      assert.equal(up.endNs, r.endNs);
      assert.deepEqual(up.tags, r.tags);
      assert.deepEqual(up.customTags, r.customTags);
    }
  });

  it('the intake parser is strict: it refuses off-contract bodies (so the accept above means something)', async () => {
    const r = makeRecord();
    const good = datakitBody(r);
    const swap = (from: string, to: string) => Buffer.from(good.body.toString('latin1').replace(from, to), 'latin1');
    const cases: Array<[RegExp, Buffer]> = [
      [/first part name "cpu.prof" is not one of/, swap('name="cpu.pprof"; filename="cpu.pprof"', 'name="cpu.prof"; filename="cpu.prof"')],
      [/name "cpu.pprof" != filename "other.pprof"/, swap('filename="cpu.pprof"', 'filename="other.pprof"')],
      [/first part content-type is "text\/plain"/, swap('Content-Type: application/octet-stream', 'Content-Type: text/plain')],
      [/second part filename is "ev.json"/, swap('filename="event.json"', 'filename="ev.json"')],
      [/event.language is "go"/, swap('"language":"golang"', '"language":"go"')],
      [/has no service/, swap('service:checkout,', 'svc:checkout,')],
      [/not RFC 3339 UTC with nanoseconds/, swap('2025-11-22T00:45:12.123456789Z', '2025-11-22T00:45:12.123Z')],
      [/not gzipped/, swap('\x1f\x8b', 'xx')],
    ];
    for (const [reason, body] of cases) {
      await assert.rejects(parseUpload(good.contentType, body), (err: unknown) => err instanceof OffContract && reason.test(err.message), String(reason));
    }
    await assert.rejects(parseUpload('application/octet-stream', good.body), /not multipart/);
    await assert.rejects(parseUpload('multipart/form-data', good.body), /no boundary/);
    const later = makeRecord({ startNs: 2_000_000_000_000_000_000n, endNs: 1_000_000_000_000_000_000n });
    const b = datakitBody(later);
    await assert.rejects(parseUpload(b.contentType, b.body), /is after/);
  });
});

describe('DatakitSender + DeliveryQueue against the intake double', () => {
  let intake: DatakitIntake;
  let agent: Agent;
  let lines: string[];
  let logger: Logger;

  before(async () => {
    intake = await startIntake();
    agent = new Agent({ connections: 16 });
  });

  after(async () => {
    await agent.close();
    await intake.close();
  });

  beforeEach(() => {
    intake.uploads.length = 0;
    intake.rejections.length = 0;
    intake.attempts.length = 0;
    intake.maxInFlight = 0;
    intake.setMode({});
    lines = [];
    logger = createLogger({ level: 'debug', destination: { write: (s: string) => void lines.push(s) } });
  });

  function cfg(): DatakitOutputConfig {
    return { kind: 'datakit', name: 'dk', source: { file: 'test.conf', line: 1 }, url: intake.url, timeoutMs: 5_000, headers: {} };
  }

  function queue(opts: { clock?: Clock; maxQueued?: number; concurrency?: number } = {}) {
    const sent: string[] = [];
    const retries: Array<{ id: string; delayMs: number; err: DeliveryError }> = [];
    const drops: Array<{ id: string; reason: string; err?: DeliveryError }> = [];
    const events: DeliveryEvents = {
      onSent: (_o, r) => void sent.push(r.id),
      onRetry: (_o, r, err, delayMs) => void retries.push({ id: r.id, delayMs, err }),
      onDrop: (_o, r, reason, err) => void drops.push({ id: r.id, reason, ...(err ? { err } : {}) }),
    };
    const clock = opts.clock ?? systemClock;
    const q = new DeliveryQueue({
      sender: new DatakitSender(cfg(), agent, () => clock.now()),
      clock,
      logger,
      events,
      backoff: new Backoff({ initialMs: 40, maxMs: 200, random: () => 0 }),
      ...(opts.maxQueued !== undefined ? { maxQueued: opts.maxQueued } : {}),
      ...(opts.concurrency !== undefined ? { concurrency: opts.concurrency } : {}),
    });
    return { q, sent, retries, drops };
  }

  it('the double answers 400 with a reason, and records it, for off-contract requests', async () => {
    const good = datakitBody(makeRecord());
    const post = (url: string, init: { method?: string; ct?: string; body?: Buffer }) =>
      fetch(url, {
        method: init.method ?? 'POST',
        ...(init.ct ? { headers: { 'content-type': init.ct } } : {}),
        ...(init.body ? { body: init.body } : {}),
      });
    const threeParts = Buffer.from(
      good.body.toString('latin1').replace(/--(\S+)--\r\n$/, '--$1\r\nContent-Disposition: form-data; name="extra"\r\n\r\nx\r\n--$1--\r\n'),
      'latin1',
    );
    const cases: Array<[Promise<globalThis.Response>, RegExp]> = [
      [post(intake.url, { method: 'PUT', ct: good.contentType, body: good.body }), /method PUT/],
      [post(`${intake.origin}/v1/input`, { ct: good.contentType, body: good.body }), /path \/v1\/input/],
      [post(intake.url, { ct: good.contentType, body: threeParts }), /exactly 2 parts/],
      [post(intake.url, { ct: 'application/json', body: Buffer.from('{}') }), /not multipart/],
    ];
    for (const [res, reason] of cases) {
      const r = await res;
      assert.equal(r.status, 400);
      assert.match(await r.text(), reason);
    }
    assert.equal(intake.rejections.length, 4);
    assert.equal(intake.uploads.length, 0);
    const ok = await post(intake.url, { ct: good.contentType, body: good.body });
    assert.equal(ok.status, 200);
    assert.equal(intake.uploads.length, 1);
  });

  it('200: sent once, accepted by the strict double, with the profile id header', async () => {
    const { q, sent, retries, drops } = queue();
    const r = makeRecord();
    q.enqueue(r);
    assert.equal(await q.drain(5_000), 0);
    assert.deepEqual(intake.rejections, []);
    assert.equal(intake.uploads.length, 1);
    const up = intake.uploads[0]!;
    assert.equal(up.profileId, r.id);
    assert.equal(up.headers[PROFILE_ID_HEADER], r.id);
    assert.equal(up.headers['user-agent'], `pprof-pull-collector/${packageVersion}`, 'names itself with the package version');
    assert.ok(up.gzipped.equals(r.pprof));
    assert.deepEqual(up.tags, r.tags);
    assert.deepEqual(sent, [r.id]);
    assert.deepEqual(retries, []);
    assert.deepEqual(drops, []);
    assert.deepEqual(q.stats(), { sent: 1, retried: 0, dropped: 0, depth: 0, inFlight: 0 });
    await q.close();
  });

  it('503 then 200: retried and delivered exactly once', async () => {
    intake.setMode({ status: 503, body: 'queue full', times: 1 });
    const { q, sent, retries, drops } = queue();
    const r = makeRecord();
    q.enqueue(r);
    await waitFor(() => sent.length === 1 || drops.length > 0, 5_000, 'delivery after a 503', POLL_MS);
    assert.deepEqual(
      intake.attempts.map((a) => [a.status, a.profileId]),
      [
        [503, r.id],
        [200, r.id],
      ],
    );
    assert.equal(intake.uploads.length, 1);
    assert.equal(retries.length, 1);
    assert.equal(retries[0]!.err.opts.status, 503);
    assert.equal(retries[0]!.err.retryable, true);
    assert.deepEqual(drops, []);
    assert.deepEqual(q.stats(), { sent: 1, retried: 1, dropped: 0, depth: 0, inFlight: 0 });
    await q.close();
  });

  it('429 with Retry-After: 1: the retry waits at least 1 s (on the injected clock)', async () => {
    const clock = new FakeClock();
    intake.setMode({ status: 429, headers: { 'retry-after': '1' }, times: 1 });
    const { q, sent, retries } = queue({ clock });
    const r = makeRecord();
    q.enqueue(r);
    await waitFor(() => retries.length === 1, 5_000, 'the 429 to be seen', POLL_MS);
    assert.equal(retries[0]!.err.opts.status, 429);
    assert.equal(retries[0]!.err.opts.retryAfterMs, 1_000);
    assert.ok(retries[0]!.delayMs >= 1_000, `retry delay ${retries[0]!.delayMs} ms < Retry-After 1 s`);
    // Nothing is sent again until the clock has moved the full second.
    await waitFor(() => clock.pending === 1, 2_000, 'the queue to arm its backoff timer', POLL_MS);
    await clock.advance(999);
    await sleep(150);
    assert.equal(intake.attempts.length, 1, 'retried before Retry-After elapsed');
    assert.equal(sent.length, 0);
    await clock.advance(1);
    await waitFor(() => sent.length === 1, 5_000, 'the retry after Retry-After', POLL_MS);
    assert.deepEqual(
      intake.attempts.map((a) => a.status),
      [429, 200],
    );
    assert.equal(intake.uploads.length, 1);
    await q.close();
  });

  it('400: dropped, not retried, and the response body is in the logged error', async () => {
    intake.setMode({ status: 400, body: 'invalid tags_profiler: bad things here', times: 5 });
    const { q, sent, retries, drops } = queue();
    const r = makeRecord();
    q.enqueue(r);
    await waitFor(() => drops.length === 1, 5_000, 'the drop', POLL_MS);
    await sleep(200); // a retry, if any, would show up by now (backoff is 40 ms)
    assert.equal(intake.attempts.length, 1, 'a 400 must not be retried');
    assert.deepEqual(sent, []);
    assert.deepEqual(retries, []);
    assert.equal(drops[0]!.reason, 'rejected');
    assert.equal(drops[0]!.id, r.id);
    assert.deepEqual(q.stats(), { sent: 0, retried: 0, dropped: 1, depth: 0, inFlight: 0 });
    const logged = lines.map((l) => JSON.parse(l) as Record<string, unknown>);
    const errs = logged.filter((l) => l.level === 'error');
    assert.equal(errs.length, 1, `one error line, got: ${lines.join('')}`);
    const e = errs[0]!;
    assert.match(JSON.stringify(e), /invalid tags_profiler: bad things here/);
    assert.match(String(e.response), /invalid tags_profiler: bad things here/);
    assert.equal(e.profile_id, r.id);
    await q.close();
  });

  it('a queue over maxQueued drops the oldest and counts it', async () => {
    intake.setMode({ delayMs: 100 });
    const { q, sent, drops } = queue({ maxQueued: 2, concurrency: 1 });
    const rs = [makeRecord(), makeRecord(), makeRecord(), makeRecord(), makeRecord()];
    for (const r of rs) q.enqueue(r);
    // r0 in flight; r1, r2 queued; r3 drops r1; r4 drops r2.
    assert.deepEqual(
      drops.map((d) => [d.id, d.reason]),
      [
        [rs[1]!.id, 'queue_full'],
        [rs[2]!.id, 'queue_full'],
      ],
    );
    assert.equal(q.stats().dropped, 2);
    assert.equal(await q.drain(10_000), 0);
    assert.deepEqual(sent, [rs[0]!.id, rs[3]!.id, rs[4]!.id]);
    assert.deepEqual(
      intake.uploads.map((u) => u.profileId),
      [rs[0]!.id, rs[3]!.id, rs[4]!.id],
    );
    assert.deepEqual(q.stats(), { sent: 3, retried: 0, dropped: 2, depth: 0, inFlight: 0 });
    const warn = lines.map((l) => JSON.parse(l) as Record<string, unknown>).filter((l) => l.level === 'warn');
    assert.ok(warn.some((l) => /queue is full/.test(String(l.msg))), 'the full queue is logged');
    await q.close();
  });

  for (const concurrency of [1, 3]) {
    it(`never more than ${concurrency} request(s) at once at the backend`, async () => {
      intake.setMode({ delayMs: 120 });
      const { q, sent } = queue({ concurrency });
      const rs = Array.from({ length: 10 }, () => makeRecord());
      for (const r of rs) q.enqueue(r);
      assert.equal(await q.drain(15_000), 0);
      assert.equal(sent.length, 10);
      assert.equal(new Set(intake.uploads.map((u) => u.profileId)).size, 10);
      assert.equal(intake.maxInFlight, concurrency, `max concurrent requests at the intake: ${intake.maxInFlight}`);
      await q.close();
    });
  }
});
