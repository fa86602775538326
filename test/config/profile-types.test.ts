// enabled_types with allocs and threadcreate, delta_source, and
// [[inputs.profile.go.custom]]: what they become, and every error with its
// line and key path.

import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { ConfigError, formatIssue } from '../../src/config/errors.js';
import { parseConfig } from '../../src/config/load.js';
import type { Config } from '../../src/config/types.js';
import { typeSpec } from '../../src/profile/types.js';

const FILE = 'conf.d/types.conf';
const doc = (...lines: string[]): string => lines.join('\n') + '\n';
const load = (source: string): Config => parseConfig(source, FILE, { env: {}, osHostname: 'agent-host' });
const block = (...extra: string[]) => doc('[[inputs.profile.go]]', 'url = "http://127.0.0.1:6060"', 'service = "svc"', ...extra);

function issues(source: string): string[] {
  try {
    load(source);
  } catch (err) {
    if (err instanceof ConfigError) return err.issues.map(formatIssue);
    throw err;
  }
  assert.fail(`expected a ConfigError for:\n${source}`);
}

function onlyIssue(source: string, line: number, path: string, ...phrases: string[]): void {
  const all = issues(source);
  assert.equal(all.length, 1, all.join('\n'));
  const printed = all[0]!;
  assert.ok(printed.startsWith(`${FILE}:${line}: ${path}: `), printed);
  for (const p of phrases) assert.ok(printed.includes(p), `expected "${p}" in "${printed}"`);
}

const FGPROF = ['[[inputs.profile.go.custom]]', 'name = "fgprof"', 'path = "/debug/fgprof"', 'seconds = true'];

describe('enabled_types', () => {
  test('default: the five of before; allocs and threadcreate are built-in types to add', () => {
    assert.deepEqual(load(block()).targets[0]!.enabledTypes, ['cpu', 'heap', 'goroutine', 'mutex', 'block']);
    const c = load(block('enabled_types = ["allocs", "threadcreate", "cpu"]')).targets[0]!;
    assert.deepEqual(c.enabledTypes, ['allocs', 'threadcreate', 'cpu']);
    assert.deepEqual(typeSpec('allocs', c.customTypes).deltaSampleTypes, ['alloc_objects', 'alloc_space']);
    assert.deepEqual(typeSpec('threadcreate', c.customTypes).deltaSampleTypes, []);
  });

  test('heap with allocs: valid, with a notice that each allocation ships twice', () => {
    const c = load(block('enabled_types = ["heap", "allocs"]'));
    assert.equal(c.notices.length, 1);
    assert.equal(c.notices[0]!.line, 4);
    assert.match(c.notices[0]!.message, /heap and allocs are both enabled/);
  });

  test('allocs_budget and threadcreate_budget are keys like heap_budget', () => {
    const c = load(block('enabled_types = ["allocs", "threadcreate"]', 'allocs_budget = "2/1m"', 'threadcreate_budget = "1/1m"')).targets[0]!;
    assert.deepEqual(c.scrapeBudgets, { allocs: { scrapes: 2, periodMs: 60_000 }, threadcreate: { scrapes: 1, periodMs: 60_000 } });
  });

  test('an unknown type lists the built-in ones and the block\'s custom ones', () => {
    onlyIssue(block('enabled_types = ["fgprof"]'), 4, 'inputs.profile.go.enabled_types', 'unknown profile type "fgprof"', 'allowed: cpu, heap, goroutine, mutex, block, allocs, threadcreate', '[[inputs.profile.go.custom]]');
  });
});

describe('delta_source', () => {
  test('default auto; godeltaprof and client as written, on targets and discovery templates', () => {
    assert.equal(load(block()).targets[0]!.deltaSource, 'auto');
    assert.equal(load(block('delta_source = "godeltaprof"')).targets[0]!.deltaSource, 'godeltaprof');
    assert.equal(load(block('delta_source = "client"')).targets[0]!.deltaSource, 'client');
    const t = load(doc('[[inputs.profile.go]]', 'delta_source = "client"', '[inputs.profile.go.file_sd]', 'files = ["/etc/targets/*.json"]')).templates[0]!;
    assert.equal(t.deltaSource, 'client');
  });

  test('another value is an error with did-you-mean', () => {
    onlyIssue(block('delta_source = "godeltaproff"'), 4, 'inputs.profile.go.delta_source', 'must be one of "auto", "godeltaprof", "client"', 'did you mean "godeltaprof"');
  });

  test('godeltaprof without heap, mutex or block: a notice, not an error', () => {
    const c = load(block('delta_source = "godeltaprof"', 'enabled_types = ["cpu"]'));
    assert.match(c.notices[0]!.message, /applies to heap, mutex and block/);
  });
});

describe('[[inputs.profile.go.custom]]', () => {
  test('fgprof: a window profile that is not the CPU profiler, named after itself, scraped without being listed', () => {
    const c = load(block('enabled_types = ["cpu", "heap"]', ...FGPROF)).targets[0]!;
    assert.deepEqual(c.enabledTypes, ['cpu', 'heap', 'fgprof']);
    assert.deepEqual(c.customTypes, [
      { name: 'fgprof', path: '/debug/fgprof', seconds: true, cpuProfiler: false, deltaSampleTypes: [], datakitFileName: 'fgprof.pprof', pyroscopeName: 'fgprof', custom: true },
    ]);
    assert.equal(typeSpec('fgprof', c.customTypes), c.customTypes![0]);
  });

  test('a delta type under the prefix, with its own names; listing it in enabled_types places it', () => {
    const c = load(
      block(
        'enabled_types = ["locks", "cpu"]',
        '[[inputs.profile.go.custom]]',
        'name = "locks"',
        'path = "mutex?debug=0"',
        'delta = ["contentions", "delay"]',
        'pyroscope_name = "app_locks"',
        'datakit_file = "delta-locks.pprof"',
        '[[inputs.profile.go.custom]]',
        'name = "cpu_again"',
        'path = "profile"',
        'seconds = true',
        'cpu_profiler = true',
      ),
    ).targets[0]!;
    assert.deepEqual(c.enabledTypes, ['locks', 'cpu', 'cpu_again']);
    const locks = typeSpec('locks', c.customTypes);
    assert.deepEqual([locks.path, locks.deltaSampleTypes, locks.pyroscopeName, locks.datakitFileName], ['mutex?debug=0', ['contentions', 'delay'], 'app_locks', 'delta-locks.pprof']);
    // The default file name of a delta type says so, as dd-trace-go's do.
    const d = load(block('[[inputs.profile.go.custom]]', 'name = "locks"', 'path = "mutex"', 'delta = ["contentions", "delay"]')).targets[0]!;
    assert.equal(typeSpec('locks', d.customTypes).datakitFileName, 'delta-locks.pprof');
    assert.equal(typeSpec('cpu_again', c.customTypes).cpuProfiler, true);
  });

  test('on a discovery template too', () => {
    const t = load(doc('[[inputs.profile.go]]', '[inputs.profile.go.file_sd]', 'files = ["/etc/t.json"]', ...FGPROF)).templates[0]!;
    assert.deepEqual(t.enabledTypes, ['cpu', 'heap', 'goroutine', 'mutex', 'block', 'fgprof']);
  });

  const errors: Array<[string, string[], number, string, string[]]> = [
    ['no name', ['path = "/x"'], 4, 'inputs.profile.go.custom.name', ['is required']],
    ['a built-in name', ['name = "heap"', 'path = "/x"'], 5, 'inputs.profile.go.custom.name', ['"heap" is a built-in type: list it in enabled_types instead']],
    ['a bad name', ['name = "Fg-Prof"', 'path = "/x"'], 5, 'inputs.profile.go.custom.name', ['lower case letters, digits and _']],
    ['no path', ['name = "x"'], 4, 'inputs.profile.go.custom.path', ['is required', '/debug/fgprof']],
    ['a URL for a path', ['name = "x"', 'path = "http://h/x"'], 6, 'inputs.profile.go.custom.path', ['must be a path']],
    ['seconds twice', ['name = "x"', 'path = "/x?seconds=5"', 'seconds = true'], 6, 'inputs.profile.go.custom.path', ['?seconds= in it while seconds = true adds it']],
    ['cpu_profiler without seconds', ['name = "x"', 'path = "/x"', 'cpu_profiler = true'], 7, 'inputs.profile.go.custom.cpu_profiler', ['only a profile taken over a window']],
    ['delta = true', ['name = "x"', 'path = "/x"', 'delta = true'], 7, 'inputs.profile.go.custom.delta', ['true does not say which']],
    ['delta = []', ['name = "x"', 'path = "/x"', 'delta = []'], 7, 'inputs.profile.go.custom.delta', ['non-empty list']],
    ['seconds with delta', ['name = "x"', 'path = "/x"', 'seconds = true', 'delta = ["a"]'], 8, 'inputs.profile.go.custom.delta', ['set delta = false']],
    ['a pyroscope name with a colon', ['name = "x"', 'path = "/x"', 'pyroscope_name = "a:b"'], 7, 'inputs.profile.go.custom.pyroscope_name', ["Pyroscope's metric name rule"]],
    ['a file name with a slash', ['name = "x"', 'path = "/x"', 'datakit_file = "a/b.pprof"'], 7, 'inputs.profile.go.custom.datakit_file', ['must be a file name']],
    ['a name heap ships under', ['name = "x"', 'path = "/x"', 'pyroscope_name = "memory"'], 7, 'inputs.profile.go.custom.pyroscope_name', ['"memory" is what heap ships under too']],
    ['an unknown key', ['name = "x"', 'path = "/x"', 'second = true'], 7, 'inputs.profile.go.custom.second', ['unknown key "second"', 'did you mean "seconds"']],
  ];
  for (const [what, lines, line, path, phrases] of errors) {
    test(`error: ${what}`, () => onlyIssue(block('[[inputs.profile.go.custom]]', ...lines), line, path, ...phrases));
  }

  test('the same name twice in a block', () => {
    const all = issues(block(...FGPROF, ...FGPROF));
    assert.ok(all.some((i) => i.startsWith(`${FILE}:9: inputs.profile.go.custom.name: "fgprof" is declared twice`)), all.join('\n'));
  });
});
