// The example deployment files are meant to be used as they are: the config
// in the ConfigMap must load, the StatefulSet's replicas must match the
// shard count, RBAC must allow what kubernetes_sd does, the status server is
// not the whole cluster's to read, the pods run as non-root on a read-only
// root filesystem with the spool writable, the image's data_dir is its
// user's, and the unit and the image say (and check) the Node they need.

import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, test } from 'node:test';
import { parseAllDocuments } from 'yaml';
import { parseConfig } from '../../src/config/load.js';
import type { Config } from '../../src/config/types.js';
import { isLoopbackListen } from '../../src/config/validate/web.js';
import { cleanupAfterAll, ROOT } from '../helpers/processes.js';

const cleanup = cleanupAfterAll();

type Doc = { kind: string; metadata: { name: string }; [k: string]: unknown };

const docs = parseAllDocuments(readFileSync(join(ROOT, 'deploy', 'kubernetes', 'collector.yaml'), 'utf8')).map((d) => {
  assert.deepEqual(d.errors, [], 'the manifest is valid YAML');
  return d.toJS() as Doc;
});
const byKind = (kind: string) => docs.filter((d) => d.kind === kind);

interface Mount {
  name: string;
  mountPath: string;
  readOnly?: boolean;
}
interface Container {
  args: string[];
  volumeMounts: Mount[];
  securityContext?: { readOnlyRootFilesystem?: boolean; allowPrivilegeEscalation?: boolean; capabilities?: { drop?: string[] } };
  readinessProbe?: { httpGet?: { path: string } };
  livenessProbe?: { httpGet?: { path: string } };
}
interface StatefulSet {
  metadata: { name: string };
  spec: {
    replicas: number;
    template: {
      metadata: { annotations?: Record<string, string> };
      spec: {
        serviceAccountName: string;
        securityContext?: { runAsNonRoot?: boolean; runAsUser?: number; fsGroup?: number };
        containers: Container[];
        volumes: Array<{ name: string; secret?: { secretName: string }; emptyDir?: object; configMap?: object }>;
      };
    };
    volumeClaimTemplates: Array<{ metadata: { name: string } }>;
  };
}
const sts = () => byKind('StatefulSet')[0] as unknown as StatefulSet;
const configText = () => (byKind('ConfigMap')[0] as unknown as { data: { 'profile.conf': string } }).data['profile.conf'];

/** The ConfigMap's config for pod `ordinal`, with the files it names (the token) replaced by readable ones here. */
function podConfig(ordinal: number, files: Readonly<Record<string, string>> = {}): Config {
  let text = configText();
  for (const [path, local] of Object.entries(files)) text = text.split(JSON.stringify(path)).join(JSON.stringify(local));
  return parseConfig(text, 'profile.conf', { env: {}, osHostname: `${sts().metadata.name}-${ordinal}` });
}
const TOKEN_PATH = /bearer_token_file = "([^"]+)"/.exec(configText())?.[1] ?? '';
let tokenHere = '';
function withToken(ordinal: number): Config {
  if (!tokenHere) {
    tokenHere = join(cleanup.tempDir('manifest-token-'), 'token');
    writeFileSync(tokenHere, 'f00dfeedf00dfeedf00dfeedf00dfeed\n');
  }
  return podConfig(ordinal, { [TOKEN_PATH]: tokenHere });
}

/** The Node version check the unit and the image run, taken from their text; run under a given version. */
function nodeCheck(text: string, version?: string): { status: number | null; stderr: string } {
  const m = /node -e "(.+)"$/m.exec(text);
  assert.ok(m, 'a node -e "..." version check');
  const js = `${version ? `Object.defineProperty(process.versions, 'node', { value: '${version}' });` : ''}${m[1]!}`;
  const res = spawnSync(process.execPath, ['-e', js], { encoding: 'utf8', timeout: 10_000 });
  return { status: res.status, stderr: res.stderr };
}

describe('deploy/kubernetes/collector.yaml', () => {
  test('has the objects a discovering, sharded StatefulSet needs', () => {
    assert.deepEqual(
      docs.map((d) => d.kind).sort(),
      ['ClusterRole', 'ClusterRoleBinding', 'ConfigMap', 'Namespace', 'Service', 'ServiceAccount', 'StatefulSet'],
    );
  });

  test('the ConfigMap holds a valid config whose shard count is the replica count, and whose pods find their index', () => {
    const set = sts();
    for (let ordinal = 0; ordinal < set.spec.replicas; ordinal++) {
      const config = withToken(ordinal);
      assert.deepEqual(config.agent.shard, { index: ordinal, count: set.spec.replicas });
      assert.equal(config.templates.length, 1);
      assert.equal(config.templates[0]!.discovery?.kind, 'kubernetes_sd');
      assert.equal(config.outputs[0]!.kind, 'datakit');
      // The spool lives on the volume.
      assert.ok(set.spec.template.spec.containers[0]!.volumeMounts.some((m) => m.mountPath === config.agent.dataDir));
    }
    assert.equal(set.spec.template.spec.serviceAccountName, 'pprof-collector');
    assert.deepEqual(set.spec.template.spec.containers[0]!.args.slice(0, 2), ['-c', '/etc/pprof-collector/profile.conf']);
  });

  test('the status server listens on the pod IP, so it asks for a token from a mounted Secret; the probes use the open paths; no annotation scrape that would get 401', () => {
    const config = withToken(0);
    assert.ok(!isLoopbackListen(config.agent.listen), `listen ${config.agent.listen}`);
    assert.equal(config.agent.web?.bearerToken, 'f00dfeedf00dfeedf00dfeedf00dfeed', 'the token is read from bearer_token_file');
    assert.deepEqual(config.notices.filter((n) => n.path === 'agent.listen'), [], 'no "open to anyone" notice');
    const spec = sts().spec.template.spec;
    const c = spec.containers[0]!;
    const mount = c.volumeMounts.find((m) => TOKEN_PATH.startsWith(`${m.mountPath}/`));
    assert.ok(mount, `a volume is mounted where ${TOKEN_PATH} is`);
    assert.equal(mount.readOnly, true);
    assert.equal(spec.volumes.find((v) => v.name === mount.name)?.secret?.secretName, 'pprof-collector-web');
    assert.match(readFileSync(join(ROOT, 'deploy', 'kubernetes', 'collector.yaml'), 'utf8'), /kubectl -n pprof-collector create secret generic pprof-collector-web/, 'the comment says how to make the Secret');
    assert.deepEqual([c.readinessProbe?.httpGet?.path, c.livenessProbe?.httpGet?.path], ['/readyz', '/healthz']);
    assert.equal(sts().spec.template.metadata.annotations?.['prometheus.io/scrape'], undefined);
  });

  test('the pods run as non-root on a read-only root filesystem; the spool volume and /tmp are the only writable mounts; fsGroup makes the volume theirs', () => {
    const spec = sts().spec.template.spec;
    assert.equal(spec.securityContext?.runAsNonRoot, true);
    assert.ok((spec.securityContext?.runAsUser ?? 0) > 0, 'runAsUser');
    assert.equal(spec.securityContext?.fsGroup, spec.securityContext?.runAsUser, 'fsGroup: the data volume is writable by the user');
    const c = spec.containers[0]!;
    assert.equal(c.securityContext?.readOnlyRootFilesystem, true);
    assert.equal(c.securityContext?.allowPrivilegeEscalation, false);
    assert.deepEqual(c.securityContext?.capabilities?.drop, ['ALL']);
    const writable = c.volumeMounts.filter((m) => m.readOnly !== true);
    assert.deepEqual(writable.map((m) => m.mountPath).sort(), [withToken(0).agent.dataDir, '/tmp'].sort());
    const data = writable.find((m) => m.mountPath === withToken(0).agent.dataDir)!;
    assert.ok(sts().spec.volumeClaimTemplates.some((v) => v.metadata.name === data.name), 'data_dir is the persistent volume');
    assert.ok(spec.volumes.find((v) => v.name === writable.find((m) => m.mountPath === '/tmp')!.name)?.emptyDir, '/tmp is an emptyDir');
  });

  test('RBAC lets the service account list and watch pods', () => {
    const role = byKind('ClusterRole')[0] as unknown as { rules: Array<{ resources: string[]; verbs: string[] }> };
    const pods = role.rules.find((r) => r.resources.includes('pods'));
    assert.ok(pods);
    for (const v of ['list', 'watch']) assert.ok(pods.verbs.includes(v), v);
    const binding = byKind('ClusterRoleBinding')[0] as unknown as { subjects: Array<{ name: string; namespace: string }>; roleRef: { name: string } };
    assert.deepEqual(binding.subjects[0], { kind: 'ServiceAccount', name: 'pprof-collector', namespace: 'pprof-collector' });
    assert.equal(binding.roleRef.name, 'pprof-collector');
  });
});

describe('deploy/systemd/pprof-collector.service', () => {
  const unit = readFileSync(join(ROOT, 'deploy', 'systemd', 'pprof-collector.service'), 'utf8');
  test('runs the collector with a config, reloads with SIGHUP, stops with SIGTERM', () => {
    assert.match(unit, /^ExecStart=\/usr\/bin\/node \/opt\/pprof-collector\/bin\/collector\.js -c \/etc\/pprof-collector\/profile\.conf/m);
    assert.match(unit, /^ExecReload=\/bin\/kill -HUP \$MAINPID$/m);
    assert.match(unit, /^KillSignal=SIGTERM$/m);
    assert.match(unit, /^StateDirectory=pprof-collector$/m);
  });

  test('says it needs Node.js 20.6 or later, and checks it before starting (no $ or % that systemd would expand)', () => {
    assert.match(unit, /Node\.js 20\.6 or later/);
    const pre = /^ExecStartPre=(.*)$/m.exec(unit)?.[1] ?? '';
    assert.match(pre, /^\/usr\/bin\/node -e "/);
    assert.doesNotMatch(pre, /[$%]/);
    assert.equal(nodeCheck(unit).status, 0, 'this Node passes');
    assert.equal(nodeCheck(unit, '20.6.0').status, 0);
    const old = nodeCheck(unit, '20.5.1');
    assert.equal(old.status, 1);
    assert.match(old.stderr, /needs Node\.js 20\.6 or later, found 20\.5\.1/);
    assert.equal(nodeCheck(unit, '18.20.4').status, 1);
  });
});

describe('deploy/Dockerfile', () => {
  const file = readFileSync(join(ROOT, 'deploy', 'Dockerfile'), 'utf8');
  const lines = file.split('\n').filter((l) => l.trim() !== '' && !l.startsWith('#'));
  test('a Node 20 image that checks for 20.6 or later at build time', () => {
    assert.match(file, /Node\.js 20\.6 or later/);
    assert.match(lines.find((l) => l.startsWith('FROM '))!, /^FROM node:(2[0-9]|[3-9][0-9])[-.]/);
    assert.equal(nodeCheck(file, '20.5.1').status, 1);
    assert.equal(nodeCheck(file).status, 0);
  });

  test("runs as a numeric non-root user whose own directory is the StatefulSet's data_dir, which is also the working directory", () => {
    const user = /^USER (\d+)(?::(\d+))?$/m.exec(file);
    assert.ok(user, 'USER uid[:gid], numeric (runAsNonRoot can check it)');
    assert.notEqual(user[1], '0');
    const dataDir = withToken(0).agent.dataDir;
    assert.ok(lines.some((l) => l.startsWith('RUN ') && l.includes(`mkdir -p ${dataDir}`) && l.includes(`chown ${user[1]}:${user[2] ?? user[1]} ${dataDir}`)), `${dataDir} is made and given to ${user[1]}`);
    const workdirs = lines.filter((l) => l.startsWith('WORKDIR '));
    assert.equal(workdirs.at(-1), `WORKDIR ${dataDir}`, 'a relative data_dir ("data") lands in the writable directory');
    assert.ok(lines.indexOf(`USER ${user[0]!.slice(5)}`) > lines.findIndex((l) => l.includes('chown')), 'USER after the chown');
    assert.equal(String(sts().spec.template.spec.securityContext?.runAsUser), user[1], "the pod's runAsUser is the image's user");
    assert.match(file, /^CMD \["-c", "\/etc\/pprof-collector\/profile\.conf"\]$/m);
  });
});
