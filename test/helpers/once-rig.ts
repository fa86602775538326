// `collector --once` against one Go fixture, shipping to a DataKit intake and
// a Pyroscope double (or to files), with the fixture's request log: what
// the end-to-end tests of profile types and delta sources run.

import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import type { TestContext } from 'node:test';
import type { GoTargetOptions, RunningGoTarget } from '../../fixtures/go-target/harness.js';
import { startIntake, type DatakitIntake } from './datakit-intake.js';
import type { GoSuite } from './go-suite.js';
import { parseTable } from './once-table.js';
import { spawnCollector } from './processes.js';
import { startPyroscope, type PyroscopeServer } from './pyroscope-server.js';

export interface OnceRig {
  readonly suite: GoSuite;
  readonly target: RunningGoTarget;
  readonly requestLog: string;
  readonly intake: DatakitIntake;
  readonly pyro: PyroscopeServer;
  readonly dir: string;
}

/** A fixture started with `opts` (and a request log), the two doubles; all stopped after the test. */
export async function onceRig(suite: GoSuite, opts: GoTargetOptions = {}): Promise<OnceRig> {
  suite.requireGo();
  const dir = suite.tempDir();
  const requestLog = join(dir, 'requests.jsonl');
  const target = await suite.goTarget({ ...opts, requestLog });
  const intake = await startIntake();
  suite.cleanup.add(() => intake.close());
  const pyro = await startPyroscope();
  suite.cleanup.add(() => pyro.close());
  return { suite, target, requestLog, intake, pyro, dir };
}

/**
 * Runs `collector --once` with one [[inputs.profile.go]] block on the
 * fixture per entry of `blocks` (its lines after url, interval,
 * profile_duration, service, env, version); to the doubles, or to a file
 * output with `toFiles`. Returns its exit, output and table.
 */
export async function runOnce(r: OnceRig, blocks: readonly string[][], t: TestContext, opts: { profileDuration: string; toFiles?: boolean }) {
  const q = JSON.stringify;
  const lines = ['[agent]', 'hostname = "once-host"', 'listen = ""', `data_dir = ${q(join(r.dir, 'data'))}`, ''];
  for (const b of blocks) {
    lines.push('[[inputs.profile.go]]', `url = ${q(r.target.url)}`, 'interval = "10s"', `profile_duration = ${q(opts.profileDuration)}`, 'service = "once"', 'env = "ci"', 'version = "1.0.0"', ...b, '');
  }
  if (opts.toFiles) lines.push('[[outputs.file]]', `dir = ${q(join(r.dir, 'profiles'))}`, '');
  else lines.push('[[outputs.datakit]]', `url = ${q(r.intake.url)}`, '[[outputs.pyroscope]]', `url = ${q(r.pyro.url)}`, '');
  const file = join(r.dir, 'profile.conf');
  writeFileSync(file, lines.join('\n'));
  const c = spawnCollector(['-c', file, '--once']);
  r.suite.cleanup.add(() => c.kill());
  const exit = await c.waitExit(60_000);
  t.diagnostic(`--once:\n${c.stdout}`);
  return { exit, stdout: c.stdout, stderr: c.stderr, ...parseTable(c.stdout) };
}
