// Wires the pipeline for one config: targets -> scheduler jobs -> pipeline ->
// outputs. State that must outlive a reload (baselines, CPU windows, health)
// is held here, keyed by target identity, not inside scheduler jobs.

import type { Config } from './config/types.js';
import { formatDuration } from './config/duration.js';
import type { Target } from './core/target.js';
import { resolveTargets } from './discovery/resolve.js';
import { DiscoveryManager, type ProviderFactory } from './discovery/manager.js';
import { providerFactory } from './discovery/providers.js';
import { WorkerRelabeler, type Relabeler } from './discovery/relabeler.js';
import { budgetKey, budgetOf, budgetReplicas, CpuBudgets } from './scrape/cpu-budget.js';
import { HealthStore, type CollectOutcome } from './server/health.js';
import { lockDataDir, type DataDirLock } from './core/data-dir-lock.js';
import type { Logger } from './core/log.js';
import type { CollectorMetrics } from './server/metrics.js';
import { OutputSet } from './output/index.js';
import type { DeliveryEvents } from './output/queue.js';
import type { Backoff } from './output/retry.js';
import { removeLegacyBaselines } from './output/spool/legacy.js';
import { join } from 'node:path';
import { ProfileProcessor, type NewBaseline } from './profile/processor.js';
import { InlineEngine, WorkerPool, makeRunner, type ProfileEngine } from './profile/workers.js';
import type { ProfileRecord } from './profile/record.js';
import type { ProfileTypeName } from './profile/types.js';
import { sleep, type Clock, type TimerHandle } from './core/clock.js';
import { Scheduler } from './schedule/scheduler.js';
import { CollectionJobs } from './jobs.js';
import { CpuProfileGate, CpuWindows } from './scrape/cpu-gate.js';
import { DeltaSources } from './scrape/delta-source.js';
import { DispatcherPool } from './scrape/dispatchers.js';
import { describeOutput } from './server/describe-output.js';
import { countedDeliveryEvents } from './server/delivery-metrics.js';
import { MemoryBudget } from './core/memory-budget.js';
import { ScrapeAdmission } from './scrape/admission.js';
import { LastProfiles } from './server/last-profiles.js';
import { targetStatusPage, type TargetPage, type TargetQuery, type TargetStatus } from './server/target-status.js';
import { ProfilePipeline } from './pipeline.js';

export interface CollectorDeps {
  readonly clock: Clock;
  readonly logger: Logger;
  /** Output backoff (tests shorten it). */
  readonly backoff?: Backoff;
  /** Observers of collection outcomes and deliveries (metrics, --once). */
  readonly onOutcome?: (o: CollectOutcome, t: Target) => void;
  readonly deliveryEvents?: DeliveryEvents;
  readonly metrics?: CollectorMetrics;
  /** Discovery providers (tests inject their own). */
  readonly providers?: ProviderFactory;
  /** Where relabel rules run (default: a worker thread with a watchdog, started when first needed). */
  readonly relabeler?: Relabeler;
  /**
   * Keep undelivered profiles and delta baselines under [agent] data_dir, so
   * they survive a crash or restart (the daemon). --once runs without.
   */
  readonly durable?: boolean;
  /** --once: no next slot to miss, so scrapes wait for room in the memory budget and are never skipped for the workers' backlog. */
  readonly patient?: boolean;
}

export interface StopReport {
  /** Deliveries not done before the grace period ended (kept in the spool when durable). */
  readonly undelivered: number;
  /** Whether those stay in the spool for the next start. */
  readonly spooled: boolean;
  /** Scrapes still running when the grace period ended. */
  readonly abandonedScrapes: number;
}

/** How often the per-output counters are logged while anything changes. */
const OUTPUT_STATS_EVERY_MS = 60_000;

export class Collector {
  private config: Config;
  private targets: Target[] = [];
  private outputs: OutputSet | null = null;
  private readonly cpuWindows: CpuWindows;
  private readonly cpuGate: CpuProfileGate;
  private readonly deltaSources: DeltaSources;
  private readonly overlapsSaid = new Set<string>();
  /** The scheduler's jobs for the current targets, and their triggers. */
  private readonly jobs: CollectionJobs;
  readonly health = new HealthStore();
  private readonly dispatchers = new DispatcherPool();
  private readonly scheduler: Scheduler;
  private readonly pipeline: ProfilePipeline;
  private readonly log: Logger;
  private statsTimer: TimerHandle | null = null;
  private readonly engine: ProfileEngine;
  private readonly processor: ProfileProcessor;
  /** The discoveries; --once (src/once.ts) starts and stops them itself. */
  readonly discovery: DiscoveryManager;
  private started = false;
  private stopping = false;
  /** Per service and budgeted type ("service/type"): the ids of its replicas (targets). */
  private replicas = new Map<string, string[]>();
  private readonly budgets: CpuBudgets;
  /** The last shipped profile per target and type, for the status page. */
  readonly lastProfiles = new LastProfiles();
  private lastStats = '';
  private lock: DataDirLock | null = null;
  private readonly relabeler: Relabeler;
  /** [agent] memory_limit: what scrapes reserve before they are fetched. */
  readonly memoryBudget: MemoryBudget;
  private readonly admission: ScrapeAdmission;

  constructor(
    config: Config,
    private readonly deps: CollectorDeps,
  ) {
    this.config = config;
    this.log = deps.logger;
    this.cpuGate = new CpuProfileGate(deps.clock);
    this.cpuWindows = new CpuWindows(() => deps.clock.now());
    this.deltaSources = new DeltaSources(() => deps.clock.now());
    this.budgets = new CpuBudgets(deps.clock);
    this.memoryBudget = new MemoryBudget(config.agent.memoryLimitBytes);
    this.relabeler = deps.relabeler ?? new WorkerRelabeler();
    this.discovery = new DiscoveryManager(
      deps.providers ?? providerFactory({ clock: deps.clock, logger: deps.logger, env: process.env }),
      deps.logger,
      () => this.discoveryChanged(),
      { relabeler: this.relabeler },
    );
    this.scheduler = new Scheduler(deps.clock, {
      onStart: (_key, _at, lateMs) => deps.metrics?.scheduleLateness.observe(lateMs / 1000),
      onOverlap: (key) => {
        // Said once per job at warn: it repeats every slot while it lasts.
        const first = !this.overlapsSaid.has(key);
        this.overlapsSaid.add(key);
        const job = this.jobs.byKey.get(key);
        this.log[first ? 'warn' : 'debug'](
          { job: key, target: job?.target.baseUrl, service: job?.target.service, type: job?.type },
          `${job ? `${job.type} scrape of ${job.target.baseUrl}: ` : ''}the previous scrape is still running at the next slot; this slot is skipped`,
        );
      },
      onError: (key, err) => this.log.error({ job: key, err }, 'scrape job failed unexpectedly'),
      onClockJump: () => this.log.warn('the wall clock stepped back: every job moved to its next slot from the new time'),
    });
    const durable = deps.durable ?? false;
    // The daemon decodes and computes deltas in worker threads, which keep
    // the baselines in memory; the spool persists their bodies with the
    // deltas (see output/spool), and hands them back after a restart or to
    // a worker that replaced one that died. --once runs inline, in memory.
    this.engine =
      durable && config.agent.profileWorkers > 0 ? new WorkerPool(config.agent.profileWorkers, deps.logger, () => this.processor.engineReset()) : new InlineEngine(makeRunner());
    this.processor = new ProfileProcessor({
      engine: this.engine,
      gzipLevel: config.agent.compressionLevel,
      now: () => deps.clock.now(),
      ...(durable ? { saved: async (targetId: string, type: ProfileTypeName) => (await this.openOutputs()).savedBaseline(targetId, type) } : {}),
    });
    this.admission = new ScrapeAdmission({
      clock: deps.clock,
      budget: this.memoryBudget,
      ...(deps.patient ? { maxWaitMs: Infinity } : { backlog: (id: string) => this.processor.backlog(id) }),
    });
    this.pipeline = new ProfilePipeline({
      clock: deps.clock,
      logger: deps.logger,
      dispatchers: this.dispatchers,
      processor: this.processor,
      cpuGate: this.cpuGate,
      cpuWindows: this.cpuWindows,
      deltaSources: this.deltaSources,
      budget: (target, type, cost) => {
        const b = budgetOf(target, type);
        if (!b) return null;
        const key = budgetKey(target, type);
        return this.budgets.tryTake(key, target.id, b, cost, this.replicas.get(key) ?? [target.id]);
      },
      health: this.health,
      admission: this.admission,
      emit: (record, baseline) => this.emit(record, baseline),
      saveBaseline: async (baseline) => (await this.openOutputs()).saveBaseline(baseline),
      observe: (o, t) => {
        deps.metrics?.observeOutcome(o, t);
        deps.onOutcome?.(o, t);
        if (this.started) this.jobs.observe(o, t);
      },
    });
    this.jobs = new CollectionJobs({
      clock: deps.clock,
      logger: deps.logger,
      ...(deps.metrics ? { metrics: deps.metrics } : {}),
      pipeline: this.pipeline,
      runNow: (key, reason) => this.scheduler.runNow(key, reason),
    });
    if (deps.metrics) {
      deps.metrics.memoryBudget = this.memoryBudget;
      deps.metrics.queueDepths = () => Object.fromEntries(Object.entries(this.outputs?.stats() ?? {}).map(([k, v]) => [k, v.depth + v.inFlight]));
      deps.metrics.threadHeaps = () => [...(this.engine.threadHeaps?.() ?? []), ...(this.outputs?.threadHeaps() ?? [])];
    }
  }

  /** Opens the outputs (and, when durable, the spool, replaying what it holds). */
  async openOutputs(): Promise<OutputSet> {
    if (this.outputs) return this.outputs;
    for (const o of this.config.outputs) this.deps.metrics?.initOutput(o.name, o.kind);
    const a = this.config.agent;
    this.outputs = await OutputSet.open(
      this.config.outputs,
      {
        clock: this.deps.clock,
        logger: this.deps.logger,
        events: countedDeliveryEvents(this.deps.metrics, this.deps.deliveryEvents),
        // The sender logs each partial success; the metric counts the rejected profiles.
        onPartialSuccess: (output, _record, partial) => this.deps.metrics?.outputPartialRejected.inc({ output }, partial.rejectedProfiles),
        ...(this.deps.backoff ? { backoff: this.deps.backoff } : {}),
      },
      this.deps.durable ? { dir: join(a.dataDir, 'spool'), maxBytes: a.spoolMaxBytes, maxAgeMs: a.spoolMaxAgeMs } : undefined,
    );
    return this.outputs;
  }

  private async emit(record: ProfileRecord, baseline?: NewBaseline): Promise<void> {
    const outputs = this.outputs ?? (await this.openOutputs());
    await outputs.dispatch(record, baseline);
    this.lastProfiles.put(record);
  }

  /** Every target and type, as of now. */
  status(): TargetStatus[] {
    return this.statusPage({ page: 1, perPage: Infinity }).targets;
  }

  /** The targets a /targets query matches; only the page's rows are built. */
  statusPage(q: TargetQuery): TargetPage {
    return targetStatusPage(this.targets, { health: this.health, lastProfiles: this.lastProfiles, nextRun: (key) => this.scheduler.nextRun(key) }, q);
  }

  get currentTargets(): readonly Target[] {
    return this.targets;
  }

  /** The outputs, once started. */
  get outputSet(): OutputSet | null {
    return this.outputs;
  }

  private resolveTargets(config: Config): Target[] {
    return resolveTargets(config, this.discovery.targets(), this.log);
  }

  /**
   * Makes the scheduler, baselines, health and metrics match the current
   * targets: kept ones keep their state and slot, new ones start, gone ones
   * stop. Used by reload and by every change discovery reports.
   */
  private applyTargets(): { added: number; removed: number; changed: number } {
    const oldTargets = this.targets;
    this.targets = this.resolveTargets(this.config);
    const ids = new Set(this.targets.map((t) => t.id));
    for (const t of oldTargets) if (!ids.has(t.id)) this.deps.metrics?.forgetTarget(t, t.config.enabledTypes);
    const { added, removed, changed } = this.scheduler.sync(this.jobs.jobsFor(this.targets));
    this.jobs.retainTargets(ids);
    this.processor.retainTargets(ids);
    this.outputs?.retainBaselines(ids);
    this.pipeline.retainTargets(ids);
    this.admission.retainTargets(ids);
    this.pipeline.retainCredentialFiles(this.targets);
    for (const key of this.overlapsSaid) if (!ids.has(key.slice(0, key.lastIndexOf('/')))) this.overlapsSaid.delete(key);
    this.cpuWindows.retainTargets(ids);
    this.deltaSources.retainTargets(ids);
    this.health.retainTargets(ids);
    this.lastProfiles.retainTargets(ids);
    this.replicas = budgetReplicas(this.targets);
    return { added: added.length, removed: removed.length, changed: changed.length };
  }

  /** Discovery reported a change: apply it in place (not while stopped). */
  private discoveryChanged(): void {
    if (!this.started || this.stopping) return;
    const r = this.applyTargets();
    if (r.added || r.removed || r.changed) this.log.info(r, `targets changed by discovery: ${r.added} job(s) added, ${r.removed} removed, ${r.changed} changed`);
  }

  /** Per-output sent/retried/dropped/queued, logged when they changed. */
  private logOutputStats(): void {
    if (!this.outputs) return;
    const stats = this.outputs.stats();
    const text = JSON.stringify(stats);
    if (text !== this.lastStats) this.log.info({ outputs: stats }, 'output counters');
    this.lastStats = text;
  }

  private scheduleStats(): void {
    this.statsTimer = this.deps.clock.setTimer(() => {
      this.logOutputStats();
      this.scheduleStats();
    }, OUTPUT_STATS_EVERY_MS);
  }

  /**
   * Takes data_dir (when durable), opens outputs and spool (replaying it),
   * then starts scheduling. Throws when another collector holds data_dir or
   * the spool cannot be created.
   */
  async start(): Promise<void> {
    if (this.deps.durable) {
      this.lock = await lockDataDir(this.config.agent.dataDir);
      const old = await removeLegacyBaselines(this.config.agent.dataDir);
      if (old) this.log.info({ dir: old }, `removed ${old}: delta baselines are kept in the spool now; the first scrape of each cumulative type takes a new one`);
    }
    await this.openOutputs();
    this.scheduleStats();
    this.started = true;
    this.discovery.sync(this.config.templates);
    const { added } = this.applyTargets();
    if (this.config.defaultOutput) {
      this.log.info({ dir: this.config.outputs[0]?.kind === 'file' ? this.config.outputs[0].dir : undefined }, 'no [[outputs.*]] configured: profiles go to the file output');
    }
    for (const t of this.targets) {
      const cron = Object.entries(t.config.schedule ?? {}).map(([type, s]) => `${type} at "${s!.pattern}"`);
      this.log.info(
        { target: t.baseUrl, service: t.service, instance: t.instance, types: t.config.enabledTypes, interval: formatDuration(t.config.intervalMs), ...(cron.length ? { schedule: cron } : {}) },
        `scraping ${t.baseUrl} every ${formatDuration(t.config.intervalMs)}${cron.length ? `; ${cron.join(', ')}` : ''}`,
      );
    }
    this.log.info(
      { targets: this.targets.length, jobs: added, outputs: this.config.outputs.map(describeOutput), shard: this.config.agent.shard },
      `collector started: ${this.targets.length} target(s), ${added} job(s)${this.config.agent.shard ? ` (shard ${this.config.agent.shard.index}/${this.config.agent.shard.count})` : ''}`,
    );
  }

  /**
   * Applies a new, already validated config in place. Targets that did not
   * change keep their baselines, health and schedule slot; outputs that did
   * not change keep their queue.
   */
  async reload(config: Config): Promise<void> {
    // Outputs first: if one cannot be set up, nothing else has changed yet.
    await this.outputs?.reconfigure(config.outputs);
    for (const o of config.outputs) this.deps.metrics?.initOutput(o.name, o.kind);
    this.dispatchers.reloadTls();
    this.memoryBudget.resize(config.agent.memoryLimitBytes);
    this.config = config;
    this.discovery.sync(config.templates);
    const r = this.applyTargets();
    this.log.info(r, 'config reloaded');
  }

  /** For --once, which runs no scheduler: the targets to scrape now (the config's and what discovery found). */
  resolveNow(): readonly Target[] {
    this.targets = this.resolveTargets(this.config);
    return this.targets;
  }

  /** For --once: one collection of one (target, type), outside the scheduler. */
  collect(target: Target, type: ProfileTypeName, signal?: AbortSignal): Promise<CollectOutcome> {
    return this.pipeline.collect(target, type, signal);
  }

  /** Stops scheduling, waits (bounded) for scrapes and sends, then closes. */
  async stop(graceMs: number = this.config.agent.shutdownGraceMs): Promise<StopReport> {
    const { clock } = this.deps;
    const deadline = clock.now() + graceMs;
    this.stopping = true;
    this.scheduler.stop();
    await this.discovery.stop();
    await this.relabeler.close();
    if (this.statsTimer) clock.clearTimer(this.statsTimer);
    this.statsTimer = null;
    const running = this.scheduler.inFlight();
    let abandonedScrapes = 0;
    if (running.length > 0) {
      let settled = 0;
      running.forEach((p) => void p.finally(() => settled++));
      await Promise.race([Promise.allSettled(running), sleep(clock, Math.max(0, deadline - clock.now()))]);
      abandonedScrapes = running.length - settled;
      this.scheduler.abortRunning();
      await Promise.allSettled(running);
    }
    let undelivered = 0;
    const spooled = this.outputs?.durable ?? false;
    if (this.outputs) {
      await this.outputs.drain(Math.max(0, deadline - clock.now()));
      this.logOutputStats();
      undelivered = await this.outputs.close();
    }
    await this.dispatchers.close();
    await this.engine.close();
    await this.lock?.release();
    this.lock = null;
    if (undelivered > 0) {
      this.log.warn(
        { undelivered, spooled },
        spooled
          ? `${undelivered} profile delivery(ies) not done within the grace period stay in the spool for the next start`
          : `stopped with ${undelivered} profile delivery(ies) not done: lost (no spool)`,
      );
    }
    if (abandonedScrapes > 0) this.log.warn({ abandoned_scrapes: abandonedScrapes }, `${abandonedScrapes} scrape(s) abandoned at the end of the grace period`);
    return { undelivered, spooled, abandonedScrapes };
  }

}

