import assert from 'node:assert/strict';
import { spawnSync, type SpawnSyncReturns } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { fileURLToPath } from 'node:url';

const ROOT = fileURLToPath(new URL('../..', import.meta.url));

/** Runs the real command, as `npx collector` would. */
function collector(args: string[], env: Record<string, string> = {}): SpawnSyncReturns<string> {
  const res = spawnSync(process.execPath, ['bin/collector.js', ...args], {
    cwd: ROOT,
    encoding: 'utf8',
    timeout: 20_000,
    env: { ...process.env, ...env },
  });
  if (res.error) throw res.error;
  return res;
}

let dir = '';
const write = (name: string, text: string): string => {
  const file = join(dir, name);
  writeFileSync(file, text);
  return file;
};

before(() => {
  dir = mkdtempSync(join(tmpdir(), 'collector-cli-test-'));
});
after(() => {
  rmSync(dir, { recursive: true, force: true });
});

describe('collector --check', () => {
  test('-c conf.d/profile.conf --check: exit 0, prints the target, its types and the output', () => {
    const res = collector(['-c', 'conf.d/profile.conf', '--check']);
    assert.equal(res.status, 0, res.stderr);
    assert.equal(res.stderr, '');
    const out = res.stdout;
    assert.match(out, /^conf\.d\/profile\.conf: valid$/m);
    // The line of the sample's target block, read from the file (comments above it come and go).
    const blockLine = readFileSync(join(ROOT, 'conf.d/profile.conf'), 'utf8').split('\n').findIndex((l) => l.trim() === '[[inputs.profile.go]]') + 1;
    assert.ok(blockLine > 0);
    assert.match(out, new RegExp(`^ {2}http://127\\.0\\.0\\.1:6060/debug/pprof {2}\\(line ${blockLine}\\)$`, 'm'));
    assert.match(out, /every 10s: cpu \(9s window\), goroutine, heap, mutex, block; http_timeout 15s/);
    assert.match(out, /service=go-target-demo env=demo version=0\.1\.0/);
    assert.match(out, /instance=127\.0\.0\.1:6060/);
    assert.match(out, /^outputs \(1\):$/m);
    assert.match(out, /file "file" -> data\/profiles/);
  });

  test('--config is the long form of -c', () => {
    const res = collector(['--config', 'conf.d/profile.conf', '--check']);
    assert.equal(res.status, 0, res.stderr);
    assert.match(res.stdout, /conf\.d\/profile\.conf: valid/);
  });

  test('a DataKit file: ignored keys are listed with their lines, the default output is said', () => {
    const file = write(
      'datakit.conf',
      [
        '[[inputs.profile]]', //                        1
        '  endpoints = ["/profiling/v1/input"]', //     2
        '  election = true', //                         3
        '[[inputs.profile.go]]', //                     4
        '  url = "http://localhost:6060"', //           5
        '  service = "go-demo"', //                     6
        '  enabled_types = ["heap"]', //                7
        '',
      ].join('\n'),
    );
    const res = collector(['-c', file, '--check']);
    assert.equal(res.status, 0, res.stderr);
    assert.ok(res.stdout.includes(`${file}:2: inputs.profile.endpoints: `), res.stdout);
    assert.ok(res.stdout.includes(`${file}:3: inputs.profile.election: `), res.stdout);
    assert.match(res.stdout, /every 10s: heap; http_timeout 15s/);
    assert.match(res.stdout, /file "file" -> data\/profiles {2}\(default: the config has no \[\[outputs\.\*\]\]\)/);
  });

  test('delta_source, godeltaprof\'s one-reader rule, allocs, threadcreate and custom types are shown', () => {
    const file = write(
      'types.conf',
      [
        '[[inputs.profile.go]]',
        '  url = "http://127.0.0.1:6060"',
        '  service = "svc"',
        '  enabled_types = ["cpu", "heap", "mutex", "allocs", "threadcreate"]',
        '  [[inputs.profile.go.custom]]',
        '  name = "fgprof"',
        '  path = "/debug/fgprof"',
        '  seconds = true',
        '  [[inputs.profile.go.custom]]',
        '  name = "locks"',
        '  path = "block"',
        '  delta = ["contentions", "delay"]',
        '  pyroscope_name = "app_locks"',
        '[[inputs.profile.go]]',
        '  url = "http://127.0.0.1:7070"',
        '  service = "other"',
        '  delta_source = "client"',
        '  enabled_types = ["heap"]',
        '[[inputs.profile.go]]',
        '  delta_source = "godeltaprof"',
        '  enabled_types = ["block"]',
        '  [[inputs.profile.go.custom]]',
        '  name = "cpu_labels"',
        '  path = "profile"',
        '  seconds = true',
        '  cpu_profiler = true',
        '  [inputs.profile.go.file_sd]',
        '  files = ["/etc/targets/*.json"]',
        '',
      ].join('\n'),
    );
    const res = collector(['-c', file, '--check']);
    assert.equal(res.status, 0, res.stderr);
    const out = res.stdout;
    assert.match(out, /every 10s: cpu \(9s window\), heap, mutex, allocs, threadcreate, fgprof \(9s window\), locks; http_timeout 15s/);
    assert.match(out, /^ {4}delta_source auto: heap, mutex from godeltaprof \(delta_heap, delta_mutex\) when the target serves it, else deltas computed here from \/heap, \/mutex; asked again after a target restart and every hour$/m);
    assert.match(out, /^ {4}godeltaprof: only ONE scraper may read delta_heap, delta_mutex of a process \(each read moves its baseline\): no other collector, Grafana Alloy, Pyroscope agent or curl may read them; listings of the same process here share one reader$/m);
    assert.match(
      out,
      /^ {4}custom fgprof: GET http:\/\/127\.0\.0\.1:6060\/debug\/fgprof\?seconds=9 \(a 9s window; not the CPU profiler: runs beside cpu\); ships as DataKit fgprof\.pprof, Pyroscope __name__=fgprof$/m,
    );
    assert.match(out, /^ {4}custom locks: GET http:\/\/127\.0\.0\.1:6060\/debug\/pprof\/block \(deltas of contentions, delay computed here\); ships as DataKit delta-locks\.pprof, Pyroscope __name__=app_locks$/m);
    assert.match(out, /^ {4}delta_source client: heap deltas computed here from \/heap$/m);
    // A discovery template says the same for each target it finds.
    assert.match(out, /^ {4}delta_source godeltaprof: block from godeltaprof \(delta_block\) only; a target without it fails with 404$/m);
    assert.match(out, /^ {4}custom cpu_labels: GET profile\?seconds=9 \(a 9s window; the CPU profiler: one in flight per process, in turn with cpu\); ships as DataKit cpu_labels\.pprof, Pyroscope __name__=cpu_labels$/m);
  });

  test('a broken config: exit 1, every problem on stderr as FILE:LINE: key.path:', () => {
    const file = write(
      'broken.conf',
      [
        '[agent]', //                                    1
        'log_level = "verbose"', //                      2
        '[[inputs.profile.go]]', //                      3
        'url = "ftp://127.0.0.1:6060"', //               4
        'interval = "5s"', //                            5
        'enabled_types = ["cpu", "hep"]', //             6
        'intervl = "10s"', //                            7
        '[[inputs.profile.go]]', //                      8
        'profile_duration = "10s"', //                   9
        '[[outputs.kafka]]', //                          10
        '',
      ].join('\n'),
    );
    const res = collector(['-c', file, '--check']);
    assert.equal(res.status, 1);
    assert.equal(res.stdout, '');
    const lines = res.stderr.trimEnd().split('\n');
    const expected = [
      `${file}:2: agent.log_level: `,
      `${file}:4: inputs.profile.go.url: `,
      `${file}:5: inputs.profile.go.interval: `,
      `${file}:6: inputs.profile.go.enabled_types: `,
      `${file}:7: inputs.profile.go.intervl: `,
      `${file}:8: inputs.profile.go.url: `,
      `${file}:9: inputs.profile.go.profile_duration: `,
      `${file}:10: outputs.kafka: `,
    ];
    assert.equal(lines.length, expected.length + 1, res.stderr);
    expected.forEach((prefix, i) => assert.ok(lines[i]!.startsWith(prefix), `line ${i}: expected "${prefix}...", got "${lines[i]}"`));
    assert.match(lines[4]!, /\(did you mean "interval"\?\)/);
    assert.match(lines[3]!, /\(did you mean "heap"\?\)/);
    assert.equal(lines.at(-1), `8 problem(s) in ${file}`);
  });

  test('a TOML syntax error: exit 1, with its line', () => {
    const file = write('syntax.conf', '[[inputs.profile.go]]\nurl = "http://127.0.0.1:6060\n');
    const res = collector(['-c', file, '--check']);
    assert.equal(res.status, 1);
    assert.ok(res.stderr.startsWith(`${file}:2: syntax: invalid TOML`), res.stderr);
  });

  test('a config file that does not exist: exit 1, said as FILE:1: file:', () => {
    const file = join(dir, 'missing.conf');
    const res = collector(['-c', file, '--check']);
    assert.equal(res.status, 1);
    assert.ok(res.stderr.startsWith(`${file}:1: file: cannot read the config: file not found`), res.stderr);
  });

  test('budgets are listed for a target and for a discovery block', () => {
    const file = write(
      'budgets.conf',
      [
        '[[inputs.profile.go]]',
        'url = "http://127.0.0.1:6060"',
        'service = "api"',
        'profile_duration = "9s"',
        'cpu_budget = "10s/1m"',
        'heap_budget = "2/1m"',
        '[[inputs.profile.go]]',
        'service = "pods"',
        'profile_duration = "9s"',
        'cpu_budget = "20s/2m"',
        'block_budget = "1/5m"',
        '[inputs.profile.go.file_sd]',
        'files = ["/etc/targets.json"]',
        '',
      ].join('\n'),
    );
    const res = collector(['-c', file, '--check']);
    assert.equal(res.status, 0, res.stderr);
    assert.match(res.stdout, /^    budgets for service api, replicas in turn: cpu_budget 10s of CPU profiling per 1m0s; heap_budget 2 scrape\(s\) per 1m0s$/m);
    assert.match(res.stdout, /; service pods; per service: cpu_budget 20s of CPU profiling per 2m0s; block_budget 1 scrape\(s\) per 5m0s$/m);
  });

  test('a cron schedule: its next three runs (in TZ), the target\'s offset; a trigger in words', () => {
    const file = write(
      'schedule.conf',
      [
        '[[inputs.profile.go]]',
        'url = "http://127.0.0.1:6060"',
        'service = "api"',
        'enabled_types = ["cpu", "heap", "goroutine"]',
        '[inputs.profile.go.schedule]',
        'goroutine = "0 */5 * * * *"',
        '[inputs.profile.go.trigger]',
        'cpu_cores_above = 0.6',
        'types = ["cpu", "goroutine"]',
        'cooldown = "2m"',
        '',
      ].join('\n'),
    );
    const res = collector(['-c', file, '--check'], { TZ: 'UTC' });
    assert.equal(res.status, 0, res.stderr);
    assert.match(res.stdout, /^ {4}every 10s: cpu \(9s window\), heap; http_timeout 15s$/m);
    const line = /^ {4}schedule: goroutine at "0 \*\/5 \* \* \* \*" \(this target (\d+(?:\.\d+)?)s after each run\): next (\S+), (\S+), (\S+)$/m.exec(res.stdout);
    assert.ok(line, res.stdout);
    assert.ok(Number(line[1]) < 60, 'the offset is within the default 1m spread');
    const runs = line.slice(2, 5).map((t) => {
      assert.match(t, /^\d{4}-\d\d-\d\dT\d\d:\d\d:00\+00:00$/);
      return Date.parse(t);
    });
    assert.ok(runs[0]! % 300_000 === 0 && runs[1]! - runs[0]! === 300_000 && runs[2]! - runs[1]! === 300_000, line[0]);
    assert.match(res.stdout, /^ {4}trigger: when cpu_cores above 0\.6 \(crossing from at or below, once per excursion\), take cpu, goroutine at once, tagged trigger=<metric>; cooldown 2m0s$/m);
  });

  test('a bad cron pattern: exit 1, FILE:LINE: key.path: and what is allowed', () => {
    const file = write('bad-schedule.conf', ['[[inputs.profile.go]]', 'url = "http://127.0.0.1:6060"', '[inputs.profile.go.schedule]', 'heap = "0 */5 * * *"', ''].join('\n'));
    const res = collector(['-c', file, '--check']);
    assert.equal(res.status, 1);
    assert.ok(res.stderr.startsWith(`${file}:4: inputs.profile.go.schedule.heap: "0 */5 * * *" is not a cron pattern with seconds (5 field(s), not six); write six fields, second minute hour day-of-month month day-of-week`), res.stderr);
  });

  test('${VAR} comes from the environment of the command', () => {
    const file = write('env.conf', '[[inputs.profile.go]]\nurl = "http://127.0.0.1:${PPROF_PORT}"\nservice = "${SVC:-fallback}"\n');
    const ok = collector(['-c', file, '--check'], { PPROF_PORT: '7070' });
    assert.equal(ok.status, 0, ok.stderr);
    assert.match(ok.stdout, /http:\/\/127\.0\.0\.1:7070\/debug\/pprof/);
    assert.match(ok.stdout, /service=fallback/);
    const unset = collector(['-c', file, '--check'], { PPROF_PORT: '' });
    assert.equal(unset.status, 0, unset.stderr); // set but empty: expands to "", the default port
    const env = { ...process.env };
    delete env.PPROF_PORT;
    const res = spawnSync(process.execPath, ['bin/collector.js', '-c', file, '--check'], { cwd: ROOT, encoding: 'utf8', timeout: 20_000, env });
    assert.equal(res.status, 1);
    assert.ok(res.stderr.startsWith(`${file}:2: inputs.profile.go.url: environment variable PPROF_PORT is not set`), res.stderr);
  });
});

// The file names and the temp dir never contain the word, so any "secret" in
// the output is the password.
describe('secrets', () => {
  test('--check of a target url with a password never prints the password', () => {
    const file = write('auth.conf', '[[inputs.profile.go]]\nurl = "http://user:secret@127.0.0.1:6060"\nservice = "s"\n');
    const res = collector(['-c', file, '--check']);
    assert.equal(res.status, 0, res.stderr);
    assert.ok(!res.stdout.includes('secret') && !res.stderr.includes('secret'), res.stdout + res.stderr);
    assert.ok(!res.stdout.includes('user:'), res.stdout);
    assert.match(res.stdout, /http:\/\/127\.0\.0\.1:6060\/debug\/pprof/);
    assert.match(res.stdout, /auth: basic/);
  });

  test('nor when the config is invalid', () => {
    const file = write(
      'auth-broken.conf',
      [
        '[[inputs.profile.go]]',
        'url = "http://user:secret@127.0.0.1:6060/debug/pprof?x=1"',
        'interval = "5s"',
        '[[inputs.profile.go]]',
        'url = "http://user:secret@127.0.0.1:notaport"',
        '[[inputs.profile.go]]',
        'url = "gopher://user:secret@127.0.0.1:6060"',
        '[[outputs.datakit]]',
        'url = "http://user:secret@127.0.0.1:9529/profiling/v1/input"',
        'timeout = "0s"',
        '',
      ].join('\n'),
    );
    const res = collector(['-c', file, '--check']);
    assert.equal(res.status, 1);
    assert.ok(res.stderr.includes(`${file}:2: inputs.profile.go.url: `), res.stderr);
    assert.ok(res.stderr.includes(`${file}:5: inputs.profile.go.url: `), res.stderr);
    assert.ok(res.stderr.includes(`${file}:7: inputs.profile.go.url: `), res.stderr);
    assert.ok(!res.stdout.includes('secret') && !res.stderr.includes('secret'), res.stderr);
  });

  test('a datakit output url with a password is not printed either', () => {
    const file = write(
      'auth-output.conf',
      '[[inputs.profile.go]]\nurl = "http://127.0.0.1:6060"\n[[outputs.datakit]]\nurl = "http://user:secret@127.0.0.1:9529/profiling/v1/input"\n',
    );
    const res = collector(['-c', file, '--check']);
    assert.equal(res.status, 0, res.stderr);
    assert.match(res.stdout, /datakit "datakit" -> /);
    assert.ok(!res.stdout.includes('secret') && !res.stderr.includes('secret'), res.stdout);
  });
});

describe('usage', () => {
  test('an unknown option exits 2 with the usage', () => {
    const res = collector(['--bogus']);
    assert.equal(res.status, 2);
    assert.match(res.stderr, /--bogus/);
    assert.match(res.stderr, /Usage: collector/);
    assert.equal(res.stdout, '');
  });

  test('other usage errors exit 2', () => {
    for (const args of [['stray-argument'], ['--check', '--once'], ['--log-level', 'loud', '--check'], ['-c']]) {
      const res = collector(args);
      assert.equal(res.status, 2, `${args.join(' ')}: ${res.stderr}`);
      assert.match(res.stderr, /^collector: /, args.join(' '));
    }
  });

  test('--help and -h exit 0 and print the usage on stdout', () => {
    for (const flag of ['--help', '-h']) {
      const res = collector([flag]);
      assert.equal(res.status, 0);
      assert.match(res.stdout, /^Usage: collector \[-c FILE\]/);
      assert.match(res.stdout, /--check/);
      assert.match(res.stdout, /--once/);
      assert.match(res.stdout, /--log-level LEVEL/);
      assert.equal(res.stderr, '');
    }
  });

  test("--version prints package.json's version", () => {
    const pkg = JSON.parse(readFileSync(join(ROOT, 'package.json'), 'utf8')) as { version: string };
    const res = collector(['--version']);
    assert.equal(res.status, 0);
    assert.equal(res.stdout, `${pkg.version}\n`);
  });

  test('--log-level with a valid level is accepted', () => {
    const res = collector(['-c', 'conf.d/profile.conf', '--check', '--log-level', 'debug']);
    assert.equal(res.status, 0, res.stderr);
  });
});
