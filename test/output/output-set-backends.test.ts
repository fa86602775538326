// The OTLP and Datadog outputs as the collector builds them: OutputSet turns
// their config into senders behind the same spool, queue and retry as every
// output. Against the Go receiver (pdata for OTLP, dd-trace-go's multipart
// for Datadog): a 503 is retried from the spool, a partial success reaches
// the onPartialSuccess hook once and is not retried, the agentless output
// sends DD-API-KEY and the agent output does not, and the spool is empty
// once everything is delivered.
//
//   node --import tsx --test test/output/output-set-backends.test.ts

import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, describe, it } from 'node:test';
import type { DatadogOutputConfig, OtlpOutputConfig } from '../../src/config/types.js';
import { systemClock } from '../../src/core/clock.js';
import { silentLogger } from '../../src/core/log.js';
import { OutputSet } from '../../src/output/index.js';
import type { OtlpPartialSuccess } from '../../src/output/otlp.js';
import { Backoff } from '../../src/output/retry.js';
import { goReceiverSuite } from '../helpers/go-receiver.js';

const API_KEY = 'ddkey-outputset-0123456789abcdef';
const suite = goReceiverSuite();
const dir = mkdtempSync(join(tmpdir(), 'output-set-backends-'));
after(() => rmSync(dir, { recursive: true, force: true }));

const source = { file: 'test.conf', line: 1 };
const common = { timeoutMs: 10_000, headers: {}, concurrency: 2 };

describe('OutputSet builds the OTLP and Datadog senders behind the spool, queue and retry', () => {
  it('a 503 is retried, a partial success is reported once and not retried; agent and agentless uploads; the spool ends empty', { timeout: 60_000 }, async () => {
    const r = suite.receiver();
    const records = suite.shipped().filter((s) => s.record.type === 'heap' || s.record.type === 'cpu').slice(0, 2).map((s) => s.record);
    assert.deepEqual(records.map((x) => x.type).sort(), ['cpu', 'heap']);
    const otlp: OtlpOutputConfig = { kind: 'otlp', name: 'otel', source, url: r.otlpUrl, compression: 'gzip', tenantId: 'team-a', ...common };
    const agentless: DatadogOutputConfig = { kind: 'datadog', name: 'dd-intake', source, url: `${r.url}/v1/input`, site: 'datadoghq.eu', apiKey: API_KEY, ...common };
    const agent: DatadogOutputConfig = { kind: 'datadog', name: 'dd-agent', source, url: `${r.url}/profiling/v1/input`, ...common };
    // The first OTLP request fails with 503; its retry is answered with a partial success.
    await r.answerOtlp([{ status: 503, message: 'ingester not ready' }, { rejected: 1, message: 'one profile over a limit' }]);

    const sent: string[] = [];
    const retried: string[] = [];
    const dropped: string[] = [];
    const partials: Array<{ output: string; id: string } & OtlpPartialSuccess> = [];
    const set = await OutputSet.open(
      [otlp, agentless, agent],
      {
        clock: systemClock,
        logger: silentLogger(),
        backoff: new Backoff({ initialMs: 5, maxMs: 5, random: () => 0 }),
        events: {
          onSent: (output, rec) => void sent.push(`${output} ${rec.type}`),
          onRetry: (output, rec) => void retried.push(`${output} ${rec.type}`),
          onDrop: (output, _rec, reason) => void dropped.push(`${output} ${reason}`),
        },
        onPartialSuccess: (output, rec, p) => void partials.push({ output, id: rec.id, ...p }),
      },
      { dir: join(dir, 'spool'), maxBytes: 1 << 30, maxAgeMs: 86_400_000 },
    );
    try {
      // One at a time, so which record met the 503 is known.
      for (const rec of records) {
        await set.dispatch(rec);
        assert.equal(await set.drain(20_000), 0, 'every output delivered');
      }
      for (const name of ['otel', 'dd-intake', 'dd-agent']) assert.deepEqual(set.spooled(name), [], `${name}: the spool holds nothing`);
    } finally {
      await set.close();
    }
    assert.deepEqual(dropped, []);
    assert.deepEqual(retried, [`otel ${records[0]!.type}`], 'only the 503 was retried');
    assert.deepEqual(sent.sort(), ['dd-agent', 'dd-intake', 'otel'].flatMap((o) => records.map((x) => `${o} ${x.type}`)).sort());
    assert.equal(partials.length, 1, 'one partial success, reported once');
    assert.equal(partials[0]!.output, 'otel');
    assert.equal(partials[0]!.id, records[0]!.id, 'the retried record');
    assert.equal(partials[0]!.rejectedProfiles, 1);
    assert.equal(partials[0]!.errorMessage, 'one profile over a limit');
    assert.equal(partials[0]!.sentProfiles, records[0]!.type === 'heap' ? 4 : 2);

    const got = await r.summary();
    for (const req of got) assert.deepEqual(req.errors, [], `${req.kind}: ${req.errors.join('; ')}`);
    const otlpReqs = got.filter((q) => q.kind === 'otlp');
    assert.deepEqual(otlpReqs.map((q) => q.status), [503, 200, 200], 'the 503, its retry (a 200 with partial success), the second record');
    assert.deepEqual(otlpReqs.map((q) => q.partial_success?.rejected_profiles), [undefined, 1, undefined]);
    for (const q of otlpReqs) {
      assert.equal(q.headers['Content-Encoding'], 'gzip');
      assert.equal(q.headers['X-Scope-Orgid'], 'team-a');
    }
    const intake = got.filter((q) => q.kind === 'dd_intake');
    const agentReqs = got.filter((q) => q.kind === 'dd_agent');
    assert.equal(intake.length, 2);
    assert.equal(agentReqs.length, 2);
    for (const q of intake) assert.equal(q.headers['Dd-Api-Key'], API_KEY);
    for (const q of agentReqs) assert.equal(q.headers['Dd-Api-Key'], undefined, 'no key to an Agent');
  });
});
