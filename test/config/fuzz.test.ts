// Config fuzzing: random text, mutated valid configs and random well-formed
// TOML go through parseConfig. Whatever the input, the loader returns a
// Config or throws a ConfigError whose issues are located and printable; it
// never throws anything else and never hangs. A returned Config keeps the
// bounds the scheduler relies on.
//
// A random seed each run; FUZZ_SEED=<seed> replays a reported one,
// FUZZ_SCALE=20 runs every property 20 times longer, FUZZ_TALLY=1 shows the
// issues the generators produce most.

import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { performance } from 'node:perf_hooks';
import { describe, test, type TestContext } from 'node:test';
import { Worker } from 'node:worker_threads';
import fc from 'fast-check';
import { stringify } from 'smol-toml';
import { ConfigError, formatIssue } from '../../src/config/errors.js';
import { parseConfig } from '../../src/config/load.js';
import type { Config } from '../../src/config/types.js';
import { BUILTIN_TYPE_NAMES } from '../../src/profile/types.js';

const FILE = 'fuzz.conf';
const ENV = { HOME: '/home/fuzz', TOKEN: 's3cr3t', EMPTY: '', PORT: '6060' };
/**
 * One parseConfig call taking longer than this fails the property with its
 * input: not a speed limit (a loaded machine may take a while) but a finder
 * of catastrophic backtracking, which takes minutes on these small inputs.
 */
const SLOW_MS = 10_000;
/** A call still running after this is a hang: the watchdog prints the input and kills the process. */
const HANG_MS = 20_000;
/** A random seed each run (printed with any counterexample); FUZZ_SEED=<seed> replays one. */
const SEED = process.env.FUZZ_SEED !== undefined ? Number(process.env.FUZZ_SEED) : undefined;
/** FUZZ_SCALE=20 multiplies every property's run count, for a longer local fuzzing session. */
const SCALE = Number(process.env.FUZZ_SCALE ?? 1);
/** FUZZ_TALLY=1 lists the most frequent issues per property: what the generators mostly trip on. */
const TALLY = process.env.FUZZ_TALLY ? new Map<string, number>() : undefined;
const runs = (n: number): fc.Parameters<unknown> => ({ numRuns: Math.round(n * SCALE), includeErrorInReport: true, ...(SEED !== undefined ? { seed: SEED } : {}) });

/** Lines joined with \n: element i is line i + 1. */
const doc = (...lines: string[]): string => lines.join('\n') + '\n';

// ---------------------------------------------------------------------------
// Watchdog. A synchronous infinite loop cannot be timed from the thread that
// runs it, so a worker watches a shared "call started at" stamp and, past
// HANG_MS, writes the input to stderr and kills the test process (a hung
// suite would otherwise say nothing at all).

const INPUT_BYTES = 64 * 1024;
const ctrl = new Int32Array(new SharedArrayBuffer(8)); // [armed, input length]
const startedAt = new Float64Array(new SharedArrayBuffer(8));
const inputBuf = new Uint8Array(new SharedArrayBuffer(INPUT_BYTES));
const encoder = new TextEncoder();
const watchdog = new Worker(
  `const { workerData: d } = require('node:worker_threads');
   const fs = require('node:fs');
   const ctrl = new Int32Array(d.ctrl), at = new Float64Array(d.at), input = new Uint8Array(d.input);
   setInterval(() => {
     if (Atomics.load(ctrl, 0) !== 1 || Date.now() - at[0] < ${HANG_MS}) return;
     const text = new TextDecoder().decode(input.slice(0, Atomics.load(ctrl, 1)));
     fs.writeSync(2, '\\nfuzz watchdog: a parseConfig call has run for over ${HANG_MS} ms; killing the test process. Input (JSON, first 64 KiB):\\n' + JSON.stringify(text) + '\\n');
     process.kill(process.pid, 'SIGKILL');
   }, 250);`,
  { eval: true, workerData: { ctrl: ctrl.buffer, at: startedAt.buffer, input: inputBuf.buffer } },
);
watchdog.unref();

function arm(text: string): void {
  const { written } = encoder.encodeInto(text.length > INPUT_BYTES ? text.slice(0, INPUT_BYTES) : text, inputBuf);
  Atomics.store(ctrl, 1, written);
  startedAt[0] = Date.now();
  Atomics.store(ctrl, 0, 1);
}

function disarm(): void {
  Atomics.store(ctrl, 0, 0);
}

// ---------------------------------------------------------------------------
// The oracle.

interface Stats {
  calls: number;
  configs: number;
  errors: number;
  syntax: number;
  slowestMs: number;
  slowestLen: number;
}
const newStats = (): Stats => ({ calls: 0, configs: 0, errors: 0, syntax: 0, slowestMs: 0, slowestLen: 0 });
const overall = newStats();

/** The input as a failure message shows it: JSON, cut in the middle when huge. */
function show(text: string): string {
  const j = JSON.stringify(text);
  return j.length <= 1000 ? j : `${j.slice(0, 500)} …[${j.length - 1000} chars]… ${j.slice(-500)} (length ${text.length})`;
}

/** Line of the end of the input: errors "at EOF" may point there, nothing beyond. */
function lastLine(text: string): number {
  let n = 1;
  for (let i = text.indexOf('\n'); i !== -1; i = text.indexOf('\n', i + 1)) n++;
  return n;
}

/** C0 and C1 controls and DEL: a message or path printed on a terminal must not carry them raw. */
const CONTROL = /[\u0000-\u001f\u007f-\u009f]/;

const TYPES: readonly string[] = BUILTIN_TYPE_NAMES;

function checkIssues(err: ConfigError, text: string): void {
  const max = lastLine(text);
  assert.ok(err.issues.length > 0, 'a ConfigError with no issues');
  let prev = 1;
  for (const issue of err.issues) {
    const where = `issue ${JSON.stringify(issue)}`;
    assert.equal(issue.file, FILE, where);
    assert.ok(Number.isInteger(issue.line) && issue.line >= 1 && issue.line <= max, `${where}: line not in 1..${max}`);
    assert.ok(issue.line >= prev, `${where}: issues not sorted by line`);
    prev = issue.line;
    assert.ok(typeof issue.path === 'string' && issue.path.length > 0, `${where}: empty path`);
    assert.ok(typeof issue.message === 'string' && issue.message.trim().length > 0, `${where}: empty message`);
    assert.ok(!CONTROL.test(issue.message), `${where}: control character in the message`);
    assert.ok(!CONTROL.test(issue.path), `${where}: control character in the path`);
  }
  assert.equal(err.message, err.issues.map(formatIssue).join('\n'));
}

function checkConfig(config: Config, text: string): void {
  const max = lastLine(text);
  assert.equal(config.file, FILE);
  assert.ok(config.targets.length > 0, 'a Config with no targets');
  for (const t of config.targets) {
    const where = `target at line ${t.source.line}`;
    assert.equal(t.source.file, FILE);
    assert.ok(Number.isInteger(t.source.line) && t.source.line >= 1 && t.source.line <= max, `${where}: line not in 1..${max}`);
    assert.match(t.baseUrl, /^https?:\/\/[^/]/, where);
    assert.ok(Number.isFinite(t.intervalMs) && t.intervalMs >= 10_000, `${where}: intervalMs ${t.intervalMs}`);
    assert.ok(Number.isInteger(t.profileDurationMs / 1000) && t.profileDurationMs >= 1000, `${where}: profileDurationMs ${t.profileDurationMs} not whole seconds`);
    assert.ok(t.profileDurationMs < t.intervalMs, `${where}: profileDurationMs ${t.profileDurationMs} >= intervalMs ${t.intervalMs}`);
    assert.ok(Number.isFinite(t.httpTimeoutMs) && t.httpTimeoutMs > t.profileDurationMs, `${where}: httpTimeoutMs ${t.httpTimeoutMs} <= profileDurationMs`);
    assert.ok(t.enabledTypes.length > 0, `${where}: no enabled types`);
    assert.ok(t.enabledTypes.every((x) => TYPES.includes(x)), `${where}: enabledTypes ${JSON.stringify(t.enabledTypes)}`);
    assert.equal(new Set(t.enabledTypes).size, t.enabledTypes.length, `${where}: a type listed twice`);
    assert.ok(Number.isInteger(t.bodySizeLimitBytes) && t.bodySizeLimitBytes > 0, `${where}: bodySizeLimitBytes ${t.bodySizeLimitBytes}`);
    assert.ok(t.service.length > 0, `${where}: empty service`);
  }
  assert.ok(config.outputs.length > 0, 'a Config with no outputs');
  const names = new Set<string>();
  for (const o of config.outputs) {
    assert.ok(Number.isInteger(o.source.line) && o.source.line >= 1 && o.source.line <= max, `output ${o.name}: line not in 1..${max}`);
    assert.ok(!names.has(o.name), `output name ${o.name} twice`);
    names.add(o.name);
    if (o.kind !== 'file') assert.ok(Number.isFinite(o.timeoutMs) && o.timeoutMs > 0, `output ${o.name}: timeoutMs ${o.timeoutMs}`);
  }
}

/** Feeds one input to the loader, times it and checks the outcome, which it returns. */
function feed(text: string, stats: Stats = overall): Config | ConfigError {
  arm(text);
  const t0 = performance.now();
  let outcome: Config | ConfigError;
  try {
    outcome = parseConfig(text, FILE, { env: ENV, osHostname: 'h' });
  } catch (err) {
    const ms = performance.now() - t0;
    disarm();
    if (!(err instanceof ConfigError)) {
      const e = err as Error;
      assert.fail(`parseConfig threw ${e?.name ?? typeof err} (not a ConfigError): ${e?.message}\n${e?.stack ?? ''}\ninput: ${show(text)}`);
    }
    record(stats, ms, text, err);
    checkIssues(err, text);
    return err;
  }
  const ms = performance.now() - t0;
  disarm();
  record(stats, ms, text, outcome);
  checkConfig(outcome, text);
  return outcome;
}

function record(stats: Stats, ms: number, text: string, outcome: Config | ConfigError): void {
  for (const s of stats === overall ? [overall] : [stats, overall]) {
    s.calls++;
    if (outcome instanceof ConfigError) {
      s.errors++;
      if (outcome.issues.some((i) => i.path === 'syntax')) s.syntax++;
    } else s.configs++;
    if (ms > s.slowestMs) {
      s.slowestMs = ms;
      s.slowestLen = text.length;
    }
  }
  assert.ok(ms <= SLOW_MS, `parseConfig took ${ms.toFixed(0)} ms (> ${SLOW_MS} ms) on input: ${show(text)}`);
}

function report(t: TestContext, stats: Stats): void {
  t.diagnostic(
    `calls=${stats.calls} configs=${stats.configs} config-errors=${stats.errors} (syntax ${stats.syntax}) slowest=${stats.slowestMs.toFixed(1)}ms (input ${stats.slowestLen} chars)`,
  );
}

/** Runs a property over inputs, each fed to the loader, with a stats line in the test output. */
function fuzz(t: TestContext, arb: fc.Arbitrary<string>, numRuns: number, extra?: (text: string, outcome: Config | ConfigError) => void): void {
  const stats = newStats();
  fc.assert(
    fc.property(arb, (text) => {
      const outcome = feed(text, stats);
      if (TALLY && outcome instanceof ConfigError) {
        for (const i of outcome.issues) {
          const what = `${i.path}: ${i.message.slice(0, 60)}`;
          TALLY.set(what, (TALLY.get(what) ?? 0) + 1);
        }
      }
      extra?.(text, outcome);
    }),
    runs(numRuns),
  );
  report(t, stats);
  if (TALLY) {
    for (const [what, n] of [...TALLY].sort((a, b) => b[1] - a[1]).slice(0, 15)) t.diagnostic(`${n}× ${what}`);
    TALLY.clear();
  }
}

// ---------------------------------------------------------------------------
// Shared generators: keys and values as TOML text.

const AGENT_KEYS = ['hostname', 'listen', 'data_dir', 'log_level', 'spool_max_bytes', 'spool_max_age', 'shutdown_grace'];
const INPUT_KEYS = ['go', 'tags', 'body_size_limit_mb', 'generate_metrics', 'endpoints', 'election', 'io_config', 'kubernetes', 'pyroscope'];
const GO_KEYS = [
  'url',
  'interval',
  'profile_duration',
  'http_timeout',
  'service',
  'env',
  'version',
  'enabled_types',
  'tags',
  'tls_open',
  'tls_ca',
  'tls_cert',
  'tls_key',
  'insecure_skip_verify',
];
const OUTPUT_KEYS = [
  'name', 'url', 'timeout', 'headers', 'concurrency', 'dir', 'api', 'tenant_id', 'basic_auth', 'bearer_token', 'bearer_token_file', 'username', 'password', 'password_file',
];
const KNOWN_KEYS = [...new Set([...AGENT_KEYS, ...INPUT_KEYS, ...GO_KEYS, ...OUTPUT_KEYS, 'agent', 'inputs', 'profile', 'outputs', 'datakit', 'file'])];
/** Keys that name Object.prototype members or are refused by the TOML parser. */
const PROTO_KEYS = ['__proto__', 'constructor', 'toString', 'valueOf', 'hasOwnProperty', 'prototype', '__defineGetter__'];

const DURATIONS = [
  '10s', '9s', '1s', '9.5s', '10.5s', '11s', '15s', '1m', '1h', '1m30s', '0', '0s', '-1s', '+10s', ' 10s ', '1ms', '500ms',
  '9999ms', '10000ms', '9999.999ms', '10000000us', '10000000µs', '1e3s', '10', '1.5', '', 's', '.5s', '5.s', '10s5',
  '2562047h47m16.854775807s', '2562047h47m16.854775808s', '2562048h', '99999999999999999999h', '0.000000001ns', '1h0m0.000001s',
  '${PORT}s', '${UNSET:-12s}', '${UNSET}',
];
const URLS = [
  'http://127.0.0.1:6060', 'https://localhost:6060', 'http://[::1]:6060/debug/pprof/', 'http://u:p@h:1/x', 'http://h:1/?q=1', 'http://h#f',
  'ftp://h', 'http://', 'http:///x', 'localhost:6060', '', ' ', 'http://h:99999', 'http://${HOME}', 'http://${UNSET}', 'http://%zz@h', 'https://h/%00',
  'http://h:1/a b', 'http://\u0000/', 'http://xn--/', 'HTTP://H:1',
];

const durationArb = fc.oneof(
  fc.constantFrom(...DURATIONS),
  fc
    .array(fc.tuple(fc.oneof(fc.nat({ max: 100_000 }).map(String), fc.double({ min: 0, max: 1000, noNaN: true }).map(String)), fc.constantFrom('ns', 'us', 'ms', 's', 'm', 'h', '')), {
      minLength: 1,
      maxLength: 3,
    })
    .map((parts) => parts.map(([n, u]) => n + u).join('')),
);
const urlArb = fc.oneof(
  { weight: 3, arbitrary: fc.constantFrom(...URLS) },
  fc.webUrl({ withQueryParameters: true, withFragments: true }),
  fc.string({ unit: 'binary', maxLength: 30 }),
);
/** Strings the validator treats specially, or anything at all. */
const stringArb = fc.oneof(
  durationArb,
  urlArb,
  fc.constantFrom(...TYPES, ...AGENT_KEYS, 'push', 'ingest', 'debug', 'trace', 'INFO', '', '${HOME}', '${UNSET}', '${UNSET:-x}', '${', '${}', '$${x}', '${1A}', '${TOKEN}/x', '${toString}'),
  // Paths a *_file key must not read forever or block on.
  fc.constantFrom('/dev/zero', '/dev/urandom', '/', '.', '/nonexistent/x'),
  fc.string({ unit: 'binary', maxLength: 40 }),
  fc.string({ unit: 'grapheme', maxLength: 40 }),
);

/** A key as written in TOML: known names, random bare keys, quoted keys with anything in them, dotted keys. */
const keyTextArb: fc.Arbitrary<string> = fc.oneof(
  { weight: 4, arbitrary: fc.constantFrom(...KNOWN_KEYS) },
  fc.constantFrom(...PROTO_KEYS),
  fc.string({ unit: fc.constantFrom(...'abcxyz_-019'), minLength: 1, maxLength: 12 }),
  fc.string({ unit: 'binary', maxLength: 12 }).map((s) => JSON.stringify(s)),
  fc.string({ unit: fc.constantFrom(...'ab.\'" '), maxLength: 6 }).map((s) => `'${s.replace(/'/g, '')}'`),
  fc.array(fc.constantFrom(...KNOWN_KEYS, 'x', '"a.b"', "''"), { minLength: 2, maxLength: 4 }).map((ks) => ks.join('.')),
);

const SCALAR_TEXT = [
  '99999999999999999999', '-99999999999999999999', '9223372036854775807', '-9223372036854775808', '9223372036854775808', '9007199254740993',
  '0x7FFFFFFF', '0xffffffffffffffffff', '0o777', '0b1010', '1_000', '+1', '-0', '00', '0x', '1__0', '-1', '0', '4096', '4097', '32',
  '1e309', '-1e309', '1e-400', 'nan', '+nan', '-nan', 'inf', '+inf', '-inf', '0.0', '-0.0', '3.14', '1e3', '1.', '.5', '1.5e', '10.0',
  'true', 'false', 'True', 'yes',
  '1979-05-27', '1979-05-27T07:32:00Z', '1979-05-27 07:32:00.999999-07:00', '07:32:00', '1979-05-27T07:32:00', '0000-01-01', '9999-12-31T23:59:60Z', '2024-02-30', '24:00:00',
  '"""\nmulti\nline\n"""', "'''literal\nlines'''", '"""unterminated', "'''", '"', "'", '""', "''", '"\\u0000"', '"\\U0010FFFF"', '"\\uD800"', '"\\x41"',
  '"a\\tb"', '"\\e"', '"\\\\"', '[]', '{}', '[,]', '{,}', '[1,]', '{ a = 1, }', '{ a = 1\n}', '[\n1,\n2\n]',
  '{ a = 1,\n b = 2, }', '{\n # c\n a = 1\n}', '[{ a = 1\n}, { b = [\n2] }]',
];

const scalarTextArb = fc.oneof(
  { weight: 3, arbitrary: fc.constantFrom(...SCALAR_TEXT) },
  fc.integer().map(String),
  fc.bigInt({ min: -(2n ** 70n), max: 2n ** 70n }).map(String),
  fc.double().map((d) => (Number.isNaN(d) ? 'nan' : d === Infinity ? 'inf' : d === -Infinity ? '-inf' : String(d))),
  fc.boolean().map(String),
  fc.date({ min: new Date('0001-01-01T00:00:00Z'), max: new Date('9999-12-31T23:59:59Z'), noInvalidDate: true }).map((d) => d.toISOString()),
  { weight: 3, arbitrary: stringArb.map((s) => JSON.stringify(s)) },
  fc.string({ maxLength: 20 }).map((s) => `'${s.replace(/['\n\r]/g, '')}'`),
);

/** A TOML value as text: scalars of every type, arrays and inline tables (bounded depth). */
const valueTextArb: fc.Arbitrary<string> = fc.letrec<{ value: string }>((tie) => ({
  value: fc.oneof(
    { depthSize: 'small', maxDepth: 3 },
    { weight: 5, arbitrary: scalarTextArb },
    fc.array(tie('value'), { maxLength: 4 }).map((vs) => `[${vs.join(', ')}]`),
    fc.subarray([...TYPES, 'cpu', 'bogus']).map((ts) => JSON.stringify(ts)),
    fc.array(fc.tuple(keyTextArb, tie('value')), { maxLength: 3 }).map((kvs) => `{ ${kvs.map(([k, v]) => `${k} = ${v}`).join(', ')} }`),
  ),
})).value;

// ---------------------------------------------------------------------------
// (a) Arbitrary text.

const TOKENS = [
  '[', ']', '[[', ']]', '{', '}', '"', "'", '"""', "'''", '=', ' = ', '.', ',', '#', '\\', '\n', '\r\n', '\r', '\t', ' ', '\u0000', '\u001b[31m', '\u007f',
  '\u0085', '\u009b', '\u2028', '\ufeff', '\ud800', '\udfff', 'a', 'url', 'inputs', 'profile', 'go', 'agent', 'outputs', 'file', 'datakit', 'pyroscope',
  'inputs.profile.go', '[[inputs.profile.go]]', '[agent]', '[[outputs.file]]', '"http://127.0.0.1:6060"', '"10s"', '1', '-1', '1e309', 'nan', 'inf',
  'true', '1979-05-27', '07:32:00', '${HOME}', '${', '\\u0000', '\\U0010FFFF', '\\uD800', 'é', '😀', '__proto__', 'constructor',
];

const arbitraryTextArb = fc.oneof(
  fc.string({ maxLength: 200 }),
  fc.string({ unit: 'binary', maxLength: 200 }),
  fc.string({ unit: 'grapheme', maxLength: 200 }),
  // Any UTF-16 code unit, lone surrogates included.
  fc.string({ unit: fc.integer({ min: 0, max: 0xffff }).map((c) => String.fromCharCode(c)), maxLength: 200 }),
  { weight: 4, arbitrary: fc.string({ unit: fc.constantFrom(...TOKENS), maxLength: 120 }) },
  fc.array(fc.string({ unit: fc.constantFrom(...TOKENS), maxLength: 12 }), { maxLength: 30 }).map((ls) => ls.join('\n')),
);

/** Shapes that stress depth and length: deep nesting, huge lines and keys, unterminated strings. */
const hostileArb: fc.Arbitrary<string> = fc
  .tuple(
    fc.constantFrom(
      'open[',
      'open{',
      'open[[',
      'array',
      'inline',
      'inlineArray',
      'dotted',
      'header',
      'arrayHeader',
      'longString',
      'longKey',
      'longComment',
      'longLogLevel',
      'longType',
      'longUrl',
      'manyTargets',
      'manyKeys',
      'manyLines',
      'unterminated',
      'nul',
      'sizeBlanks',
      'multilineInline',
    ),
    fc.integer({ min: 1, max: 3000 }),
    fc.string({ unit: fc.constantFrom(...TOKENS), maxLength: 8 }),
  )
  .map(([kind, n, noise]) => {
    switch (kind) {
      case 'open[':
        return '['.repeat(n) + noise;
      case 'open{':
        return `a = ${'{'.repeat(n)}${noise}`;
      case 'open[[':
        return `a = ${'['.repeat(n)}${noise}`;
      case 'array':
        return doc('[[inputs.profile.go]]', 'url = "http://h:1"', `enabled_types = ${'['.repeat(n)}"cpu"${']'.repeat(n)}`);
      case 'inline':
        return doc('[[inputs.profile.go]]', 'url = "http://h:1"', `tags = ${'{ a = '.repeat(n)}"x"${' }'.repeat(n)}`);
      case 'inlineArray':
        return `a = ${'[{ b = '.repeat(n)}1${'}]'.repeat(n)}${noise}`;
      case 'dotted':
        return doc('[[inputs.profile.go]]', 'url = "http://h:1"', `${'tags.'.repeat(n * 10)}x = "v"`);
      case 'header':
        return doc(`[${'agent.'.repeat(n * 10)}x]`, 'a = 1');
      case 'arrayHeader':
        return doc(`[[inputs.profile.go${'.go'.repeat(n * 10)}]]`, 'url = "http://h:1"');
      case 'longString':
        return doc('[[inputs.profile.go]]', `url = "http://h:1/${'x'.repeat(n * 300)}"`, `service = "${'s'.repeat(n * 300)}`);
      case 'longKey':
        return doc('[agent]', `${'k'.repeat(n * 30)} = 1`, '[[inputs.profile.go]]', `${'u'.repeat(n * 30)}rl = "http://h:1"`);
      case 'longComment':
        return doc(`# ${'#'.repeat(n * 300)}${noise}`, '[[inputs.profile.go]]', 'url = "http://h:1"');
      case 'longLogLevel':
        return doc('[agent]', `log_level = "${'debugg'.repeat(n * 5)}"`, '[[inputs.profile.go]]', 'url = "http://h:1"');
      case 'longType':
        return doc('[[inputs.profile.go]]', 'url = "http://h:1"', `enabled_types = ["${'heap'.repeat(n * 5)}", ${'"cpu", '.repeat(n)}]`);
      case 'longUrl':
        return doc('[[inputs.profile.go]]', `url = "${'http://'.repeat(n * 20)}"`, `interval = "${'1'.repeat(n * 20)}s"`);
      case 'manyTargets':
        return Array.from({ length: n }, (_, i) => `[[inputs.profile.go]]\nurl = "http://h:${i % 65536}"\n[inputs.profile.go.tags]\nt${i} = "v"\n`).join('') + noise;
      case 'manyKeys':
        return '[[inputs.profile.go]]\nurl = "http://h:1"\n' + Array.from({ length: n }, (_, i) => `k${i} = ${i}\n`).join('');
      case 'manyLines':
        return '\n'.repeat(n * 100) + noise + '\n'.repeat(n * 100);
      case 'unterminated':
        return doc('[[inputs.profile.go]]', `url = """${noise}${'x\n'.repeat(n)}`);
      case 'nul':
        return doc('[agent]', `hostname = "a${'\u0000'.repeat(n)}"`, `\u0000${noise}`);
      case 'sizeBlanks':
        return doc('[agent]', `spool_max_bytes = "1${' '.repeat(n * 100)}${noise}"`, '[[inputs.profile.go]]', 'url = "http://h:1"');
      case 'multilineInline':
        return doc('[[inputs.profile.go]]', 'url = "http://h:1"', `tags = [${'{ a = 1,\n b = [{ c = 2\n }]\n},'.repeat(Math.ceil(n / 30))}]`, `service = "${noise.replace(/["\\\n]/g, '')}"`);
    }
    return noise;
  });

// ---------------------------------------------------------------------------
// (b) Mutations of valid configs.

const PROFILE_CONF = readFileSync(new URL('../../conf.d/profile.conf', import.meta.url), 'utf8');

const DATAKIT_LAYOUT = doc(
  '[[inputs.profile]]',
  '  endpoints = ["/profiling/v1/input"]',
  '  election = true',
  '  body_size_limit_mb = 32 # MB',
  '  generate_metrics = false',
  '',
  '  [inputs.profile.io_config]',
  '    cache_path = "/usr/local/datakit/cache/profile_inputs"  # C:\\Program Files\\datakit',
  '    cache_capacity_mb = 10240  # 10240MB',
  '    clear_cache_on_start = false',
  '    upload_workers = 8',
  '    send_timeout = "75s"',
  '    send_retry_count = 4',
  '',
  '  [inputs.profile.tags]',
  '    some_tag = "some_value"',
  '    more_tag = "some_other_value"',
  '',
  '[[inputs.profile.go]]',
  '  url = "http://localhost:6060"',
  '  interval = "10s"',
  '  service = "go-demo"',
  '  env = "dev"',
  '  version = "0.0.0"',
  '  enabled_types = ["cpu","goroutine","heap","mutex","block"]',
  '  [inputs.profile.go.tags]',
  '    tag1 = "val1"',
  '',
  '[[inputs.profile.go]]',
  '  url = "https://user:${TOKEN}@127.0.0.1:6061/custom/prefix/"',
  '  interval = "1m"',
  '  profile_duration = "30s"',
  '  http_timeout = "45s"',
  '  service = "${HOME}"',
  '  enabled_types = ["heap", "cpu"]',
  '  tls_open = true',
  '  insecure_skip_verify = true',
  '  [inputs.profile.go.tags]',
  '    "quoted key" = "v"',
  '    team = "payments"',
);

const ALL_OUTPUTS = doc(
  '[agent]',
  '  hostname = "box"',
  '  listen = ""',
  '  data_dir = "/var/lib/collector"',
  '  log_level = "debug"',
  '',
  '[[inputs.profile.go]]',
  '  url = "http://127.0.0.1:6060"',
  '  interval = "15s"',
  '  service = "svc"',
  '',
  '[[outputs.datakit]]',
  '  name = "dk"',
  '  url = "http://127.0.0.1:9529/profiling/v1/input"',
  '  timeout = "10s"',
  '  [outputs.datakit.headers]',
  '    X-Token = "${TOKEN}"',
  '',
  '[[outputs.pyroscope]]',
  '  url = "http://127.0.0.1:4040"',
  '  api = "ingest"',
  '  tenant_id = "t1"',
  '  timeout = "5s"',
  '  [outputs.pyroscope.headers]',
  '    X-Extra = "1"',
  '  [outputs.pyroscope.basic_auth]',
  '    username = "u"',
  '    password = "${TOKEN}"',
  '',
  '[[outputs.file]]',
  '  name = "local"',
  '  dir = "/tmp/profiles"',
);

const BASES = [PROFILE_CONF, DATAKIT_LAYOUT, ALL_OUTPUTS];

const HEADERS = [
  '[agent]',
  '[[inputs.profile]]',
  '[inputs.profile]',
  '[[inputs.profile.go]]',
  '[inputs.profile.go]',
  '[inputs.profile.tags]',
  '[inputs.profile.go.tags]',
  '[[inputs.profile.go.tags]]',
  '[[outputs.datakit]]',
  '[[outputs.pyroscope]]',
  '[outputs.pyroscope.basic_auth]',
  '[[outputs.file]]',
  '[outputs.file]',
  '[[outputs.kafka]]',
  '[outputs]',
  '[inputs]',
  '[[agent]]',
  '[inputs.cpu]',
  '[a."b.c".\'d\']',
];

type Mutation =
  | { op: 'delete'; at: number }
  | { op: 'duplicate'; at: number; to: number }
  | { op: 'swap'; a: number; b: number }
  | { op: 'insertText'; at: number; text: string }
  | { op: 'deleteRange'; at: number; len: number }
  | { op: 'setValue'; at: number; value: string }
  | { op: 'renameKey'; at: number; key: string }
  | { op: 'dupHeader'; at: number; to: number }
  | { op: 'insertLine'; at: number; line: string };

const pos = fc.nat({ max: 10_000 });
const mutationArb: fc.Arbitrary<Mutation> = fc.oneof(
  fc.record({ op: fc.constant('delete' as const), at: pos }),
  fc.record({ op: fc.constant('duplicate' as const), at: pos, to: pos }),
  fc.record({ op: fc.constant('swap' as const), a: pos, b: pos }),
  fc.record({ op: fc.constant('insertText' as const), at: pos, text: fc.oneof(fc.string({ unit: fc.constantFrom(...TOKENS), minLength: 1, maxLength: 4 }), fc.string({ unit: 'binary', minLength: 1, maxLength: 4 })) }),
  fc.record({ op: fc.constant('deleteRange' as const), at: pos, len: fc.integer({ min: 1, max: 40 }) }),
  { weight: 4, arbitrary: fc.record({ op: fc.constant('setValue' as const), at: pos, value: valueTextArb }) },
  { weight: 2, arbitrary: fc.record({ op: fc.constant('renameKey' as const), at: pos, key: keyTextArb }) },
  fc.record({ op: fc.constant('dupHeader' as const), at: pos, to: pos }),
  {
    weight: 2,
    arbitrary: fc.record({
      op: fc.constant('insertLine' as const),
      at: pos,
      line: fc.oneof(fc.constantFrom(...HEADERS), fc.tuple(keyTextArb, valueTextArb).map(([k, v]) => `${k} = ${v}`)),
    }),
  },
);

/** `key = value` lines: indent, key, the rest (value and any comment). */
const KEY_VALUE = /^(\s*)([A-Za-z0-9_.\-"' ]+?)\s*=\s*(.*)$/;
const isHeader = (l: string): boolean => /^\s*\[/.test(l);

function mutate(base: string, muts: readonly Mutation[]): string {
  let lines = base.split('\n');
  for (const m of muts) {
    const n = lines.length;
    switch (m.op) {
      case 'delete':
        lines.splice(m.at % n, 1);
        break;
      case 'duplicate':
        lines.splice(m.to % (n + 1), 0, lines[m.at % n]!);
        break;
      case 'swap': {
        const a = m.a % n;
        const b = m.b % n;
        [lines[a], lines[b]] = [lines[b]!, lines[a]!];
        break;
      }
      case 'insertText': {
        const text = lines.join('\n');
        const at = m.at % (text.length + 1);
        lines = (text.slice(0, at) + m.text + text.slice(at)).split('\n');
        break;
      }
      case 'deleteRange': {
        const text = lines.join('\n');
        const at = m.at % (text.length + 1);
        lines = (text.slice(0, at) + text.slice(at + m.len)).split('\n');
        break;
      }
      case 'setValue':
      case 'renameKey': {
        const kv = lines.map((l, i) => ({ l, i })).filter(({ l }) => !isHeader(l) && !/^\s*#/.test(l) && KEY_VALUE.test(l));
        if (kv.length === 0) break;
        const { l, i } = kv[m.at % kv.length]!;
        const [, indent, key, value] = KEY_VALUE.exec(l)!;
        lines[i] = m.op === 'setValue' ? `${indent}${key} = ${m.value}` : `${indent}${m.key} = ${value}`;
        break;
      }
      case 'dupHeader': {
        const hs = lines.filter(isHeader);
        if (hs.length === 0) break;
        lines.splice(m.to % (n + 1), 0, hs[m.at % hs.length]!);
        break;
      }
      case 'insertLine':
        lines.splice(m.at % (n + 1), 0, ...m.line.split('\n'));
        break;
    }
  }
  return lines.join('\n');
}

const mutatedArb = fc
  .tuple(fc.nat({ max: BASES.length - 1 }), fc.array(mutationArb, { minLength: 1, maxLength: 6 }))
  .map(([b, muts]) => mutate(BASES[b]!, muts));

// ---------------------------------------------------------------------------
// (c) Random well-formed TOML: random objects through smol-toml's stringify,
// placed under [agent], [[inputs.profile]] / [[inputs.profile.go]] and
// [[outputs.*]]. Tame documents use plausible values for the known keys (a
// fair share loads, so the Config bounds are exercised); wild ones put any
// value anywhere now and then, and add random keys.

type TomlValue = string | number | boolean | Date | TomlValue[] | { [k: string]: TomlValue };

/** Keys smol-toml refuses by design (they would reach Object.prototype); tested on their own below. */
const UNSAFE_KEYS = new Set(['__proto__', 'constructor']);

const plainKeyArb = fc
  .oneof(
    { weight: 3, arbitrary: fc.constantFrom(...KNOWN_KEYS) },
    fc.constantFrom('toString', 'valueOf', 'hasOwnProperty', ''),
    fc.string({ unit: fc.constantFrom(...'abcxyz_-019'), minLength: 1, maxLength: 10 }),
    fc.string({ unit: 'binary', maxLength: 10 }),
  )
  .filter((k) => !UNSAFE_KEYS.has(k));

const leafArb: fc.Arbitrary<TomlValue> = fc.oneof(
  { weight: 3, arbitrary: stringArb },
  fc.integer(),
  fc.integer({ min: Number.MIN_SAFE_INTEGER, max: Number.MAX_SAFE_INTEGER }),
  fc.double(),
  fc.boolean(),
  fc.date({ min: new Date('0001-01-01T00:00:00Z'), max: new Date('9999-12-31T23:59:59Z'), noInvalidDate: true }),
);

const anyValueArb: fc.Arbitrary<TomlValue> = fc.letrec<{ value: TomlValue }>((tie) => ({
  value: fc.oneof(
    { depthSize: 'small', maxDepth: 4 },
    { weight: 4, arbitrary: leafArb },
    fc.array(tie('value'), { maxLength: 4 }),
    fc.dictionary(plainKeyArb, tie('value'), { maxKeys: 4, noNullPrototype: true }),
  ),
})).value;

const randomTableArb = fc.dictionary(plainKeyArb, anyValueArb, { maxKeys: 3, noNullPrototype: true });

/** A file that exists, for tls_ca (validation checks it can be read). */
const READABLE_FILE = fileURLToPath(import.meta.url);
/** A small file, for bearer_token_file. */
const SMALL_FILE = fileURLToPath(new URL('../../conf.d/profile.conf', import.meta.url));

function rootArb(wild: boolean): fc.Arbitrary<Record<string, TomlValue>> {
  /** `good`, or (wild) now and then any value at all. */
  const mostly = <T extends TomlValue>(good: fc.Arbitrary<T>): fc.Arbitrary<TomlValue> =>
    wild ? fc.oneof({ weight: 15, arbitrary: good as fc.Arbitrary<TomlValue> }, anyValueArb) : good;
  /** One of `good`, or (wild) sometimes one of `bad`. */
  const pick = (good: readonly string[], bad: readonly string[]): fc.Arbitrary<string> =>
    wild ? fc.oneof({ weight: 8, arbitrary: fc.constantFrom(...good) }, fc.constantFrom(...bad)) : fc.constantFrom(...good);
  /** Known keys with plausible values, plus (wild, one time in ten) random keys. */
  const tableOf = (fields: Record<string, fc.Arbitrary<TomlValue>>, requiredKeys: string[] = []): fc.Arbitrary<Record<string, TomlValue>> =>
    fc
      .tuple(fc.record(fields, { requiredKeys }), wild ? fc.oneof({ weight: 9, arbitrary: fc.constant(undefined) }, randomTableArb) : fc.constant(undefined))
      .map(([known, extra]) => ({ ...(extra ?? {}), ...(known as Record<string, TomlValue>) }));
  const orWild = <T extends TomlValue>(good: fc.Arbitrary<T>, bad: fc.Arbitrary<T>): fc.Arbitrary<T> =>
    wild ? fc.oneof({ weight: 6, arbitrary: good }, bad) : good;

  const textArb = orWild(fc.string({ unit: fc.constantFrom(...'abcdefghij-_./0123456789'), minLength: 1, maxLength: 12 }), stringArb);
  const seconds = (min: number, max: number) => fc.integer({ min, max }).map((n) => `${n}s`);
  const intervalArb = orWild(fc.oneof(seconds(8, 120), fc.integer({ min: 1, max: 10 }).map((m) => `${m}m`), fc.constantFrom('10.5s', '10000ms', '1m30s')), durationArb);
  const keyArb = orWild(fc.constantFrom('team', 'region', 'zone', 'a.b', 'a-b', 'svc'), plainKeyArb);
  const tagsArb = fc.dictionary(keyArb, mostly(textArb), { maxKeys: 4, noNullPrototype: true });
  const goTargetArb = tableOf(
    {
      url: mostly(orWild(fc.constantFrom('http://127.0.0.1:6060', 'https://h:1/p', 'http://[::1]:6060', 'http://u:p@h:1'), urlArb)),
      interval: mostly(intervalArb),
      profile_duration: mostly(orWild(fc.oneof({ weight: 3, arbitrary: seconds(1, 9) }, seconds(0, 40)), durationArb)),
      http_timeout: mostly(orWild(seconds(1, 120), durationArb)),
      service: mostly(textArb),
      env: mostly(textArb),
      version: mostly(textArb),
      enabled_types: mostly(orWild(fc.shuffledSubarray([...TYPES], { minLength: 1 }), fc.array(fc.constantFrom(...TYPES, 'CPU', 'alloc', ''), { maxLength: 6 }))),
      tags: mostly(tagsArb),
      tls_open: mostly(fc.boolean()),
      tls_ca: mostly(orWild(fc.constant(READABLE_FILE), textArb)),
      insecure_skip_verify: mostly(fc.boolean()),
    },
    ['url'],
  );
  const gosArb = fc.array(goTargetArb, { minLength: 1, maxLength: 3 });
  const profileInputArb = tableOf({
    tags: mostly(tagsArb),
    body_size_limit_mb: mostly(orWild(fc.integer({ min: 1, max: 4096 }), fc.integer({ min: -10, max: 5000 }))),
    generate_metrics: mostly(fc.boolean()),
    election: mostly(fc.boolean()),
    io_config: mostly(fc.record({ cache_path: textArb, upload_workers: fc.integer() })),
    go: wild ? fc.oneof({ weight: 12, arbitrary: gosArb }, goTargetArb, anyValueArb) : gosArb,
  }, ['go']);
  const agentArb = tableOf({
    hostname: mostly(textArb),
    listen: mostly(pick(['127.0.0.1:9466', '', ':0', '[::1]:80', '0.0.0.0:65535', '${HOME}:1'], ['x:99999', 'h:', ':', 'h', '[::1]', 'h:1:2'])),
    data_dir: mostly(textArb),
    log_level: mostly(pick(['trace', 'debug', 'info', 'warn', 'error'], ['INFO', 'verbose', ''])),
  });
  const outputUrlArb = mostly(orWild(fc.constantFrom('http://127.0.0.1:9529/profiling/v1/input', 'https://127.0.0.1:4040', 'http://h:1/?a=b'), urlArb));
  const outputTimeoutArb = mostly(orWild(seconds(0, 120), durationArb));
  const headersArb = mostly(fc.dictionary(orWild(fc.constantFrom('X-Token', 'Authorization'), plainKeyArb), mostly(textArb), { maxKeys: 3, noNullPrototype: true }));
  const datakitArb = tableOf({ name: mostly(textArb), url: outputUrlArb, timeout: outputTimeoutArb, headers: headersArb }, ['url']);
  const basicAuthArb = tableOf({ username: mostly(textArb), password: mostly(textArb) }, ['username', 'password']);
  /** No credentials, basic auth or a bearer token; (wild) maybe both, or anything. */
  const authArb = fc.oneof(
    fc.constant({}),
    fc.record({ basic_auth: mostly(basicAuthArb) }),
    fc.record({ bearer_token: mostly(textArb) }),
    fc.record({ bearer_token_file: mostly(orWild(fc.constant(SMALL_FILE), fc.constantFrom('/dev/zero', '/', '/nonexistent'))) }),
    ...(wild ? [fc.record({ basic_auth: anyValueArb, bearer_token: anyValueArb }, { requiredKeys: [] })] : []),
  );
  const pyroscopeArb = fc
    .tuple(
      tableOf(
        {
          name: mostly(textArb),
          url: outputUrlArb,
          api: mostly(pick(['push', 'ingest'], ['Push', ''])),
          tenant_id: mostly(textArb),
          timeout: outputTimeoutArb,
          headers: headersArb,
        },
        ['url'],
      ),
      authArb,
    )
    .map(([p, a]) => ({ ...p, ...a }));
  const fileArb = tableOf({ name: mostly(textArb), dir: mostly(textArb) });
  const kinds = <T extends TomlValue>(arb: fc.Arbitrary<T>) => fc.oneof({ weight: 3, arbitrary: fc.array(arb, { maxLength: 2 }) }, arb);
  const outputsArb = tableOf({ datakit: kinds(datakitArb), pyroscope: kinds(pyroscopeArb), file: kinds(fileArb) });

  return fc
    .record(
      {
        agent: mostly(agentArb),
        inputs: mostly(
          fc.oneof(
            fc.record({ profile: fc.oneof({ weight: 4, arbitrary: fc.array(profileInputArb, { minLength: 1, maxLength: 2 }) }, profileInputArb) }),
            // [[inputs.profile.go]] with no [[inputs.profile]] parent.
            fc.record({ profile: fc.record({ go: gosArb }) }),
          ),
        ),
        outputs: mostly(outputsArb),
      },
      { requiredKeys: ['inputs'] },
    )
    .chain((root) =>
      (wild ? fc.oneof({ weight: 9, arbitrary: fc.constant(undefined) }, randomTableArb) : fc.constant(undefined)).map((extra) => ({ ...(extra ?? {}), ...root })),
    );
}

const wellFormedArb = fc.oneof(rootArb(false), rootArb(true)).map((root) => stringify(root));

/** Issues whose path is all bare keys should point at a line that names one of them (or line 1 for the file). */
function checkIssueLinesNameTheKey(text: string, outcome: Config | ConfigError): void {
  if (!(outcome instanceof ConfigError)) return;
  const lines = text.split('\n');
  for (const issue of outcome.issues) {
    assert.notEqual(issue.path, 'syntax', `stringify output did not parse: ${issue.message}\ninput: ${show(text)}`);
    if (!/^[A-Za-z0-9_.-]+$/.test(issue.path) || issue.line === 1) continue;
    const line = lines[issue.line - 1] ?? '';
    const named = issue.path.split('.').some((seg) => new RegExp(`(^|[^A-Za-z0-9_-])${seg.replace(/[.-]/g, '\\$&')}([^A-Za-z0-9_-]|$)`).test(line));
    assert.ok(named, `issue ${formatIssue(issue)} points at line ${issue.line} ${JSON.stringify(line)}, which names no key of its path\ninput: ${show(text)}`);
  }
}

// ---------------------------------------------------------------------------

describe('config fuzzing: parseConfig returns a Config or throws a located ConfigError, never anything else', () => {
  test('the valid base documents load', () => {
    for (const base of BASES) {
      const outcome = feed(base);
      assert.ok(!(outcome instanceof ConfigError), outcome instanceof ConfigError ? outcome.message : '');
    }
    const all = feed(ALL_OUTPUTS) as Config;
    assert.deepEqual(all.outputs.map((o) => o.kind).sort(), ['datakit', 'file', 'pyroscope']);
    assert.equal((feed(DATAKIT_LAYOUT) as Config).targets.length, 2);
  });

  test('hand-picked hostile inputs', () => {
    const cases = [
      '',
      '\u0000',
      '"',
      "'",
      '"""',
      "'''",
      'a = """',
      "a = '''",
      'a = "\u0000"',
      '[',
      '[[',
      ']',
      '{',
      '='.repeat(10),
      '['.repeat(200),
      '{'.repeat(200),
      `a = ${'['.repeat(200)}`,
      `a = ${'{'.repeat(200)}`,
      `a = ${'['.repeat(31)}1${']'.repeat(31)}`,
      `a = ${'['.repeat(33)}1${']'.repeat(33)}`,
      `a = ${'['.repeat(5000)}1${']'.repeat(5000)}`,
      `[${'a.'.repeat(5000)}a]`,
      `${'a.'.repeat(5000)}a = 1`,
      '\ufeff[agent]',
      '[agent]\r\nhostname = "x"\r\n',
      '[agent]\rhostname = "x"',
      'a = 99999999999999999999',
      'a = 1e309',
      '[[inputs.profile.go]]\nurl = "http://h:1"\ninterval = 1e309',
      '[[inputs.profile.go]]\nurl = "http://h:1"\ninterval = 99999999999999999999',
      '[[inputs.profile.go]]\nurl = "http://h:1"\ninterval = nan',
      '[[inputs.profile.go]]\nurl = "http://h:1"\nbody_size_limit_mb = 1e309',
      '[[inputs.profile]]\nbody_size_limit_mb = -inf\n[[inputs.profile.go]]\nurl = "http://h:1"',
      '[[inputs.profile]]\nbody_size_limit_mb = nan\n[[inputs.profile.go]]\nurl = "http://h:1"',
      '[[inputs.profile]]\nbody_size_limit_mb = 1979-05-27\n[[inputs.profile.go]]\nurl = "http://h:1"',
      '__proto__ = 1',
      '[__proto__]\na = 1',
      'constructor = 1',
      '[agent]\ntoString = 1\nvalueOf = "x"',
      '[[inputs.profile.go]]\nurl = "http://h:1"\nservice = "${toString}"',
      `[agent]\n${'k'.repeat(1_000_000)} = 1`,
      `[[inputs.profile.go]]\nurl = "${'x'.repeat(1_000_000)}"`,
      `[agent]\nlog_level = "${'x'.repeat(200_000)}"`,
      `# ${'x'.repeat(2_000_000)}`,
      '\n'.repeat(1_000_000),
    ];
    for (const text of cases) feed(text);
  });

  test('(a) arbitrary strings', (t) => fuzz(t, arbitraryTextArb, 3000));

  test('(a) arbitrary text after and before a valid document', (t) =>
    fuzz(
      t,
      fc.tuple(fc.nat({ max: BASES.length - 1 }), arbitraryTextArb, fc.boolean()).map(([b, s, before]) => (before ? s + BASES[b]! : BASES[b]! + s)),
      1000,
    ));

  test('(a) deep nesting, huge lines and keys, many blocks', (t) => fuzz(t, hostileArb, 500));

  test('(b) mutations of valid configs', (t) => fuzz(t, mutatedArb, 4000));

  test('(c) random well-formed TOML under [agent], [[inputs.profile.go]] and [[outputs.*]]', (t) => fuzz(t, wellFormedArb, 2000, checkIssueLinesNameTheKey));

  test('summary', (t) => report(t, overall));
});

// Each of these was a counterexample found by the properties above; the bug
// it showed is fixed in src/config, and the case stays as a plain example.
describe('config fuzzing: regressions', () => {
  function issuesOf(text: string): Array<[number, string, string]> {
    const outcome = feed(text);
    assert.ok(outcome instanceof ConfigError, 'expected a ConfigError');
    return outcome.issues.map((i) => [i.line, i.path, i.message]);
  }

  test('an inline table spanning lines inside an array does not hang the key scanner', () => {
    // TOML 1.1 (smol-toml) allows newlines in inline tables; the scanner
    // stopped at the newline and then looped forever on the closing brace.
    const text = doc('[[inputs.profile.go]]', 'url = "http://h:1"', 'tags = [{ a = "b"', '}]', 'service = 5');
    assert.deepEqual(
      issuesOf(text).map(([line, path]) => [line, path]),
      [
        [3, 'inputs.profile.go.tags'],
        [5, 'inputs.profile.go.service'],
      ],
    );
  });

  test('keys inside a multi-line inline table are not taken for keys of the table around it', () => {
    const text = doc(
      '[agent]', //            1
      'x = { a = 1,', //       2
      '  hostname = 2 }', //   3: agent.x.hostname, not agent.hostname
      'hostname = 5', //       4
      '[[inputs.profile.go]]',
      'url = "http://h:1"',
    );
    assert.deepEqual(
      issuesOf(text).map(([line, path]) => [line, path]),
      [
        [2, 'agent.x'],
        [4, 'agent.hostname'],
      ],
    );
  });

  test('a URL whose user:password has a bad %-escape is a config error, not a URIError', () => {
    for (const text of [doc('[[inputs.profile.go]]', 'url = "http://%zz@h"'), doc('[[inputs.profile.go]]', 'url = "http://u:p%zz@h:1"')]) {
      const [[line, path, message]] = issuesOf(text) as [[number, string, string]];
      assert.deepEqual([line, path], [2, 'inputs.profile.go.url']);
      assert.ok(!message.includes('zz'), `credentials echoed: ${message}`);
    }
  });

  test('control characters from keys and values are escaped in issues', () => {
    const cases: Array<[string, string]> = [
      // Written as TOML escapes: the file holds `\u0000`, the parsed key a NUL.
      [doc('[outputs]', String.raw`"\u0000" = []`, '[[inputs.profile.go]]', 'url = "http://h:1"'), String.raw`unknown output kind "\u0000"`],
      [doc('[agent]', String.raw`listen = "\e[31m"`, '[[inputs.profile.go]]', 'url = "http://h:1"'), String.raw`got "\u001b[31m"`],
      [doc('[agent]', String.raw`"a\nb" = 1`, '[[inputs.profile.go]]', 'url = "http://h:1"'), String.raw`unknown key "a\nb"`],
      [doc('[agent]', String.raw`log_level = "\u0085"`, '[[inputs.profile.go]]', 'url = "http://h:1"'), String.raw`got "\u0085"`],
    ];
    for (const [text, expected] of cases) {
      const err = feed(text) as ConfigError;
      assert.ok(err instanceof ConfigError);
      assert.equal(err.issues.length, 1, err.message);
      assert.ok(err.issues[0]!.message.includes(expected), `"${expected}" not in ${JSON.stringify(err.issues[0]!.message)}`);
      assert.equal(err.message.split('\n').length, 1, 'one issue, one printed line');
    }
  });

  test('outputs that are all empty arrays are an error, not a config that drops every profile', () => {
    const text = doc('[[inputs.profile.go]]', 'url = "http://h:1"', '[outputs]', 'file = []');
    assert.deepEqual(
      issuesOf(text).map(([line, path]) => [line, path]),
      [[3, 'outputs']],
    );
  });

  // These inputs would take minutes with a quadratic scan: each test's
  // timeout is the guard (no wall-clock assertion, which a loaded machine
  // would make flaky).
  const GUARD = { timeout: 60_000 };
  function timed(text: string): { outcome: Config | ConfigError } {
    return { outcome: feed(text) };
  }

  test('a megabyte-long unknown key is refused without an edit distance against it', GUARD, () => {
    const { outcome } = timed(doc('[agent]', `${'k'.repeat(1_000_000)} = 1`, '[[inputs.profile.go]]', 'url = "http://h:1"'));
    assert.ok(outcome instanceof ConfigError && outcome.issues.length === 1 && outcome.issues[0]!.line === 2);
  });

  test('a header or dotted key thousands of keys deep is scanned, not walked quadratically', GUARD, () => {
    for (const text of [
      doc(`[${'agent.'.repeat(150_000)}x]`, 'a = 1', '[[inputs.profile.go]]', 'url = "http://h:1"'),
      doc(`[[inputs.profile.go${'.go'.repeat(300_000)}]]`, 'url = "http://h:1"'),
      doc('[[inputs.profile.go]]', 'url = "http://h:1"', `${'tags.'.repeat(200_000)}x = "v"`),
    ]) {
      const { outcome } = timed(text);
      assert.ok(outcome instanceof ConfigError);
    }
  });

  test('a secret file that is a device or a directory is refused, not read forever', GUARD, () => {
    for (const [key, file] of [
      ['bearer_token_file', '/dev/zero'],
      ['bearer_token_file', '/dev/urandom'],
      ['bearer_token_file', '/'],
    ] as const) {
      const text = doc('[[inputs.profile.go]]', 'url = "http://h:1"', '[[outputs.pyroscope]]', 'url = "http://h:2"', `${key} = "${file}"`);
      const { outcome } = timed(text);
      assert.ok(outcome instanceof ConfigError, file);
      assert.deepEqual(
        outcome.issues.map((i) => [i.line, i.path]),
        [[5, `outputs.pyroscope.${key}`]],
      );
    }
    const pw = doc('[[inputs.profile.go]]', 'url = "http://h:1"', '[[outputs.pyroscope]]', 'url = "http://h:2"', '[outputs.pyroscope.basic_auth]', 'username = "u"', 'password_file = "/dev/zero"');
    assert.deepEqual((feed(pw) as ConfigError).issues.map((i) => [i.line, i.path, i.message]), [[7, 'outputs.pyroscope.basic_auth.password_file', 'cannot read "/dev/zero": not a regular file']]);
  });

  test('a size with a long run of blanks is refused without backtracking over it', GUARD, () => {
    const { outcome } = timed(doc('[agent]', `spool_max_bytes = "1${' '.repeat(200_000)}!"`, '[[inputs.profile.go]]', 'url = "http://h:1"'));
    assert.ok(outcome instanceof ConfigError);
  });
});

describe('config fuzzing: keys that would reach JavaScript object prototypes', () => {
  test('__proto__ and constructor are refused at their line, saying so', () => {
    for (const key of ['__proto__', 'constructor']) {
      const outcome = feed(doc('[[inputs.profile.go]]', 'url = "http://h:1"', '[inputs.profile.go.tags]', `${key} = "x"`));
      assert.ok(outcome instanceof ConfigError, key);
      assert.deepEqual(
        outcome.issues.map((i) => [i.line, i.message]),
        [[4, 'a key named __proto__ or constructor is not allowed in a config (no option has such a name)']],
        key,
      );
    }
  });
});
