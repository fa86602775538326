// Where relabel rules run: the worker thread with its watchdog gives what
// the inline runner gives, and a rule that backtracks for ever on one
// target's labels is stopped there, that target skipped, the others done.
//
//   node --import tsx --test test/discovery/relabeler.test.ts

import assert from 'node:assert/strict';
import { afterEach, describe, test } from 'node:test';
import type { RelabelConfigSpec } from '../../src/config/types.js';
import type { LabelPairs } from '../../src/discovery/relabel-batch.js';
import { InlineRelabeler, RelabelAbandonedError, WorkerRelabeler } from '../../src/discovery/relabeler.js';

const open: WorkerRelabeler[] = [];
afterEach(async () => {
  while (open.length > 0) await open.pop()!.close();
});

function worker(deadlineMs = 1_000, maxTimeouts = 3): WorkerRelabeler {
  const w = new WorkerRelabeler({ deadlineMs, maxTimeouts });
  open.push(w);
  return w;
}

const pairs = (o: Record<string, string>): LabelPairs => Object.entries(o);

const RULES: RelabelConfigSpec[] = [
  { source_labels: ['__meta_kubernetes_namespace'], regex: 'kube-.*', action: 'drop' },
  { source_labels: ['__meta_kubernetes_namespace'], target_label: '__tenant_id__', replacement: 'team-$1' },
  { regex: '__meta_kubernetes_pod_label_(.+)', action: 'labelmap' },
  { source_labels: ['__meta_kubernetes_pod_annotation_scheme'], regex: '(https?)', target_label: '__scheme__' },
];

const INPUTS: LabelPairs[] = [
  pairs({ __address__: '10.0.0.1:6060', __meta_kubernetes_namespace: 'shop', __meta_kubernetes_pod_label_app: 'cart', __meta_kubernetes_pod_annotation_scheme: 'https', __scheme__: 'http' }),
  pairs({ __address__: '10.0.0.2:6060', __meta_kubernetes_namespace: 'kube-system', __meta_kubernetes_pod_label_app: 'dns' }),
  pairs({ __address__: '10.0.0.3:6060', __meta_kubernetes_namespace: 'web' }),
];

const EXPECTED = [
  // __meta_* labels are not sent back: only the labels a target keeps and the settings read after the rules.
  { kind: 'kept', labels: [['__address__', '10.0.0.1:6060'], ['__scheme__', 'https'], ['__tenant_id__', 'team-shop'], ['app', 'cart']] },
  { kind: 'dropped', rule: 0 },
  { kind: 'kept', labels: [['__address__', '10.0.0.3:6060'], ['__tenant_id__', 'team-web']] },
];

describe('the same outcomes inline and in the worker', () => {
  test('inline', async () => {
    assert.deepEqual(await new InlineRelabeler().run(RULES, INPUTS), EXPECTED);
  });

  test('worker: one thread, started when first used, reused', async () => {
    const w = worker();
    assert.equal(w.started, 0, 'nothing started before a batch');
    assert.deepEqual(await w.run(RULES, INPUTS), EXPECTED);
    assert.deepEqual(await w.run(RULES, INPUTS.slice(2)), EXPECTED.slice(2));
    assert.equal(w.started, 1);
  });

  test('batches asked at once run one after the other, each with its own rules', async () => {
    const w = worker();
    const other: RelabelConfigSpec[] = [{ source_labels: ['__address__'], regex: '10\\.0\\.0\\.3:.*', action: 'keep' }];
    const [a, b] = await Promise.all([w.run(RULES, INPUTS), w.run(other, INPUTS)]);
    assert.deepEqual(a, EXPECTED);
    assert.deepEqual(b.map((o) => o.kind), ['dropped', 'dropped', 'kept']);
  });
});

// (a+)+b backtracks exponentially in JavaScript on "aaa...a!" (RE2 runs it in linear time):
// 40 a's take far longer than any deadline here (about 2^40 steps).
const BACKTRACKING: RelabelConfigSpec[] = [
  { source_labels: ['__address__'], regex: '(.*)', target_label: 'addr' },
  { source_labels: ['__meta_note'], regex: '(a+)+b', target_label: 'note', replacement: 'matched' },
];
const slow = (n: number): LabelPairs => pairs({ __address__: `10.0.1.${n}:6060`, __meta_note: `${'a'.repeat(40)}!` });
const fast = (n: number): LabelPairs => pairs({ __address__: `10.0.2.${n}:6060`, __meta_note: 'aab' });

describe('the watchdog', () => {
  test('a rule that runs past the deadline on one target is stopped: that target times out, the others are relabeled', async () => {
    const w = worker(200);
    const out = await w.run(BACKTRACKING, [fast(1), slow(1), fast(2)]);
    assert.deepEqual(out[0], { kind: 'kept', labels: [['__address__', '10.0.2.1:6060'], ['addr', '10.0.2.1:6060'], ['note', 'matched']] });
    assert.equal(out[1]!.kind, 'timeout');
    assert.equal(out[1]!.kind === 'timeout' && out[1]!.rule, 1, 'the rule that was running: the second');
    assert.ok(out[1]!.kind === 'timeout' && out[1]!.ms >= 200);
    assert.deepEqual(out[2], { kind: 'kept', labels: [['__address__', '10.0.2.2:6060'], ['addr', '10.0.2.2:6060'], ['note', 'matched']] });
    assert.equal(w.started, 2, 'the stuck worker was replaced');
    // The new worker serves the next batch.
    assert.deepEqual((await w.run(BACKTRACKING, [fast(3)])).map((o) => o.kind), ['kept']);
    assert.equal(w.started, 2);
  });

  test('too many stuck targets in one update: the update is abandoned (the caller keeps what it had)', async () => {
    const w = worker(100, 2);
    await assert.rejects(w.run(BACKTRACKING, [slow(1), fast(1), slow(2), slow(3)]), (err: unknown) => err instanceof RelabelAbandonedError && /2 targets of this update each ran a rule for over 100 ms \(the last: rule 2\)/.test(err.message));
    // And the relabeler goes on working.
    assert.deepEqual((await w.run(BACKTRACKING, [fast(1)])).map((o) => o.kind), ['kept']);
  });

  test('close() ends a batch in flight', async () => {
    const w = worker(60_000);
    const p = w.run(BACKTRACKING, [slow(1)]);
    await new Promise((r) => setTimeout(r, 500));
    await w.close();
    await assert.rejects(p, RelabelAbandonedError);
  });
});
