// DiscoveryManager with relabel_configs, from a TOML block to the targets it
// scrapes: each discovery kind against its fake (the Kubernetes API double,
// a DNS server, files, an HTTP SD endpoint) with rules on its __meta_*
// labels; the relabel cache; the https-only rule for a block's credentials;
// and the watchdog stopping a rule that backtracks.
//
//   node --import tsx --test test/discovery/manager.test.ts

import assert from 'node:assert/strict';
import { createServer } from 'node:http';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, test } from 'node:test';
import { parseConfig } from '../../src/config/index.js';
import type { GoTargetConfig, RelabelConfigSpec } from '../../src/config/types.js';
import type { LabelPairs } from '../../src/discovery/relabel-batch.js';
import { DiscoveryManager, type ProviderFactory } from '../../src/discovery/manager.js';
import { providerFactory } from '../../src/discovery/providers.js';
import { InlineRelabeler, WorkerRelabeler, type Relabeler } from '../../src/discovery/relabeler.js';
import type { DiscoveryProvider, TargetGroup } from '../../src/discovery/types.js';
import { TestDnsServer } from '../helpers/dns-server.js';
import { FakeClock } from '../helpers/fake-clock.js';
import { FakeKubeApi } from '../helpers/fake-kube-api.js';
import { cleanupAfterEach, waitFor } from '../helpers/processes.js';
import { capturingLogger } from '../helpers/sd.js';
import { closeServer, listenLocal } from '../helpers/servers.js';

const cleanup = cleanupAfterEach();
const q = (s: string) => JSON.stringify(s);

/** The one template of a config: a block with `lines` (discovery table and rules). */
function template(...lines: string[]): GoTargetConfig {
  const c = parseConfig(['[[inputs.profile.go]]', 'service = "block-svc"', 'tags = { team = "perf" }', ...lines, ''].join('\n'), 'm.conf', { env: {}, osHostname: 'box' });
  assert.equal(c.templates.length, 1);
  return c.templates[0]!;
}

const rule = (r: Record<string, string | string[] | number>): string[] => [
  '[[inputs.profile.go.relabel_configs]]',
  ...Object.entries(r).map(([k, v]) => `${k} = ${Array.isArray(v) ? `[${v.map(q).join(', ')}]` : typeof v === 'number' ? v : q(v)}`),
];

/** A manager over `factory`, explaining, stopped after the test; `ready` waits for `n` changes. */
function manage(t: GoTargetConfig, factory: ProviderFactory, relabeler: Relabeler = new InlineRelabeler()) {
  const { logger, lines } = capturingLogger();
  let changes = 0;
  const m = new DiscoveryManager(factory, logger, () => changes++, { relabeler, explain: true });
  cleanup.add(async () => {
    await m.stop();
    await relabeler.close();
  });
  m.sync([t]);
  const ready = (n = 1) => waitFor(() => changes >= n, 10_000, `discovery change ${n}`, 10);
  const byAddress = () => new Map(m.targets().map((c) => [new URL(c.baseUrl).host, c]));
  return { m, lines, ready, byAddress, changes: () => changes };
}

const realProviders = (): ProviderFactory => providerFactory({ clock: new FakeClock(), logger: capturingLogger().logger, env: {} });

describe('relabel_configs per discovery kind', () => {
  test('kubernetes_sd: keep a namespace, labelmap pod labels, the tenant from the namespace, the container, labeldrop', async () => {
    const api = await FakeKubeApi.start();
    cleanup.add(() => api.close());
    const t = template(
      '[inputs.profile.go.kubernetes_sd]',
      `api_server = ${q(api.url)}`,
      ...rule({ source_labels: ['__meta_kubernetes_namespace'], regex: 'shop', action: 'keep' }),
      ...rule({ regex: '__meta_kubernetes_pod_label_app_kubernetes_io_(.+)', replacement: 'k8s_$1', action: 'labelmap' }),
      ...rule({ source_labels: ['__meta_kubernetes_namespace'], target_label: '__tenant_id__', replacement: 'team-$1' }),
      ...rule({ source_labels: ['__meta_kubernetes_pod_container_name'], target_label: 'container' }),
      ...rule({ regex: 'node|pod', action: 'labeldrop' }),
    );
    const h = manage(t, realProviders());
    await h.ready();
    const targets = h.byAddress();
    assert.deepEqual([...targets.keys()].sort(), ['10.244.1.17:6060', '10.244.2.8:6060', '10.244.2.8:7070'], 'the web namespace is dropped');
    const checkout = targets.get('10.244.1.17:6060')!;
    assert.deepEqual(checkout.goTags, { team: 'perf', service: 'checkout', namespace: 'shop', k8s_name: 'checkout-web', k8s_part_of: 'shop', container: 'checkout' });
    assert.equal(checkout.service, 'checkout');
    assert.equal(checkout.tenantId, 'team-shop');
    assert.deepEqual([...checkout.enabledTypes], ['cpu', 'heap', 'goroutine']);
    assert.equal(targets.get('10.244.2.8:7070')!.baseUrl, 'http://10.244.2.8:7070/internal/pprof');
    const frontend = h.m.explain()[0]!.targets.find((e) => e.before.get('__meta_kubernetes_namespace') === 'web')!;
    assert.equal(frontend.droppedBy, 0);
    assert.equal(frontend.before.get('__address__'), '10.244.1.23:6061');
    assert.ok(h.lines.some((l) => l.level === 'info' && /3 target\(s\) \(1 dropped by relabel_configs\)/.test(l.msg)));
  });

  test('file_sd: env from __meta_filepath, a drop on it, __scheme__ from a label', async () => {
    const dir = cleanup.tempDir('manager-file-sd-');
    writeFileSync(join(dir, 'prod.json'), JSON.stringify([{ targets: ['10.0.0.1:6060'], labels: { tls: 'yes' } }, { targets: ['10.0.0.2:6060'] }]));
    writeFileSync(join(dir, 'staging.json'), JSON.stringify([{ targets: ['10.0.1.1:6060'] }]));
    const t = template(
      '[inputs.profile.go.file_sd]',
      `files = [${q(join(dir, '*.json'))}]`,
      ...rule({ source_labels: ['__meta_filepath'], regex: '.*/(prod|staging)\\.json', target_label: 'env' }),
      ...rule({ source_labels: ['env'], regex: 'staging', action: 'drop' }),
      ...rule({ source_labels: ['tls'], regex: 'yes', target_label: '__scheme__', replacement: 'https' }),
      ...rule({ regex: 'tls', action: 'labeldrop' }),
    );
    const h = manage(t, realProviders());
    await h.ready();
    const targets = h.byAddress();
    assert.deepEqual([...targets.keys()].sort(), ['10.0.0.1:6060', '10.0.0.2:6060']);
    assert.equal(targets.get('10.0.0.1:6060')!.baseUrl, 'https://10.0.0.1:6060/debug/pprof');
    assert.equal(targets.get('10.0.0.2:6060')!.baseUrl, 'http://10.0.0.2:6060/debug/pprof');
    assert.equal(targets.get('10.0.0.2:6060')!.env, 'prod');
    assert.deepEqual(targets.get('10.0.0.1:6060')!.goTags, { team: 'perf', env: 'prod' });
  });

  test('http_sd: the tenant from __meta_url, __pprof_path__ from a label; a path that walks away is refused', async () => {
    const server = createServer((_req, res) =>
      res.writeHead(200, { 'content-type': 'application/json' }).end(
        JSON.stringify([
          { targets: ['10.0.0.1:6060'], labels: { prefix: '/internal/pprof' } },
          { targets: ['10.0.0.2:6060'], labels: { prefix: '/debug/pprof/../../admin' } },
        ]),
      ),
    );
    const port = await listenLocal(server);
    cleanup.add(() => closeServer(server));
    const t = template(
      '[inputs.profile.go.http_sd]',
      `url = "http://127.0.0.1:${port}/sd?team=payments"`,
      ...rule({ source_labels: ['__meta_url'], regex: '.*[?&]team=([^&]+).*', target_label: '__tenant_id__' }),
      ...rule({ source_labels: ['prefix'], regex: '(.+)', target_label: '__pprof_path__' }),
      ...rule({ regex: 'prefix', action: 'labeldrop' }),
    );
    const h = manage(t, realProviders());
    await h.ready();
    const targets = h.byAddress();
    assert.deepEqual([...targets.keys()], ['10.0.0.1:6060']);
    assert.equal(targets.get('10.0.0.1:6060')!.baseUrl, 'http://10.0.0.1:6060/internal/pprof');
    assert.equal(targets.get('10.0.0.1:6060')!.tenantId, 'payments');
    const warn = h.lines.filter((l) => l.level === 'warn');
    assert.equal(warn.length, 1);
    assert.match(warn[0]!.msg, /"10\.0\.0\.2:6060": pprof path "\/debug\/pprof\/\.\.\/\.\.\/admin" has a "\.\." segment.*; skipped/);
  });

  test('dns_sd: keep one SRV port, a label from the record\'s target, the service from the name', async () => {
    const dns = await new TestDnsServer().start();
    cleanup.add(() => dns.close());
    dns.set('_pprof._tcp.cart.test', {
      SRV: [
        { priority: 1, weight: 1, port: 6060, target: 'cart-1.cart.test' },
        { priority: 1, weight: 1, port: 9090, target: 'cart-1.cart.test' },
        { priority: 1, weight: 1, port: 6060, target: 'cart-2.cart.test' },
      ],
    });
    const t = template(
      '[inputs.profile.go.dns_sd]',
      'names = ["_pprof._tcp.cart.test"]',
      `servers = [${q(dns.address)}]`,
      ...rule({ source_labels: ['__meta_dns_srv_record_port'], regex: '6060', action: 'keep' }),
      ...rule({ source_labels: ['__meta_dns_srv_record_target'], regex: '([^.]+)\\..*', target_label: 'replica' }),
      ...rule({ source_labels: ['__meta_dns_name'], regex: '_pprof\\._tcp\\.([^.]+)\\..*', target_label: 'service' }),
    );
    const h = manage(t, realProviders());
    await h.ready();
    const targets = h.byAddress();
    assert.deepEqual([...targets.keys()].sort(), ['cart-1.cart.test:6060', 'cart-2.cart.test:6060']);
    assert.equal(targets.get('cart-2.cart.test:6060')!.service, 'cart');
    assert.deepEqual(targets.get('cart-2.cart.test:6060')!.goTags, { team: 'perf', replica: 'cart-2', service: 'cart' });
  });
});

/** A provider the test feeds by hand. */
class ManualProvider implements DiscoveryProvider {
  readonly description = 'manual';
  private update: (g: readonly TargetGroup[]) => void = () => undefined;
  start(update: (g: readonly TargetGroup[]) => void): void {
    this.update = update;
  }
  send(groups: TargetGroup[]): void {
    this.update(groups);
  }
  async stop(): Promise<void> {}
}

/** An inline relabeler that counts the targets it is given. */
class CountingRelabeler extends InlineRelabeler {
  relabeled = 0;
  override run(rules: readonly RelabelConfigSpec[], inputs: readonly LabelPairs[]) {
    this.relabeled += inputs.length;
    return super.run(rules, inputs);
  }
}

const fileSdBlock = ['[inputs.profile.go.file_sd]', 'files = ["unused.json"]'];

describe('relabeling per update', () => {
  test('a target whose discovered labels did not change is not relabeled again', async () => {
    const p = new ManualProvider();
    const r = new CountingRelabeler();
    const h = manage(template(...fileSdBlock, ...rule({ source_labels: ['zone'], target_label: 'az' })), () => p, r);
    const groups = (zone2: string): TargetGroup[] => Array.from({ length: 100 }, (_, i) => ({ targets: [`10.0.${i}.1:6060`], labels: { zone: i === 2 ? zone2 : 'a' } }));
    p.send(groups('a'));
    await h.ready(1);
    assert.equal(r.relabeled, 100);
    p.send(groups('b'));
    await h.ready(2);
    assert.equal(r.relabeled, 101, 'only the target that changed');
    assert.equal(h.byAddress().get('10.0.2.1:6060')!.goTags.az, 'b');
    assert.equal(h.m.targets().length, 100);
  });

  test('no rules: the discovered labels as they are (__meta_* dropped), no relabeler used', async () => {
    const p = new ManualProvider();
    const r = new CountingRelabeler();
    const h = manage(template(...fileSdBlock), () => p, r);
    p.send([{ targets: ['10.0.0.1:6060'], labels: { env: 'prod', __meta_filepath: '/x.json' } }]);
    await h.ready();
    assert.equal(r.relabeled, 0);
    assert.deepEqual(h.m.targets()[0]!.goTags, { team: 'perf', env: 'prod' });
    const e = h.m.explain()[0]!.targets[0]!;
    assert.deepEqual([...e.before], [['__address__', '10.0.0.1:6060'], ['__meta_filepath', '/x.json'], ['__pprof_path__', '/debug/pprof'], ['__scheme__', 'http'], ['env', 'prod']]);
    assert.deepEqual([...e.after!], [['__address__', '10.0.0.1:6060'], ['__pprof_path__', '/debug/pprof'], ['__scheme__', 'http'], ['env', 'prod']]);
  });
});

describe('a block\'s credentials go to discovered targets over https only', () => {
  const groups: TargetGroup[] = [
    { targets: ['10.0.0.1:6060'], labels: {} },
    { targets: ['10.0.0.2:6060'], labels: { __scheme__: 'https' } },
    { targets: ['https://10.0.0.3:6443/pprof'], labels: {} },
  ];

  test('an http target keeps no credentials and is marked refused, with the fix in the message', async () => {
    const p = new ManualProvider();
    const h = manage(template('bearer_token = "s3cret"', 'tenant_id = "block-tenant"', ...fileSdBlock), () => p);
    p.send(groups);
    await h.ready();
    const t = h.byAddress();
    const plain = t.get('10.0.0.1:6060')!;
    assert.equal(plain.auth, undefined);
    assert.match(plain.credentialsRefused!, /^not scraped: http:\/\/10\.0\.0\.1:6060\/debug\/pprof is http, and the block on line 1 sends a bearer token to the targets it discovers over https only\. Make the target https .*allow_insecure_credentials = true/);
    assert.ok(!plain.credentialsRefused!.includes('s3cret'));
    for (const host of ['10.0.0.2:6060', '10.0.0.3:6443']) {
      assert.deepEqual(t.get(host)!.auth, { kind: 'bearer', token: 's3cret' }, host);
      assert.equal(t.get(host)!.credentialsRefused, undefined, host);
      assert.equal(t.get(host)!.tenantId, 'block-tenant', host);
    }
  });

  test('allow_insecure_credentials = true: http targets get them too; a block without credentials has nothing to refuse', async () => {
    const p = new ManualProvider();
    const h = manage(template('basic_auth = { username = "u", password = "p" }', 'allow_insecure_credentials = true', ...fileSdBlock), () => p);
    p.send(groups);
    await h.ready();
    assert.deepEqual(h.byAddress().get('10.0.0.1:6060')!.auth, { kind: 'basic', username: 'u', password: 'p' });
    const p2 = new ManualProvider();
    const h2 = manage(template(...fileSdBlock), () => p2);
    p2.send(groups);
    await h2.ready();
    assert.equal(h2.byAddress().get('10.0.0.1:6060')!.credentialsRefused, undefined);
  });
});

describe('a rule that backtracks on one target\'s labels', () => {
  const BACKTRACKS = rule({ source_labels: ['note'], regex: '(a+)+b', target_label: 'matched', replacement: 'yes' });
  const slowGroup: TargetGroup = { targets: ['10.0.9.9:6060'], labels: { note: `${'a'.repeat(40)}!` } };
  const fine = (n: number): TargetGroup => ({ targets: [`10.0.0.${n}:6060`], labels: { note: 'ab' } });

  test('is stopped by the watchdog: that target is skipped (said once), the others are scraped; the next update does not run it again', async () => {
    const p = new ManualProvider();
    const w = new WorkerRelabeler({ deadlineMs: 200 });
    const h = manage(template(...fileSdBlock, ...BACKTRACKS), () => p, w);
    p.send([fine(1), slowGroup, fine(2)]);
    await h.ready(1);
    assert.deepEqual([...h.byAddress().keys()].sort(), ['10.0.0.1:6060', '10.0.0.2:6060']);
    assert.equal(h.byAddress().get('10.0.0.1:6060')!.goTags.matched, 'yes');
    const said = () => h.lines.filter((l) => l.level === 'warn' && /10\.0\.9\.9:6060: relabel_configs rule 1 ran for over \d+ ms on this target and was stopped/.test(l.msg));
    assert.equal(said().length, 1);
    assert.equal(w.started, 2);
    p.send([fine(1), slowGroup, fine(2), fine(3)]);
    await h.ready(2);
    assert.equal(h.m.targets().length, 3);
    assert.equal(w.started, 2, 'the stuck target\'s outcome is remembered: not run again');
    assert.equal(said().length, 1, 'and not said again');
  });

  test('an update with too many of them is abandoned: the block keeps the targets it had', async () => {
    const p = new ManualProvider();
    const w = new WorkerRelabeler({ deadlineMs: 100, maxTimeouts: 1 });
    const h = manage(template(...fileSdBlock, ...BACKTRACKS), () => p, w);
    p.send([fine(1)]);
    await h.ready(1);
    p.send([fine(1), fine(2), slowGroup]);
    await waitFor(() => h.lines.some((l) => l.level === 'error'), 10_000, 'the abandoned update', 10);
    assert.equal(h.changes(), 1, 'no change applied');
    assert.deepEqual(h.m.targets().map((c) => c.baseUrl), ['http://10.0.0.1:6060/debug/pprof']);
    assert.match(h.lines.find((l) => l.level === 'error')!.msg, /^manual: relabeling of this update failed: 1 targets of this update each ran a rule for over 100 ms \(the last: rule 1\); the update is abandoned; keeping the 1 target\(s\) it had$/);
  });
});
