// The relabel engine (src/core/relabel.ts) against the cases of
// Prometheus's own model/relabel tests (re-expressed here as tables), its
// validation rules, properties that must hold for any label set, and
// Prometheus itself: fixtures/relabel-oracle runs the real model/relabel
// (v0.316.0) on the same rules and labels.
//
//   node --import tsx --test test/core/relabel.test.ts

import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import fc from 'fast-check';
import { startRelabelOracle, type RelabelOracle } from '../../fixtures/relabel-oracle/harness.js';
import {
  compileRelabelRules,
  dropReservedLabels,
  goToLower,
  goToUpper,
  hashmod,
  isLegacyNameWithVars,
  relabel,
  type NameValidation,
  type RelabelRule,
} from '../../src/core/relabel.js';

type Raw = Record<string, unknown>;
type Labels = Record<string, string>;

function compile(raw: Raw[], nameValidation: NameValidation = 'utf8'): readonly RelabelRule[] {
  const r = compileRelabelRules(raw, { nameValidation });
  if (!r.ok) assert.fail(`rules did not compile: ${r.issues.map((i) => `${i.path}: ${i.message}`).join('; ')}`);
  return r.rules;
}

function run(input: Labels, raw: Raw[], nameValidation: NameValidation = 'utf8'): Labels | 'dropped' {
  const out = relabel(input, compile(raw, nameValidation));
  return out === null ? 'dropped' : Object.fromEntries(out);
}

/** Prometheus's TestRelabel (model/relabel/relabel_test.go), case by case. */
const PROMETHEUS_CASES: Array<{ name: string; input: Labels; rules: Raw[]; output: Labels | 'dropped' }> = [
  { name: 'replace with ${1} twice', input: { a: 'foo', b: 'bar', c: 'baz' }, rules: [{ source_labels: ['a'], regex: 'f(.*)', target_label: 'd', separator: ';', replacement: 'ch${1}-ch${1}', action: 'replace' }], output: { a: 'foo', b: 'bar', c: 'baz', d: 'choo-choo' } },
  {
    name: 'two sources joined by the separator, then a rule reading the rewritten label',
    input: { a: 'foo', b: 'bar', c: 'baz' },
    rules: [
      { source_labels: ['a', 'b'], regex: 'f(.*);(.*)r', target_label: 'a', separator: ';', replacement: 'b${1}${2}m', action: 'replace' },
      { source_labels: ['c', 'a'], regex: '(b).*b(.*)ba(.*)', target_label: 'd', separator: ';', replacement: '$1$2$2$3', action: 'replace' },
    ],
    output: { a: 'boobam', b: 'bar', c: 'baz', d: 'boooom' },
  },
  { name: 'drop stops before later rules', input: { a: 'foo' }, rules: [{ source_labels: ['a'], regex: '.*o.*', action: 'drop' }, { source_labels: ['a'], regex: 'f(.*)', target_label: 'd', separator: ';', replacement: 'ch$1-ch$1', action: 'replace' }], output: 'dropped' },
  { name: 'drop on match', input: { a: 'foo', b: 'bar' }, rules: [{ source_labels: ['a'], regex: '.*o.*', action: 'drop' }], output: 'dropped' },
  { name: 'replace with a group inside .*', input: { a: 'abc' }, rules: [{ source_labels: ['a'], regex: '.*(b).*', target_label: 'd', separator: ';', replacement: '$1', action: 'replace' }], output: { a: 'abc', d: 'b' } },
  { name: 'drop without a match keeps', input: { a: 'foo' }, rules: [{ source_labels: ['a'], regex: 'no-match', action: 'drop' }], output: { a: 'foo' } },
  { name: 'drop regex is anchored (f|o does not match foo)', input: { a: 'foo' }, rules: [{ source_labels: ['a'], regex: 'f|o', action: 'drop' }], output: { a: 'foo' } },
  { name: 'keep without a match drops', input: { a: 'foo' }, rules: [{ source_labels: ['a'], regex: 'no-match', action: 'keep' }], output: 'dropped' },
  { name: 'keep on match', input: { a: 'foo' }, rules: [{ source_labels: ['a'], regex: 'f.*', action: 'keep' }], output: { a: 'foo' } },
  { name: 'no replacement without a match', input: { a: 'boo' }, rules: [{ source_labels: ['a'], regex: 'f', target_label: 'b', replacement: 'bar', action: 'replace' }], output: { a: 'boo' } },
  { name: 'blank replacement deletes the label', input: { a: 'foo', f: 'baz' }, rules: [{ source_labels: ['a'], regex: '(f).*', target_label: '$1', replacement: '$2', action: 'replace' }], output: { a: 'foo' } },
  { name: 'hashmod 1000 of "baz" is 976', input: { a: 'foo', b: 'bar', c: 'baz' }, rules: [{ source_labels: ['c'], target_label: 'd', separator: ';', action: 'hashmod', modulus: 1000 }], output: { a: 'foo', b: 'bar', c: 'baz', d: '976' } },
  { name: 'hashmod 1000 of "foo\\nbar" is 734', input: { a: 'foo\nbar' }, rules: [{ source_labels: ['a'], target_label: 'b', separator: ';', action: 'hashmod', modulus: 1000 }], output: { a: 'foo\nbar', b: '734' } },
  { name: 'labelmap with a prefix', input: { a: 'foo', b1: 'bar', b2: 'baz' }, rules: [{ regex: '(b.*)', replacement: 'bar_${1}', action: 'labelmap' }], output: { a: 'foo', b1: 'bar', b2: 'baz', bar_b1: 'bar', bar_b2: 'baz' } },
  {
    name: 'labelmap of __meta_ labels',
    input: { a: 'foo', __meta_my_bar: 'aaa', __meta_my_baz: 'bbb', __meta_other: 'ccc' },
    rules: [{ regex: '__meta_(my.*)', replacement: '${1}', action: 'labelmap' }],
    output: { a: 'foo', __meta_my_bar: 'aaa', __meta_my_baz: 'bbb', __meta_other: 'ccc', my_bar: 'aaa', my_baz: 'bbb' },
  },
  { name: 'target_label from a group (valid case)', input: { a: 'some-name-value' }, rules: [{ source_labels: ['a'], regex: 'some-([^-]+)-([^,]+)', action: 'replace', replacement: '${2}', target_label: '${1}' }], output: { a: 'some-name-value', name: 'value' } },
  { name: 'replacement of a missing group is "" (invalid replacement)', input: { a: 'some-name-value' }, rules: [{ source_labels: ['a'], regex: 'some-([^-]+)-([^,]+)', action: 'replace', replacement: '${3}', target_label: '${1}' }], output: { a: 'some-name-value' } },
  {
    name: 'an empty expanded target_label is skipped (invalid target_labels)',
    input: { a: 'some-name-0' },
    rules: [
      { source_labels: ['a'], regex: 'some-([^-]+)-([^,]+)', action: 'replace', replacement: '${1}', target_label: '${3}' },
      { source_labels: ['a'], regex: 'some-([^-]+)-([^,]+)', action: 'replace', replacement: '${1}', target_label: '${3}' },
      { source_labels: ['a'], regex: 'some-([^-]+)(-[^,]+)', action: 'replace', replacement: '${1}', target_label: '${3}' },
    ],
    output: { a: 'some-name-0' },
  },
  {
    name: 'real-life tags: path, job and a label from one __meta_ label',
    input: { __meta_sd_tags: 'path:/secret,job:some-job,label:foo=bar' },
    rules: [
      { source_labels: ['__meta_sd_tags'], regex: '(?:.+,|^)path:(/[^,]+).*', action: 'replace', replacement: '${1}', target_label: '__metrics_path__' },
      { source_labels: ['__meta_sd_tags'], regex: '(?:.+,|^)job:([^,]+).*', action: 'replace', replacement: '${1}', target_label: 'job' },
      { source_labels: ['__meta_sd_tags'], regex: '(?:.+,|^)label:([^=]+)=([^,]+).*', action: 'replace', replacement: '${2}', target_label: '${1}' },
    ],
    output: { __meta_sd_tags: 'path:/secret,job:some-job,label:foo=bar', __metrics_path__: '/secret', job: 'some-job', foo: 'bar' },
  },
  {
    name: 'prometheus issue 12283: labeldrop, then replace sets the dropped label again, then keep reads it',
    input: { __meta_kubernetes_pod_container_port_name: 'foo', __meta_kubernetes_pod_annotation_XXX_metrics_port: '9091' },
    rules: [
      { regex: '^__meta_kubernetes_pod_container_port_name$', action: 'labeldrop' },
      { source_labels: ['__meta_kubernetes_pod_annotation_XXX_metrics_port'], regex: '(.+)', action: 'replace', replacement: 'metrics', target_label: '__meta_kubernetes_pod_container_port_name' },
      { source_labels: ['__meta_kubernetes_pod_container_port_name'], regex: '^metrics$', action: 'keep' },
    ],
    output: { __meta_kubernetes_pod_annotation_XXX_metrics_port: '9091', __meta_kubernetes_pod_container_port_name: 'metrics' },
  },
  { name: 'labelkeep', input: { a: 'foo', b1: 'bar', b2: 'baz' }, rules: [{ regex: '(b.*)', action: 'labelkeep' }], output: { b1: 'bar', b2: 'baz' } },
  { name: 'labeldrop', input: { a: 'foo', b1: 'bar', b2: 'baz' }, rules: [{ regex: '(b.*)', action: 'labeldrop' }], output: { a: 'foo' } },
  {
    name: 'uppercase and lowercase',
    input: { foo: 'bAr123Foo' },
    rules: [{ source_labels: ['foo'], action: 'uppercase', target_label: 'foo_uppercase' }, { source_labels: ['foo'], action: 'lowercase', target_label: 'foo_lowercase' }],
    output: { foo: 'bAr123Foo', foo_lowercase: 'bar123foo', foo_uppercase: 'BAR123FOO' },
  },
  { name: 'keepequal, equal: kept', input: { __tmp_port: '1234', __port1: '1234', __port2: '5678' }, rules: [{ source_labels: ['__tmp_port'], action: 'keepequal', target_label: '__port1' }], output: { __tmp_port: '1234', __port1: '1234', __port2: '5678' } },
  { name: 'dropequal, equal: dropped', input: { __tmp_port: '1234', __port1: '1234', __port2: '5678' }, rules: [{ source_labels: ['__tmp_port'], action: 'dropequal', target_label: '__port1' }], output: 'dropped' },
  { name: 'dropequal, different: kept', input: { __tmp_port: '1234', __port1: '1234', __port2: '5678' }, rules: [{ source_labels: ['__tmp_port'], action: 'dropequal', target_label: '__port2' }], output: { __tmp_port: '1234', __port1: '1234', __port2: '5678' } },
  { name: 'keepequal, different: dropped', input: { __tmp_port: '1234', __port1: '1234', __port2: '5678' }, rules: [{ source_labels: ['__tmp_port'], action: 'keepequal', target_label: '__port2' }], output: 'dropped' },
  { name: '. matches a newline', input: { a: 'line1\nline2', b: 'bar', c: 'baz' }, rules: [{ source_labels: ['a'], regex: 'line1.*line2', target_label: 'd', separator: ';', replacement: 'match${1}', action: 'replace' }], output: { a: 'line1\nline2', b: 'bar', c: 'baz', d: 'match' } },
  { name: 'UTF-8 source label name', input: { 'utf-8.label': 'line1\nline2', b: 'bar', c: 'baz' }, rules: [{ source_labels: ['utf-8.label'], regex: 'line1.*line2', target_label: 'd', separator: ';', replacement: 'match${1}', action: 'replace' }], output: { 'utf-8.label': 'line1\nline2', b: 'bar', c: 'baz', d: 'match' } },
  { name: 'UTF-8 target_label', input: { a: 'line1\nline2', b: 'bar', c: 'baz' }, rules: [{ source_labels: ['a'], regex: 'line1.*line2', target_label: 'utf-8.label', separator: ';', replacement: 'match${1}', action: 'replace' }], output: { a: 'line1\nline2', b: 'bar', c: 'baz', 'utf-8.label': 'match' } },
  { name: 'UTF-8 target_label with a $variable', input: { a: 'line1\nline2', b: 'bar', c: 'baz' }, rules: [{ source_labels: ['a'], regex: 'line1.*line2', target_label: 'utf-8.label${1}', separator: ';', replacement: 'match${1}', action: 'replace' }], output: { a: 'line1\nline2', b: 'bar', c: 'baz', 'utf-8.label': 'match' } },
  {
    name: 'named groups: ${1}, $1, ${second}, $second',
    input: { a: 'line1\nline2', b: 'bar', c: 'baz' },
    rules: [
      { source_labels: ['a'], regex: '(line1).*(?<second>line2)', target_label: 'label1_${1}', separator: ';', replacement: 'val_${second}', action: 'replace' },
      { source_labels: ['a'], regex: '(line1).*(?<second>line2)', target_label: 'label2_$1', separator: ';', replacement: 'val_$second', action: 'replace' },
    ],
    output: { a: 'line1\nline2', b: 'bar', c: 'baz', label1_line1: 'val_line2', label2_line1: 'val_line2' },
  },
  { name: '__name__ to __type__', input: { __name__: 'http_requests_total' }, rules: [{ source_labels: ['__name__'], regex: '.*_total$', target_label: '__type__', replacement: 'counter', action: 'replace' }], output: { __name__: 'http_requests_total', __type__: 'counter' } },
  { name: '__name__ to __unit__', input: { __name__: 'disk_usage_bytes' }, rules: [{ source_labels: ['__name__'], regex: '.*_bytes$', target_label: '__unit__', replacement: 'bytes', action: 'replace' }], output: { __name__: 'disk_usage_bytes', __unit__: 'bytes' } },
];

/** The three configs of Prometheus's BenchmarkRelabel (kubernetes pods and static pairs), as TOML would give them. */
const BENCHMARK_CASES: Array<{ name: string; input: Labels; rules: Raw[] }> = [
  {
    name: 'example (conf.good.yml)',
    input: { __meta_dns_name: 'example-some-x.com', abc: 'def', job: 'foo' },
    rules: [
      { source_labels: ['job', '__meta_dns_name'], regex: '(.*)some-[regex]', target_label: 'job', replacement: 'foo-${1}' },
      { source_labels: ['abc'], target_label: 'cde' },
      { replacement: 'static', target_label: 'abc' },
      { regex: '', replacement: 'static', target_label: 'abc' },
    ],
  },
  {
    name: 'kubernetes',
    input: {
      __address__: '10.132.183.40:80', __meta_kubernetes_namespace: 'loki-boltdb-shipper',
      __meta_kubernetes_pod_annotation_promtail_loki_boltdb_shipper_hash: '50523b9759094a144adcec2eae0aa4ad', __meta_kubernetes_pod_annotationpresent_promtail_loki_boltdb_shipper_hash: 'true',
      __meta_kubernetes_pod_container_init: 'false', __meta_kubernetes_pod_container_name: 'promtail', __meta_kubernetes_pod_container_port_name: 'http-metrics',
      __meta_kubernetes_pod_container_port_number: '80', __meta_kubernetes_pod_container_port_protocol: 'TCP', __meta_kubernetes_pod_controller_kind: 'DaemonSet',
      __meta_kubernetes_pod_controller_name: 'promtail-loki-boltdb-shipper', __meta_kubernetes_pod_host_ip: '10.128.0.178', __meta_kubernetes_pod_ip: '10.132.183.40',
      __meta_kubernetes_pod_label_controller_revision_hash: '555b77cd7d', __meta_kubernetes_pod_label_name: 'promtail-loki-boltdb-shipper', __meta_kubernetes_pod_label_pod_template_generation: '45',
      __meta_kubernetes_pod_labelpresent_controller_revision_hash: 'true', __meta_kubernetes_pod_labelpresent_name: 'true', __meta_kubernetes_pod_labelpresent_pod_template_generation: 'true',
      __meta_kubernetes_pod_name: 'promtail-loki-boltdb-shipper-jgtr7', __meta_kubernetes_pod_node_name: 'gke-dev-us-central-0-main-n2s8-2-14d53341-9hkr', __meta_kubernetes_pod_phase: 'Running',
      __meta_kubernetes_pod_ready: 'true', __meta_kubernetes_pod_uid: '4c586419-7f6c-448d-aeec-ca4fa5b05e60', __metrics_path__: '/metrics', __scheme__: 'http',
      __scrape_interval__: '15s', __scrape_timeout__: '10s', job: 'kubernetes-pods',
    },
    rules: [
      { source_labels: ['__meta_kubernetes_pod_container_port_name'], regex: '.*-metrics', action: 'keep' },
      { source_labels: ['__meta_kubernetes_pod_label_name'], action: 'drop', regex: '' },
      { source_labels: ['__meta_kubernetes_pod_phase'], regex: 'Succeeded|Failed', action: 'drop' },
      { source_labels: ['__meta_kubernetes_pod_annotation_prometheus_io_scrape'], regex: 'false', action: 'drop' },
      { source_labels: ['__meta_kubernetes_pod_annotation_prometheus_io_scheme'], target_label: '__scheme__', regex: '(https?)', replacement: '$1', action: 'replace' },
      { source_labels: ['__meta_kubernetes_pod_annotation_prometheus_io_path'], target_label: '__metrics_path__', regex: '(.+)', replacement: '$1', action: 'replace' },
      { source_labels: ['__address__', '__meta_kubernetes_pod_annotation_prometheus_io_port'], target_label: '__address__', regex: '(.+?)(\\:\\d+)?;(\\d+)', replacement: '$1:$3', action: 'replace' },
      { regex: '__meta_kubernetes_pod_annotation_prometheus_io_param_(.+)', replacement: '__param_$1', action: 'labelmap' },
      { regex: '__meta_kubernetes_pod_label_prometheus_io_label_(.+)', action: 'labelmap' },
      { regex: '__meta_kubernetes_pod_annotation_prometheus_io_label_(.+)', action: 'labelmap' },
      { source_labels: ['__meta_kubernetes_namespace', '__meta_kubernetes_pod_label_name'], separator: '/', target_label: 'job', replacement: '$1', action: 'replace' },
      { source_labels: ['__meta_kubernetes_namespace'], target_label: 'namespace', action: 'replace' },
      { source_labels: ['__meta_kubernetes_pod_name'], target_label: 'pod', action: 'replace' },
      { source_labels: ['__meta_kubernetes_pod_container_name'], target_label: 'container', action: 'replace' },
      { source_labels: ['__meta_kubernetes_pod_name', '__meta_kubernetes_pod_container_name', '__meta_kubernetes_pod_container_port_name'], separator: ':', target_label: 'instance', action: 'replace' },
      { target_label: 'cluster', replacement: 'dev-us-central-0' },
      { source_labels: ['__meta_kubernetes_namespace'], regex: 'hosted-grafana', action: 'drop' },
      { source_labels: ['__address__'], target_label: '__tmp_hash', modulus: 3, action: 'hashmod' },
      { source_labels: ['__tmp_hash'], regex: '^0$', action: 'keep' },
      { regex: '__tmp_hash', action: 'labeldrop' },
    ],
  },
  {
    name: 'static label pair',
    input: { abcdefg01: 'hijklmn1', abcdefg02: 'hijklmn2', abcdefg03: 'hijklmn3', abcdefg04: 'hijklmn4', job: 'foo' },
    rules: [
      { replacement: 'wwwwww', target_label: 'wwwwww' },
      { replacement: 'yyyyyyyyyyyy', target_label: 'xxxxxxxxx' },
      { replacement: 'xxxxxxxxx', target_label: 'yyyyyyyyyyyy' },
      { source_labels: ['something'], target_label: 'with_source_labels', replacement: 'value' },
      { replacement: 'dropped', target_label: '${0}' },
      { replacement: '${0}', target_label: 'dropped' },
    ],
  },
];

let oracle: RelabelOracle;
before(() => {
  oracle = startRelabelOracle();
});
after(() => oracle.close());

const isError = (r: unknown): r is { error: string } => typeof r === 'object' && r !== null && 'error' in r;

async function prometheus(input: Labels, rules: Raw[], scheme: NameValidation = 'utf8'): Promise<Labels | 'dropped' | { error: string }> {
  const r = await oracle.ask<{ labels?: Labels; dropped?: boolean; error?: string }>({ op: 'relabel', scheme, rules, labels: input });
  if (r.error !== undefined) return { error: r.error };
  return r.dropped ? 'dropped' : r.labels!;
}

describe('Prometheus TestRelabel cases', () => {
  for (const c of PROMETHEUS_CASES)
    test(c.name, async () => {
      assert.deepEqual(run(c.input, c.rules), c.output);
      assert.deepEqual(await prometheus(c.input, c.rules), c.output, 'Prometheus itself agrees with the table');
    });
});

describe('Prometheus BenchmarkRelabel configs give what Prometheus gives', () => {
  for (const c of BENCHMARK_CASES)
    test(c.name, async () => {
      const ours = run(c.input, c.rules);
      assert.deepEqual(ours, await prometheus(c.input, c.rules));
      assert.notDeepEqual(ours, c.input, 'the rules change something');
    });
  test('the kubernetes config keeps a pod of hashmod bucket 0 with its job, instance and cluster', () => {
    const address = Array.from({ length: 10 }, (_, i) => `10.132.183.${40 + i}:80`).find((a) => hashmod(a, 3n) === 0n)!;
    assert.equal(run({ ...BENCHMARK_CASES[1]!.input, __address__: '10.132.183.40:80' }, BENCHMARK_CASES[1]!.rules), 'dropped', 'its bucket is not 0');
    const out = run({ ...BENCHMARK_CASES[1]!.input, __address__: address }, BENCHMARK_CASES[1]!.rules);
    assert.notEqual(out, 'dropped');
    const o = out as Labels;
    assert.equal(o.job, 'loki-boltdb-shipper/promtail-loki-boltdb-shipper');
    assert.equal(o.instance, 'promtail-loki-boltdb-shipper-jgtr7:promtail:http-metrics');
    assert.equal(o.cluster, 'dev-us-central-0');
    assert.equal(o.__tmp_hash, undefined);
  });
});

/** Prometheus's TestRelabelValidate, plus the rules of Config.Validate it does not list. */
const VALIDATION: Array<{ name: string; rule: Raw; scheme?: NameValidation; error: string | null; field?: string | null }> = [
  { name: 'empty action (TOML cannot omit it to empty: action = "")', rule: { action: '' }, error: 'unknown relabel action ""', field: 'action' },
  { name: 'replace needs target_label', rule: { action: 'replace' }, error: "relabel configuration for replace action requires 'target_label' value", field: 'target_label' },
  { name: 'lowercase needs target_label', rule: { action: 'lowercase' }, error: "relabel configuration for lowercase action requires 'target_label' value" },
  { name: 'lowercase target ${3} is a valid UTF-8 name', rule: { action: 'lowercase', target_label: '${3}' }, error: null },
  { name: 'lowercase target ${3} is invalid under legacy names', rule: { action: 'lowercase', target_label: '${3}' }, scheme: 'legacy', error: `"\${3}" is invalid 'target_label' for lowercase action` },
  { name: 'replace target ${3}', rule: { source_labels: ['a'], regex: 'some-([^-]+)-([^,]+)', action: 'replace', replacement: '${1}', target_label: '${3}' }, error: null },
  { name: 'replace target 0${3} (UTF-8)', rule: { source_labels: ['a'], regex: 'some-([^-]+)-([^,]+)', action: 'replace', replacement: '${1}', target_label: '0${3}' }, error: null },
  { name: 'replace target 0${3} (legacy)', rule: { source_labels: ['a'], regex: 'some-([^-]+)-([^,]+)', action: 'replace', replacement: '${1}', target_label: '0${3}' }, scheme: 'legacy', error: `"0\${3}" is invalid 'target_label'` },
  { name: 'replace target -${3} (UTF-8)', rule: { source_labels: ['a'], regex: 'some-([^-]+)-([^,]+)', action: 'replace', replacement: '${1}', target_label: '-${3}' }, error: null },
  { name: 'replace target -${3} (legacy)', rule: { source_labels: ['a'], regex: 'some-([^-]+)-([^,]+)', action: 'replace', replacement: '${1}', target_label: '-${3}' }, scheme: 'legacy', error: `"-\${3}" is invalid 'target_label' for replace action` },
  { name: 'labelmap strimzi $1 (legacy)', rule: { regex: '__meta_kubernetes_pod_label_(strimzi_io_.+)', action: 'labelmap', replacement: '$1' }, scheme: 'legacy', error: null },
  { name: 'labelmap __meta_(.+) ${1} (legacy)', rule: { regex: '__meta_(.+)', action: 'labelmap', replacement: '${1}' }, scheme: 'legacy', error: null },
  { name: 'keepequal with the default separator and replacement written out', rule: { source_labels: ['a'], separator: ';', target_label: 'b', replacement: '$1', action: 'keepequal' }, error: null },
  { name: 'hashmod needs modulus', rule: { source_labels: ['a'], target_label: 'b', action: 'hashmod' }, error: 'relabel configuration for hashmod requires non-zero modulus', field: 'modulus' },
  { name: 'hashmod modulus 0', rule: { source_labels: ['a'], target_label: 'b', action: 'hashmod', modulus: 0 }, error: 'requires non-zero modulus' },
  { name: 'hashmod needs target_label', rule: { source_labels: ['a'], action: 'hashmod', modulus: 2 }, error: "hashmod action requires 'target_label' value" },
  { name: 'hashmod target must be a name, not a template (legacy)', rule: { source_labels: ['a'], target_label: '$1', action: 'hashmod', modulus: 2 }, scheme: 'legacy', error: `"$1" is invalid 'target_label' for hashmod action` },
  { name: 'keepequal needs target_label', rule: { source_labels: ['a'], action: 'keepequal' }, error: "keepequal action requires 'target_label' value" },
  { name: 'dropequal needs target_label', rule: { source_labels: ['a'], action: 'dropequal' }, error: "dropequal action requires 'target_label' value" },
  { name: 'uppercase forbids replacement', rule: { source_labels: ['a'], target_label: 'b', replacement: 'x', action: 'uppercase' }, error: "'replacement' can not be set for uppercase action", field: 'replacement' },
  { name: 'keepequal forbids replacement', rule: { source_labels: ['a'], target_label: 'b', replacement: 'x', action: 'keepequal' }, error: "'replacement' can not be set for keepequal action" },
  { name: 'keepequal forbids regex, even the default written out', rule: { source_labels: ['a'], target_label: 'b', regex: '(.*)', action: 'keepequal' }, error: "keepequal action requires only 'source_labels' and `target_label`, and no other fields", field: null },
  { name: 'dropequal forbids separator', rule: { source_labels: ['a'], target_label: 'b', separator: ',', action: 'dropequal' }, error: "dropequal action requires only 'source_labels' and `target_label`" },
  { name: 'dropequal forbids modulus', rule: { source_labels: ['a'], target_label: 'b', modulus: 3, action: 'dropequal' }, error: "dropequal action requires only 'source_labels' and `target_label`" },
  { name: 'labeldrop forbids source_labels, even empty', rule: { source_labels: [], regex: 'a', action: 'labeldrop' }, error: "labeldrop action requires only 'regex', and no other fields" },
  { name: 'labelkeep forbids target_label', rule: { target_label: 'x', regex: 'a', action: 'labelkeep' }, error: "labelkeep action requires only 'regex', and no other fields" },
  { name: 'labelkeep forbids separator', rule: { separator: ',', regex: 'a', action: 'labelkeep' }, error: "labelkeep action requires only 'regex'" },
  { name: 'labeldrop forbids replacement', rule: { replacement: 'x', regex: 'a', action: 'labeldrop' }, error: "labeldrop action requires only 'regex'" },
  { name: 'labeldrop forbids modulus', rule: { modulus: 1, regex: 'a', action: 'labeldrop' }, error: "labeldrop action requires only 'regex'" },
  { name: 'labelmap replacement must be a name (legacy)', rule: { regex: '(.*)', replacement: 'a-$1', action: 'labelmap' }, scheme: 'legacy', error: `"a-$1" is invalid 'replacement' for labelmap action` },
  { name: 'labelmap replacement must not be empty (UTF-8)', rule: { regex: '(.*)', replacement: '', action: 'labelmap' }, error: `"" is invalid 'replacement' for labelmap action` },
  { name: 'replace target without $ must be a name (legacy)', rule: { target_label: 'a.b', action: 'replace' }, scheme: 'legacy', error: `"a.b" is invalid 'target_label' for replace action` },
  { name: 'action is case-insensitive', rule: { source_labels: ['a'], regex: 'x', action: 'KeEp' }, error: null },
  { name: 'unknown action', rule: { action: 'rename' }, error: 'unknown relabel action "rename"' },
];

describe('validation (Prometheus TestRelabelValidate and Config.Validate)', () => {
  for (const v of VALIDATION)
    test(v.name, async () => {
      const r = compileRelabelRules([v.rule], { nameValidation: v.scheme ?? 'utf8', path: 'inputs.profile.go.relabel_configs' });
      const theirs = await prometheus({ a: 'x' }, [v.rule], v.scheme);
      if (v.error === null) {
        assert.equal(r.ok, true, r.ok ? '' : r.issues.map((i) => i.message).join('; '));
        assert.equal(isError(theirs), false, 'Prometheus accepts it too');
        return;
      }
      assert.equal(r.ok, false);
      if (r.ok) return;
      assert.equal(r.issues.length, 1);
      const issue = r.issues[0]!;
      assert.ok(issue.message.includes(v.error), issue.message);
      if (v.field !== undefined) assert.equal(issue.field, v.field);
      assert.equal(issue.path, `inputs.profile.go.relabel_configs[0]${issue.field ? `.${issue.field}` : ''}`);
      assert.ok(isError(theirs), 'Prometheus rejects it too');
      if (v.rule.action !== '' && v.rule.action !== 'rename') assert.ok(theirs.error.includes(v.error), theirs.error);
    });

  test('Prometheus TestTargetLabelLegacyValidity', () => {
    const cases: Array<[string, boolean]> = [
      ['-label', false], ['label', true], ['label${1}', true], ['${1}label', true], ['${1}', true], ['${', false], ['$', false], ['${}', false],
      ['foo${', false], ['$1', true], ['asd$2asd', true], ['-foo${1}bar-', false], ['bar.foo${1}bar', false], ['_${1}_', true], ['foo${bar}foo', true],
    ];
    for (const [s, valid] of cases) assert.equal(isLegacyNameWithVars(s), valid, s);
  });

  test('the legacy-name scan accepts what Prometheus regex accepts', () => {
    const re = /^(?:(?:[a-zA-Z_]|\$(?:\{\w+\}|\w+))+\w*)+$/; // short strings only: it backtracks exponentially
    fc.assert(fc.property(fc.string({ unit: fc.constantFrom('a', 'Z', '_', '1', '$', '{', '}', '-', '.'), maxLength: 9 }), (s) => assert.equal(isLegacyNameWithVars(s), re.test(s), s)), { numRuns: 3000 });
  });

  test('every problem of every rule, with its path; bad types and unknown keys', () => {
    const r = compileRelabelRules([{ source_labels: 'a', target_label: 'x' }, { regex: '(?=x)', action: 'drop' }, { sourcelabels: ['a'] }, 'keep', { modulus: -1, target_label: 'm', action: 'hashmod' }, { action: 'keep', separator: 1 }]);
    assert.equal(r.ok, false);
    if (r.ok) return;
    assert.deepEqual(
      r.issues.map((i) => i.path),
      ['relabel_configs[0].source_labels', 'relabel_configs[1].regex', 'relabel_configs[2].sourcelabels', 'relabel_configs[3]', 'relabel_configs[4].modulus', 'relabel_configs[5].separator'],
    );
    assert.match(r.issues[1]!.message, /lookahead \(\?=\.\.\.\)/);
    assert.match(r.issues[2]!.message, /unknown key; a relabel rule has source_labels, separator/);
    assert.match(r.issues[4]!.message, /non-negative integer \(uint64\), got -1/);
    assert.deepEqual(compileRelabelRules({}), { ok: false, issues: [{ index: -1, field: null, path: 'relabel_configs', message: 'expected an array of tables (one per rule), got a table' }] });
  });

  test('modulus as a bigint up to 2^64-1, as a TOML parser may give it', () => {
    const rules = compile([{ source_labels: ['a'], target_label: 'h', action: 'hashmod', modulus: (1n << 64n) - 1n }]);
    assert.equal(relabel({ a: 'baz' }, rules)!.get('h'), hashmod('baz', (1n << 64n) - 1n).toString());
    assert.equal(compileRelabelRules([{ source_labels: ['a'], target_label: 'h', action: 'hashmod', modulus: 1n << 64n }]).ok, false);
    assert.equal(compileRelabelRules([{ source_labels: ['a'], target_label: 'h', action: 'hashmod', modulus: 1.5 }]).ok, false);
  });
});

describe('behaviour beyond the Prometheus cases', () => {
  test('$ expansion as Go: $1x is the group named "1x", $$ is $, ${0} the whole match, malformed $ stays', () => {
    const out = run({ a: 'ab' }, [{ source_labels: ['a'], regex: '(a)(?P<x>b)', target_label: 't', replacement: '[$1x|${1}x|$$1|${0}|$x|${x}|$0|$|${|$}|$01|${2}]' }]);
    assert.equal((out as Labels).t, '[|ax|$1|ab|b|b|ab|$|${|$}||b]');
  });

  test('the second group of one name is used when the first did not take part', () => {
    const out = run({ a: 'y' }, [{ source_labels: ['a'], regex: '(?P<n>x)|(?P<n>y)', target_label: 't', replacement: '<$n>' }]);
    assert.equal((out as Labels).t, '<y>');
  });

  test('labelmap: input labels in sorted order first, then labels added by earlier rules; the last writer wins', async () => {
    const input = { __meta_b_x: '1', __meta_a_x: '2' };
    const rules = [{ target_label: '__meta_0_x', replacement: '3' }, { regex: '__meta_.*_(x)', replacement: '$1', action: 'labelmap' }];
    const out = run(input, rules);
    assert.equal((out as Labels).x, '3');
    assert.deepEqual(out, await prometheus(input, rules));
  });

  test('labelmap: a label set again keeps its place among the added ones', async () => {
    const input = { a: '1' };
    const rules = [
      { target_label: '__meta_a_x', replacement: 'first' },
      { target_label: '__meta_b_x', replacement: 'second' },
      { target_label: '__meta_a_x', replacement: 'again' },
      { regex: '__meta_.*_(x)', replacement: '$1', action: 'labelmap' },
    ];
    const out = run(input, rules);
    assert.equal((out as Labels).x, 'second');
    assert.deepEqual(out, await prometheus(input, rules));
  });

  test('an empty label value is no label: it reads as "" and is not in the result', () => {
    assert.deepEqual(run({ a: '', b: 'x' }, [{ regex: '.*', action: 'labelkeep' }]), { b: 'x' });
  });

  test('lowercase/uppercase map one code point to one, as Go does (not ß -> SS)', async () => {
    const inputs = ['straße', 'İstanbul', 'ΑΣ ΣΑ', 'ᾳ ᾀ ﬀ ŉ', 'Ǆǅǆ', 'K', 'ſ', 'ǰ', '\u{10400}\u{10428}'];
    const theirs = await oracle.ask<{ lower: string[]; upper: string[] }>({ op: 'case', inputs });
    assert.deepEqual(inputs.map(goToLower), theirs.lower);
    assert.deepEqual(inputs.map(goToUpper), theirs.upper);
  });

  test("Go's case table, every code point", async () => {
    const t = await oracle.ask<{ lower: Array<[number, number]>; upper: Array<[number, number]> }>({ op: 'caseTable' });
    const expectLower = new Map(t.lower);
    const expectUpper = new Map(t.upper);
    const diffs: string[] = [];
    for (let c = 0; c <= 0x10ffff; c++) {
      if (c >= 0xd800 && c <= 0xdfff) continue;
      const s = String.fromCodePoint(c);
      const l = goToLower(s).codePointAt(0);
      const u = goToUpper(s).codePointAt(0);
      if (l !== (expectLower.get(c) ?? c)) diffs.push(`lower U+${c.toString(16)}: ${l?.toString(16)} want ${(expectLower.get(c) ?? c).toString(16)}`);
      if (u !== (expectUpper.get(c) ?? c)) diffs.push(`upper U+${c.toString(16)}: ${u?.toString(16)} want ${(expectUpper.get(c) ?? c).toString(16)}`);
    }
    // Node's ICU knows newer Unicode (16) than Go's tables (15): only case
    // pairs Go does not know yet may differ, never a mapping Go has.
    assert.deepEqual(diffs.filter((d) => !d.endsWith(`want ${d.slice(d.indexOf('+') + 1, d.indexOf(':'))}`)), []);
    assert.ok(diffs.length < 200, `${diffs.length} differences`);
  });

  test('dropReservedLabels keeps only names not starting with __', () => {
    const out = dropReservedLabels(new Map([['__address__', 'h:1'], ['__meta_x', 'y'], ['_one', '1'], ['service', 's'], ['__tenant_id__', 't']]));
    assert.deepEqual([...out], [['_one', '1'], ['service', 's']]);
  });

  test('relabel() builds no RegExp: the rules are compiled once', () => {
    const rules = compile(BENCHMARK_CASES[1]!.rules);
    const Original = globalThis.RegExp;
    let built = 0;
    globalThis.RegExp = new Proxy(Original, { construct: (t, args) => (built++, Reflect.construct(t, args)), apply: (t, self, args) => (built++, Reflect.apply(t, self, args)) });
    try {
      for (let i = 0; i < 200; i++) relabel({ ...BENCHMARK_CASES[1]!.input, __address__: `10.0.0.${i}:80` }, rules);
    } finally {
      globalThis.RegExp = Original;
    }
    assert.equal(built, 0);
  });
});

// --- properties --------------------------------------------------------------

const labelName = fc.constantFrom('a', 'b', 'c', '__meta_x', '__meta_y', 'job', 'utf-8.label', 'z');
const labelValue = fc.oneof(fc.constantFrom('', 'foo', 'bar', 'baz', 'a;b', 'x\ny', 'ΣΑ', '10.0.0.1:80'), fc.string({ maxLength: 6 }));
const labelSet = fc.dictionary(labelName, labelValue, { maxKeys: 6 });
const regexPool = fc.constantFrom('(.*)', '', 'f(.*)', '.*o.*', '(b.*)', '__meta_(.*)', '([a-z]+)_(.*)', '(?i)FOO', '[^;]*;(.*)', 'a|b|', '(?P<n>.)(.*)', '\\d+', '.*\\n.*', 'utf-8\\.(.*)');
const template = fc.constantFrom('$1', '${1}', '$2', '${n}', 'x_$1', '$1x', '', 'static', '${0}', '$$', '${');
const target = fc.constantFrom('t', 'a', '$1', '${1}_x', 'job', '__meta_x', 'utf-8.label');

const rule: fc.Arbitrary<Raw> = fc.oneof(
  fc.record({ source_labels: fc.array(labelName, { maxLength: 3 }), regex: regexPool, target_label: target, replacement: template, separator: fc.constantFrom(';', '/', '') }, { requiredKeys: ['target_label'] }),
  fc.record({ source_labels: fc.array(labelName, { minLength: 1, maxLength: 2 }), regex: regexPool, action: fc.constantFrom('keep', 'drop') }),
  fc.record({ source_labels: fc.array(labelName, { maxLength: 2 }), target_label: fc.constantFrom('a', 'b', 't'), action: fc.constantFrom('keepequal', 'dropequal', 'lowercase', 'uppercase') }),
  fc.record({ source_labels: fc.array(labelName, { maxLength: 2 }), target_label: fc.constantFrom('h', 'a'), action: fc.constant('hashmod'), modulus: fc.integer({ min: 1, max: 1000 }) }),
  fc.record({ regex: regexPool, replacement: fc.constantFrom('$1', 'm_$1', '${2}', 'x'), action: fc.constant('labelmap') }),
  fc.record({ regex: regexPool, action: fc.constantFrom('labeldrop', 'labelkeep') }),
);

describe('properties', () => {
  test('keep and drop with the same source and regex: exactly one passes the target, unchanged', () => {
    fc.assert(
      fc.property(labelSet, fc.array(labelName, { minLength: 1, maxLength: 3 }), regexPool, (labels, source_labels, regex) => {
        const keep = relabel(labels, compile([{ source_labels, regex, action: 'keep' }]));
        const drop = relabel(labels, compile([{ source_labels, regex, action: 'drop' }]));
        assert.equal((keep === null) !== (drop === null), true);
        const passed = Object.fromEntries((keep ?? drop)!);
        assert.deepEqual(passed, Object.fromEntries(Object.entries(labels).filter(([, v]) => v !== '')));
      }),
      { numRuns: 400 },
    );
  });

  test('labelkeep and labeldrop with the same regex split the labels in two', () => {
    fc.assert(
      fc.property(labelSet, regexPool, (labels, regex) => {
        const kept = relabel(labels, compile([{ regex, action: 'labelkeep' }]))!;
        const dropped = relabel(labels, compile([{ regex, action: 'labeldrop' }]))!;
        const all = Object.keys(labels).filter((k) => labels[k] !== '').sort();
        assert.deepEqual([...kept.keys(), ...dropped.keys()].sort(), all);
      }),
      { numRuns: 300 },
    );
  });

  test('hashmod is below the modulus, the same for the same value, and spreads values', () => {
    fc.assert(
      fc.property(fc.string({ maxLength: 30 }), fc.bigInt({ min: 1n, max: (1n << 64n) - 1n }), (v, m) => {
        const h = hashmod(v, m);
        assert.ok(h >= 0n && h < m);
        assert.equal(hashmod(v, m), h);
      }),
      { numRuns: 500 },
    );
    const buckets = new Set(Array.from({ length: 200 }, (_, i) => hashmod(`10.0.0.${i}:80`, 8n)));
    assert.equal(buckets.size, 8);
  });

  test('relabel never changes its input', () => {
    fc.assert(
      fc.property(labelSet, fc.array(rule, { maxLength: 4 }), (labels, rules) => {
        const before = JSON.stringify(labels);
        relabel(labels, compile(rules));
        relabel(new Map(Object.entries(labels)), compile(rules));
        assert.equal(JSON.stringify(labels), before);
      }),
      { numRuns: 200 },
    );
  });

  test('random rules on random labels: the same result as Prometheus', async () => {
    await fc.assert(
      fc.asyncProperty(labelSet, fc.array(rule, { minLength: 1, maxLength: 5 }), fc.constantFrom<NameValidation>('utf8', 'legacy'), async (labels, rules, scheme) => {
        const ours = compileRelabelRules(rules, { nameValidation: scheme });
        const theirs = await prometheus(labels, rules, scheme);
        if (!ours.ok) {
          assert.ok(isError(theirs), `we reject (${ours.issues[0]!.message}), Prometheus accepts`);
          return;
        }
        const out = relabel(labels, ours.rules);
        assert.deepEqual(out === null ? 'dropped' : Object.fromEntries(out), theirs);
      }),
      { numRuns: 1500 },
    );
  });
});
