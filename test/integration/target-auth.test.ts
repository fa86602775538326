// Per-target credentials and tenants, end to end: the real Go fixture behind
// auth proxies (test/helpers/auth-proxy.ts, as kube-rbac-proxy fronts pprof),
// the collector as a daemon, and the strict Pyroscope double.
//
//   - a static target with bearer_token_file, and one with basic_auth
//     password_file: the token and the password are rotated mid-run (a new
//     file renamed over the old, as a projected service-account token is);
//     the proxies accept only the new ones from then on, and the next scrape
//     of each carries them: no 401.
//   - a file_sd block with bearer_token_file and allow_insecure_credentials,
//     whose relabel rule sets __tenant_id__ from a label: its profiles reach
//     Pyroscope with that X-Scope-OrgID, the static target's with the
//     output's tenant_id.
//   - a file_sd block with bearer_token_file but no allow_insecure_credentials,
//     discovering an http target: never contacted, and the log says why.
//
//   node --import tsx --test --test-concurrency=1 test/integration/target-auth.test.ts

import assert from 'node:assert/strict';
import { mkdirSync, renameSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { AuthProxy } from '../helpers/auth-proxy.js';
import { goSuite } from '../helpers/go-suite.js';
import { spawnCollector, waitFor } from '../helpers/processes.js';
import { startPyroscope } from '../helpers/pyroscope-server.js';

const { cleanup, requireGo, tempDir, goTarget } = goSuite('pprof-target-auth-');
const q = (s: string) => JSON.stringify(s);
const basic = (user: string, pass: string) => `Basic ${Buffer.from(`${user}:${pass}`).toString('base64')}`;

const TOKEN_1 = 'sa-token-one-7Fq2';
const TOKEN_2 = 'sa-token-two-9Lm4';
const PASS_1 = 'pass-one-3Rt8';
const PASS_2 = 'pass-two-5Wd1';

/** Writes `text` to a new file and renames it over `file` (an atomic replace, a new inode). */
function replaceFile(file: string, text: string): void {
  writeFileSync(`${file}.new`, text);
  renameSync(`${file}.new`, file);
}

describe('per-target credentials and tenants', () => {
  it('rotated token and password are used from the next scrape; tenants per profile; an http target of a block with credentials is not contacted', { timeout: 120_000 }, async () => {
    requireGo();
    const dir = tempDir();
    const go = await goTarget();
    const tokenFile = join(dir, 'token');
    const passFile = join(dir, 'password');
    writeFileSync(tokenFile, `${TOKEN_1}\n`);
    writeFileSync(passFile, `${PASS_1}\n`);

    const proxy = async (accept: string) => {
      const p = await new AuthProxy(go.url, accept).start();
      cleanup.add(() => p.close());
      return p;
    };
    const staticBearer = await proxy(`Bearer ${TOKEN_1}`);
    const staticBasic = await proxy(basic('scraper', PASS_1));
    const discovered = await proxy(`Bearer ${TOKEN_1}`);
    const refused = await proxy(`Bearer ${TOKEN_1}`);
    const pyro = await startPyroscope();
    cleanup.add(() => pyro.close());

    const sdDir = join(dir, 'sd');
    mkdirSync(sdDir);
    writeFileSync(join(sdDir, 'tenants.json'), JSON.stringify([{ targets: [discovered.host], labels: { team: 'payments', service: 'ledger' } }]));
    writeFileSync(join(sdDir, 'plain.json'), JSON.stringify([{ targets: [refused.host], labels: { service: 'plain' } }]));

    const config = join(dir, 'auth.conf');
    const common = ['interval = "10s"', 'enabled_types = ["goroutine"]'];
    writeFileSync(
      config,
      [
        '[agent]',
        'listen = ""',
        `data_dir = ${q(join(dir, 'data'))}`,
        'log_level = "info"',
        '',
        '[[inputs.profile.go]]',
        `url = ${q(staticBearer.url)}`,
        'service = "static-bearer"',
        ...common,
        `bearer_token_file = ${q(tokenFile)}`,
        '',
        '[[inputs.profile.go]]',
        `url = ${q(staticBasic.url)}`,
        'service = "static-basic"',
        ...common,
        `basic_auth = { username = "scraper", password_file = ${q(passFile)} }`,
        '',
        '[[inputs.profile.go]]',
        ...common,
        `bearer_token_file = ${q(tokenFile)}`,
        'allow_insecure_credentials = true',
        '[inputs.profile.go.file_sd]',
        `files = [${q(join(sdDir, 'tenants.json'))}]`,
        '[[inputs.profile.go.relabel_configs]]',
        'source_labels = ["team"]',
        'regex = "(.+)"',
        'target_label = "__tenant_id__"',
        'replacement = "team-$1"',
        '',
        '[[inputs.profile.go]]', // line 33
        ...common,
        `bearer_token_file = ${q(tokenFile)}`,
        '[inputs.profile.go.file_sd]',
        `files = [${q(join(sdDir, 'plain.json'))}]`,
        '',
        '[[outputs.pyroscope]]',
        `url = ${q(pyro.url)}`,
        'tenant_id = "output-default"',
        '',
      ].join('\n'),
    );

    const c = spawnCollector(['-c', config]);
    cleanup.add(() => c.kill());
    const ok = (p: AuthProxy, after = 0) => p.requests.filter((r) => r.status === 200 && r.atMs >= after).length;
    await waitFor(() => ok(staticBearer) >= 1 && ok(staticBasic) >= 1 && ok(discovered) >= 1, 30_000, 'a first authorized scrape of each target');

    // Rotate: the proxies take only the new credentials from this moment on.
    const rotatedAt = Date.now();
    replaceFile(tokenFile, `${TOKEN_2}\n`);
    replaceFile(passFile, `${PASS_2}\n`);
    staticBearer.accept = `Bearer ${TOKEN_2}`;
    discovered.accept = `Bearer ${TOKEN_2}`;
    staticBasic.accept = basic('scraper', PASS_2);
    await waitFor(() => ok(staticBearer, rotatedAt) >= 1 && ok(staticBasic, rotatedAt) >= 1 && ok(discovered, rotatedAt) >= 1, 30_000, 'an authorized scrape of each target after the rotation');
    await waitFor(() => pyro.accepted.length >= 6, 15_000, 'the profiles at Pyroscope');
    c.signal('SIGTERM');
    assert.equal((await c.waitExit(20_000)).code, 0);

    for (const [name, p, before, after] of [
      ['bearer', staticBearer, `Bearer ${TOKEN_1}`, `Bearer ${TOKEN_2}`],
      ['basic', staticBasic, basic('scraper', PASS_1), basic('scraper', PASS_2)],
      ['discovered', discovered, `Bearer ${TOKEN_1}`, `Bearer ${TOKEN_2}`],
    ] as const) {
      // A request already on its way when the files changed may carry the old one: a 500 ms margin.
      const early = p.requests.filter((r) => r.atMs < rotatedAt);
      const late = p.requests.filter((r) => r.atMs >= rotatedAt + 500);
      assert.ok(early.length > 0 && late.length > 0, `${name}: scrapes before and after the rotation`);
      assert.deepEqual([...new Set(early.map((r) => r.authorization))], [before], `${name}: before the rotation`);
      assert.deepEqual([...new Set(late.map((r) => r.authorization))], [after], `${name}: after the rotation, the new credentials`);
      assert.deepEqual(p.requests.filter((r) => r.status !== 200 && r.atMs >= rotatedAt + 500), [], `${name}: no 401 after the rotation`);
      assert.ok(p.requests.every((r) => r.path === '/debug/pprof/goroutine'), name);
    }

    // Tenants, per profile: the relabel rule's for the discovered target, the output's for the others.
    assert.deepEqual(pyro.rejections, []);
    const tenants = new Map<string, Set<string | undefined>>();
    for (const a of pyro.accepted) {
      const inst = a.labels.instance!;
      if (!tenants.has(inst)) tenants.set(inst, new Set());
      tenants.get(inst)!.add(a.headers['x-scope-orgid'] as string | undefined);
    }
    assert.deepEqual([...tenants.get(discovered.host)!], ['team-payments']);
    assert.deepEqual([...tenants.get(staticBearer.host)!], ['output-default']);
    assert.deepEqual([...tenants.get(staticBasic.host)!], ['output-default']);

    // The http target of the block without allow_insecure_credentials: never contacted, and said.
    assert.deepEqual(refused.requests, []);
    assert.equal(tenants.has(refused.host), false);
    const said = c.logLines().filter((l) => l.level === 'warn' && typeof l.msg === 'string' && l.msg.includes(`not scraped: http://${refused.host}/debug/pprof is http, and the block on line 33 sends a bearer token`));
    assert.equal(said.length, 1, `said once when it started failing; lines about it: ${JSON.stringify(c.logLines().filter((l) => JSON.stringify(l).includes(refused.host)))}`);

    // No credential in any line the collector printed.
    const all = `${c.stdout}${c.stderr}`;
    for (const secret of [TOKEN_1, TOKEN_2, PASS_1, PASS_2]) assert.ok(!all.includes(secret), `the collector printed ${secret}`);
  });
});
