// [[inputs.profile.go.relabel_configs]] through parseConfig: rules kept as
// written on the template, every problem reported by the relabel engine as
// FILE:LINE: key.path at the line of the key it is about.
//
//   node --import tsx --test test/config/relabel-config.test.ts

import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { ConfigError, parseConfig, type Config } from '../../src/config/index.js';

const FILE = 'relabel.conf';
const doc = (...lines: string[]): string => `${lines.join('\n')}\n`;

function load(text: string, env: Record<string, string> = {}): Config {
  return parseConfig(text, FILE, { env, osHostname: 'box' });
}

function issues(text: string, env: Record<string, string> = {}): string[] {
  try {
    load(text, env);
  } catch (err) {
    assert.ok(err instanceof ConfigError, String(err));
    return err.message.split('\n');
  }
  assert.fail(`the config was accepted:\n${text}`);
}

/** A file_sd block (lines 1-4), then `rules` (each a list of lines after its own [[...relabel_configs]] header). */
const block = (...rules: string[][]) =>
  doc('[[inputs.profile.go]]', 'service = "svc"', '[inputs.profile.go.file_sd]', 'files = ["/etc/sd/*.json"]', ...rules.flatMap((r) => ['[[inputs.profile.go.relabel_configs]]', ...r]));

describe('relabel_configs on a discovery block', () => {
  test('rules are kept on the template as written, in order', () => {
    const c = load(
      block(
        ['source_labels = ["__meta_kubernetes_namespace"]', 'regex = "payments|shop"', 'action = "keep"'],
        ['source_labels = ["__meta_kubernetes_namespace"]', 'target_label = "__tenant_id__"', 'replacement = "team-${1}"'],
        ['regex = "__meta_kubernetes_pod_label_(.+)"', 'action = "labelmap"'],
        ['source_labels = ["__address__"]', 'modulus = 4', 'target_label = "__tmp_hash"', 'action = "hashmod"'],
      ),
    );
    assert.deepEqual(c.templates[0]!.relabelConfigs, [
      { source_labels: ['__meta_kubernetes_namespace'], regex: 'payments|shop', action: 'keep' },
      { source_labels: ['__meta_kubernetes_namespace'], target_label: '__tenant_id__', replacement: 'team-${1}' },
      { regex: '__meta_kubernetes_pod_label_(.+)', action: 'labelmap' },
      { source_labels: ['__address__'], modulus: 4, target_label: '__tmp_hash', action: 'hashmod' },
    ]);
  });

  test('${1} and ${name} are the regex\'s groups, not environment variables (even when one is set)', () => {
    const c = load(block(['source_labels = ["a"]', 'regex = "(?P<x>.*)"', 'target_label = "b"', 'replacement = "${x}-${1}-$1"']), { x: 'FROM_ENV', 1: 'ONE' });
    assert.equal(c.templates[0]!.relabelConfigs![0]!.replacement, '${x}-${1}-$1');
  });

  test('a single [inputs.profile.go.relabel_configs] table is one rule', () => {
    const c = load(doc('[[inputs.profile.go]]', '[inputs.profile.go.file_sd]', 'files = ["a.json"]', '[inputs.profile.go.relabel_configs]', 'action = "labeldrop"', 'regex = "tmp_.*"'));
    assert.deepEqual(c.templates[0]!.relabelConfigs, [{ action: 'labeldrop', regex: 'tmp_.*' }]);
  });

  test('no rules, or an empty list: nothing to run', () => {
    assert.equal(load(block()).templates[0]!.relabelConfigs, undefined);
    assert.equal(load(doc('[[inputs.profile.go]]', 'relabel_configs = []', '[inputs.profile.go.file_sd]', 'files = ["a.json"]')).templates[0]!.relabelConfigs, undefined);
  });
});

describe('relabel_configs errors', () => {
  test('each problem at the line of its key, with the rule number', () => {
    assert.deepEqual(
      issues(
        block(
          ['source_labels = ["a"]', 'regex = "(?=x)"', 'action = "drop"'],
          ['action = "kep"'],
          ['source_labels = ["a"]', 'action = "hashmod"', 'target_label = "h"'],
          ['regex = "a"', 'action = "labeldrop"', 'target_label = "x"'],
          ['sourcelabels = ["a"]'],
        ),
      ),
      [
        `${FILE}:7: inputs.profile.go.relabel_configs.regex: lookahead (?=...) / (?!...) at offset 0: RE2 has no lookarounds (Prometheus would refuse this regex); match the wider text and capture the part you need, or add a keep/drop rule on another label (rule 1 of this block's relabel_configs)`,
        `${FILE}:10: inputs.profile.go.relabel_configs.action: unknown relabel action "kep"; one of replace, keep, drop, keepequal, dropequal, hashmod, labelmap, labeldrop, labelkeep, lowercase, uppercase (rule 2 of this block's relabel_configs)`,
        // modulus is not written: the rule's own line.
        `${FILE}:11: inputs.profile.go.relabel_configs.modulus: relabel configuration for hashmod requires non-zero modulus (the number of buckets) (rule 3 of this block's relabel_configs)`,
        `${FILE}:15: inputs.profile.go.relabel_configs: labeldrop action requires only 'regex', and no other fields (rule 4 of this block's relabel_configs)`,
        `${FILE}:20: inputs.profile.go.relabel_configs.sourcelabels: unknown key; a relabel rule has source_labels, separator, regex, modulus, target_label, replacement, action (rule 5 of this block's relabel_configs)`,
      ],
    );
  });

  test('a value of the wrong kind', () => {
    assert.deepEqual(issues(block(['source_labels = "a"', 'target_label = "b"'])), [
      `${FILE}:6: inputs.profile.go.relabel_configs.source_labels: expected an array of label names (strings), got a string (rule 1 of this block's relabel_configs)`,
    ]);
    assert.deepEqual(issues(doc('[[inputs.profile.go]]', 'relabel_configs = "keep"', '[inputs.profile.go.file_sd]', 'files = ["a.json"]')), [
      `${FILE}:2: inputs.profile.go.relabel_configs: must be rules written as [[inputs.profile.go.relabel_configs]] tables, got a string`,
    ]);
  });

  test('on a block with url: refused, it has no discovery to relabel', () => {
    assert.deepEqual(issues(doc('[[inputs.profile.go]]', 'url = "http://127.0.0.1:6060"', '[[inputs.profile.go.relabel_configs]]', 'action = "labeldrop"', 'regex = "x"')), [
      `${FILE}:3: inputs.profile.go.relabel_configs: relabels the targets a discovery finds (file_sd, http_sd, dns_sd, kubernetes_sd): a block with url names its one target, so write its tags, tenant_id and url directly instead`,
    ]);
  });

  test('problems of the rules and of the rest of the block are all reported at once', () => {
    const lines = issues(doc('[[inputs.profile.go]]', 'interval = "1s"', '[inputs.profile.go.file_sd]', 'files = ["a.json"]', '[[inputs.profile.go.relabel_configs]]', 'regex = "(a"', 'action = "keep"'));
    assert.equal(lines.length, 2, lines.join('\n'));
    assert.match(lines[0]!, /^relabel\.conf:2: inputs\.profile\.go\.interval: must be at least 10s/);
    assert.match(lines[1]!, /^relabel\.conf:6: inputs\.profile\.go\.relabel_configs\.regex: /);
  });
});
