// The Pyroscope double's /ingest checked against a client we did not write:
// the real @pyroscope/nodejs exporter (0.6.x) uploads a recorded Go profile,
// and the double must accept it as Pyroscope would (format=pprof, the whole
// body one raw gzipped pprof, from/until in Unix seconds).

import assert from 'node:assert/strict';
import { createRequire } from 'node:module';
import { join } from 'node:path';
import { after, before, beforeEach, describe, it } from 'node:test';
import { gunzipSync } from 'node:zlib';
import { Profile } from 'pprof-format';
import { ROOT } from '../helpers/processes.js';
import { PyroscopeServer, startPyroscope } from '../helpers/pyroscope-server.js';
import { fixtureProfile } from '../helpers/records.js';

interface ProfileExport {
  readonly profile: Profile;
  readonly startedAt: Date;
  readonly stoppedAt: Date;
  readonly sampleRate?: number;
}
interface ApiExporter {
  export(e: ProfileExport): Promise<void>;
}
type ApiExporterCtor = new (appName: string, authToken: string | undefined, serverAddress: string, config: Record<string, unknown>) => ApiExporter;

const require = createRequire(import.meta.url);
const { PyroscopeApiExporter } = require(join(ROOT, 'node_modules/@pyroscope/nodejs/dist/cjs/pyroscope-api-exporter.js')) as { PyroscopeApiExporter: ApiExporterCtor };

describe('@pyroscope/nodejs PyroscopeApiExporter -> the double /ingest', () => {
  let pyro: PyroscopeServer;
  before(async () => {
    pyro = await startPyroscope();
  });
  after(() => pyro.close());
  beforeEach(() => pyro.reset());

  const startedAt = new Date('2026-11-22T00:45:12.345Z');
  const stoppedAt = new Date('2026-11-22T00:45:22.999Z');

  for (const [fixture, name, sampleTypes] of [
    ['cpu.pb.gz', 'process_cpu', ['samples', 'cpu']],
    ['goroutine.pb.gz', 'goroutines', ['goroutine']],
    ['heap-2.pb.gz', 'memory', ['alloc_objects', 'alloc_space', 'inuse_objects', 'inuse_space']],
  ] as const) {
    it(`${fixture}: accepted as ${name}, with the app name and the time window`, async () => {
      const profile = Profile.decode(gunzipSync(fixtureProfile(fixture)));
      const exp = new PyroscopeApiExporter('node-client.app', undefined, pyro.url, {});
      await exp.export({ profile, startedAt, stoppedAt });
      // The exporter swallows failures (it only logs them through `debug`): the double's record is the proof.
      assert.deepEqual(
        pyro.rejections.map((r) => `${r.status} ${r.reason}`),
        [],
      );
      assert.equal(pyro.accepted.length, 1);
      const a = pyro.accepted[0]!;
      assert.equal(a.api, 'ingest');
      assert.equal(a.appName, 'node-client.app');
      assert.equal(a.labels.service_name, 'node-client.app');
      assert.equal(a.name, name);
      assert.deepEqual(a.sampleTypes, [...sampleTypes]);
      assert.equal(a.query!.format, 'pprof');
      assert.equal(a.query!.spyName, 'nodespy');
      assert.equal(a.headers['content-type'], 'application/octet-stream');
      assert.equal(a.sampleTypeConfig, undefined);
      assert.equal(a.gzipped, true);
      // Whole seconds, as the client sends them (10 digits).
      assert.equal(a.query!.from, '1795308312');
      assert.equal(a.query!.until, '1795308322');
      assert.equal(a.fromNs, 1_795_308_312_000_000_000n);
      assert.equal(a.untilNs, 1_795_308_322_000_000_000n);
      assert.equal(a.profile.sample.length, Profile.decode(gunzipSync(fixtureProfile(fixture))).sample.length);
    });
  }

  it('with an auth token: the Bearer header reaches the double, and a wrong one is refused (not recorded as accepted)', async () => {
    const authed = await startPyroscope({ expectAuthorization: 'Bearer node-token' });
    try {
      const profile = Profile.decode(gunzipSync(fixtureProfile('cpu.pb.gz')));
      await new PyroscopeApiExporter('node-client', 'node-token', authed.url, {}).export({ profile, startedAt, stoppedAt });
      assert.equal(authed.accepted.length, 1);
      assert.equal(authed.accepted[0]!.headers.authorization, 'Bearer node-token');
      await new PyroscopeApiExporter('node-client', 'other-token', authed.url, {}).export({ profile: Profile.decode(gunzipSync(fixtureProfile('cpu.pb.gz'))), startedAt, stoppedAt });
      assert.equal(authed.accepted.length, 1);
      assert.deepEqual(
        authed.rejections.map((r) => r.status),
        [401],
      );
    } finally {
      await authed.close();
    }
  });
});
