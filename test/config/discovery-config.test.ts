// The discovery, shard and cpu_budget parts of the config, through
// parseConfig (env and the OS host name passed in), and what --check prints
// for them (the real command).
//
//   node --import tsx --test test/config/discovery-config.test.ts

import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { ConfigError, parseConfig, type Config } from '../../src/config/index.js';
import { ROOT } from '../helpers/processes.js';

const FILE = 'sd.conf';
const doc = (...lines: string[]): string => `${lines.join('\n')}\n`;

function load(text: string, env: Record<string, string> = {}, osHostname = 'box'): Config {
  return parseConfig(text, FILE, { env, osHostname });
}

/** Every issue line ("FILE:LINE: key.path: message") of a config that must be refused. */
function issues(text: string, env: Record<string, string> = {}, osHostname = 'box'): string[] {
  try {
    load(text, env, osHostname);
  } catch (err) {
    assert.ok(err instanceof ConfigError, String(err));
    return err.message.split('\n');
  }
  assert.fail(`the config was accepted:\n${text}`);
}

/** One block with the given discovery table (lines after the [inputs.profile.go.KIND] header). */
const sdBlock = (kind: string, ...lines: string[]) => doc('[[inputs.profile.go]]', 'service = "svc"', `[inputs.profile.go.${kind}]`, ...lines);

describe('file_sd', () => {
  test('files, with the refresh_interval default of 5m', () => {
    const c = load(sdBlock('file_sd', 'files = ["/etc/sd/*.json", "/etc/sd/more.toml"]'));
    assert.equal(c.targets.length, 0, 'a template is not a target');
    assert.equal(c.templates.length, 1);
    assert.deepEqual(c.templates[0]!.discovery, { kind: 'file_sd', files: ['/etc/sd/*.json', '/etc/sd/more.toml'], refreshIntervalMs: 300_000 });
    assert.equal(c.templates[0]!.baseUrl, '');
    assert.equal(c.templates[0]!.source.line, 1);
  });

  test('refresh_interval, and ${VAR} in files', () => {
    const c = load(sdBlock('file_sd', 'files = ["${SD_DIR}/*.json"]', 'refresh_interval = "1s"'), { SD_DIR: '/srv/sd' });
    assert.deepEqual(c.templates[0]!.discovery, { kind: 'file_sd', files: ['/srv/sd/*.json'], refreshIntervalMs: 1_000 });
  });

  test('errors', () => {
    assert.deepEqual(issues(sdBlock('file_sd', 'refresh_interval = "1m"')), ['sd.conf:3: inputs.profile.go.file_sd.files: is required: files = ["targets/*.json"]']);
    assert.deepEqual(issues(sdBlock('file_sd', 'files = []')), ['sd.conf:4: inputs.profile.go.file_sd.files: must list at least one file or glob, like files = ["targets/*.json"]']);
    assert.deepEqual(issues(sdBlock('file_sd', 'files = "t.json"')), [
      'sd.conf:4: inputs.profile.go.file_sd.files: must be an array of strings (paths or globs of JSON or TOML target files), got a string',
    ]);
    assert.deepEqual(issues(sdBlock('file_sd', 'files = ["a"]', 'refresh_interval = "500ms"')), ['sd.conf:5: inputs.profile.go.file_sd.refresh_interval: must be at least 1s, got 500ms']);
    assert.deepEqual(issues(sdBlock('file_sd', 'files = ["a"]', 'tls_ca = "ca.pem"')), [
      'sd.conf:5: inputs.profile.go.file_sd.tls_ca: unknown key "tls_ca"; allowed here: files, refresh_interval',
    ]);
    assert.deepEqual(issues(doc('[[inputs.profile.go]]', 'file_sd = "targets.json"')), ['sd.conf:2: inputs.profile.go.file_sd: must be a table ([inputs.profile.go.file_sd]), got a string']);
  });

  test('an empty files list next to a static block is an error, not a block that silently goes away', () => {
    const text = doc('[[inputs.profile.go]]', 'url = "http://127.0.0.1:6060"', '', '[[inputs.profile.go]]', '[inputs.profile.go.file_sd]', 'files = []');
    assert.deepEqual(issues(text), ['sd.conf:6: inputs.profile.go.file_sd.files: must list at least one file or glob, like files = ["targets/*.json"]']);
  });
});

describe('http_sd', () => {
  test('url, with the defaults refresh_interval 1m and timeout 10s', () => {
    const c = load(sdBlock('http_sd', 'url = "http://127.0.0.1:9000/sd?job=go"'));
    assert.deepEqual(c.templates[0]!.discovery, { kind: 'http_sd', url: 'http://127.0.0.1:9000/sd?job=go', refreshIntervalMs: 60_000, timeoutMs: 10_000 });
  });

  test('every key', () => {
    const c = load(sdBlock('http_sd', 'url = "https://sd.example.com/targets"', 'refresh_interval = "2s"', 'timeout = "3s"'));
    assert.deepEqual(c.templates[0]!.discovery, { kind: 'http_sd', url: 'https://sd.example.com/targets', refreshIntervalMs: 2_000, timeoutMs: 3_000 });
  });

  test('errors', () => {
    assert.deepEqual(issues(sdBlock('http_sd', 'timeout = "1s"')), ['sd.conf:3: inputs.profile.go.http_sd.url: is required: the URL serving Prometheus HTTP SD JSON']);
    assert.deepEqual(issues(sdBlock('http_sd', 'url = "ftp://sd.example.com/targets"')), ['sd.conf:4: inputs.profile.go.http_sd.url: scheme must be http or https, got "ftp"']);
    assert.deepEqual(issues(sdBlock('http_sd', 'url = "http://127.0.0.1:9000/sd"', 'refresh_interval = "0s"')), ['sd.conf:5: inputs.profile.go.http_sd.refresh_interval: must be at least 1s, got 0s']);
    assert.deepEqual(issues(sdBlock('http_sd', 'url = "http://127.0.0.1:9000/sd"', 'timeout = "0s"')), [
      'sd.conf:5: inputs.profile.go.http_sd.timeout: must be more than 0s (every request would time out at once), got 0s',
    ]);
    assert.deepEqual(issues(sdBlock('http_sd', 'url = "http://127.0.0.1:9000/sd"', 'files = ["x"]')), [
      'sd.conf:5: inputs.profile.go.http_sd.files: unknown key "files"; allowed here: url, refresh_interval, timeout',
    ]);
  });
});

describe('dns_sd', () => {
  test('names, with the defaults type SRV and refresh_interval 30s; SRV needs no port', () => {
    const c = load(sdBlock('dns_sd', 'names = ["_pprof._tcp.api.example.com"]'));
    assert.deepEqual(c.templates[0]!.discovery, { kind: 'dns_sd', names: ['_pprof._tcp.api.example.com'], type: 'SRV', refreshIntervalMs: 30_000 });
  });

  test('A and AAAA with a port (the type in any case), servers', () => {
    const a = load(sdBlock('dns_sd', 'names = ["api.example.com"]', 'type = "a"', 'port = 6060', 'servers = ["127.0.0.1:5353"]', 'refresh_interval = "10s"'));
    assert.deepEqual(a.templates[0]!.discovery, { kind: 'dns_sd', names: ['api.example.com'], type: 'A', port: 6060, refreshIntervalMs: 10_000, servers: ['127.0.0.1:5353'] });
    const aaaa = load(sdBlock('dns_sd', 'names = ["api.example.com"]', 'type = "AAAA"', 'port = 1'));
    assert.equal(aaaa.templates[0]!.discovery?.kind === 'dns_sd' && aaaa.templates[0]!.discovery.type, 'AAAA');
  });

  test('errors: type, port rules, names', () => {
    assert.deepEqual(issues(sdBlock('dns_sd', 'names = ["api.example.com"]', 'type = "A"')), [
      'sd.conf:3: inputs.profile.go.dns_sd.port: is required with type = "A": the port net/http/pprof listens on',
    ]);
    assert.deepEqual(issues(sdBlock('dns_sd', 'names = ["api.example.com"]', 'type = "AAAA"')), [
      'sd.conf:3: inputs.profile.go.dns_sd.port: is required with type = "AAAA": the port net/http/pprof listens on',
    ]);
    // An unknown type is one error, not also a port error.
    assert.deepEqual(issues(sdBlock('dns_sd', 'names = ["api.example.com"]', 'type = "MX"')), ['sd.conf:5: inputs.profile.go.dns_sd.type: must be SRV, A or AAAA, got "MX"']);
    for (const port of ['0', '65536', '"6060"', '60.5']) {
      assert.match(issues(sdBlock('dns_sd', 'names = ["api.example.com"]', 'type = "A"', `port = ${port}`)).join('\n'), /^sd\.conf:6: inputs\.profile\.go\.dns_sd\.port: must be a whole number from 1 to 65535/, port);
    }
    assert.deepEqual(issues(sdBlock('dns_sd', 'type = "SRV"')), ['sd.conf:3: inputs.profile.go.dns_sd.names: is required: names = ["_pprof._tcp.example.com"]']);
    assert.deepEqual(issues(sdBlock('dns_sd', 'names = []')), ['sd.conf:4: inputs.profile.go.dns_sd.names: must list at least one DNS name, like names = ["_pprof._tcp.example.com"]']);
    assert.deepEqual(issues(sdBlock('dns_sd', 'names = ["x"]', 'refresh_interval = "soon"')), [
      'sd.conf:5: inputs.profile.go.dns_sd.refresh_interval: invalid duration "soon": missing unit (ns, us, ms, s, m, h); write a Go duration like "10s", "1m30s" or "500ms"',
    ]);
  });
});

describe('kubernetes_sd', () => {
  test('keys and defaults', () => {
    const c = load(sdBlock('kubernetes_sd', 'namespaces = ["shop", "search"]'));
    // Running pods only, unless field_selector says otherwise; no label selector; not the own namespace.
    assert.deepEqual(c.templates[0]!.discovery, { kind: 'kubernetes_sd', namespaces: ['shop', 'search'], ownNamespace: false, fieldSelector: 'status.phase=Running' });
    const sel = load(sdBlock('kubernetes_sd', 'own_namespace = true', 'label_selector = "app.kubernetes.io/part-of=shop, tier in (backend, batch), !canary"', 'field_selector = "status.phase=Running,spec.nodeName!=node-9"'));
    assert.deepEqual(sel.templates[0]!.discovery, {
      kind: 'kubernetes_sd',
      namespaces: [],
      ownNamespace: true,
      labelSelector: 'app.kubernetes.io/part-of=shop, tier in (backend, batch), !canary',
      fieldSelector: 'status.phase=Running,spec.nodeName!=node-9',
    });
    // field_selector = "" lists pods in every phase.
    const every = load(sdBlock('kubernetes_sd', 'field_selector = ""')).templates[0]!.discovery;
    assert.equal(every?.kind === 'kubernetes_sd' && every.fieldSelector, '');
    const all = load(sdBlock('kubernetes_sd', 'api_server = "https://127.0.0.1:6443"', 'insecure_skip_verify = true'));
    const d = all.templates[0]!.discovery;
    assert.equal(d?.kind, 'kubernetes_sd');
    assert.equal(d?.kind === 'kubernetes_sd' && d.apiServer, 'https://127.0.0.1:6443');
    assert.deepEqual(d?.kind === 'kubernetes_sd' && d.namespaces, []);
  });

  test('errors', () => {
    // (The full key list belongs to the kubernetes_sd tests.)
    const unknown = issues(sdBlock('kubernetes_sd', 'selectors = "app=x"'));
    assert.equal(unknown.length, 1, unknown.join('\n'));
    assert.match(unknown[0]!, /^sd\.conf:4: inputs\.profile\.go\.kubernetes_sd\.selectors: unknown key "selectors"; allowed here: api_server, kubeconfig, namespaces, own_namespace, label_selector, field_selector, /);
    // Selectors are checked as the API server would check them, at their line.
    assert.deepEqual(issues(sdBlock('kubernetes_sd', 'namespaces = ["a"]', 'label_selector = "tier in ()"', 'field_selector = "status.hostIP=10.0.0.1"', 'own_namespace = "yes"')), [
      'sd.conf:5: inputs.profile.go.kubernetes_sd.label_selector: "tier in ()": the set of values in ( ) is empty',
      'sd.conf:6: inputs.profile.go.kubernetes_sd.field_selector: "status.hostIP" is not a field the API server can select pods on; allowed: metadata.name, metadata.namespace, spec.nodeName, spec.restartPolicy, spec.schedulerName, spec.serviceAccountName, spec.hostNetwork, status.phase, status.podIP, status.nominatedNodeName',
      'sd.conf:7: inputs.profile.go.kubernetes_sd.own_namespace: must be true or false, got a string',
    ]);
    assert.match(issues(sdBlock('kubernetes_sd', 'api_server = "ftp://x"')).join('\n'), /^sd\.conf:4: inputs\.profile\.go\.kubernetes_sd\.api_server: scheme must be http or https/);
  });
});

describe('a block with a discovery', () => {
  test('url together with a discovery is an error at the url line', () => {
    const text = doc('[[inputs.profile.go]]', 'service = "svc"', 'url = "http://127.0.0.1:6060"', '[inputs.profile.go.file_sd]', 'files = ["a.json"]');
    assert.deepEqual(issues(text), [
      'sd.conf:3: inputs.profile.go.url: a block with a discovery (file_sd, http_sd, dns_sd, kubernetes_sd) takes its targets from it: remove url, or move it to a block of its own',
    ]);
  });

  test('two discoveries in one block is an error at the second', () => {
    const text = doc('[[inputs.profile.go]]', 'service = "svc"', '[inputs.profile.go.file_sd]', 'files = ["a.json"]', '[inputs.profile.go.http_sd]', 'url = "http://127.0.0.1:9000/sd"');
    assert.deepEqual(issues(text), ['sd.conf:5: inputs.profile.go.http_sd: one discovery per [[inputs.profile.go]] block, got file_sd and http_sd: write a block for each']);
  });

  test('the block\'s other settings are validated as for a target, and kept on the template', () => {
    const c = load(
      doc(
        '[[inputs.profile.go]]',
        'service = "api"',
        'env = "prod"',
        'interval = "30s"',
        'enabled_types = ["cpu", "goroutine"]',
        'cpu_budget = "10s/1m"',
        '[inputs.profile.go.tags]',
        'team = "core"',
        '[inputs.profile.go.file_sd]',
        'files = ["a.json"]',
      ),
    );
    const t = c.templates[0]!;
    assert.equal(t.service, 'api');
    assert.equal(t.env, 'prod');
    assert.equal(t.intervalMs, 30_000);
    assert.equal(t.profileDurationMs, 10_000);
    assert.deepEqual(t.enabledTypes, ['cpu', 'goroutine']);
    assert.deepEqual(t.cpuBudget, { budgetMs: 10_000, periodMs: 60_000 });
    assert.deepEqual(t.goTags, { team: 'core' });
    assert.deepEqual(issues(sdBlock('file_sd', 'files = ["a.json"]').replace('service = "svc"', 'interval = "5s"')), [
      'sd.conf:2: inputs.profile.go.interval: must be at least 10s, got 5s: shorter intervals profile the service too often',
    ]);
  });

  test('static targets and templates side by side', () => {
    const c = load(doc('[[inputs.profile.go]]', 'url = "http://127.0.0.1:6060"', '', sdBlock('http_sd', 'url = "http://127.0.0.1:9000/sd"')));
    assert.equal(c.targets.length, 1);
    assert.equal(c.templates.length, 1);
    assert.equal(c.templates[0]!.source.line, 4);
  });
});

describe('[agent] shard', () => {
  const STATIC = doc('[[inputs.profile.go]]', 'url = "http://127.0.0.1:6060"');
  const withShard = (v: string) => doc('[agent]', `shard = ${v}`, '', STATIC);

  test('"INDEX/COUNT"', () => {
    assert.deepEqual(load(withShard('"1/3"')).agent.shard, { index: 1, count: 3 });
    assert.deepEqual(load(withShard('"0/1"')).agent.shard, { index: 0, count: 1 });
    assert.deepEqual(load(withShard('" 2 / 5 "')).agent.shard, { index: 2, count: 5 });
    assert.equal(load(STATIC).agent.shard, undefined, 'no shard by default');
  });

  test('"ordinal/COUNT" takes INDEX from the OS host name of a StatefulSet pod', () => {
    assert.deepEqual(load(withShard('"ordinal/3"'), {}, 'collector-2').agent.shard, { index: 2, count: 3 });
    assert.deepEqual(load(withShard('"ordinal/3"'), {}, 'pprof-collector-0').agent.shard, { index: 0, count: 3 });
    // [agent] hostname is a tag (often the node's name), not the pod's name.
    const tagged = doc('[agent]', 'hostname = "node-1"', 'shard = "ordinal/3"', '', STATIC);
    const c = load(tagged, {}, 'collector-2');
    assert.equal(c.agent.hostname, 'node-1');
    assert.deepEqual(c.agent.shard, { index: 2, count: 3 });
  });

  test('bad values are errors at the shard line', () => {
    const bad: Array<[string, string, RegExp]> = [
      ['"3/3"', 'box', /needs 0 <= INDEX < COUNT and COUNT >= 1, got index 3 of 3/],
      ['"0/0"', 'box', /needs 0 <= INDEX < COUNT and COUNT >= 1, got index 0 of 0/],
      ['"-1/3"', 'box', /must be "INDEX\/COUNT" \(e\.g\. "0\/3"\) or "ordinal\/COUNT"/],
      ['"a/3"', 'box', /must be "INDEX\/COUNT"/],
      ['"1"', 'box', /must be "INDEX\/COUNT"/],
      ['""', 'box', /must be "INDEX\/COUNT"/],
      ['"1/3/5"', 'box', /must be "INDEX\/COUNT"/],
      ['1', 'box', /must be a string, got an integer/],
      ['"ordinal/3"', 'collector', /"ordinal" needs a host name ending in -N \(a StatefulSet pod\), but the host name is "collector"/],
      ['"ordinal/3"', 'collector-7', /needs 0 <= INDEX < COUNT and COUNT >= 1, got index 7 of 3/],
    ];
    for (const [v, host, re] of bad) {
      const got = issues(withShard(v), {}, host);
      assert.equal(got.length, 1, `shard = ${v}: ${got.join('\n')}`);
      assert.match(got[0]!, /^sd\.conf:2: agent\.shard: /, `shard = ${v}`);
      assert.match(got[0]!, re, `shard = ${v}`);
    }
  });

  test('COLLECTOR_SHARD from the environment, when the file has none; the file wins', () => {
    assert.deepEqual(load(STATIC, { COLLECTOR_SHARD: '2/4' }).agent.shard, { index: 2, count: 4 });
    assert.deepEqual(load(STATIC, { COLLECTOR_SHARD: 'ordinal/4' }, 'collector-3').agent.shard, { index: 3, count: 4 });
    assert.equal(load(STATIC, { COLLECTOR_SHARD: '' }).agent.shard, undefined, 'an empty variable is no shard');
    assert.deepEqual(load(withShard('"0/2"'), { COLLECTOR_SHARD: '1/2' }).agent.shard, { index: 0, count: 2 });
    assert.deepEqual(load(doc('[agent]', 'shard = "${SHARD}"', '', STATIC), { SHARD: '1/2' }).agent.shard, { index: 1, count: 2 });
  });

  test('a bad COLLECTOR_SHARD is an error that names the variable', () => {
    const got = issues(STATIC, { COLLECTOR_SHARD: '5/2' });
    assert.equal(got.length, 1, got.join('\n'));
    assert.match(got[0]!, /^sd\.conf:\d+: agent\.shard: \(from the environment variable COLLECTOR_SHARD\) needs 0 <= INDEX < COUNT/);
    assert.match(issues(STATIC, { COLLECTOR_SHARD: 'half' }).join('\n'), /COLLECTOR_SHARD\) must be "INDEX\/COUNT".*got "half"/);
  });
});

describe('cpu_budget', () => {
  const block = (budget: string, extra: string[] = []) =>
    doc('[[inputs.profile.go]]', 'url = "http://127.0.0.1:6060"', 'interval = "10s"', 'profile_duration = "9s"', ...extra, `cpu_budget = ${budget}`);

  test('parses; on a static block and on a template', () => {
    assert.deepEqual(load(block('"10s/1m"')).targets[0]!.cpuBudget, { budgetMs: 10_000, periodMs: 60_000 });
    assert.deepEqual(load(block('"1m30s/1h"')).targets[0]!.cpuBudget, { budgetMs: 90_000, periodMs: 3_600_000 });
    assert.deepEqual(load(block('"9s/9s"')).targets[0]!.cpuBudget, { budgetMs: 9_000, periodMs: 9_000 });
    assert.deepEqual(load(sdBlock('file_sd', 'files = ["a"]').replace('service = "svc"', 'cpu_budget = "20s/5m"')).templates[0]!.cpuBudget, { budgetMs: 20_000, periodMs: 300_000 });
  });

  test('errors at the cpu_budget line', () => {
    const cases: Array<[string, RegExp]> = [
      ['"8s/1m"', /the budget \(8s\) is shorter than one CPU window \(profile_duration 9s\): no profile would ever fit/],
      ['"10s"', /must be "BUDGET\/PERIOD" with Go durations, like "10s\/1m"/],
      ['"10/60"', /must be "BUDGET\/PERIOD"/],
      ['"10s/1m/1h"', /must be "BUDGET\/PERIOD"/],
      ['"2m/1m"', /needs 0 < BUDGET <= PERIOD, got "2m\/1m"/],
      ['"0s/1m"', /needs 0 < BUDGET <= PERIOD/],
      ['"10s/0s"', /needs 0 < BUDGET <= PERIOD/],
      ['10', /must be a string, got an integer/],
    ];
    for (const [v, re] of cases) {
      const got = issues(block(v));
      assert.equal(got.length, 1, `cpu_budget = ${v}: ${got.join('\n')}`);
      assert.match(got[0]!, /^sd\.conf:5: inputs\.profile\.go\.cpu_budget: /, `cpu_budget = ${v}`);
      assert.match(got[0]!, re, `cpu_budget = ${v}`);
    }
  });
});

describe('collector --check', () => {
  let dir = '';
  before(() => {
    dir = mkdtempSync(join(tmpdir(), 'discovery-check-'));
  });
  after(() => rmSync(dir, { recursive: true, force: true }));

  function check(text: string, env: Record<string, string> = {}) {
    const file = join(dir, 'profile.conf');
    writeFileSync(file, text);
    const res = spawnSync(process.execPath, ['bin/collector.js', '-c', file, '--check'], {
      cwd: ROOT,
      encoding: 'utf8',
      timeout: 30_000,
      env: { ...process.env, COLLECTOR_SHARD: '', ...env },
    });
    if (res.error) throw res.error;
    return { file, ...res };
  }

  test('lists each discovery with its line and settings, the shard and the budget; hides the SD password', () => {
    const text = doc(
      '[agent]',
      'listen = ""',
      'shard = "1/3"',
      '',
      '[[inputs.profile.go]]',
      'service = "api"',
      'interval = "20s"',
      'profile_duration = "9s"',
      'enabled_types = ["cpu", "heap"]',
      'cpu_budget = "10s/1m"',
      '[inputs.profile.go.file_sd]',
      'files = ["/etc/sd/*.json", "/etc/sd/extra.toml"]',
      'refresh_interval = "1m"',
      '',
      '[[inputs.profile.go]]',
      'service = "web"',
      '[inputs.profile.go.http_sd]',
      'url = "http://user:s3cret@127.0.0.1:9999/sd"',
      'refresh_interval = "30s"',
      '',
      '[[inputs.profile.go]]',
      'service = "dns"',
      '[inputs.profile.go.dns_sd]',
      'names = ["api.example.com"]',
      'type = "A"',
      'port = 6060',
    );
    const res = check(text);
    assert.equal(res.status, 0, res.stderr);
    const out = res.stdout;
    assert.match(out, /^discovery \(3\):$/m);
    assert.match(out, /^ {2}file_sd \/etc\/sd\/\*\.json, \/etc\/sd\/extra\.toml \(watched; re-read every 1m0s\) {2}\(line 5\)$/m);
    assert.match(out, /^ {4}each target: every 20s: cpu, heap; service api; per service: cpu_budget 10s of CPU profiling per 1m0s$/m);
    assert.match(out, /^ {2}http_sd http:\/\/user:xxxxx@127\.0\.0\.1:9999\/sd \(every 30s\) {2}\(line 15\)$/m);
    assert.match(out, /^ {4}each target: every 10s: cpu, heap, goroutine, mutex, block; service web$/m);
    assert.match(out, /^ {2}dns_sd A api\.example\.com port 6060 \(every 30s\) {2}\(line 21\)$/m);
    assert.match(out, /^shard: 1\/3 \(this process scrapes the targets rendezvous hashing gives it: by URL, or by service for a service with a budget, so its budget holds across the shards\)$/m);
    assert.doesNotMatch(out, /s3cret/);
    assert.match(out, /^targets \(0\):$/m);
  });

  test('kubernetes_sd: its namespaces and selectors, as they are sent', () => {
    const block = (...lines: string[]) => ['[[inputs.profile.go]]', 'service = "k"', '[inputs.profile.go.kubernetes_sd]', ...lines];
    const res = check(
      doc(
        '[agent]',
        'listen = ""',
        ...block('api_server = "https://127.0.0.1:6443"', 'namespaces = ["shop", "web"]', 'own_namespace = true', 'label_selector = "tier in (backend,batch)"'),
        ...block('field_selector = ""'),
        ...block('kubeconfig = "/etc/kube/config"', 'field_selector = "status.phase=Running,spec.nodeName=node-1"'),
      ),
    );
    assert.equal(res.status, 0, res.stderr);
    const out = res.stdout;
    assert.match(out, /^ {2}kubernetes_sd https:\/\/127\.0\.0\.1:6443, namespaces shop, web and its own; pods matching label_selector "tier in \(backend,batch\)" and field_selector "status\.phase=Running" {2}\(line 3\)$/m);
    assert.match(out, /^ {2}kubernetes_sd in-cluster, all namespaces; every pod \(field_selector ""\) {2}\(line 10\)$/m);
    assert.match(out, /^ {2}kubernetes_sd kubeconfig \/etc\/kube\/config, all namespaces; pods matching field_selector "status\.phase=Running,spec\.nodeName=node-1" {2}\(line 14\)$/m);
  });

  test('the shard from COLLECTOR_SHARD, and a static target\'s budget', () => {
    const text = doc('[agent]', 'listen = ""', '', '[[inputs.profile.go]]', 'url = "http://127.0.0.1:6060"', 'service = "static"', 'cpu_budget = "9s/30s"');
    const res = check(text, { COLLECTOR_SHARD: '0/2' });
    assert.equal(res.status, 0, res.stderr);
    assert.match(res.stdout, /^shard: 0\/2 /m);
    assert.match(res.stdout, /^ {4}budgets for service static, replicas in turn: cpu_budget 9s of CPU profiling per 30s$/m);
    assert.doesNotMatch(res.stdout, /^discovery/m);
  });

  test('a budgeted target is placed by its service, not its URL (the URL would give shard 0 of 2, the service shard 1)', () => {
    const text = doc('[agent]', 'listen = ""', '', '[[inputs.profile.go]]', 'url = "http://127.0.0.1:6060"', 'service = "static"', 'cpu_budget = "9s/30s"');
    const line = (shard: string) => check(text, { COLLECTOR_SHARD: shard }).stdout.split('\n').find((l) => l.startsWith('  http://127.0.0.1:6060/debug/pprof'));
    assert.equal(line('1/2'), '  http://127.0.0.1:6060/debug/pprof  (line 4)');
    assert.equal(line('0/2'), '  http://127.0.0.1:6060/debug/pprof  (line 4)  -- not scraped here: shard 1/2 owns it');
  });

  test('an invalid discovery: exit 1, FILE:LINE: key on stderr', () => {
    const res = check(doc('[[inputs.profile.go]]', 'url = "http://127.0.0.1:6060"', '[inputs.profile.go.file_sd]', 'files = ["a.json"]'));
    assert.equal(res.status, 1);
    assert.match(res.stderr, new RegExp(`^${res.file.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')}:2: inputs\\.profile\\.go\\.url: a block with a discovery`, 'm'));
  });
});
