// --once: one full cycle of every target and type without the scheduler
// (cumulative types: a baseline, then a second scrape one CPU window later),
// a wait for delivery, and a table: target, type, result, samples, bytes,
// delivered, error and hint.

import { Collector } from './collector.js';
import type { Config, LogLevel } from './config/types.js';
import { sleep, systemClock, type Clock } from './core/clock.js';
import { createLogger, type LogFormat } from './core/log.js';
import { redactedUrl, redactUrlSecrets } from './core/redact.js';
import type { Target } from './core/target.js';
import { isCumulative, typeSpec, type ProfileTypeName } from './profile/types.js';
import type { CollectOutcome } from './server/health.js';
import { wholeTargetHint } from './server/hints.js';

/** Where --once writes: the table to stdout, the logs to stderr. */
export interface OnceIO {
  readonly stdout: (s: string) => void;
  readonly stderr: (s: string) => void;
}

/** How long --once lets discovery report before it scrapes what was found. */
export const DISCOVER_ONCE_WAIT_MS = 3_000;

/** Starts the discoveries, gives them a moment to report, stops them. */
async function discoverOnce(collector: Collector, config: Config, clock: Clock): Promise<void> {
  collector.discovery.sync(config.templates);
  await sleep(clock, DISCOVER_ONCE_WAIT_MS);
  // What was found by now, relabeled (relabel_configs run off the main thread).
  await collector.discovery.settle();
  await collector.discovery.stop();
}

/**
 * One full cycle of every target and type, without the scheduler:
 * cumulative types take a baseline, then a second scrape one CPU window
 * later (so every type covers the same window). Resolves with the last
 * outcome of each (target, type).
 */
export async function collectOnce(
  collector: Collector,
  config: Config,
  clock: Clock,
  signal?: AbortSignal,
): Promise<Array<{ target: Target; type: ProfileTypeName; outcome: CollectOutcome }>> {
  await collector.openOutputs();
  if (config.templates.length > 0) await discoverOnce(collector, config, clock);
  const targets = collector.resolveNow();
  const perTarget = targets.map(async (target) => {
    const types = target.config.enabledTypes;
    const isDelta = (t: ProfileTypeName) => isCumulative(typeSpec(t, target.config.customTypes));
    const cumulative = types.filter(isDelta);
    const baselines = await Promise.all(cumulative.map((type) => collector.collect(target, type, signal)));
    const gapMs = target.config.profileDurationMs;
    const rest = types.filter((t) => !isDelta(t)).map(async (type) => ({ type, outcome: await collector.collect(target, type, signal) }));
    const second = (async () => {
      if (cumulative.length === 0) return [];
      await sleep(clock, gapMs, signal);
      return Promise.all(
        cumulative.map(async (type, i) => {
          const first = baselines[i]!;
          // A failed baseline is the answer: a second scrape cannot make a delta.
          if (first.result === 'failed') return { type, outcome: first };
          return { type, outcome: await collector.collect(target, type, signal) };
        }),
      );
    })();
    const all = [...(await Promise.all(rest)), ...(await second)];
    const hint = wholeTargetHint(all.map((r) => r.outcome));
    return all.map(({ type, outcome }) => ({ target, type, outcome: hint ? { ...outcome, hint } : outcome }));
  });
  return (await Promise.all(perTarget)).flat();
}

function pad(rows: string[][]): string {
  const widths = rows[0]!.map((_, i) => Math.max(...rows.map((r) => (r[i] ?? '').length)));
  return rows.map((r) => r.map((c, i) => (i === r.length - 1 ? c : c.padEnd(widths[i]!))).join('  ')).join('\n');
}

/** How long --once waits for delivery: the slowest output's timeout (a file write: 10 s) plus a margin. */
export function onceDeliveryWaitMs(outputs: Config['outputs']): number {
  return Math.max(...outputs.map((o) => (o.kind === 'file' ? 10_000 : o.timeoutMs))) + 5_000;
}

export function renderOnceTable(
  rows: Array<{ target: string; type: string; outcome: CollectOutcome; delivered: string }>,
): string {
  const table = [['TARGET', 'TYPE', 'RESULT', 'SAMPLES', 'BYTES', 'DELIVERED', 'ERROR / HINT']];
  for (const r of rows) {
    const o = r.outcome;
    const msg = redactUrlSecrets([o.error?.message, o.hint].filter(Boolean).join(' -- '));
    table.push([redactedUrl(r.target), r.type, o.result, String(o.samples), String(o.bytes), r.delivered, msg]);
  }
  return `${pad(table)}\n`;
}

/**
 * --once: one full cycle, a table on stdout (logs on stderr); true when
 * every profile was scraped and delivered.
 */
export async function runOnce(config: Config, logLevel: LogLevel, logFormat: LogFormat, io: OnceIO): Promise<boolean> {
  // The table goes to stdout; logs to stderr, in the format asked for.
  const logger = createLogger({ level: logLevel, format: logFormat, destination: { write: (s: string) => void io.stderr(s) } });
  const delivered = new Map<string, Set<string>>();
  const failedDelivery = new Map<string, string[]>();
  const collector = new Collector(config, {
    clock: systemClock,
    logger,
    // Every scrape starts at once and none has a next slot to miss: past the
    // memory budget they wait their turn (taken in order) rather than skip.
    patient: true,
    deliveryEvents: {
      onSent: (output, record) => {
        let s = delivered.get(record.id);
        if (!s) delivered.set(record.id, (s = new Set()));
        s.add(output);
      },
      onDrop: (output, record, reason) => {
        const l = failedDelivery.get(record.id) ?? [];
        l.push(`${output}: ${reason}`);
        failedDelivery.set(record.id, l);
      },
    },
  });
  const results = await collectOnce(collector, config, systemClock);
  await collector.outputSet?.drain(onceDeliveryWaitMs(config.outputs));
  const outputs = config.outputs.map((o) => o.name);
  let ok = true;
  const rows = results.map(({ target, type, outcome }) => {
    let deliveredText = '-';
    if (outcome.recordId) {
      const got = delivered.get(outcome.recordId) ?? new Set();
      const missing = outputs.filter((o) => !got.has(o));
      deliveredText = missing.length === 0 ? 'yes' : `no (${(failedDelivery.get(outcome.recordId) ?? missing.map((m) => `${m}: not yet`)).join(', ')})`;
      if (missing.length > 0) ok = false;
    }
    if (outcome.result !== 'shipped') ok = false;
    return { target: target.baseUrl, type: outcome.godeltaprof ? `${type} (godeltaprof)` : type, outcome, delivered: deliveredText };
  });
  await collector.stop(0);
  if (rows.length === 0) {
    // An empty table is not a success: nothing was checked.
    const shard = config.agent.shard ? `, or every target belongs to another shard than ${config.agent.shard.index}/${config.agent.shard.count}` : '';
    io.stdout(`no targets to scrape: the config lists none, or discovery found none within ${DISCOVER_ONCE_WAIT_MS / 1000}s${shard}\n`);
    return false;
  }
  io.stdout(renderOnceTable(rows));
  io.stdout(ok ? 'all profiles scraped and delivered\n' : 'some profiles were not scraped or not delivered (see ERROR / HINT)\n');
  return ok;
}
