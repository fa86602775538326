// What the DataKit, Pyroscope (push and ingest) and file outputs put on the
// wire or on disk, read by the backends' own Go code in the Go receiver: the
// Pyroscope push body by the official connect handler and PushRequest types,
// the DataKit upload by Go's mime/multipart, and every raw pprof by
// google/pprof's Parse + CheckValid. Beside the field-number doubles, not
// instead of them.

import assert from 'node:assert/strict';
import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { after, describe, it } from 'node:test';
import { Agent } from 'undici';
import { createLogger } from '../../src/core/log.js';
import { DatakitSender } from '../../src/output/datakit.js';
import { FileSender } from '../../src/output/file.js';
import { ingestBody, PyroscopeSender } from '../../src/output/pyroscope.js';
import type { ProfileTypeName } from '../../src/profile/types.js';
import { goReceiverSuite, type RunningGoReceiver } from '../helpers/go-receiver.js';
import { decode, sampleTypeNames } from '../helpers/pprof-model.js';
import { cleanupAfterAll } from '../helpers/processes.js';

const PUSH_NAME: Record<ProfileTypeName, string> = { cpu: 'process_cpu', heap: 'memory', goroutine: 'goroutine', mutex: 'mutex', block: 'block' };

const cleanup = cleanupAfterAll();
const suite = goReceiverSuite();
const need = (): RunningGoReceiver => suite.receiver();
const agent = new Agent({ connections: 4 });
const logger = createLogger({ level: 'error', destination: { write: () => undefined } });
const signal = () => new AbortController().signal;

after(() => agent.close());

describe('the other outputs, read by the backends\' Go code', () => {
  it('Pyroscope push: the official connect handler decodes every shipped record; labels, ID and a valid pprof with the source samples', async () => {
    const r = need();
    const sender = new PyroscopeSender({ kind: 'pyroscope', name: 'pyro', source: { file: 't', line: 1 }, url: r.url, api: 'push', tenantId: 'acme', headers: {}, timeoutMs: 5_000 }, agent, logger);
    for (const { record } of suite.shipped()) await sender.send(record, signal());
    const got = await r.summary();
    assert.equal(got.length, suite.shipped().length);
    got.forEach((req, i) => {
      const { label, record } = suite.shipped()[i]!;
      assert.deepEqual(req.errors, [], `${label}: ${req.errors.join('; ')}`);
      assert.equal(req.kind, 'pyroscope_push');
      assert.equal(req.headers['Content-Type'], 'application/proto');
      assert.equal(req.headers['X-Scope-Orgid'], 'acme');
      assert.equal(req.series?.length, 1, label);
      const series = req.series![0]!;
      assert.equal(series.labels.__name__, PUSH_NAME[record.type], label);
      assert.equal(series.labels.service_name, record.service, label);
      assert.equal(series.labels.__delta__, record.isDelta ? 'false' : undefined, `${label}: __delta__ only on delta types`);
      assert.equal(series.samples.length, 1);
      assert.equal(series.samples[0]!.id, record.id);
      const pp = series.samples[0]!.pprof;
      assert.equal(pp.error, undefined, label);
      const src = decode(record.pprof);
      assert.equal(pp.samples, src.sample.length, `${label}: samples`);
      assert.deepEqual(pp.sample_types, sampleTypeNames(src), label);
    });
  });

  it('DataKit: Go\'s multipart reader takes every upload, and google/pprof every profile part', async () => {
    const r = need();
    const sender = new DatakitSender({ kind: 'datakit', name: 'dk', source: { file: 't', line: 1 }, url: `${r.url}/profiling/v1/input`, headers: {}, timeoutMs: 5_000 }, agent);
    for (const { record } of suite.shipped()) await sender.send(record, signal());
    const got = await r.summary();
    assert.equal(got.length, suite.shipped().length);
    got.forEach((req, i) => {
      const { label, record } = suite.shipped()[i]!;
      assert.deepEqual(req.errors, [], `${label}: ${req.errors.join('; ')}`);
      assert.equal(req.headers['X-Profile-Id'], record.id);
      assert.deepEqual(req.parts!.map((p) => p.name), [...(req.event!.attachments as string[]), 'event']);
      assert.equal(req.parts![0]!.pprof!.samples, decode(record.pprof).sample.length, label);
    });
  });

  it('Pyroscope ingest\'s profile part and the file output\'s files: google/pprof parses and validates each', async () => {
    const r = need();
    const dir = cleanup.tempDir('wire-go-files-');
    const files = new FileSender({ kind: 'file', name: 'files', source: { file: 't', line: 1 }, dir });
    for (const { label, record } of suite.shipped()) {
      await files.send(record);
      const part = ingestBody(record).body;
      // The ingest body is multipart; its profile part holds record.pprof byte for byte.
      assert.ok(part.includes(record.pprof), `${label}: the ingest profile part is the record's pprof`);
      const pp = await r.checkPprof(record.pprof);
      assert.equal(pp.error, undefined, `${label}: ${pp.error}`);
    }
    const written = readdirSync(dir, { recursive: true, encoding: 'utf8' }).filter((f) => f.endsWith('.pprof'));
    assert.equal(written.length, suite.shipped().length);
    for (const f of written) {
      const pp = await r.checkPprof(readFileSync(join(dir, f)));
      assert.equal(pp.error, undefined, `${f}: ${pp.error}`);
      assert.ok(pp.samples > 0 || f.includes('_mutex_') || f.includes('_block_'), `${f}: samples`);
    }
  });

  it('the receiver is no rubber stamp: a truncated pprof fails Parse, a profile with a dangling location fails', async () => {
    const r = need();
    const good = suite.shipped()[0]!.record.pprof;
    const truncated = await r.checkPprof(good.subarray(0, Math.floor(good.length / 2)));
    assert.match(truncated.error ?? '', /profile\.Parse/);
    // A sample pointing at location 99 (no such location): Parse refuses it.
    const bad = Buffer.from([0x12, 0x04, 0x08, 0x63, 0x10, 0x01, 0x0a, 0x04, 0x08, 0x01, 0x10, 0x02, 0x32, 0x00, 0x32, 0x01, 0x61, 0x32, 0x01, 0x62]);
    const dangling = await r.checkPprof(bad);
    assert.match(dangling.error ?? '', /location/, 'a sample with a missing location must not pass');
  });
});
