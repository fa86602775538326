// A Collector on a FakeClock against fake pprof servers on loopback: the
// setup the component tests of the collector share.

import { join } from 'node:path';
import { parseConfig, type Config } from '../../src/config/index.js';
import type { FakeClock } from './fake-clock.js';
import { FakePprofServer } from './fake-pprof.js';
import { sleep, type Cleanup } from './processes.js';

/**
 * A config living in `dir` (data_dir there, no status server, a file output
 * at `<dir>/out`): `body` holds the inputs, `agent` extra [agent] lines.
 */
export function rigConfig(dir: string, body: readonly string[], agent: readonly string[] = []): Config {
  const q = JSON.stringify;
  const text = ['[agent]', `data_dir = ${q(join(dir, 'data'))}`, 'listen = ""', ...agent, ...body, '[[outputs.file]]', `dir = ${q(join(dir, 'out'))}`, ''];
  return parseConfig(text.join('\n'), 'rig.conf', { env: {}, osHostname: 'host' });
}

/** `n` fake pprof servers whose request times come from `clock`, closed by `cleanup`. */
export async function fakePprofServers(n: number, clock: FakeClock, cleanup: Cleanup): Promise<FakePprofServer[]> {
  const servers: FakePprofServer[] = [];
  for (let i = 0; i < n; i++) {
    const s = await new FakePprofServer({ now: () => clock.now() }).start();
    cleanup.add(() => s.close());
    servers.push(s);
  }
  return servers;
}

/**
 * Moves the fake clock a second at a time, `seconds` times or until `until`
 * says so; after each step the real loopback HTTP of the scrapes that came
 * due gets `settleMs` to finish.
 */
export async function stepSeconds(clock: FakeClock, seconds: number, opts: { until?: () => boolean; settleMs?: number } = {}): Promise<void> {
  for (let s = 0; s < seconds && !(opts.until?.() ?? false); s++) {
    await clock.advance(1_000);
    await sleep(opts.settleMs ?? 8);
  }
}
