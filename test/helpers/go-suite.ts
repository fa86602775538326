// The per-file setup of an integration test that runs the Go fixture: a
// cleanup after each test, the fixture built once (a missing Go fails the
// tests, it does not skip them), temp dirs, and Go targets stopped with the
// test that started them.

import assert from 'node:assert/strict';
import { before } from 'node:test';
import { goFixtureProblem, startGoTarget, type GoTargetOptions, type RunningGoTarget } from '../../fixtures/go-target/harness.js';
import { cleanupAfterEach, type Cleanup } from './processes.js';

export interface GoSuite {
  readonly cleanup: Cleanup;
  /** Fails the test with the reason when Go or the fixture build is missing. */
  requireGo(): void;
  /** A temp dir removed after the test. */
  tempDir(): string;
  /** A running fixture, killed after the test. */
  goTarget(opts?: GoTargetOptions): Promise<RunningGoTarget>;
}

/** Call at the top level of a test file; `tempPrefix` names its temp dirs. */
export function goSuite(tempPrefix: string): GoSuite {
  const cleanup = cleanupAfterEach();
  let problem: string | null = null;
  before(() => {
    problem = goFixtureProblem();
  });
  return {
    cleanup,
    requireGo: () => {
      if (problem) assert.fail(problem);
    },
    tempDir: () => cleanup.tempDir(tempPrefix),
    goTarget: async (opts = {}) => {
      const t = await startGoTarget(opts);
      cleanup.add(() => t.kill());
      return t;
    },
  };
}
