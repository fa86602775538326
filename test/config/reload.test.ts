// agentReloadPlan: on SIGHUP, log_level applies at once (unless --log-level
// fixed it), and the [agent] keys that only a restart can apply are named,
// compared with what the process runs, not with the last reload.
//
//   node --import tsx --test test/config/reload.test.ts

import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { parseConfig } from '../../src/config/index.js';
import { agentReloadPlan } from '../../src/config/reload.js';
import type { AgentConfig } from '../../src/config/types.js';

function agent(lines: string[]): AgentConfig {
  const text = ['[agent]', ...lines, '[[inputs.profile.go]]', 'url = "http://127.0.0.1:6060"', ''].join('\n');
  return parseConfig(text, 'reload.conf', { env: {}, osHostname: 'host' }).agent;
}

describe('agentReloadPlan', () => {
  const base = agent(['log_level = "info"', 'listen = "127.0.0.1:9466"', 'data_dir = "/var/lib/c"']);

  it('nothing changed: nothing to do', () => {
    assert.deepEqual(agentReloadPlan(base, base, base, false), { needRestart: [] });
  });

  it('log_level applies now, unless the command line set it', () => {
    const debug = agent(['log_level = "debug"', 'listen = "127.0.0.1:9466"', 'data_dir = "/var/lib/c"']);
    assert.deepEqual(agentReloadPlan(base, base, debug, false), { logLevel: 'debug', needRestart: [] });
    assert.deepEqual(agentReloadPlan(base, base, debug, true), { needRestart: [] });
    // Back to what runs since the last reload: nothing new.
    assert.deepEqual(agentReloadPlan(base, debug, debug, false), { needRestart: [] });
  });

  it('listen, data_dir, spool bounds and profile_workers wait for a restart, and are named', () => {
    const next = agent([
      'log_level = "info"',
      'listen = "127.0.0.1:9999"',
      'data_dir = "/srv/c"',
      'spool_max_bytes = "10MiB"',
      'spool_max_age = "1h"',
      'profile_workers = 3',
      'shutdown_grace = "30s"',
    ]);
    assert.deepEqual(agentReloadPlan(base, base, next, false).needRestart, ['listen', 'data_dir', 'spool_max_bytes', 'spool_max_age', 'profile_workers']);
  });

  it('compared with what the process runs: a second reload with the same new listen still says it waits', () => {
    const moved = agent(['log_level = "info"', 'listen = "127.0.0.1:9999"', 'data_dir = "/var/lib/c"']);
    assert.deepEqual(agentReloadPlan(base, moved, moved, false).needRestart, ['listen']);
    assert.deepEqual(agentReloadPlan(base, moved, base, false).needRestart, [], 'back to the running value');
  });
});
