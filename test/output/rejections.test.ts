// A misconfigured output does not flood the log (issue 10 item 5): a backend
// that answers 401/403/404 to every profile gets one line with a hint when
// it starts and a summary every REPEAT_SUMMARY_EVERY_MS, while every drop is
// still counted; other refusals (400 and the like) are logged once per
// distinct answer, repeats summed up the same way. Delivery runs against the
// strict DataKit intake double; time moves on the fake clock.

import assert from 'node:assert/strict';
import { after, before, beforeEach, describe, it } from 'node:test';
import { Agent } from 'undici';
import type { DatakitOutputConfig } from '../../src/config/types.js';
import { createLogger, type Logger } from '../../src/core/log.js';
import { DatakitSender } from '../../src/output/datakit.js';
import { DeliveryQueue } from '../../src/output/queue.js';
import { RejectionLog, MAX_REJECTION_LINES_PER_PERIOD } from '../../src/output/rejections.js';
import { Backoff, DeliveryError } from '../../src/output/retry.js';
import { REPEAT_SUMMARY_EVERY_MS } from '../../src/pipeline.js';
import { DatakitIntake, startIntake } from '../helpers/datakit-intake.js';
import { FakeClock } from '../helpers/fake-clock.js';
import { makeRecord } from '../helpers/records.js';

interface Line {
  level: string;
  msg: string;
  hint?: string;
  response?: string;
  rejected?: number;
  [k: string]: unknown;
}

function capture(): { logger: Logger; lines: Line[] } {
  const lines: Line[] = [];
  const logger = createLogger({ level: 'debug', destination: { write: (s: string) => void lines.push(JSON.parse(s) as Line) } });
  return { logger, lines };
}

/** What an operator sees: everything at info and above. */
const visible = (lines: readonly Line[]) => lines.filter((l) => l.level !== 'debug' && l.level !== 'trace');

describe('a backend that refuses every profile (DeliveryQueue + DataKit against the intake double)', () => {
  let intake: DatakitIntake;
  let agent: Agent;

  before(async () => {
    intake = await startIntake();
    agent = new Agent({ connections: 8 });
  });
  after(async () => {
    await agent.close();
    await intake.close();
  });
  beforeEach(() => {
    intake.uploads.length = 0;
    intake.attempts.length = 0;
    intake.setMode({});
  });

  function queue(clock: FakeClock, logger: Logger) {
    const cfg: DatakitOutputConfig = { kind: 'datakit', name: 'dk', source: { file: 't.conf', line: 1 }, url: `${intake.url}?token=tkn_wrong`, timeoutMs: 5_000, headers: {} };
    const drops: string[] = [];
    const q = new DeliveryQueue({
      sender: new DatakitSender(cfg, agent, () => clock.now()),
      clock,
      logger,
      backoff: new Backoff({ initialMs: 40, maxMs: 200, random: () => 0 }),
      events: { onDrop: (_o, _r, reason) => void drops.push(reason) },
    });
    return { q, drops };
  }

  async function send(q: DeliveryQueue, n: number): Promise<void> {
    for (let i = 0; i < n; i++) q.enqueue(makeRecord({ type: 'heap' }));
    assert.equal(await q.drain(10_000), 0);
  }

  it('401 for every profile: one line with the hint at the start, one summary per 5 minutes, every drop counted, the recovery said once', async () => {
    assert.equal(REPEAT_SUMMARY_EVERY_MS, 5 * 60_000);
    const clock = new FakeClock();
    const { logger, lines } = capture();
    const { q, drops } = queue(clock, logger);
    intake.setMode({ status: 401, body: '{"error":"invalid token"}' });

    await send(q, 30);
    assert.equal(drops.length, 30);
    assert.ok(drops.every((r) => r === 'rejected'), 'each drop is counted as rejected');
    let seen = visible(lines);
    assert.equal(seen.length, 1, `one line for 30 rejected profiles, got:\n${seen.map((l) => l.msg).join('\n')}`);
    const first = seen[0]!;
    assert.equal(first.level, 'error');
    assert.match(first.msg, /^backend rejects profiles with 401/);
    assert.match(first.msg, /collector_output_dropped_total\{reason="rejected"\}/);
    assert.match(String(first.hint), /credentials|token/, 'the hint for a 401 names the credentials');
    assert.match(String(first.response), /invalid token/, "the backend's words are kept");
    assert.ok(!JSON.stringify(lines).includes('tkn_wrong'), 'the url token is never logged');

    // Still failing four minutes on: nothing more said.
    await clock.advance(4 * 60_000);
    await send(q, 10);
    assert.equal(visible(lines).length, 1, 'no line before 5 minutes have passed');

    // Past 5 minutes: one summary with the count since the first line.
    await clock.advance(60_000);
    await send(q, 5);
    seen = visible(lines);
    assert.equal(seen.length, 2, seen.map((l) => l.msg).join('\n'));
    const summary = seen[1]!;
    assert.equal(summary.level, 'error');
    // Said with the first refusal past 5 minutes: the 29 + 10 after the first line, and itself.
    assert.equal(summary.rejected, 40, 'every rejection since the first line is in the summary');
    assert.match(summary.msg, /^backend still rejects profiles with 401: 40 more dropped in the last 5 min/);
    assert.match(String(summary.hint), /credentials|token/);

    await clock.advance(REPEAT_SUMMARY_EVERY_MS);
    await send(q, 3);
    assert.equal(visible(lines).length, 3, 'the next summary after another 5 minutes');
    assert.equal(visible(lines)[2]!.rejected, 5, 'the 4 after the summary, and the first of these');

    // Fixed: one line, then silence.
    intake.setMode({});
    await send(q, 4);
    seen = visible(lines);
    assert.equal(seen.length, 4, seen.map((l) => l.msg).join('\n'));
    assert.equal(seen[3]!.level, 'info');
    assert.match(seen[3]!.msg, /^backend accepts profiles again after rejecting 48 with 401/);
    assert.equal(drops.length, 48);
    assert.deepEqual(q.stats(), { sent: 4, retried: 0, dropped: 48, depth: 0, inFlight: 0 });
    assert.equal(intake.uploads.length, 4);

    // A new misconfiguration is news again.
    intake.setMode({ status: 403, body: 'forbidden' });
    await send(q, 2);
    seen = visible(lines);
    assert.equal(seen.length, 5);
    assert.match(seen[4]!.msg, /^backend rejects profiles with 403/);
    await q.close();
  });

  it('400 (an invalid profile): each distinct answer once, repeats of the same answer summed up, never one line per profile', async () => {
    const clock = new FakeClock();
    const { logger, lines } = capture();
    const { q, drops } = queue(clock, logger);
    // The same reason naming a different profile each time is one answer.
    intake.setMode({ status: 400, body: 'invalid profile 7: too many samples (limit 1000)' });
    await send(q, 20);
    assert.equal(drops.length, 20);
    let seen = visible(lines);
    assert.equal(seen.length, 1, seen.map((l) => l.msg).join('\n'));
    assert.match(seen[0]!.msg, /^backend rejected the profile, dropped \(not retried\): .*too many samples/);
    // Another reason is news at once.
    intake.setMode({ status: 400, body: 'invalid label name "a-b"' });
    await send(q, 5);
    seen = visible(lines);
    assert.equal(seen.length, 2);
    assert.match(seen[1]!.msg, /invalid label name/);
    // After 5 minutes, the first reason again: its repeats summed up.
    await clock.advance(REPEAT_SUMMARY_EVERY_MS);
    intake.setMode({ status: 400, body: 'invalid profile 12: too many samples (limit 1000)' });
    await send(q, 1);
    seen = visible(lines);
    assert.equal(seen.length, 3, seen.map((l) => l.msg).join('\n'));
    assert.equal(seen[2]!.rejected, 20);
    assert.match(seen[2]!.msg, /^20 more profile\(s\) rejected the same way in the last 5 min: .*too many samples/);
    assert.equal(drops.length, 26);
    await q.close();
  });
});

describe('RejectionLog', () => {
  const err = (status: number, body = '', code?: string) => new DeliveryError(`POST http://h/x: answered ${status}`, false, { status, body, ...(code ? { code } : {}) });
  const record = { id: 'p1', type: 'heap', service: 'svc' } as const;

  it('the hint says which fits which status: 401 credentials (and a missing tenant for Pyroscope), 403 permissions or tenant, 404 the URL', () => {
    const cases: Array<[string, DeliveryError, RegExp, RegExp?]> = [
      ['datakit', err(401), /wrong or missing credentials.*token/, /tenant/],
      ['pyroscope', err(401), /wrong or missing credentials.*tenant_id/],
      ['datakit', err(403), /not allowed to write.*permissions/],
      ['pyroscope', err(403), /not allowed to write.*tenant/],
      ['datakit', err(404), /wrong URL.*\/profiling\/v1\/input/],
      ['pyroscope', err(404), /wrong URL.*api = /],
      // Connect codes say the same as the statuses.
      ['pyroscope', err(401, '', 'unauthenticated'), /wrong or missing credentials/],
      ['pyroscope', err(403, '', 'permission_denied'), /not allowed to write/],
      ['pyroscope', err(404, '', 'not_found'), /wrong URL/],
      ['pyroscope', err(501, '', 'unimplemented'), /wrong URL/],
      ['datadog', err(403), /refuses the API key.*api_key/],
      ['datadog', err(404), /wrong URL.*:8126\/profiling\/v1\/input/],
      ['otlp', err(401), /wrong or missing credentials.*tenant_id/],
      ['otlp', err(404), /wrong URL.*\/v1development\/profiles/],
    ];
    for (const [kind, e, hint, notHint] of cases) {
      const { logger, lines } = capture();
      const r = new RejectionLog(logger, new FakeClock(), kind);
      r.rejected(e, record);
      assert.equal(lines.length, 1, `${kind} ${e.opts.status}`);
      assert.match(String(lines[0]!.hint), hint, `${kind} ${e.opts.status} ${e.opts.code ?? ''}: ${lines[0]!.hint}`);
      if (notHint) assert.doesNotMatch(String(lines[0]!.hint), notHint);
    }
  });

  it('distinct answers beyond the cap in one period are counted, not logged one by one', async () => {
    const clock = new FakeClock();
    const { logger, lines } = capture();
    const r = new RejectionLog(logger, clock, 'datakit');
    // Answers that differ in words, not only in numbers.
    const words = (i: number) => [...i.toString(2).padStart(8, '0')].map((b, j) => (b === '1' ? `w${String.fromCharCode(97 + j)}` : 'x')).join(' ');
    for (let i = 0; i < 100; i++) r.rejected(err(400, `bad profile: ${words(i)}`), record);
    const seen = visible(lines);
    assert.equal(seen.length, MAX_REJECTION_LINES_PER_PERIOD, `at most ${MAX_REJECTION_LINES_PER_PERIOD} lines per period`);
    await clock.advance(REPEAT_SUMMARY_EVERY_MS);
    r.rejected(err(400, 'bad profile: yet another'), record);
    const after = visible(lines).slice(seen.length);
    const overflow = after.find((l) => /rejected with other answers/.test(l.msg));
    assert.ok(overflow, after.map((l) => l.msg).join('\n'));
    assert.equal(overflow.rejected, 100 - MAX_REJECTION_LINES_PER_PERIOD);
  });
});
