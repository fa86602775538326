// The Datadog output: dd-trace-go's upload (the DataKit body with dd-trace-go's
// event.json) to an Agent's /profiling/v1/input, or agentless to the intake
// with DD-API-KEY, checked by the Go receiver's strict double (Go's
// mime/multipart, the event's fields, every pprof through google/pprof).

import assert from 'node:assert/strict';
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { after, beforeEach, describe, it } from 'node:test';
import { Agent } from 'undici';
import type { DatadogOutputConfig } from '../../src/config/types.js';
import { datadogEvent, DatadogSender } from '../../src/output/datadog.js';
import type { ProfileRecord } from '../../src/profile/record.js';
import { goReceiverSuite, sendOutcome as send, type RunningGoReceiver } from '../helpers/go-receiver.js';
import { makeRecord } from '../helpers/records.js';

const API_KEY = '0123456789abcdef0123456789abcdef';

const suite = goReceiverSuite();
const need = (): RunningGoReceiver => suite.receiver();
let records: ProfileRecord[] = [];
const agent = new Agent({ connections: 4 });
beforeEach(() => {
  records = suite.shipped().map((s) => s.record);
});
after(() => agent.close());

function cfg(over: Partial<DatadogOutputConfig>): DatadogOutputConfig {
  return { kind: 'datadog', name: 'dd', source: { file: 'test.conf', line: 1 }, url: '', timeoutMs: 5_000, headers: {}, ...over };
}

describe('Datadog: where and what', () => {
  it('event.json has exactly dd-trace-go uploadEvent fields: version 4, family go, runtime:go last in tags_profiler', () => {
    const ev = datadogEvent(makeRecord({ type: 'heap', startNs: 1_763_772_312_123_456_789n, endNs: 1_763_772_321_000_000_001n }));
    assert.deepEqual(Object.keys(ev).sort(), ['attachments', 'end', 'family', 'start', 'tags_profiler', 'version']);
    assert.deepEqual(ev.attachments, ['delta-heap.pprof']);
    assert.equal(ev.version, '4');
    assert.equal(ev.family, 'go');
    assert.equal(ev.start, '2025-11-22T00:45:12.123456789Z');
    assert.match(String(ev.tags_profiler), /^host:build-box,.*service:checkout,env:staging,version:1\.4\.2,runtime:go$/);
  });
});

describe('Datadog: on the wire, against the strict double', () => {
  it('agentless: DD-API-KEY on every upload; every shipped type passes the double and google/pprof', async () => {
    const r = need();
    const sender = new DatadogSender(cfg({ url: `${r.url}/v1/input`, site: 'datadoghq.eu', apiKey: API_KEY }), agent);
    for (const rec of records) assert.equal(await send(sender, rec), undefined, rec.type);
    const got = await r.summary();
    assert.equal(got.length, records.length);
    for (const [i, req] of got.entries()) {
      const rec = records[i]!;
      assert.deepEqual(req.errors, [], `${rec.type}: ${req.errors.join('; ')}`);
      assert.equal(req.kind, 'dd_intake');
      assert.equal(req.status, 202);
      assert.equal(req.headers['Dd-Api-Key'], API_KEY);
      assert.match(req.headers['Content-Type'] ?? '', /^multipart\/form-data; boundary=/);
      assert.equal(req.event?.version, '4');
      const part = req.parts!.find((p) => p.name !== 'event')!;
      assert.equal(part.pprof?.error, undefined);
      assert.equal(part.pprof?.samples, rec.sampleCount, `${rec.type}: the samples google/pprof reads`);
    }
  });

  it('through an Agent (url, no api key): no DD-API-KEY header; the agentless double refuses an upload without it, and that is final', async () => {
    const r = need();
    const viaAgent = new DatadogSender(cfg({ url: `${r.url}/profiling/v1/input` }), agent);
    assert.equal(await send(viaAgent, records[0]!), undefined);
    const keyless = new DatadogSender(cfg({ url: `${r.url}/v1/input` }), agent);
    const err = await send(keyless, records[0]!);
    assert.ok(err);
    assert.equal(err.retryable, false);
    assert.match(err.message, /answered 400: no DD-API-KEY header/);
    const got = await r.summary();
    assert.equal(got[0]!.kind, 'dd_agent');
    assert.equal(got[0]!.headers['Dd-Api-Key'], undefined);
    assert.deepEqual(got[0]!.errors, []);
  });

  it('the API key never appears in an error, even when the intake echoes it', async () => {
    const srv = createServer((req, res) => {
      res.writeHead(403, { 'content-type': 'application/json' });
      res.end(JSON.stringify({ errors: [`API key ${String(req.headers['dd-api-key'])} is invalid`] }));
    });
    await new Promise<void>((resolve) => srv.listen(0, '127.0.0.1', resolve));
    try {
      const url = `http://127.0.0.1:${(srv.address() as AddressInfo).port}/v1/input`;
      const err = await send(new DatadogSender(cfg({ url, apiKey: API_KEY }), agent), records[0]!);
      assert.ok(err);
      assert.equal(err.retryable, false);
      assert.ok(!err.message.includes(API_KEY), err.message);
      assert.match(err.message, /API key \[redacted\] is invalid/);
    } finally {
      await new Promise((resolve) => srv.close(resolve));
    }
  });
});
