// The example deployment files are meant to be used as they are: the config
// in the ConfigMap must load, the StatefulSet's replicas must match the
// shard count, RBAC must allow what kubernetes_sd does, and the systemd unit
// must reload with SIGHUP.

import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, test } from 'node:test';
import { parseAllDocuments } from 'yaml';
import { parseConfig } from '../../src/config/load.js';
import { ROOT } from '../helpers/processes.js';

type Doc = { kind: string; metadata: { name: string }; [k: string]: unknown };

const docs = parseAllDocuments(readFileSync(join(ROOT, 'deploy', 'kubernetes', 'collector.yaml'), 'utf8')).map((d) => {
  assert.deepEqual(d.errors, [], 'the manifest is valid YAML');
  return d.toJS() as Doc;
});
const byKind = (kind: string) => docs.filter((d) => d.kind === kind);

describe('deploy/kubernetes/collector.yaml', () => {
  test('has the objects a discovering, sharded StatefulSet needs', () => {
    assert.deepEqual(
      docs.map((d) => d.kind).sort(),
      ['ClusterRole', 'ClusterRoleBinding', 'ConfigMap', 'Namespace', 'Service', 'ServiceAccount', 'StatefulSet'],
    );
  });

  test('the ConfigMap holds a valid config whose shard count is the replica count, and whose pods find their index', () => {
    const cm = byKind('ConfigMap')[0] as unknown as { data: { 'profile.conf': string } };
    const sts = byKind('StatefulSet')[0] as unknown as {
      metadata: { name: string };
      spec: { replicas: number; template: { spec: { serviceAccountName: string; containers: Array<{ args: string[]; volumeMounts: Array<{ mountPath: string }> }> } } };
    };
    for (let ordinal = 0; ordinal < sts.spec.replicas; ordinal++) {
      const config = parseConfig(cm.data['profile.conf'], 'profile.conf', { env: {}, osHostname: `${sts.metadata.name}-${ordinal}` });
      assert.deepEqual(config.agent.shard, { index: ordinal, count: sts.spec.replicas });
      assert.equal(config.templates.length, 1);
      assert.equal(config.templates[0]!.discovery?.kind, 'kubernetes_sd');
      assert.equal(config.outputs[0]!.kind, 'datakit');
      // The spool lives on the volume.
      assert.ok(sts.spec.template.spec.containers[0]!.volumeMounts.some((m) => m.mountPath === config.agent.dataDir));
    }
    assert.equal(sts.spec.template.spec.serviceAccountName, 'pprof-collector');
    assert.deepEqual(sts.spec.template.spec.containers[0]!.args.slice(0, 2), ['-c', '/etc/pprof-collector/profile.conf']);
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
});
