// --check --discover: runs each discovery block once (as --once does), and
// reports what it found: every target's labels before and after the block's
// relabel_configs, and what would be scraped. Nothing is scraped.

import type { Config } from './config/types.js';
import { sleep, type Clock } from './core/clock.js';
import type { Logger } from './core/log.js';
import { DiscoveryManager, type ExplainedBlock } from './discovery/manager.js';
import { providerFactory } from './discovery/providers.js';
import { WorkerRelabeler } from './discovery/relabeler.js';

export async function discoverForCheck(config: Config, deps: { readonly clock: Clock; readonly logger: Logger; readonly waitMs: number }): Promise<ExplainedBlock[]> {
  if (config.templates.length === 0) return [];
  const relabeler = new WorkerRelabeler();
  const manager = new DiscoveryManager(providerFactory({ clock: deps.clock, logger: deps.logger, env: process.env }), deps.logger, () => undefined, { relabeler, explain: true });
  try {
    manager.sync(config.templates);
    await sleep(deps.clock, deps.waitMs);
    await manager.settle();
    return manager.explain();
  } finally {
    await manager.stop();
    await relabeler.close();
  }
}
