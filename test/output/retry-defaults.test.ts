// The retry rules every output shares (src/output/retry.ts) and how the
// delivery queue applies them (src/output/queue.ts), as README "Delivery"
// states them: 408, 429 and 5xx are retried, any other 4xx is not; one
// exponential backoff with jitter from 0.5 s doubling to 5 min; Retry-After
// in seconds or as an HTTP date, never waited on past LIMITS.retryAfterMaxMs;
// and while a backend fails it is probed with one request at a time.
//
//   node --import tsx --test test/output/retry-defaults.test.ts

import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { LIMITS } from '../../src/core/limits.js';
import { silentLogger } from '../../src/core/log.js';
import { DeliveryQueue, type ProfileSender } from '../../src/output/queue.js';
import { Backoff, DeliveryError, httpDeliveryError, isRetryableStatus, parseRetryAfter } from '../../src/output/retry.js';
import type { ProfileRecord } from '../../src/profile/record.js';
import { FakeClock, flushMicrotasks } from '../helpers/fake-clock.js';
import { makeRecord } from '../helpers/records.js';

/** A fixed "now" on a whole second, so an HTTP date (second resolution) is exact. */
const NOW = 1_700_000_000_000;

describe('which HTTP answers are retried', () => {
  it('408, 429 and every 5xx are retryable', () => {
    for (const status of [408, 429, 500, 502, 503, 504, 599]) {
      assert.equal(isRetryableStatus(status), true, `${status}`);
      const err = httpDeliveryError('POST x', status, 'busy', undefined, NOW);
      assert.equal(err.retryable, true, `httpDeliveryError(${status}).retryable`);
      assert.equal(err.opts.status, status);
    }
  });

  it('any other 4xx is not retried (the body says why)', () => {
    for (const status of [400, 401, 403, 404, 405, 409, 410, 413, 415, 422, 451]) {
      assert.equal(isRetryableStatus(status), false, `${status}`);
      const err = httpDeliveryError('POST x', status, 'bad request body', undefined, NOW);
      assert.equal(err.retryable, false, `httpDeliveryError(${status}).retryable`);
      assert.equal(err.opts.body, 'bad request body');
      assert.match(err.message, new RegExp(`answered ${status}: bad request body`));
    }
  });
});

describe('Retry-After', () => {
  it('is read in seconds', () => {
    assert.equal(parseRetryAfter('120', NOW), 120_000);
    assert.equal(parseRetryAfter(' 0 ', NOW), 0);
    assert.equal(httpDeliveryError('POST x', 429, '', '7', NOW).opts.retryAfterMs, 7_000);
  });

  it('is read as an HTTP date, relative to now; a date in the past means now', () => {
    const in30s = new Date(NOW + 30_000).toUTCString(); // "Tue, 14 Nov 2023 22:13:50 GMT"
    assert.equal(parseRetryAfter(in30s, NOW), 30_000);
    assert.equal(httpDeliveryError('POST x', 503, '', in30s, NOW).opts.retryAfterMs, 30_000);
    assert.equal(parseRetryAfter(new Date(NOW - 5_000).toUTCString(), NOW), 0);
  });

  it('absent or unreadable: no Retry-After at all', () => {
    assert.equal(parseRetryAfter(undefined, NOW), undefined);
    assert.equal(parseRetryAfter('', NOW), undefined);
    assert.equal(parseRetryAfter('soon', NOW), undefined);
    assert.equal('retryAfterMs' in httpDeliveryError('POST x', 503, '', 'soon', NOW).opts, false);
  });
});

describe('the default Backoff: 0.5 s doubling to 5 min, half fixed, half jitter', () => {
  const base = (attempt: number) => Math.min(300_000, 500 * 2 ** (attempt - 1));

  it('attempt 1 waits within [0.25 s, 0.5 s], doubling, capped so attempt 30 waits within [150 s, 300 s]', () => {
    const low = new Backoff({ random: () => 0 });
    const high = new Backoff({ random: () => 0.999_999 });
    assert.equal(low.delayMs(1), 250);
    assert.ok(high.delayMs(1) < 500 && high.delayMs(1) > 499, `attempt 1 high: ${high.delayMs(1)}`);
    for (let attempt = 1; attempt <= 30; attempt++) {
      assert.equal(low.delayMs(attempt), base(attempt) / 2, `attempt ${attempt}, no jitter`);
      const h = high.delayMs(attempt);
      assert.ok(h < base(attempt) && h >= base(attempt) * 0.999, `attempt ${attempt}, full jitter: ${h} vs base ${base(attempt)}`);
    }
    // Doubling until the cap: 250, 500, 1000, ...
    assert.deepEqual(
      [1, 2, 3, 4, 5].map((a) => low.delayMs(a)),
      [250, 500, 1_000, 2_000, 4_000],
    );
    assert.equal(low.delayMs(30), 150_000);
    assert.ok(high.delayMs(30) <= 300_000 && high.delayMs(30) > 299_000);
    // Past 30 (the exponent's own cap) it stays at the cap.
    assert.equal(low.delayMs(1_000), 150_000);
  });

  it('with Math.random every delay stays within [base / 2, base)', () => {
    const b = new Backoff();
    for (let attempt = 1; attempt <= 30; attempt++) {
      for (let i = 0; i < 20; i++) {
        const d = b.delayMs(attempt);
        assert.ok(d >= base(attempt) / 2 && d <= base(attempt), `attempt ${attempt}: ${d}`);
      }
    }
  });
});

/** A sender whose every send waits for the test to settle it. */
class ManualSender implements ProfileSender {
  readonly kind = 'test';
  readonly name = 'manual';
  readonly calls: Array<{ id: string; resolve: () => void; reject: (e: Error) => void; settled: boolean }> = [];
  inFlight = 0;
  maxInFlight = 0;

  send(record: ProfileRecord): Promise<void> {
    this.inFlight++;
    this.maxInFlight = Math.max(this.maxInFlight, this.inFlight);
    return new Promise<void>((resolve, reject) => {
      const call = {
        id: record.id,
        settled: false,
        resolve: () => {
          call.settled = true;
          this.inFlight--;
          resolve();
        },
        reject: (e: Error) => {
          call.settled = true;
          this.inFlight--;
          reject(e);
        },
      };
      this.calls.push(call);
    });
  }

  open(): ManualSender['calls'] {
    return this.calls.filter((c) => !c.settled);
  }
}

describe('DeliveryQueue applies the rules', () => {
  it('a Retry-After longer than LIMITS.retryAfterMaxMs is capped: the next attempt comes at the cap, not later', async () => {
    const clock = new FakeClock(NOW);
    const attempts: number[] = [];
    const delays: number[] = [];
    const sender: ProfileSender = {
      kind: 'test',
      name: 'slow-down',
      send: async () => {
        attempts.push(clock.now());
        if (attempts.length === 1) throw new DeliveryError('answered 503', true, { status: 503, retryAfterMs: 24 * 3600_000 });
      },
    };
    const sent: string[] = [];
    const q = new DeliveryQueue({
      sender,
      clock,
      logger: silentLogger(),
      backoff: new Backoff({ random: () => 0 }),
      events: { onRetry: (_o, _r, _e, delayMs) => void delays.push(delayMs), onSent: (_o, r) => void sent.push(r.id) },
    });
    const r = makeRecord();
    q.enqueue(r);
    await flushMicrotasks();
    assert.deepEqual(attempts, [NOW]);
    assert.deepEqual(delays, [LIMITS.retryAfterMaxMs], 'the delay is the cap');
    await clock.advance(LIMITS.retryAfterMaxMs - 1);
    assert.equal(attempts.length, 1, 'not retried before the cap');
    await clock.advance(1);
    assert.deepEqual(attempts, [NOW, NOW + LIMITS.retryAfterMaxMs], 'retried exactly at the cap');
    assert.deepEqual(sent, [r.id]);
    assert.deepEqual(q.stats(), { sent: 1, retried: 1, dropped: 0, depth: 0, inFlight: 0 });
    await q.close();
  });

  it('a Retry-After longer than the backoff is honoured (below the cap)', async () => {
    const clock = new FakeClock(NOW);
    const attempts: number[] = [];
    const sender: ProfileSender = {
      kind: 'test',
      name: 'retry-after',
      send: async () => {
        attempts.push(clock.now());
        if (attempts.length === 1) throw new DeliveryError('answered 429', true, { status: 429, retryAfterMs: 42_000 });
      },
    };
    const q = new DeliveryQueue({ sender, clock, logger: silentLogger(), backoff: new Backoff({ random: () => 0 }) });
    q.enqueue(makeRecord());
    await flushMicrotasks();
    await clock.advance(41_999);
    assert.equal(attempts.length, 1);
    await clock.advance(1);
    assert.deepEqual(attempts, [NOW, NOW + 42_000]);
    await q.close();
  });

  it('while the backend fails it is probed with one request at a time; after a success, concurrency is back', async () => {
    const clock = new FakeClock(NOW);
    const sender = new ManualSender();
    const q = new DeliveryQueue({ sender, clock, logger: silentLogger(), concurrency: 4, backoff: new Backoff({ random: () => 0 }) });
    const records = Array.from({ length: 8 }, () => makeRecord());
    for (const r of records) q.enqueue(r);
    await flushMicrotasks();
    assert.equal(sender.inFlight, 4, 'healthy: up to concurrency at once');

    // The backend goes down: every send in flight fails.
    for (const c of sender.open()) c.reject(new DeliveryError('answered 503', true, { status: 503 }));
    await flushMicrotasks();
    assert.equal(sender.inFlight, 0);
    sender.maxInFlight = 0;

    // Several backoff steps, each ending in one probe, which fails again.
    for (let round = 0; round < 5; round++) {
      const before = sender.calls.length;
      // Jump past any backoff (capped at LIMITS.retryMaxMs) one step at a time.
      for (let i = 0; i < 20 && sender.calls.length === before; i++) await clock.advance(LIMITS.retryMaxMs / 10);
      assert.equal(sender.calls.length, before + 1, `round ${round}: one probe`);
      await flushMicrotasks();
      await clock.advance(0);
      assert.equal(sender.inFlight, 1, `round ${round}: only the probe is in flight`);
      sender.open()[0]!.reject(new DeliveryError('answered 503', true, { status: 503 }));
      await flushMicrotasks();
    }
    assert.equal(sender.maxInFlight, 1, 'never more than one request while failing');

    // The next probe succeeds: the backlog goes out at full concurrency again.
    const before = sender.calls.length;
    for (let i = 0; i < 20 && sender.calls.length === before; i++) await clock.advance(LIMITS.retryMaxMs / 10);
    assert.equal(sender.inFlight, 1);
    sender.open()[0]!.resolve();
    await flushMicrotasks();
    assert.equal(sender.inFlight, 4, 'after a success, up to concurrency again');
    assert.equal(q.stats().sent, 1);
    assert.equal(q.stats().depth, 3);
    for (let i = 0; i < 10 && sender.open().length > 0; i++) {
      for (const c of sender.open()) c.resolve();
      await flushMicrotasks();
    }
    assert.deepEqual(q.stats(), { sent: 8, retried: 9, dropped: 0, depth: 0, inFlight: 0 });
    await q.close();
  });
});
