// What a SIGHUP can change in [agent]. Targets, outputs, shard, hostname and
// shutdown_grace are applied by the collector in place; log_level is applied
// to the running logger; the rest is fixed for the life of the process (the
// status server's socket, the spool and the worker threads are opened once)
// and is reported as waiting for a restart instead of being ignored silently.

import type { AgentConfig } from './types.js';

/** [agent] keys that take effect only at the next start, with how each is compared. */
const RESTART_ONLY: ReadonlyArray<readonly [key: string, get: (a: AgentConfig) => unknown]> = [
  ['listen', (a) => a.listen],
  ['data_dir', (a) => a.dataDir],
  ['spool_max_bytes', (a) => a.spoolMaxBytes],
  ['spool_max_age', (a) => a.spoolMaxAgeMs],
  ['profile_workers', (a) => a.profileWorkers],
  ['compression_level', (a) => a.compressionLevel],
  // Compared by value; the server's certificate and credentials are read when it starts.
  ['web', (a) => JSON.stringify(a.web ?? null)],
];

export interface AgentReloadPlan {
  /** The log level to set now, when the file's changed and the command line does not fix it. */
  readonly logLevel?: AgentConfig['logLevel'];
  /** Keys whose new value waits for a restart (compared with what runs). */
  readonly needRestart: readonly string[];
}

/**
 * `running`: the [agent] the process started with (restart-only keys keep
 * those values whatever later reloads said); `current`: the last applied
 * config; `next`: the reloaded one.
 */
export function agentReloadPlan(running: AgentConfig, current: AgentConfig, next: AgentConfig, logLevelFromCli: boolean): AgentReloadPlan {
  const needRestart = RESTART_ONLY.filter(([, get]) => get(running) !== get(next)).map(([key]) => key);
  return { ...(!logLevelFromCli && next.logLevel !== current.logLevel ? { logLevel: next.logLevel } : {}), needRestart };
}
