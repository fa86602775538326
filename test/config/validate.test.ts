import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import fc from 'fast-check';
import { ConfigError, formatIssue, type ConfigIssue } from '../../src/config/errors.js';
import { parseConfig } from '../../src/config/load.js';
import { defaultWorkerCount } from '../../src/core/limits.js';
import type { Config, GoTargetConfig } from '../../src/config/types.js';

const FILE = 'conf.d/test.conf';
const HOST = 'agent-host';

/** Lines joined with \n: element i is line i + 1. */
const doc = (...lines: string[]): string => lines.join('\n') + '\n';

function load(source: string, env: Record<string, string> = {}): Config {
  return parseConfig(source, FILE, { env, osHostname: HOST });
}

/** The issues of a config that must be rejected. */
function issuesOf(source: string, env: Record<string, string> = {}): ConfigIssue[] {
  try {
    load(source, env);
  } catch (err) {
    if (err instanceof ConfigError) {
      assert.equal(err.message, err.issues.map(formatIssue).join('\n'));
      return [...err.issues];
    }
    throw err;
  }
  assert.fail(`expected a ConfigError for:\n${source}`);
}

/** The one issue of a config with exactly one problem, as printed. */
function onlyIssue(source: string, env: Record<string, string> = {}): string {
  const issues = issuesOf(source, env);
  assert.equal(issues.length, 1, `expected one issue, got:\n${issues.map(formatIssue).join('\n')}`);
  return formatIssue(issues[0]!);
}

/** Asserts a printed issue starts with `FILE:LINE: path: ` and contains every phrase. */
function assertIssue(printed: string, line: number, path: string, ...phrases: string[]): void {
  assert.ok(printed.startsWith(`${FILE}:${line}: ${path}: `), `expected "${FILE}:${line}: ${path}: ...", got "${printed}"`);
  for (const p of phrases) assert.ok(printed.includes(p), `expected "${p}" in "${printed}"`);
}

function only<T>(list: readonly T[]): T {
  assert.equal(list.length, 1);
  return list[0]!;
}

const target = (url = 'http://127.0.0.1:6060', ...extra: string[]): string =>
  doc('[[inputs.profile.go]]', `url = "${url}"`, ...extra);

describe('DataKit layout', () => {
  // conf.d/profile/profile.conf.sample as DataKit ships it, with the optional
  // blocks uncommented the way a DataKit user fills them in.
  const datakit = doc(
    '[[inputs.profile]]', //                                                           1
    '  ## profile Agent endpoints register by version respectively.', //              2
    '  ## Endpoints can be skipped listen by remove them from the list.', //          3
    '  ## Default value set as below. DO NOT MODIFY THESE ENDPOINTS if not necessary.', // 4
    '  endpoints = ["/profiling/v1/input"]', //                                        5
    '', //                                                                             6
    '  ## set true to enable election, pull mode only', //                             7
    '  election = true', //                                                            8
    '', //                                                                             9
    '  ## the max allowed size of http request body (of MB), 32MB by default.', //     10
    '  body_size_limit_mb = 32 # MB', //                                               11
    '', //                                                                             12
    '  ## set false to stop generating apm metrics from ddtrace output.', //           13
    '  generate_metrics = false', //                                                   14
    '', //                                                                             15
    '  [inputs.profile.io_config]', //                                                 16
    '    cache_path = "/usr/local/datakit/cache/profile_inputs"  # C:\\Program Files\\datakit\\cache\\profile_inputs by default on Windows', // 17
    '    cache_capacity_mb = 10240  # 10240MB', //                                     18
    '    clear_cache_on_start = false', //                                             19
    '    upload_workers = 8', //                                                       20
    '    send_timeout = "75s"', //                                                     21
    '    send_retry_count = 4', //                                                     22
    '', //                                                                             23
    '  ## set custom tags for profiling data', //                                      24
    '  [inputs.profile.tags]', //                                                      25
    '    some_tag = "some_value"', //                                                  26
    '    more_tag = "some_other_value"', //                                            27
    '', //                                                                             28
    '## go pprof config', //                                                           29
    '## collect profiling data in pull mode', //                                       30
    '[[inputs.profile.go]]', //                                                        31
    '  ## pprof url', //                                                               32
    '  url = "http://localhost:6060"', //                                              33
    '', //                                                                             34
    '  ## pull interval, should be greater or equal than 10s', //                      35
    '  interval = "10s"', //                                                           36
    '', //                                                                             37
    '  ## service name', //                                                            38
    '  service = "go-demo"', //                                                        39
    '', //                                                                             40
    '  ## app env', //                                                                 41
    '  env = "dev"', //                                                                42
    '', //                                                                             43
    '  ## app version', //                                                             44
    '  version = "0.0.0"', //                                                          45
    '', //                                                                             46
    '  ## types to pull', //                                                           47
    '  ## values: cpu, goroutine, heap, mutex, block', //                              48
    '  enabled_types = ["cpu","goroutine","heap","mutex","block"]', //                 49
    '', //                                                                             50
    '[inputs.profile.go.tags]', //                                                     51
    '  tag1 = "val1"', //                                                              52
  );

  test('loads unchanged, with the values it says', () => {
    const config = load(datakit);
    const t = only(config.targets);
    assert.equal(t.baseUrl, 'http://localhost:6060/debug/pprof');
    assert.deepEqual(t.source, { file: FILE, line: 31 });
    assert.equal(t.intervalMs, 10_000);
    assert.equal(t.service, 'go-demo');
    assert.equal(t.env, 'dev');
    assert.equal(t.version, '0.0.0');
    assert.deepEqual([...t.enabledTypes], ['cpu', 'goroutine', 'heap', 'mutex', 'block']);
    assert.deepEqual(t.inputTags, { some_tag: 'some_value', more_tag: 'some_other_value' });
    assert.deepEqual(t.goTags, { tag1: 'val1' });
    assert.equal(t.bodySizeLimitBytes, 32 * 1024 * 1024);
    assert.equal(t.generateMetrics, false);
    assert.equal(t.auth, undefined);
    assert.equal(t.tls, undefined);
    assert.deepEqual(config.notices, []);
  });

  test('DataKit-only keys are listed as ignored, each with its line', () => {
    const ignored = load(datakit).ignored.map((i) => [i.path, i.line]);
    assert.deepEqual(ignored, [
      ['inputs.profile.endpoints', 5],
      ['inputs.profile.election', 8],
      ['inputs.profile.io_config', 16],
    ]);
    for (const i of load(datakit).ignored) assert.ok(i.why.length > 0);
  });

  test('other DataKit-only profile keys are ignored too, not errors', () => {
    const config = load(
      doc(
        '[[inputs.profile]]',
        'kubernetes_max_concurrency = 4',
        '[[inputs.profile.pyroscope]]',
        'url = "0.0.0.0:4040"',
        '[[inputs.profile.go]]',
        'url = "http://127.0.0.1:6060"',
      ),
    );
    assert.deepEqual(
      config.ignored.map((i) => [i.path, i.line]),
      [
        ['inputs.profile.kubernetes_max_concurrency', 2],
        ['inputs.profile.pyroscope', 3],
      ],
    );
    assert.equal(config.targets.length, 1);
  });

  test('[[inputs.profile.go]] without a [[inputs.profile]] parent works', () => {
    const config = load(
      doc(
        '[[inputs.profile.go]]',
        'url = "http://127.0.0.1:6060"',
        'service = "a"',
        '[[inputs.profile.go]]',
        'url = "http://127.0.0.1:6061"',
        'service = "b"',
      ),
    );
    assert.deepEqual(
      config.targets.map((t) => [t.baseUrl, t.service, t.source.line]),
      [
        ['http://127.0.0.1:6060/debug/pprof', 'a', 1],
        ['http://127.0.0.1:6061/debug/pprof', 'b', 4],
      ],
    );
    // No parent: no input tags, DataKit's defaults for the input keys.
    assert.deepEqual(config.targets[0]!.inputTags, {});
    assert.equal(config.targets[0]!.bodySizeLimitBytes, 32 * 1024 * 1024);
    assert.equal(config.targets[0]!.generateMetrics, true);
  });

  test('several [[inputs.profile]] keep their own tags and limits', () => {
    const config = load(
      doc(
        '[[inputs.profile]]',
        'body_size_limit_mb = 1',
        '[inputs.profile.tags]',
        'region = "eu"',
        '[[inputs.profile.go]]',
        'url = "http://127.0.0.1:6060"',
        '[[inputs.profile]]',
        '[[inputs.profile.go]]',
        'url = "http://127.0.0.1:6061"',
      ),
    );
    assert.deepEqual(
      config.targets.map((t) => [t.source.line, t.inputTags, t.bodySizeLimitBytes]),
      [
        [5, { region: 'eu' }, 1024 * 1024],
        [8, {}, 32 * 1024 * 1024],
      ],
    );
  });
});

describe('defaults', () => {
  test('a target with only a url gets interval 10s, a 9s CPU window, 15s timeout, all five types', () => {
    const config = load(target());
    const t = only(config.targets);
    assert.equal(t.baseUrl, 'http://127.0.0.1:6060/debug/pprof');
    assert.equal(t.intervalMs, 10_000);
    assert.equal(t.profileDurationMs, 9_000);
    assert.equal(t.httpTimeoutMs, 15_000);
    assert.deepEqual([...t.enabledTypes].sort(), ['block', 'cpu', 'goroutine', 'heap', 'mutex']);
    assert.equal(t.service, 'unnamed-service');
    assert.equal(t.env, '');
    assert.equal(t.version, '');
    assert.deepEqual(config.agent, {
      hostname: HOST,
      listen: '127.0.0.1:9466',
      dataDir: 'data',
      logLevel: 'info',
      spoolMaxBytes: 1024 * 1024 * 1024,
      spoolMaxAgeMs: 24 * 3600 * 1000,
      memoryLimitBytes: 256 * 1024 * 1024,
      shutdownGraceMs: 10_000,
      profileWorkers: defaultWorkerCount(),
      compressionLevel: 1,
    });
  });

  const cases: Array<[interval: string, pd: number, timeout: number]> = [
    ['10s', 9_000, 15_000],
    ['11s', 10_000, 15_000],
    ['30s', 10_000, 15_000],
    ['1m', 10_000, 15_000],
    ['10.5s', 9_000, 15_000], // whole seconds: Go's ?seconds= takes integers only
  ];
  for (const [interval, pd, timeout] of cases) {
    test(`interval ${interval}: profile_duration = min(10s, interval - 1s) = ${pd}, http_timeout = ${timeout}`, () => {
      const t = only(load(target(undefined, `interval = "${interval}"`)).targets);
      assert.equal(t.profileDurationMs, pd);
      assert.equal(t.httpTimeoutMs, timeout);
    });
  }

  test('http_timeout defaults to profile_duration + 5s when that is above 15s', () => {
    const t = only(load(target(undefined, 'interval = "1m"', 'profile_duration = "30s"')).targets);
    assert.equal(t.profileDurationMs, 30_000);
    assert.equal(t.httpTimeoutMs, 35_000);
  });

  test('the url path is the pprof prefix: default /debug/pprof, a custom path is kept', () => {
    const urls: Array<[string, string]> = [
      ['http://127.0.0.1:6060', 'http://127.0.0.1:6060/debug/pprof'],
      ['http://127.0.0.1:6060/', 'http://127.0.0.1:6060/debug/pprof'],
      ['http://127.0.0.1:6060/internal/pprof', 'http://127.0.0.1:6060/internal/pprof'],
      ['http://127.0.0.1:6060/internal/pprof/', 'http://127.0.0.1:6060/internal/pprof'],
      ['https://localhost', 'https://localhost/debug/pprof'],
      ['http://[::1]:6060', 'http://[::1]:6060/debug/pprof'],
    ];
    for (const [url, base] of urls) assert.equal(only(load(target(url)).targets).baseUrl, base, url);
  });

  test('no [[outputs.*]]: one file output under <data_dir>/profiles, marked as the default', () => {
    const config = load(doc('[agent]', 'data_dir = "/var/lib/collector"', ...target().split('\n')));
    assert.equal(config.defaultOutput, true);
    assert.equal(config.outputs.length, 1);
    assert.deepEqual(
      { kind: config.outputs[0]!.kind, name: config.outputs[0]!.name, dir: (config.outputs[0] as { dir: string }).dir },
      { kind: 'file', name: 'file', dir: '/var/lib/collector/profiles' },
    );
    assert.equal((load(target()).outputs[0] as { dir: string }).dir, 'data/profiles');
  });

  test('written outputs are used as written, and defaultOutput is false', () => {
    const config = load(
      doc(
        ...target().trimEnd().split('\n'),
        '[[outputs.file]]',
        'dir = "/tmp/p"',
        '[[outputs.datakit]]',
        'url = "http://127.0.0.1:9529/profiling/v1/input"',
        'timeout = "5s"',
      ),
    );
    assert.equal(config.defaultOutput, false);
    assert.deepEqual(
      config.outputs.map((o) => (o.kind === 'file' ? [o.kind, o.name, o.dir] : [o.kind, o.name, o.url, o.timeoutMs])),
      [
        ['datakit', 'datakit', 'http://127.0.0.1:9529/profiling/v1/input', 5_000],
        ['file', 'file', '/tmp/p'],
      ],
    );
  });

  test('body_size_limit_mb is turned into bytes', () => {
    const t = only(load(doc('[[inputs.profile]]', 'body_size_limit_mb = 100', '[[inputs.profile.go]]', 'url = "http://127.0.0.1:6060"')).targets);
    assert.equal(t.bodySizeLimitBytes, 100 * 1024 * 1024);
  });

  test('[agent] hostname wins over the OS host name; empty means the OS host name', () => {
    assert.equal(load(doc('[agent]', 'hostname = "box-1"', ...target().split('\n'))).agent.hostname, 'box-1');
    assert.equal(load(doc('[agent]', 'hostname = ""', ...target().split('\n'))).agent.hostname, HOST);
  });

  test('a service tag set explicitly is the service when `service` is not written, with no notice', () => {
    const inputTag = load(doc('[[inputs.profile]]', '[inputs.profile.tags]', 'service = "from-tags"', '[[inputs.profile.go]]', 'url = "http://127.0.0.1:6060"'));
    assert.equal(only(inputTag.targets).service, 'from-tags');
    assert.deepEqual(inputTag.notices, []);
    const none = load(target());
    assert.deepEqual(
      none.notices.map((n) => [n.path, n.line]),
      [['inputs.profile.go', 1]],
    );
    assert.match(none.notices[0]!.message, /service is not set/);
  });

  test('${VAR} in values comes from the given environment', () => {
    const t = only(
      load(target('http://${PPROF_HOST}:${PPROF_PORT:-6060}', 'service = "${SVC}"', 'interval = "${EVERY}"', 'env = "$${literal}"'), {
        PPROF_HOST: '127.0.0.1',
        SVC: 'checkout',
        EVERY: '20s',
      }).targets,
    );
    assert.equal(t.baseUrl, 'http://127.0.0.1:6060/debug/pprof');
    assert.equal(t.service, 'checkout');
    assert.equal(t.intervalMs, 20_000);
    assert.equal(t.env, '${literal}');
  });
});

describe('interval is never clamped', () => {
  test('exactly 10s is accepted', () => {
    assert.equal(only(load(target(undefined, 'interval = "10s"')).targets).intervalMs, 10_000);
    assert.equal(only(load(target(undefined, 'interval = "10000ms"')).targets).intervalMs, 10_000);
  });

  test('5s is an error, not 10s', () => {
    assertIssue(onlyIssue(target(undefined, 'interval = "5s"')), 3, 'inputs.profile.go.interval', 'must be at least 10s', 'got 5s');
  });

  test('9.999s is an error too', () => {
    assertIssue(onlyIssue(target(undefined, 'interval = "9999ms"')), 3, 'inputs.profile.go.interval', 'must be at least 10s', 'got 9.999s');
  });
});

describe('credentials in a target url', () => {
  test('become basic auth and are not in baseUrl', () => {
    const t = only(load(target('http://user:s3cr%40t@127.0.0.1:6060/debug/pprof')).targets);
    assert.equal(t.baseUrl, 'http://127.0.0.1:6060/debug/pprof');
    assert.deepEqual(t.auth, { kind: 'basic', username: 'user', password: 's3cr@t', fromUrl: true });
    assert.ok(!JSON.stringify({ ...t, auth: undefined }).includes('s3cr'));
  });

  test('a user with no password is basic auth with an empty password', () => {
    const t = only(load(target('http://user@127.0.0.1:6060')).targets);
    assert.deepEqual(t.auth, { kind: 'basic', username: 'user', password: '', fromUrl: true });
    assert.equal(t.baseUrl, 'http://127.0.0.1:6060/debug/pprof');
  });

  test('a url that does not parse does not echo its password', () => {
    const printed = onlyIssue(target('http://user:hunter2@127.0.0.1:notaport'));
    assertIssue(printed, 2, 'inputs.profile.go.url', 'is not a URL');
    assert.ok(!printed.includes('hunter2'), printed);
  });
});

describe('errors: FILE:LINE: key.path: message', () => {
  test('interval below 10s', () => {
    assertIssue(onlyIssue(target(undefined, 'interval = "5s"')), 3, 'inputs.profile.go.interval', 'must be at least 10s, got 5s');
  });

  test('unknown profile type, with did-you-mean, on the line of the element', () => {
    const src = doc('[[inputs.profile.go]]', 'url = "http://127.0.0.1:6060"', 'enabled_types = [', '  "cpu",', '  "hep",', ']');
    assertIssue(onlyIssue(src), 5, 'inputs.profile.go.enabled_types', 'unknown profile type "hep"', '(did you mean "heap"?)', 'allowed: cpu, heap, goroutine, mutex, block');
    assertIssue(onlyIssue(target(undefined, 'enabled_types = ["trace"]')), 3, 'inputs.profile.go.enabled_types', 'unknown profile type "trace"', 'allowed: cpu, heap, goroutine, mutex, block, allocs, threadcreate');
  });

  test('non-http(s) url', () => {
    assertIssue(onlyIssue(target('ftp://127.0.0.1:6060')), 2, 'inputs.profile.go.url', 'scheme must be http or https, got "ftp"');
    // host:port without a scheme is the usual mistake
    assertIssue(onlyIssue(target('localhost:6060')), 2, 'inputs.profile.go.url', 'scheme must be http or https');
    assertIssue(onlyIssue(target('127.0.0.1:6060')), 2, 'inputs.profile.go.url', 'is not a URL', 'http://127.0.0.1:6060');
  });

  test('url with a query string', () => {
    assertIssue(onlyIssue(target('http://127.0.0.1:6060/debug/pprof?debug=1')), 2, 'inputs.profile.go.url', 'must not have a query string');
  });

  test('missing url: on the line of the [[inputs.profile.go]] header', () => {
    const src = doc('[agent]', 'log_level = "info"', '', '[[inputs.profile.go]]', 'service = "x"');
    assertIssue(onlyIssue(src), 4, 'inputs.profile.go.url', 'is required');
  });

  test('unknown key: a typo gets a did-you-mean and the allowed keys', () => {
    assertIssue(onlyIssue(target(undefined, 'intervall = "10s"')), 3, 'inputs.profile.go.intervall', 'unknown key "intervall"', '(did you mean "interval"?)', 'allowed here: url, interval');
    assertIssue(onlyIssue(doc('[agent]', 'log-level = "info"', ...target().split('\n'))), 2, 'agent.log-level', 'unknown key "log-level"', '(did you mean "log_level"?)');
    assertIssue(onlyIssue(doc('[[inputs.profile]]', 'genrate_metrics = true', '[[inputs.profile.go]]', 'url = "http://127.0.0.1:6060"')), 2, 'inputs.profile.genrate_metrics', '(did you mean "generate_metrics"?)');
    assertIssue(onlyIssue(doc('agnet = 1', ...target().split('\n'))), 1, 'agnet', 'unknown key "agnet"', '(did you mean "agent"?)');
  });

  test('keys named like Object.prototype members are unknown keys too', () => {
    assertIssue(onlyIssue(target(undefined, 'valueOf = 1')), 3, 'inputs.profile.go.valueOf', 'unknown key "valueOf"');
    assertIssue(onlyIssue(doc('[agent]', 'toString = "x"', ...target().split('\n'))), 2, 'agent.toString', 'unknown key "toString"');
    assertIssue(onlyIssue(doc('[[inputs.profile]]', 'hasOwnProperty = 1', '[[inputs.profile.go]]', 'url = "http://127.0.0.1:6060"')), 2, 'inputs.profile.hasOwnProperty', 'unknown key');
    // The TOML parser itself refuses the keys that could change prototypes.
    assertIssue(onlyIssue(target(undefined, '__proto__ = 1')), 3, 'syntax', 'a key named __proto__ or constructor is not allowed');
  });

  test('profile_duration >= interval', () => {
    assertIssue(onlyIssue(target(undefined, 'interval = "10s"', 'profile_duration = "10s"')), 4, 'inputs.profile.go.profile_duration', 'must be shorter than interval (10s)', 'got 10s');
    assertIssue(onlyIssue(target(undefined, 'profile_duration = "20s"')), 3, 'inputs.profile.go.profile_duration', 'must be shorter than interval (10s)', 'got 20s');
  });

  test('profile_duration not whole seconds', () => {
    assertIssue(onlyIssue(target(undefined, 'profile_duration = "2.5s"')), 3, 'inputs.profile.go.profile_duration', 'must be whole seconds', 'got 2.5s');
    assertIssue(onlyIssue(target(undefined, 'profile_duration = "9001ms"')), 3, 'inputs.profile.go.profile_duration', 'must be whole seconds', 'got 9.001s');
    assertIssue(onlyIssue(target(undefined, 'profile_duration = "5.0001s"')), 3, 'inputs.profile.go.profile_duration', 'must be whole seconds', 'got 5.0001s');
    assertIssue(onlyIssue(target(undefined, 'profile_duration = "500ms"')), 3, 'inputs.profile.go.profile_duration', 'must be at least 1s', 'got 500ms');
  });

  test('whole seconds written as fractions of minutes or hours are whole seconds', () => {
    const t = only(load(target(undefined, 'interval = "0.1h"', 'profile_duration = "4.1m"')).targets);
    assert.equal(t.intervalMs, 360_000);
    assert.equal(t.profileDurationMs, 246_000);
  });

  test('http_timeout <= profile_duration', () => {
    assertIssue(onlyIssue(target(undefined, 'profile_duration = "9s"', 'http_timeout = "9s"')), 4, 'inputs.profile.go.http_timeout', 'must be longer than profile_duration (9s)', 'got 9s');
    // against the default profile_duration (9s for the default 10s interval)
    assertIssue(onlyIssue(target(undefined, 'http_timeout = "5s"')), 3, 'inputs.profile.go.http_timeout', 'must be longer than profile_duration (9s)', 'got 5s');
  });

  test('non-string tag value, in either tags table', () => {
    assertIssue(onlyIssue(doc(...target().trimEnd().split('\n'), '[inputs.profile.go.tags]', 'team = 7')), 4, 'inputs.profile.go.tags.team', 'must be a string, got an integer', '(write "7")');
    assertIssue(
      onlyIssue(doc('[[inputs.profile]]', '[inputs.profile.tags]', 'canary = true', '[[inputs.profile.go]]', 'url = "http://127.0.0.1:6060"')),
      3,
      'inputs.profile.tags.canary',
      'must be a string, got a boolean',
    );
  });

  test('unknown output kind', () => {
    assertIssue(onlyIssue(doc(...target().trimEnd().split('\n'), '[[outputs.kafka]]', 'url = "x"')), 3, 'outputs.kafka', 'unknown output kind "kafka"', 'allowed: datakit, file');
    assertIssue(onlyIssue(doc(...target().trimEnd().split('\n'), '[[outputs.fille]]')), 3, 'outputs.fille', '(did you mean "file"?)');
    // On its own header's line, not on the line of the first [[outputs.*]].
    assertIssue(onlyIssue(doc(...target().trimEnd().split('\n'), '[[outputs.file]]', 'dir = "x"', '', '[[outputs.kafka]]')), 6, 'outputs.kafka', 'unknown output kind "kafka"');
  });

  test('duplicate output names', () => {
    const src = doc(
      ...target().trimEnd().split('\n'), // 1-2
      '[[outputs.file]]', //               3
      'name = "local"', //                 4
      'dir = "/tmp/a"', //                 5
      '[[outputs.file]]', //               6
      'name = "local"', //                 7
      'dir = "/tmp/b"', //                 8
    );
    assertIssue(onlyIssue(src), 6, 'outputs.file.name', 'output name "local" is already used by the output on line 3');
    // Unnamed outputs of one kind are numbered, so two files are fine.
    const config = load(doc(...target().trimEnd().split('\n'), '[[outputs.file]]', 'dir = "/tmp/a"', '[[outputs.file]]', 'dir = "/tmp/b"'));
    assert.deepEqual(config.outputs.map((o) => o.name), ['file', 'file-2']);
  });

  test('bad log_level', () => {
    assertIssue(onlyIssue(doc('[agent]', 'log_level = "verbose"', ...target().split('\n'))), 2, 'agent.log_level', 'must be one of trace, debug, info, warn, error', 'got "verbose"');
    assertIssue(onlyIssue(doc('[agent]', 'log_level = "inf"', ...target().split('\n'))), 2, 'agent.log_level', '(did you mean "info"?)');
  });

  test('durations that are not strings', () => {
    assertIssue(onlyIssue(target(undefined, 'interval = 10')), 3, 'inputs.profile.go.interval', 'must be a Go duration string like "10s"', 'got an integer', '(write "10s" for seconds)');
    assertIssue(onlyIssue(target(undefined, 'http_timeout = 15.5')), 3, 'inputs.profile.go.http_timeout', 'got a float');
    assertIssue(onlyIssue(target(undefined, 'profile_duration = true')), 3, 'inputs.profile.go.profile_duration', 'got a boolean');
  });

  test('a duration string that is not a Go duration', () => {
    assertIssue(onlyIssue(target(undefined, 'interval = "10"')), 3, 'inputs.profile.go.interval', 'missing unit', 'write a Go duration like "10s"');
    assertIssue(onlyIssue(target(undefined, 'interval = "-10s"')), 3, 'inputs.profile.go.interval', 'negative duration');
  });

  test('TOML syntax error, with its line', () => {
    const src = doc('[agent]', 'log_level = "info"', '', '[[inputs.profile.go]]', 'url = "http://127.0.0.1:6060', 'interval = "10s"');
    assertIssue(onlyIssue(src), 5, 'syntax', 'invalid TOML');
    assertIssue(onlyIssue(doc('[[inputs.profile.go]]', 'url = "http://127.0.0.1:6060"', 'interval = 10s')), 3, 'syntax', 'invalid TOML');
    assertIssue(onlyIssue(doc('[[inputs.profile.go]]', 'url = "http://127.0.0.1:6060"', 'url = "http://127.0.0.1:6061"')), 3, 'syntax', 'invalid TOML');
  });

  test('enabled_types = []', () => {
    assertIssue(onlyIssue(target(undefined, 'enabled_types = []')), 3, 'inputs.profile.go.enabled_types', 'must list at least one of cpu, heap, goroutine, mutex, block');
  });

  test('duplicate type', () => {
    const src = doc('[[inputs.profile.go]]', 'url = "http://127.0.0.1:6060"', 'enabled_types = [', '  "cpu", "heap",', '  "cpu",', ']');
    assertIssue(onlyIssue(src), 5, 'inputs.profile.go.enabled_types', '"cpu" is listed twice');
  });

  test('an unset ${VAR}', () => {
    assertIssue(onlyIssue(target(undefined, 'service = "${SVC_NAME}"')), 3, 'inputs.profile.go.service', 'environment variable SVC_NAME is not set');
    assertIssue(onlyIssue(target('http://${PPROF_HOST}:6060')), 2, 'inputs.profile.go.url', 'environment variable PPROF_HOST is not set');
    assertIssue(onlyIssue(target(undefined, 'interval = "${EVERY}"')), 3, 'inputs.profile.go.interval', 'environment variable EVERY is not set');
  });

  test('no targets at all', () => {
    assertIssue(onlyIssue(doc('[agent]', 'log_level = "info"')), 1, 'inputs.profile.go', 'no targets');
  });

  test('a file with several problems reports all of them at once, sorted by line', () => {
    const src = doc(
      '[agent]', //                                      1
      'log_level = "loud"', //                           2
      '', //                                             3
      '[[outputs.file]]', //                             4
      'name = "a"', //                                   5
      '[[outputs.file]]', //                             6
      'name = "a"', //                                   7
      '', //                                             8
      '[[inputs.profile]]', //                           9
      '[inputs.profile.tags]', //                        10
      'region = 1', //                                   11
      '[[inputs.profile.go]]', //                        12
      'url = "ftp://127.0.0.1:6060"', //                 13
      'interval = "5s"', //                              14
      'enabled_types = ["cpu", "heep"]', //              15
      'servce = "x"', //                                 16
      '[[inputs.profile.go]]', //                        17
      'profile_duration = "2.5s"', //                    18
      '[[inputs.profile.go]]', //                        19
      'url = "http://127.0.0.1:6061"', //                20
      'profile_duration = "9s"', //                      21
      'http_timeout = "9s"', //                          22
      'env = "${DEPLOY_ENV}"', //                        23
    );
    const issues = issuesOf(src);
    assert.deepEqual(
      issues.map((i) => `${i.file}:${i.line}: ${i.path}`),
      [
        `${FILE}:2: agent.log_level`,
        `${FILE}:6: outputs.file.name`,
        `${FILE}:11: inputs.profile.tags.region`,
        `${FILE}:13: inputs.profile.go.url`,
        `${FILE}:14: inputs.profile.go.interval`,
        `${FILE}:15: inputs.profile.go.enabled_types`,
        `${FILE}:16: inputs.profile.go.servce`,
        `${FILE}:17: inputs.profile.go.url`,
        `${FILE}:18: inputs.profile.go.profile_duration`,
        `${FILE}:22: inputs.profile.go.http_timeout`,
        `${FILE}:23: inputs.profile.go.env`,
      ],
    );
    const lines = issues.map((i) => i.line);
    assert.deepEqual(lines, [...lines].sort((a, b) => a - b));
  });
});

// ---------------------------------------------------------------------------
// Properties

/** A duration in ms: whole seconds, or any millisecond value, around the limits. */
const durationMs = fc.oneof(
  fc.integer({ min: 0, max: 40 }).map((s) => s * 1000),
  fc.integer({ min: 0, max: 40_000 }),
  fc.constantFrom(999, 1_000, 1_001, 9_000, 9_999, 10_000, 10_001, 15_000),
);

/** Go duration text for ms, in one of several spellings. */
const spell = (ms: number, how: number): string => {
  switch (how) {
    case 0:
      return `${ms}ms`;
    case 1:
      return `${ms / 1000}s`;
    default: {
      const m = Math.floor(ms / 60_000);
      const rest = ms - m * 60_000;
      return m > 0 ? `${m}m${rest / 1000}s` : `${rest / 1000}s`;
    }
  }
};

test('property: interval/profile_duration/http_timeout are accepted iff in range, and kept exactly', () => {
  fc.assert(
    fc.property(durationMs, durationMs, durationMs, fc.nat(2), fc.nat(2), fc.nat(2), (iv, pd, ht, h1, h2, h3) => {
      const src = target(undefined, `interval = "${spell(iv, h1)}"`, `profile_duration = "${spell(pd, h2)}"`, `http_timeout = "${spell(ht, h3)}"`);
      const expectBad = new Set<string>();
      if (iv < 10_000) expectBad.add('inputs.profile.go.interval'); // line 3
      if (pd < 1000 || pd % 1000 !== 0 || pd >= iv) expectBad.add('inputs.profile.go.profile_duration'); // line 4
      if (ht <= pd) expectBad.add('inputs.profile.go.http_timeout'); // line 5
      if (expectBad.size === 0) {
        const t: GoTargetConfig = only(load(src).targets);
        assert.equal(t.intervalMs, iv);
        assert.equal(t.profileDurationMs, pd);
        assert.equal(t.httpTimeoutMs, ht);
      } else {
        const issues = issuesOf(src);
        assert.deepEqual(new Set(issues.map((i) => i.path)), expectBad, src);
        const lineOf: Record<string, number> = {
          'inputs.profile.go.interval': 3,
          'inputs.profile.go.profile_duration': 4,
          'inputs.profile.go.http_timeout': 5,
        };
        for (const i of issues) assert.equal(i.line, lineOf[i.path], formatIssue(i));
      }
    }),
    { numRuns: 400 },
  );
});

const ALLOWED_GO_KEYS = ['url', 'interval', 'profile_duration', 'http_timeout', 'service', 'env', 'version', 'enabled_types', 'tags', 'tls_open', 'tls_ca', 'tls_cert', 'tls_key', 'insecure_skip_verify'];

/** Valid key lines for a [[inputs.profile.go]] block (url added separately). */
const VALID_LINES = ['interval = "20s"', 'service = "svc"', 'env = "prod"', 'version = "1.2.3"', 'enabled_types = ["cpu", "heap"]', 'profile_duration = "5s"', 'http_timeout = "30s"'];

const unknownKey = fc
  .oneof(
    fc.stringMatching(/^[a-z_][a-z0-9_-]{0,14}$/),
    fc.constantFrom('valueOf', 'toString', 'hasOwnProperty', 'isPrototypeOf', 'propertyIsEnumerable', 'toLocaleString', '__defineGetter__', 'URL', 'Interval', 'enabled-types', 'enabledTypes'),
    fc.string({ unit: fc.constantFrom(...'ab. -xyz9'), minLength: 1, maxLength: 10 }), // written quoted
  )
  .filter((k) => !ALLOWED_GO_KEYS.includes(k) && !['constructor', '__proto__', 'prototype'].includes(k));

test('property: an unknown key in a [[inputs.profile.go]] block is reported on the line where it was written', () => {
  fc.assert(
    fc.property(
      unknownKey,
      fc.integer({ min: 1, max: 3 }), // blocks
      fc.nat(), // which block gets the key
      fc.array(fc.tuple(fc.shuffledSubarray(VALID_LINES), fc.nat()), { minLength: 3, maxLength: 3 }),
      fc.array(fc.constantFrom('', '# comment', '  ## interval = "1s"', '# [[inputs.profile.go]]'), { minLength: 0, maxLength: 3 }),
      fc.boolean(), // a comment line after every key line
      (key, blocks, which, bodies, filler, commentAfter) => {
        const bare = /^[A-Za-z0-9_-]+$/.test(key);
        const written = bare ? key : JSON.stringify(key);
        const lines: string[] = [];
        let insertedAt = -1;
        for (let b = 0; b < blocks; b++) {
          const [body, pos] = bodies[b]!;
          const keyLines = [`url = "http://127.0.0.1:${6060 + b}"`, ...body];
          lines.push(...filler, '[[inputs.profile.go]]');
          keyLines.forEach((l, k) => {
            if (b === which % blocks && k === pos % keyLines.length) {
              insertedAt = lines.length + 1;
              lines.push(`  ${written} = 1`);
            }
            lines.push(`  ${l}`);
            if (commentAfter) lines.push('  # url = "http://127.0.0.1:1"');
          });
        }
        const src = doc(...lines);
        const issues = issuesOf(src);
        assert.equal(issues.length, 1, `${issues.map(formatIssue).join('\n')}\n---\n${src}`);
        const issue = issues[0]!;
        assert.equal(issue.line, insertedAt, src);
        assert.equal(issue.path, `inputs.profile.go.${written}`);
        assert.ok(issue.message.startsWith(`unknown key ${JSON.stringify(key)}`), issue.message);
      },
    ),
    { numRuns: 300 },
  );
});

describe('body_size_limit_mb as DataKit writes it', () => {
  test('0 ("no limit" in DataKit) loads with the default 32 MiB cap and a notice', () => {
    const config = parseConfig('[[inputs.profile]]\nbody_size_limit_mb = 0\n[[inputs.profile.go]]\nurl = "http://127.0.0.1:6060"\nservice = "a"\n', 'dk.conf', {
      env: {},
      osHostname: 'h',
    });
    assert.equal(config.targets[0]!.bodySizeLimitBytes, 32 * 1024 * 1024);
    const n = config.notices.find((x) => x.path === 'inputs.profile.body_size_limit_mb');
    assert.ok(n, 'a notice names the key');
    assert.equal(n.line, 2);
    assert.match(n.message, /no limit/);
  });
  test('a positive value is MiB', () => {
    const config = parseConfig('[[inputs.profile]]\nbody_size_limit_mb = 8\n[[inputs.profile.go]]\nurl = "http://127.0.0.1:6060"\n', 'dk.conf', { env: {}, osHostname: 'h' });
    assert.equal(config.targets[0]!.bodySizeLimitBytes, 8 * 1024 * 1024);
  });
});

describe('spool and shutdown settings', () => {
  const agent = (lines: string) =>
    parseConfig(`[agent]\n${lines}\n[[inputs.profile.go]]\nurl = "http://127.0.0.1:6060"\n`, 'a.conf', { env: {}, osHostname: 'h' }).agent;
  test('sizes as bytes or with units, durations as Go durations', () => {
    assert.equal(agent('spool_max_bytes = 2097152').spoolMaxBytes, 2 * 1024 * 1024);
    assert.equal(agent('spool_max_bytes = "512MiB"').spoolMaxBytes, 512 * 1024 * 1024);
    assert.equal(agent('spool_max_bytes = "2GB"').spoolMaxBytes, 2e9);
    assert.equal(agent('spool_max_age = "2h"').spoolMaxAgeMs, 7_200_000);
    assert.equal(agent('shutdown_grace = "3s"').shutdownGraceMs, 3000);
  });
  test('bad sizes are errors on their line', () => {
    for (const [value, phrase] of [['"12 parsecs"', /not a size/], ['"10KiB"', /at least 1MiB/], ['true', /must be a number of bytes/]] as const) {
      assert.throws(
        () => agent(`spool_max_bytes = ${value}`),
        (e: unknown) => e instanceof ConfigError && e.issues.length === 1 && e.issues[0]!.line === 2 && e.issues[0]!.path === 'agent.spool_max_bytes' && phrase.test(e.issues[0]!.message),
      );
    }
  });
});
