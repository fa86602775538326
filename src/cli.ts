// Command line: argument parsing, signals, wiring. Nothing else lives here.

import { parseArgs } from 'node:util';
import { Collector } from './collector.js';
import { ConfigError, formatDuration, formatIssue, loadConfigFile, type Config } from './config/index.js';
import { agentReloadPlan } from './config/reload.js';
import { VERSION } from './core/version.js';
import { LOG_LEVELS, type GoTargetConfig, type LogLevel, type ScrapeBudgetConfig } from './config/types.js';
import type { Target } from './core/target.js';
import { buildTarget, staticTargets } from './discovery/static.js';
import { createLogger, flushLogs, type LogFormat } from './core/log.js';
import { redactedUrl } from './core/redact.js';
import { shardKey, shardOf, targetInShard } from './discovery/shard.js';
import { CollectorMetrics } from './server/metrics.js';
import { DISCOVER_ONCE_WAIT_MS, runOnce } from './once.js';
import { discoverForCheck } from './check-discover.js';
import type { ExplainedBlock } from './discovery/manager.js';
import { authWords, explainLines, templateLines } from './server/describe-targets.js';
import { describeKubernetesSd } from './server/describe-kubernetes.js';
import { describeOutput } from './server/describe-output.js';
import { scheduleLines, triggerLine, type SlotsCache } from './server/describe-schedule.js';
import { describeTypes } from './server/describe-types.js';
import { StatusServer } from './server/http.js';
import { statusRoutes } from './server/targets.js';
import { describeWeb } from './server/web-auth.js';
import { typeSpec } from './profile/types.js';
import { systemClock } from './core/clock.js';

export const EXIT_OK = 0;
export const EXIT_FAILURE = 1;
export const EXIT_USAGE = 2;

const DEFAULT_CONFIG = 'conf.d/profile.conf';

const USAGE = `Usage: collector [-c FILE] [--check [--discover] | --once] [--log-level LEVEL] [--log-format FMT]

Scrapes Go net/http/pprof endpoints on a schedule and ships cpu, heap,
goroutine, mutex and block profiles to DataKit or files.

Options:
  -c, --config FILE     config file (default: ${DEFAULT_CONFIG})
      --check           validate the config, print what would be scraped and
                        where it would ship; exit 0 when valid, 1 when not
      --discover        with --check: also run each discovery once and print
                        every target it finds, its labels before and after
                        relabel_configs, and what would be scraped
      --once            one full cycle of every target and type, wait for
                        delivery, print a summary; exit 0 only if all worked
      --log-level LEVEL ${LOG_LEVELS.join(' | ')} (overrides [agent] log_level)
      --log-format FMT  json | pretty (default: pretty on a terminal, json otherwise)
      --version         print the version
  -h, --help            print this help

Signals: SIGTERM/SIGINT stop gracefully; SIGHUP reloads the config.`;

export interface CliIO {
  readonly stdout: (s: string) => void;
  readonly stderr: (s: string) => void;
}

const defaultIO: CliIO = {
  stdout: (s) => process.stdout.write(s),
  stderr: (s) => process.stderr.write(s),
};

interface Args {
  config: string;
  check: boolean;
  discover: boolean;
  once: boolean;
  logLevel?: LogLevel;
  /** As given; when not, it depends on where the logs go (logFormatFor). */
  logFormat?: LogFormat;
  help: boolean;
  version: boolean;
}

class UsageError extends Error {}

function parse(argv: readonly string[]): Args {
  let values;
  try {
    ({ values } = parseArgs({
      args: [...argv],
      options: {
        config: { type: 'string', short: 'c' },
        check: { type: 'boolean' },
        discover: { type: 'boolean' },
        once: { type: 'boolean' },
        'log-level': { type: 'string' },
        'log-format': { type: 'string' },
        version: { type: 'boolean' },
        help: { type: 'boolean', short: 'h' },
      },
      strict: true,
      allowPositionals: false,
    }));
  } catch (err) {
    throw new UsageError((err as Error).message);
  }
  const level = values['log-level'];
  if (level !== undefined && !(LOG_LEVELS as readonly string[]).includes(level)) {
    throw new UsageError(`--log-level must be one of ${LOG_LEVELS.join(', ')}, got "${level}"`);
  }
  if (values.check && values.once) throw new UsageError('--check and --once cannot be used together');
  if (values.discover && !values.check) throw new UsageError('--discover goes with --check (--once runs the discoveries anyway)');
  const format = values['log-format'];
  if (format !== undefined && format !== 'json' && format !== 'pretty') throw new UsageError(`--log-format must be json or pretty, got "${format}"`);
  return {
    config: values.config ?? DEFAULT_CONFIG,
    check: values.check ?? false,
    discover: values.discover ?? false,
    once: values.once ?? false,
    ...(level ? { logLevel: level as LogLevel } : {}),
    ...(format ? { logFormat: format as LogFormat } : {}),
    help: values.help ?? false,
    version: values.version ?? false,
  };
}

export function renderPlan(config: Config, collectorTargets: readonly Target[], now: number = Date.now(), discovered?: readonly ExplainedBlock[]): string {
  const lines: string[] = [`${config.file}: valid`, '', `targets (${collectorTargets.length}):`];
  const cronSlots: SlotsCache = new Map();
  for (const t of collectorTargets) {
    const c = t.config;
    // Types on a cron schedule are listed on their own line below.
    const types = c.enabledTypes.filter((ty) => !c.schedule?.[ty]).map((ty) => (typeSpec(ty, c.customTypes).seconds ? `${ty} (${formatDuration(c.profileDurationMs)} window)` : ty));
    const mine = targetInShard(t, config.agent.shard);
    lines.push(`  ${redactedUrl(t.baseUrl)}  (line ${c.source.line})${mine ? '' : `  -- not scraped here: shard ${shardOf(shardKey(t), config.agent.shard!.count)}/${config.agent.shard!.count} owns it`}`);
    lines.push(`    ${types.length ? `every ${formatDuration(c.intervalMs)}: ${types.join(', ')}` : 'every type on a schedule'}; http_timeout ${formatDuration(c.httpTimeoutMs)}`);
    for (const l of scheduleLines(c, now, `${t.id}/`, cronSlots)) lines.push(`    schedule: ${l}`);
    const trigger = triggerLine(c);
    if (trigger) lines.push(`    ${trigger}`);
    lines.push(`    tags: ${Object.entries(t.tags).map(([k, v]) => `${k}=${v}`).join(' ')}`);
    for (const l of describeTypes(c, t.baseUrl)) lines.push(`    ${l}`);
    const auth = authWords(c);
    if (auth) lines.push(`    ${auth}`);
    if (c.tenantId) lines.push(`    tenant: ${c.tenantId} (X-Scope-OrgID to Pyroscope)`);
    const budgets = budgetWords(c);
    if (budgets.length > 0) lines.push(`    budgets for service ${t.service}, replicas in turn: ${budgets.join('; ')}`);
    if (c.tls) lines.push(`    tls: ${c.tls.insecureSkipVerify ? 'certificate NOT verified (insecure_skip_verify)' : 'verified'}${c.tls.caFile ? `, ca ${c.tls.caFile}` : ''}${c.tls.certFile ? `, client cert ${c.tls.certFile}` : ''}`);
    else if (t.baseUrl.startsWith('https:')) lines.push('    tls: verified with the system CAs');
  }
  if (config.templates.length > 0) {
    lines.push('', `discovery (${config.templates.length}):`);
    for (const t of config.templates) {
      const d = t.discovery!;
      const what =
        d.kind === 'file_sd'
          ? `file_sd ${d.files.join(', ')} (watched; re-read every ${formatDuration(d.refreshIntervalMs)})`
          : d.kind === 'http_sd'
            ? `http_sd ${redactedUrl(d.url)} (every ${formatDuration(d.refreshIntervalMs)})`
            : d.kind === 'dns_sd'
              ? `dns_sd ${d.type} ${d.names.join(', ')}${d.port ? ` port ${d.port}` : ''} (every ${formatDuration(d.refreshIntervalMs)})`
              : describeKubernetesSd(d);
      lines.push(`  ${what}  (line ${t.source.line})`);
      const budgets = budgetWords(t);
      lines.push(`    each target: every ${formatDuration(t.intervalMs)}: ${t.enabledTypes.join(', ')}; service ${t.service}${budgets.length ? `; per service: ${budgets.join('; ')}` : ''}`);
      for (const l of scheduleLines(t, now, undefined, cronSlots)) lines.push(`    schedule: ${l}`);
      const trigger = triggerLine(t);
      if (trigger) lines.push(`    ${trigger}`);
      for (const l of describeTypes(t, '')) lines.push(`    ${l}`);
      for (const l of templateLines(t)) lines.push(`    ${l}`);
    }
    if (discovered) {
      const shard = config.agent.shard;
      const owner = (c: GoTargetConfig): string | null => {
        const t = buildTarget(c, config.agent.hostname);
        return targetInShard(t, shard) ? null : `not scraped here: shard ${shardOf(shardKey(t), shard!.count)}/${shard!.count} owns it`;
      };
      lines.push('', `discovered (--discover: what each discovery found within ${DISCOVER_ONCE_WAIT_MS / 1000}s; labels before and after relabel_configs):`);
      lines.push(...explainLines(discovered, DISCOVER_ONCE_WAIT_MS, owner));
    }
  }
  lines.push('', config.agent.listen === '' ? 'status server: off' : `status server: ${config.agent.listen}, ${describeWeb(config.agent.web)}`);
  if (config.agent.shard) {
    lines.push('', `shard: ${config.agent.shard.index}/${config.agent.shard.count} (this process scrapes the targets rendezvous hashing gives it: by URL, or by service for a service with a budget, so its budget holds across the shards)`);
  }
  lines.push('', `outputs (${config.outputs.length}):`);
  for (const o of config.outputs) lines.push(`  ${describeOutput(o)}${config.defaultOutput ? '  (default: the config has no [[outputs.*]])' : ''}`);
  if (config.ignored.length > 0) {
    lines.push('', 'ignored (DataKit keys with no meaning here):');
    for (const i of config.ignored) lines.push(`  ${config.file}:${i.line}: ${i.path}: ${i.why}`);
  }
  if (config.notices.length > 0) {
    lines.push('', 'notices:');
    for (const n of config.notices) lines.push(`  ${config.file}:${n.line}: ${n.path}: ${n.message}`);
  }
  return `${lines.join('\n')}\n`;
}

/** --log-format when given; otherwise pretty when the logs go to a terminal, JSON lines when not. */
export function logFormatFor(given: LogFormat | undefined, logStream: { readonly isTTY?: boolean }): LogFormat {
  return given ?? (logStream.isTTY ? 'pretty' : 'json');
}

/** A target's budgets in words, for --check. */
function budgetWords(c: GoTargetConfig): string[] {
  const out: string[] = [];
  if (c.cpuBudget) out.push(`cpu_budget ${formatDuration(c.cpuBudget.budgetMs)} of CPU profiling per ${formatDuration(c.cpuBudget.periodMs)}`);
  for (const [type, b] of Object.entries(c.scrapeBudgets ?? {}) as Array<[string, ScrapeBudgetConfig]>) out.push(`${type}_budget ${b.scrapes} scrape(s) per ${formatDuration(b.periodMs)}`);
  return out;
}

async function runForever(file: string, config: Config, logLevel: LogLevel, logLevelFromCli: boolean, logFormat: LogFormat): Promise<number> {
  const logger = createLogger({ level: logLevel, format: logFormat });
  for (const n of config.notices) logger.warn({ line: n.line, key: n.path }, `${config.file}:${n.line}: ${n.path}: ${n.message}`);
  const metrics = new CollectorMetrics();
  const collector = new Collector(config, { clock: systemClock, logger, metrics, durable: true });
  try {
    await collector.start();
  } catch (err) {
    const e = err as NodeJS.ErrnoException;
    logger.fatal(
      { err: { code: e.code, message: e.message }, data_dir: config.agent.dataDir },
      e.code && /^E[A-Z]+$/.test(e.code) && e.code !== 'ERR_TLS_FILE'
        ? `cannot open the spool under ${config.agent.dataDir} (${e.code}): set [agent] data_dir to a writable directory`
        : `cannot start: ${e.message}`,
    );
    await flushLogs(logger); // the fatal line before bin/collector.js exits
    return EXIT_FAILURE;
  }
  let server: StatusServer | null = null;
  let stopping = false;
  const startedAtMs = Date.now();
  if (config.agent.listen !== '') {
    const routes = statusRoutes({
      page: (q) => collector.statusPage(q),
      outputStats: () => collector.outputSet?.stats() ?? {},
      lastProfiles: collector.lastProfiles,
      about: () => ({ configFile: file, version: VERSION, startedAtMs }),
      now: () => Date.now(),
    });
    const ready = () => (stopping ? { ready: false, why: 'shutting down' } : (collector.outputSet?.readiness() ?? { ready: false, why: 'outputs not open yet' }));
    server = new StatusServer({ listen: config.agent.listen, metrics, logger, routes, ready, ...(config.agent.web ? { web: config.agent.web } : {}) });
    try {
      const url = await server.start();
      logger.info({ url }, `status server on ${url} (/targets, /metrics, /healthz, /readyz): ${describeWeb(config.agent.web)}`);
    } catch (err) {
      // Scraping goes on without it (never without its TLS or auth); the operator is told why.
      const code = (err as NodeJS.ErrnoException).code;
      const fix = code === 'EADDRINUSE' || code === 'EACCES' || code === 'EADDRNOTAVAIL' ? 'Set [agent] listen to a free address, or "" to turn it off' : 'Check [agent] listen and [agent.web]';
      logger.error({ err: { message: (err as Error).message } }, `cannot start the status server on ${config.agent.listen} (${code ?? (err as Error).message}); running without it. ${fix}`);
      server = null;
    }
  }

  let reloading = Promise.resolve();
  let current = config;
  const onHup = () => {
    reloading = reloading.then(async () => {
      try {
        const next = await loadConfigFile(file);
        await collector.reload(next);
        metrics.configReloadOk.set(1);
        const plan = agentReloadPlan(config.agent, current.agent, next.agent, logLevelFromCli);
        current = next;
        if (plan.logLevel) {
          logger.level = plan.logLevel;
          logger.info({ log_level: plan.logLevel }, `log_level is now ${plan.logLevel}`);
        }
        if (plan.needRestart.length > 0) {
          logger.warn({ keys: plan.needRestart }, `[agent] ${plan.needRestart.join(', ')} changed: takes effect at the next start; the running values stay until then`);
        }
      } catch (err) {
        metrics.configReloadOk.set(0);
        if (err instanceof ConfigError) {
          for (const i of err.issues) logger.error({ line: i.line, key: i.path }, `reload rejected: ${formatIssue(i)}`);
          logger.error('the new config is invalid; the old one keeps running');
        } else {
          logger.error({ err }, 'reload failed; the old config keeps running');
        }
      }
    });
  };
  process.on('SIGHUP', onHup);

  const signal = await new Promise<NodeJS.Signals>((resolve) => {
    process.once('SIGTERM', () => resolve('SIGTERM'));
    process.once('SIGINT', () => resolve('SIGINT'));
  });
  process.off('SIGHUP', onHup);
  stopping = true;
  logger.info({ signal }, `${signal}: stopping (grace ${formatDuration(current.agent.shutdownGraceMs)})`);
  const report = await collector.stop();
  await server?.close();
  logger.info(report, 'stopped');
  // The log lines are written asynchronously: out before bin/collector.js exits.
  await flushLogs(logger);
  return EXIT_OK;
}

export async function main(argv: readonly string[], io: CliIO = defaultIO): Promise<number> {
  let args: Args;
  try {
    args = parse(argv);
  } catch (err) {
    io.stderr(`collector: ${(err as Error).message}\n\n${USAGE}\n`);
    return EXIT_USAGE;
  }
  if (args.help) {
    io.stdout(`${USAGE}\n`);
    return EXIT_OK;
  }
  if (args.version) {
    io.stdout(`${VERSION}\n`);
    return EXIT_OK;
  }
  let config: Config;
  try {
    config = await loadConfigFile(args.config);
  } catch (err) {
    if (err instanceof ConfigError) {
      io.stderr(`${err.issues.map(formatIssue).join('\n')}\n`);
      io.stderr(`${err.issues.length} problem(s) in ${args.config}\n`);
      return EXIT_FAILURE;
    }
    throw err;
  }
  const logLevel = args.logLevel ?? config.agent.logLevel;
  if (args.check) {
    let discovered: ExplainedBlock[] | undefined;
    if (args.discover) {
      // Discovery problems (an SD that does not answer, a bad address) go to stderr.
      const logger = createLogger({ level: args.logLevel ?? 'warn', format: logFormatFor(args.logFormat, process.stderr), destination: { write: (s: string) => void io.stderr(s) } });
      discovered = await discoverForCheck(config, { clock: systemClock, logger, waitMs: DISCOVER_ONCE_WAIT_MS });
    }
    io.stdout(renderPlan(config, staticTargets(config), Date.now(), discovered));
    return EXIT_OK;
  }
  // --once logs to stderr (its table is stdout), the daemon to stdout.
  if (args.once) return (await runOnce(config, logLevel, logFormatFor(args.logFormat, process.stderr), io)) ? EXIT_OK : EXIT_FAILURE;
  return runForever(args.config, config, logLevel, args.logLevel !== undefined, logFormatFor(args.logFormat, process.stdout));
}
