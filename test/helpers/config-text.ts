// Config tests on TOML text: load it as the collector does, or get the
// FILE:LINE: key.path: message lines it is refused with.

import assert from 'node:assert/strict';
import { ConfigError, formatIssue } from '../../src/config/errors.js';
import { parseConfig } from '../../src/config/load.js';
import type { Config } from '../../src/config/types.js';

/** Lines joined with \n: element i is line i + 1. */
export const doc = (...lines: string[]): string => lines.join('\n') + '\n';

export function loadText(source: string, file: string, env: Record<string, string> = {}): Config {
  return parseConfig(source, file, { env, osHostname: 'agent-host' });
}

/** The formatted issues the text is refused with; fails the test when it loads. */
export function issuesOfText(source: string, file: string, env: Record<string, string> = {}): string[] {
  try {
    loadText(source, file, env);
  } catch (err) {
    if (err instanceof ConfigError) return err.issues.map(formatIssue);
    throw err;
  }
  assert.fail(`expected a ConfigError for:\n${source}`);
}
