// [[outputs.datadog]] through parseConfig: a Datadog Agent (`url`) or the
// agentless intake of a `site` with its API key, exactly one of the two;
// FILE:LINE errors that never repeat the key; the intake URL of each site;
// and the `collector --check` lines, which never show the key.
//
//   node --import tsx --test test/config/datadog-output.test.ts

import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import type { Config, DatadogOutputConfig } from '../../src/config/types.js';
import { DATADOG_SITES, datadogIntakeUrl, datadogSiteKind } from '../../src/config/validate/datadog-site.js';
import { doc, issuesOfText, loadText } from '../helpers/config-text.js';
import { ROOT } from '../helpers/processes.js';

const FILE = 'conf.d/dd.conf';
const API_KEY = 'ddkey0123456789abcdef-never-shown';
const AGENT = 'http://127.0.0.1:8126/profiling/v1/input';

function load(source: string, env: Record<string, string> = {}): Config {
  return loadText(source, FILE, env);
}

const issues = (source: string): string[] => issuesOfText(source, FILE);

function dd(c: Config): DatadogOutputConfig {
  const o = c.outputs.find((x): x is DatadogOutputConfig => x.kind === 'datadog');
  assert.ok(o, 'a datadog output');
  return o;
}

/** Lines 1-4: one target; the output starts on line 5. */
const TARGET = ['[[inputs.profile.go]]', 'url = "http://127.0.0.1:6060"', 'service = "svc"', 'env = "prod"'];

let dir = '';
let keyFile = '';
before(() => {
  dir = mkdtempSync(join(tmpdir(), 'dd-config-test-'));
  keyFile = join(dir, 'dd-api-key');
  writeFileSync(keyFile, `${API_KEY}\n`);
});
after(() => rmSync(dir, { recursive: true, force: true }));

describe('Datadog sites', () => {
  it('the agentless intake of a site is the URL dd-trace-go builds', () => {
    assert.equal(datadogIntakeUrl('datadoghq.com'), 'https://intake.profile.datadoghq.com/v1/input');
    assert.equal(datadogIntakeUrl('datadoghq.eu'), 'https://intake.profile.datadoghq.eu/v1/input');
    assert.equal(datadogIntakeUrl('us3.datadoghq.com'), 'https://intake.profile.us3.datadoghq.com/v1/input');
    for (const site of DATADOG_SITES) assert.equal(datadogSiteKind(site), 'known', site);
  });

  it('a host under a Datadog domain is a region; anything else is foreign', () => {
    assert.equal(datadogSiteKind('uk1.datadoghq.com'), 'region');
    assert.equal(datadogSiteKind('us2.ddog-gov.com'), 'known');
    for (const s of ['datadoghq.con', 'evil.com', 'datadoghq.com.evil.com', 'x.datadoghq.com/evil', '.datadoghq.com', 'a..datadoghq.com', 'UK1.datadoghq.com']) {
      assert.equal(datadogSiteKind(s), 'foreign', s);
    }
  });
});

describe('[[outputs.datadog]]', () => {
  it('url: a Datadog Agent, no key; user:password in it is basic auth', () => {
    const o = dd(load(doc(...TARGET, '[[outputs.datadog]]', `url = "${AGENT}"`)));
    assert.equal(o.name, 'datadog');
    assert.deepEqual(o.source, { file: FILE, line: 5 });
    assert.equal(o.url, AGENT);
    assert.equal(o.site, undefined);
    assert.equal(o.apiKey, undefined);
    assert.equal(o.auth, undefined);
    assert.equal(o.timeoutMs, 30_000);
    const proxied = dd(load(doc(...TARGET, '[[outputs.datadog]]', 'url = "https://u1:pw@agent.example/profiling/v1/input"')));
    assert.deepEqual(proxied.auth, { kind: 'basic', username: 'u1', password: 'pw' });
  });

  it('site + api_key_file: the intake of the site, the key read now without its newline', () => {
    const o = dd(load(doc(...TARGET, '[[outputs.datadog]]', 'site = "datadoghq.eu"', `api_key_file = ${JSON.stringify(keyFile)}`)));
    assert.equal(o.url, 'https://intake.profile.datadoghq.eu/v1/input');
    assert.equal(o.site, 'datadoghq.eu');
    assert.equal(o.apiKey, API_KEY);
    assert.equal(o.apiKeyFrom, keyFile);
  });

  it('site + api_key from ${DD_API_KEY}', () => {
    const o = dd(load(doc(...TARGET, '[[outputs.datadog]]', 'site = "datadoghq.com"', 'api_key = "${DD_API_KEY}"'), { DD_API_KEY: API_KEY }));
    assert.equal(o.apiKey, API_KEY);
    assert.equal(o.apiKeyFrom, undefined);
  });

  it('a new region under a Datadog domain loads with a notice', () => {
    const c = load(doc(...TARGET, '[[outputs.datadog]]', 'site = "uk1.datadoghq.com"', `api_key_file = ${JSON.stringify(keyFile)}`));
    assert.equal(dd(c).url, 'https://intake.profile.uk1.datadoghq.com/v1/input');
    assert.deepEqual(
      c.notices.filter((n) => n.path.startsWith('outputs.datadog')),
      [{ path: 'outputs.datadog.site', line: 6, message: `"uk1.datadoghq.com" is not among the Datadog sites this collector knows (${DATADOG_SITES.join(', ')}); profiles go to https://intake.profile.uk1.datadoghq.com/v1/input` }],
    );
  });

  it('exactly one of url and site', () => {
    assert.deepEqual(issues(doc(...TARGET, '[[outputs.datadog]]', `url = "${AGENT}"`, 'site = "datadoghq.com"', `api_key_file = ${JSON.stringify(keyFile)}`)), [
      `${FILE}:7: outputs.datadog.site: set url (a Datadog Agent) or site (the agentless intake), not both`,
    ]);
    assert.deepEqual(issues(doc(...TARGET, '[[outputs.datadog]]', 'timeout = "5s"')), [
      `${FILE}:5: outputs.datadog.url: is required: url for a Datadog Agent, like url = "http://127.0.0.1:8126/profiling/v1/input", or site and api_key_file for the agentless intake, like site = "datadoghq.eu"`,
    ]);
  });

  it('site without a key; a key with url; an empty key file; a url without a path: errors that never repeat the key', () => {
    const empty = join(dir, 'empty-key');
    writeFileSync(empty, '\n');
    const got = [
      ...issues(doc(...TARGET, '[[outputs.datadog]]', 'site = "datadoghq.com"')),
      ...issues(doc(...TARGET, '[[outputs.datadog]]', `url = "${AGENT}"`, `api_key_file = ${JSON.stringify(keyFile)}`)),
      ...issues(doc(...TARGET, '[[outputs.datadog]]', `url = "${AGENT}"`, `api_key = "${API_KEY}"`)),
      ...issues(doc(...TARGET, '[[outputs.datadog]]', 'site = "datadoghq.com"', `api_key_file = ${JSON.stringify(empty)}`)),
      ...issues(doc(...TARGET, '[[outputs.datadog]]', 'url = "http://127.0.0.1:8126"')),
    ];
    assert.deepEqual(got, [
      `${FILE}:5: outputs.datadog.api_key_file: is required with site: the intake refuses an upload without an API key (api_key_file = "/etc/collector/dd-api-key", or api_key = "\${DD_API_KEY}")`,
      `${FILE}:7: outputs.datadog.api_key_file: is for the agentless intake (site): a Datadog Agent adds its own API key; remove it, or write site instead of url`,
      `${FILE}:7: outputs.datadog.api_key: is for the agentless intake (site): a Datadog Agent adds its own API key; remove it, or write site instead of url`,
      `${FILE}:7: outputs.datadog.api_key_file: "${empty}" is empty`,
      `${FILE}:6: outputs.datadog.url: has no path: write the Agent's whole intake URL, like "http://127.0.0.1:8126/profiling/v1/input"`,
    ]);
    for (const line of got) assert.ok(!line.includes(API_KEY), line);
  });

  it('a site that is not Datadog\'s is an error (the key would go to that host), with the likely one', () => {
    assert.deepEqual(issues(doc(...TARGET, '[[outputs.datadog]]', 'site = "datadoghq.con"', `api_key_file = ${JSON.stringify(keyFile)}`)), [
      `${FILE}:6: outputs.datadog.site: "datadoghq.con" is not a Datadog site (did you mean "datadoghq.com"?); the sites are ${DATADOG_SITES.join(', ')} (or a region under datadoghq.com, datadoghq.eu, ddog-gov.com)`,
    ]);
  });
});

describe('collector --check with Datadog outputs', () => {
  it('agent and agentless lines; the key never shown, only where it was read from', () => {
    const cfg = join(dir, 'dd-check.conf');
    writeFileSync(
      cfg,
      doc(
        '[agent]',
        'listen = ""',
        `data_dir = ${JSON.stringify(join(dir, 'data'))}`,
        ...TARGET,
        '[[outputs.datadog]]',
        'name = "dd-agent"',
        `url = "${AGENT}"`,
        '[[outputs.datadog]]',
        'name = "dd-eu"',
        'site = "datadoghq.eu"',
        `api_key_file = ${JSON.stringify(keyFile)}`,
        '[[outputs.datadog]]',
        'name = "dd-env"',
        'site = "datadoghq.com"',
        'api_key = "${DD_API_KEY}"',
      ),
    );
    const res = spawnSync(process.execPath, ['bin/collector.js', '-c', cfg, '--check'], { cwd: ROOT, encoding: 'utf8', timeout: 30_000, env: { ...process.env, DD_API_KEY: API_KEY } });
    assert.equal(res.status, 0, `exit ${res.status}:\n${res.stdout}\n${res.stderr}`);
    const lines = res.stdout.split('\n');
    assert.ok(lines.includes(`  datadog "dd-agent" -> ${AGENT} (Datadog Agent)`), res.stdout);
    assert.ok(lines.includes(`  datadog "dd-eu" -> https://intake.profile.datadoghq.eu/v1/input (agentless, site datadoghq.eu, API key from ${keyFile})`), res.stdout);
    assert.ok(lines.includes('  datadog "dd-env" -> https://intake.profile.datadoghq.com/v1/input (agentless, site datadoghq.com, API key set; not shown)'), res.stdout);
    const out = `${res.stdout}${res.stderr}`;
    assert.ok(!out.includes(API_KEY) && !out.includes('never-shown'), `--check shows the key:\n${out}`);
  });
});
