// A real Prometheus (Debian's /usr/bin/prometheus) scrapes a real collector
// on loopback, the way the README's scrape config says: https with our CA,
// basic auth from [agent.web] (bcrypt). The collector scrapes the real Go
// fixture. Read back through Prometheus's query API:
//   - collector_target_up carries `target` = the Go target's host:port and
//     Prometheus's own `instance` = the collector; no `exported_instance`;
//   - up is 1 for that job, 0 for a job without the password (401);
//   - the runtime metrics derived from profiles arrive with `target` too.
// Bounded: about 30 s; nothing is skipped (without prometheus or go it fails
// with what to install).
//
//   node --import tsx --test test/integration/prometheus.test.ts

import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { existsSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, it, type TestContext } from 'node:test';
import bcrypt from 'bcryptjs';
import { goFixtureProblem, startGoTarget } from '../../fixtures/go-target/harness.js';
import { cleanupAfterAll, sleep, spawnCollector, waitFor } from '../helpers/processes.js';
import { unusedPort } from '../helpers/servers.js';
import { makeTlsMaterial } from '../helpers/tls.js';

const PROMETHEUS = '/usr/bin/prometheus';
const cleanup = cleanupAfterAll();
const q = (s: string) => JSON.stringify(s);

interface Series {
  metric: Record<string, string>;
  value: [number, string];
}

describe('a real Prometheus scraping the collector', () => {
  it('sees the Go target as `target`, the collector as `instance`, no exported_instance; the password job is up, the one without is not', { timeout: 120_000 }, async (t: TestContext) => {
    const goProblem = goFixtureProblem();
    if (goProblem) assert.fail(goProblem);
    assert.ok(existsSync(PROMETHEUS), `${PROMETHEUS} is missing: apt-get install -y prometheus (this test is not skipped)`);
    const dir = cleanup.tempDir('pprof-prometheus-');
    const tls = makeTlsMaterial();
    cleanup.add(() => tls.remove());
    const go = await startGoTarget({ parked: 7 });
    cleanup.add(() => go.kill());

    const password = 'scrape-me-please';
    writeFileSync(join(dir, 'password'), password);
    const cfg = join(dir, 'profile.conf');
    writeFileSync(
      cfg,
      [
        '[agent]',
        'listen = "127.0.0.1:0"',
        `data_dir = ${q(join(dir, 'data'))}`,
        '[agent.web]',
        `tls_cert = ${q(tls.serverCert)}`,
        `tls_key = ${q(tls.serverKey)}`,
        '[agent.web.basic_auth_users]',
        `prometheus = ${q(bcrypt.hashSync(password, 4))}`,
        '[[inputs.profile.go]]',
        `url = ${q(go.url)}`,
        'service = "prom-svc"',
        'interval = "10s"',
        'enabled_types = ["goroutine"]',
        '[[outputs.file]]',
        `dir = ${q(join(dir, 'profiles'))}`,
        '',
      ].join('\n'),
    );
    const c = spawnCollector(['-c', cfg]);
    cleanup.add(() => c.kill());
    const base = await c.statusUrl();
    const collectorAddr = new URL(base).host;
    assert.match(base, /^https:\/\/127\.0\.0\.1:\d+$/);

    const promPort = await unusedPort();
    const promCfg = join(dir, 'prometheus.yml');
    const job = (name: string, auth: boolean) =>
      [
        `  - job_name: ${name}`,
        '    scheme: https',
        '    tls_config:',
        `      ca_file: ${tls.caCert}`,
        ...(auth ? ['    basic_auth:', '      username: prometheus', `      password_file: ${join(dir, 'password')}`] : []),
        '    static_configs:',
        `      - targets: ["${collectorAddr}"]`,
      ].join('\n');
    writeFileSync(promCfg, ['global:', '  scrape_interval: 1s', '  scrape_timeout: 1s', 'scrape_configs:', job('pprof-collector', true), job('no-password', false), ''].join('\n'));
    const prom = spawn(PROMETHEUS, [`--config.file=${promCfg}`, `--storage.tsdb.path=${join(dir, 'tsdb')}`, `--web.listen-address=127.0.0.1:${promPort}`, '--log.level=warn'], { stdio: ['ignore', 'ignore', 'pipe'] });
    let promLog = '';
    prom.stderr!.on('data', (d: Buffer) => (promLog += d.toString()));
    const promExited = new Promise<void>((resolve) => prom.once('exit', () => resolve()));
    cleanup.add(async () => {
      prom.kill('SIGTERM');
      await Promise.race([promExited, sleep(10_000).then(() => prom.kill('SIGKILL'))]);
    });

    const query = async (expr: string): Promise<Series[]> => {
      const res = await fetch(`http://127.0.0.1:${promPort}/api/v1/query?query=${encodeURIComponent(expr)}`, { signal: AbortSignal.timeout(5_000) });
      const body = (await res.json()) as { status: string; data: { result: Series[] } };
      assert.equal(body.status, 'success', JSON.stringify(body));
      return body.data.result;
    };
    const tryQuery = (expr: string) => query(expr).catch(() => [] as Series[]);
    const why = () => `prometheus stderr:\n${promLog.slice(-2000)}\ncollector:\n${c.stdout.slice(-2000)}`;
    // The collector scrapes goroutine within its first 10 s slot; Prometheus every second.
    await waitFor(async () => (await tryQuery('collector_target_up{type="goroutine"}')).length > 0 && (await tryQuery('collector_go_goroutines')).length > 0, 60_000, `collector_target_up and collector_go_goroutines in Prometheus\n${why()}`, 500);

    const up = await query('collector_target_up');
    t.diagnostic(up.map((s) => JSON.stringify(s.metric)).join('\n'));
    assert.equal(up.length, 1, 'one series: one target, one type');
    const m = up[0]!.metric;
    assert.equal(m.target, go.addr, 'the Go target');
    assert.equal(m.instance, collectorAddr, "Prometheus's instance: the collector it scraped");
    assert.equal(m.job, 'pprof-collector');
    assert.equal(m.service, 'prom-svc');
    assert.equal(up[0]!.value[1], '1');
    assert.equal((await query('count({exported_instance!=""})'))[0]?.value[1], undefined, 'no series has exported_instance');
    const runtime = await query('collector_go_goroutines');
    assert.equal(runtime[0]?.metric.target, go.addr);
    assert.ok(Number(runtime[0]?.value[1]) >= 7, `goroutines ${runtime[0]?.value[1]} (7 parked)`);

    // Prometheus scrapes each job at its own offset; a loaded CI run read `up`
    // before the job without the password had its first scrape.
    await waitFor(async () => (await tryQuery('up')).length === 2, 30_000, `up for both jobs\n${why()}`, 500);
    const jobs = Object.fromEntries((await query('up')).map((s) => [s.metric.job, s.value[1]]));
    assert.deepEqual(jobs, { 'pprof-collector': '1', 'no-password': '0' }, 'up by job: the job without the password gets 401');
  });
});
