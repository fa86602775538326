// kubernetes_sd's selectors are checked when the config loads, the way the
// API server checks them (what it refuses with a 400 is a config error
// here), and the fake API server's own parser (test/helpers/kube-selectors.ts)
// agrees on every case: what one accepts, the other does.

import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { fieldSelectorProblem, labelSelectorProblem } from '../../../src/config/validate/kube-selectors.js';
import { parseFieldSelector, parseLabelSelector } from '../../helpers/kube-selectors.js';

const fakeAccepts = (f: () => unknown) => {
  try {
    f();
    return true;
  } catch {
    return false;
  }
};

describe('label_selector', () => {
  const good = ['app=checkout', 'app==checkout', 'app!=legacy', 'app', '!canary', 'tier in (backend,batch)', 'tier notin (cache)', 'tier in ( backend , batch )',
    'app.kubernetes.io/part-of=shop', 'a=b,c!=d, e in (f), !g', 'app=', 'example.com/x_y.z-1=v_1.2-3'];
  const bad: Array<[string, RegExp]> = [
    ['tier in ()', /the set of values in \( \) is empty/],
    ['app=check out', /is not a requirement/],
    ['a=b,,c=d', /empty requirement/],
    ['a=b,', /empty requirement/],
    ['-app=x', /is not a label key/],
    ['Example.COM/app=x', /prefix before \/ must be a DNS subdomain/],
    ['app=-x', /is not a label value/],
    [`app=${'x'.repeat(64)}`, /is not a label value/],
    ['replicas>3', /> and < operators are not supported/],
    ['tier in (a b)', /is not a label value/],
  ];
  it('accepts what the API server accepts', () => {
    for (const s of good) {
      assert.equal(labelSelectorProblem(s), undefined, s);
      assert.ok(fakeAccepts(() => parseLabelSelector(s)), `the fake refuses ${s}`);
    }
  });
  it('refuses the rest with what is wrong', () => {
    for (const [s, why] of bad) {
      assert.match(labelSelectorProblem(s) ?? 'accepted', why, s);
      assert.ok(!fakeAccepts(() => parseLabelSelector(s)), `the fake accepts ${s}`);
    }
    assert.match(labelSelectorProblem('  ')!, /leave label_selector out/);
  });
  it('the fake applies them as the API server does: != and notin match a pod without the label', () => {
    const pod = (labels: Record<string, string>) => ({ metadata: { name: 'p', namespace: 'n', labels } });
    const m = (s: string, labels: Record<string, string>) => parseLabelSelector(s)(pod(labels));
    assert.equal(m('app!=x', {}), true);
    assert.equal(m('tier notin (a)', {}), true);
    assert.equal(m('tier in (a)', {}), false);
    assert.equal(m('app=', { app: '' }), true);
    assert.equal(m('app=', {}), false);
    assert.equal(m('!canary,app', { app: 'x' }), true);
    assert.equal(m('!canary,app', { app: 'x', canary: 'true' }), false);
  });
});

describe('field_selector', () => {
  it('pod fields with =, == and !=; "" selects every pod', () => {
    for (const s of ['status.phase=Running', 'status.phase==Running', 'status.phase!=Failed,spec.nodeName=node-1', 'metadata.namespace=shop', 'spec.hostNetwork=false', '']) {
      assert.equal(fieldSelectorProblem(s), undefined, s);
      assert.ok(fakeAccepts(() => parseFieldSelector(s)), `the fake refuses ${s}`);
    }
  });
  it('other fields, other operators, spaces and escapes are refused', () => {
    const bad: Array<[string, RegExp]> = [
      ['status.hostIP=10.0.0.1', /"status\.hostIP" is not a field the API server can select pods on/],
      ['metadata.labels.app=x', /is not a field/],
      ['status.phase', /is not a term/],
      ['status.phase = Running', /has spaces/],
      ['metadata.name=a\\,b', /escapes/],
    ];
    for (const [s, why] of bad) assert.match(fieldSelectorProblem(s) ?? 'accepted', why, s);
    for (const s of ['status.hostIP=10.0.0.1', 'metadata.labels.app=x', 'status.phase']) assert.ok(!fakeAccepts(() => parseFieldSelector(s)), `the fake accepts ${s}`);
  });
});
