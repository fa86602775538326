// node --import tsx bench/log-lines.ts sync|async [--lines 40000] | cat > /dev/null
//
// The main thread's CPU per log line: `async` is the collector's logger
// (src/core/log.ts: buffered, written through the libuv pool), `sync` the
// same logger on a synchronous stdout (one write(2) per line, as before). Lines
// come in bursts of 20 a millisecond, like a burst of failing scrapes. Pipe
// stdout somewhere (a terminal is slower than a pipe; `| (sleep 3; cat) >
// /dev/null` is a reader that stalls); the figures go to stderr. Prints figures; asserts nothing.

import { readFileSync } from 'node:fs';
import { parseArgs } from 'node:util';
import { pino } from 'pino';
import { createLogger, flushLogs, type Logger } from '../src/core/log.js';

/** CPU ms (user + system) of this process's main thread so far (Linux, 10 ms ticks). */
function mainThreadCpuMs(): number {
  const stat = readFileSync(`/proc/self/task/${process.pid}/stat`, 'utf8');
  const f = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
  return (Number(f[11]) + Number(f[12])) * 10;
}

const { values, positionals } = parseArgs({ allowPositionals: true, options: { lines: { type: 'string', default: '40000' } } });
const mode = positionals[0];
if (mode !== 'sync' && mode !== 'async') throw new Error('usage: bench/log-lines.ts sync|async [--lines N]');
const n = Number(values.lines);
const logger: Logger = createLogger({ level: 'info', format: 'json', ...(mode === 'sync' ? { destination: pino.destination({ fd: 1, sync: true }) } : {}) });
const BURST = 20;
const cpu0 = mainThreadCpuMs();
const t0 = performance.now();
let i = 0;
await new Promise<void>((done) => {
  const tick = () => {
    for (let k = 0; k < BURST && i < n; k++, i++) {
      logger.warn({ target: 'http://10.0.0.1:6060', type: 'heap', err: { code: 'ECONNREFUSED', message: 'connect ECONNREFUSED 10.0.0.1:6060' } }, 'scrape failed');
    }
    if (i < n) setTimeout(tick, 1);
    else done();
  };
  tick();
});
const loopMs = performance.now() - t0;
await flushLogs(logger);
process.stderr.write(
  `${mode}: ${n} lines, main-thread CPU ${(((mainThreadCpuMs() - cpu0) * 1000) / n).toFixed(1)} µs per line; ` +
    `the logging loop took ${(loopMs / 1000).toFixed(1)} s (${((n / BURST) * 1.1 / 1000).toFixed(1)} s or more on an idle machine: a slow reader blocks a synchronous stdout)\n`,
);
