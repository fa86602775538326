// What `collector --check` says about credentials, tenants and relabel
// rules, and what `--check --discover` prints: every discovered target's
// labels before and after relabel_configs, and what would be scraped. The
// real command, against file_sd files (no network).
//
//   node --import tsx --test test/cli/check-discover.test.ts

import assert from 'node:assert/strict';
import { spawnSync, type SpawnSyncReturns } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { ROOT } from '../helpers/processes.js';

function collector(args: string[]): SpawnSyncReturns<string> {
  const res = spawnSync(process.execPath, ['bin/collector.js', ...args], { cwd: ROOT, encoding: 'utf8', timeout: 30_000 });
  if (res.error) throw res.error;
  return res;
}

const q = (s: string) => JSON.stringify(s);
let dir = '';
before(() => {
  dir = mkdtempSync(join(tmpdir(), 'check-discover-'));
  writeFileSync(join(dir, 'token'), 'TOKEN-never-printed\n');
  writeFileSync(
    join(dir, 'targets.json'),
    JSON.stringify([
      { targets: ['10.0.0.7:6060'], labels: { service: 'checkout', env: 'prod', team: 'payments' } },
      { targets: ['10.0.0.8:6060'], labels: { service: 'batch', env: 'dev' } },
      { targets: ['https://10.0.0.9:6443/internal/pprof'], labels: { service: 'ledger', env: 'prod' } },
    ]),
  );
});
after(() => rmSync(dir, { recursive: true, force: true }));

function config(): string {
  const file = join(dir, 'relabel.conf');
  writeFileSync(
    file,
    [
      '[agent]',
      'listen = ""',
      `data_dir = ${q(join(dir, 'data'))}`,
      '',
      '[[inputs.profile.go]]',
      'url = "http://127.0.0.1:6060"',
      'service = "static-one"',
      'tenant_id = "team-static"',
      'bearer_token = "INLINE-never-printed"',
      '',
      '[[inputs.profile.go]]',
      'service = "fallback"',
      `bearer_token_file = ${q(join(dir, 'token'))}`,
      'tenant_id = "block-tenant"',
      '[inputs.profile.go.file_sd]',
      `files = [${q(join(dir, '*.json'))}]`,
      '[[inputs.profile.go.relabel_configs]]',
      'source_labels = ["env"]',
      'regex = "dev"',
      'action = "drop"',
      '[[inputs.profile.go.relabel_configs]]',
      'source_labels = ["team"]',
      // (.+): without it an absent team matches the default (.*) and makes "team-".
      'regex = "(.+)"',
      'target_label = "__tenant_id__"',
      'replacement = "team-$1"',
      '[[inputs.profile.go.relabel_configs]]',
      'source_labels = ["__meta_filepath"]',
      'regex = ".*/([^/]+)\\\\.json"',
      'target_label = "sd_file"',
      '',
      '[[outputs.file]]',
      `dir = ${q(join(dir, 'out'))}`,
      '',
    ].join('\n'),
  );
  return file;
}

describe('collector --check', () => {
  test('a block\'s credentials, tenant and relabel rules, never a secret', () => {
    const res = collector(['-c', config(), '--check']);
    assert.equal(res.status, 0, res.stderr);
    const out = res.stdout;
    assert.match(out, /^ {4}auth: bearer token \(not shown\)$/m);
    assert.match(out, /^ {4}tenant: team-static \(X-Scope-OrgID to Pyroscope\)$/m);
    assert.ok(out.includes(`    auth: bearer token from ${join(dir, 'token')} (read again whenever it changes, so a rotated token is used); sent to discovered targets over https only (an http target is not scraped; allow_insecure_credentials = true allows it)`), out);
    assert.match(out, /^ {4}tenant: block-tenant \(X-Scope-OrgID to Pyroscope, unless a relabel rule sets __tenant_id__\)$/m);
    assert.match(out, /^ {4}relabel_configs \(3\), in order:$/m);
    assert.match(out, /^ {6}\[1\] action=drop source_labels=\[env\] regex="dev"$/m);
    assert.match(out, /^ {6}\[2\] action=replace source_labels=\[team\] regex="\(\.\+\)" target_label="__tenant_id__" replacement="team-\$1"$/m);
    assert.doesNotMatch(out, /discovered \(--discover/, 'discoveries run only with --discover');
    assert.doesNotMatch(`${out}${res.stderr}`, /never-printed/);
  });

  test('--discover: each target found, its labels before and after the rules, what is scraped', () => {
    const res = collector(['-c', config(), '--check', '--discover']);
    assert.equal(res.status, 0, res.stderr);
    const out = res.stdout;
    const file = join(dir, 'targets.json');
    assert.match(out, /^discovered \(--discover: what each discovery found within 3s; labels before and after relabel_configs\):$/m);
    assert.ok(out.includes(`  file_sd ${join(dir, '*.json')} (line 11): 3 found, 2 scraped, 1 dropped by relabel_configs`), out);
    const lines = out.split('\n');
    const at = (addr: string) => lines.findIndex((l) => l === `    ${addr}`);
    const a = at('10.0.0.7:6060');
    assert.ok(a > 0, out);
    assert.equal(lines[a + 1], `      before: {__address__="10.0.0.7:6060", __meta_filepath=${q(file)}, __pprof_path__="/debug/pprof", __scheme__="http", __tenant_id__="block-tenant", env="prod", service="checkout", team="payments"}`);
    assert.equal(lines[a + 2], '      after:  {__address__="10.0.0.7:6060", __pprof_path__="/debug/pprof", __scheme__="http", __tenant_id__="team-payments", env="prod", sd_file="targets", service="checkout", team="payments"}');
    assert.equal(lines[a + 3], '      -> http://10.0.0.7:6060/debug/pprof  cpu, heap, goroutine, mutex, block; service=checkout env=prod; tags env=prod sd_file=targets service=checkout team=payments; tenant team-payments');
    // An http target of a block with credentials is refused, and says why.
    assert.match(lines[a + 4]!, /^ {6}not scraped: http:\/\/10\.0\.0\.7:6060\/debug\/pprof is http, and the block on line 11 sends a bearer token to the targets it discovers over https only/);
    const b = at('10.0.0.8:6060');
    assert.equal(lines[b + 2], '      dropped by relabel_configs rule 1');
    const c = at('10.0.0.9:6443');
    assert.match(lines[c + 1]!, /__pprof_path__="\/internal\/pprof\/?", __scheme__="https"/);
    assert.equal(lines[c + 3], '      -> https://10.0.0.9:6443/internal/pprof  cpu, heap, goroutine, mutex, block; service=ledger env=prod; tags env=prod sd_file=targets service=ledger; tenant block-tenant');
    assert.doesNotMatch(`${out}${res.stderr}`, /never-printed/);
  });

  test('--discover without --check is a usage error', () => {
    const res = collector(['-c', config(), '--discover']);
    assert.equal(res.status, 2);
    assert.match(res.stderr, /--discover goes with --check/);
  });
});
