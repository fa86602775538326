// The prom-client registry, created once and passed in. Names follow
// Prometheus conventions (collector_*, _total for counters, base units).
// The Go target a series is about is its `target` label (host:port), never
// `instance`: Prometheus sets `instance` to the address it scraped (this
// collector) and would rename ours to `exported_instance`, as it does for
// any exporter that fronts many targets.

import { Counter, Gauge, Histogram, Registry, collectDefaultMetrics } from 'prom-client';
import { COLLECT_RESULTS, type CollectOutcome } from './health.js';
import type { Target } from '../core/target.js';
import type { MemoryBudget } from '../core/memory-budget.js';
import type { ThreadHeap } from '../core/thread-heap.js';

const TARGET_LABELS = ['service', 'target', 'type'] as const;
const RUNTIME_LABELS = ['service', 'env', 'version', 'target'] as const;
type RuntimeLabel = (typeof RUNTIME_LABELS)[number];

export class CollectorMetrics {
  readonly registry = new Registry();

  readonly targetUp = new Gauge({
    name: 'collector_target_up',
    help: '1 when the last scrape of this target and type worked, 0 when it failed (like Prometheus up).',
    labelNames: TARGET_LABELS,
    registers: [this.registry],
  });
  readonly scrapeDuration = new Histogram({
    name: 'collector_scrape_duration_seconds',
    help: 'Time from the start of a scrape to its outcome (for cpu, includes the profiling window).',
    labelNames: TARGET_LABELS,
    buckets: [0.01, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 15, 30, 60],
    registers: [this.registry],
  });
  readonly scrapes = new Counter({
    name: 'collector_scrapes_total',
    help: 'Scrapes by result: shipped, baseline (first scrape of a cumulative type), reset (target restarted), skipped, failed; a skip by its reason (memory_budget, workers_behind, service_budget, cpu_busy, ...), every other result with reason="".',
    labelNames: [...TARGET_LABELS, 'result', 'reason'],
    registers: [this.registry],
  });
  readonly scrapeFailures = new Counter({
    name: 'collector_scrape_failures_total',
    help: 'Failed or skipped scrapes by error code (timeout, network, not_found, invalid_profile, body_too_large, cpu_in_use, ...).',
    labelNames: [...TARGET_LABELS, 'code'],
    registers: [this.registry],
  });
  readonly scrapeBytes = new Counter({
    name: 'collector_scrape_bytes_total',
    help: 'Bytes of scraped response bodies.',
    labelNames: TARGET_LABELS,
    registers: [this.registry],
  });
  readonly profileSamples = new Gauge({
    name: 'collector_profile_samples',
    help: 'Samples in the last shipped profile (or scraped, for a baseline).',
    labelNames: TARGET_LABELS,
    registers: [this.registry],
  });
  readonly deltaResets = new Counter({
    name: 'collector_delta_resets_total',
    help: 'Times a cumulative profile went back (target restart) and the delta was re-baselined.',
    labelNames: TARGET_LABELS,
    registers: [this.registry],
  });
  readonly scheduleLateness = new Histogram({
    name: 'collector_schedule_lateness_seconds',
    help: 'How long after its slot a scrape started.',
    buckets: [0.001, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5],
    registers: [this.registry],
  });
  readonly outputSent = new Counter({
    name: 'collector_output_sent_total',
    help: 'Profiles the output accepted.',
    labelNames: ['output'],
    registers: [this.registry],
  });
  readonly outputRetries = new Counter({
    name: 'collector_output_retries_total',
    help: 'Failed sends that will be retried.',
    labelNames: ['output'],
    registers: [this.registry],
  });
  readonly outputDropped = new Counter({
    name: 'collector_output_dropped_total',
    help: 'Profiles given up on, by reason: rejected (4xx), spool_full, too_old, shutdown (in-memory only), output_removed.',
    labelNames: ['output', 'reason'],
    registers: [this.registry],
  });
  readonly outputPartialRejected = new Counter({
    name: 'collector_output_partial_rejected_profiles_total',
    help: 'Profiles an OTLP backend rejected in a request it accepted (OTLP partial success: logged, never retried). A Go heap record is four OTLP profiles.',
    labelNames: ['output'],
    registers: [this.registry],
  });
  /** Error codes seen in collector_scrape_failures_total, to drop a gone target's series. */
  private readonly failureCodes = new Set<string>();
  /** Skip reasons seen in collector_scrapes_total (and "" for every other result), likewise. */
  private readonly skipReasons = new Set<string>(['']);
  /** [agent] memory_limit and what is held of it; set by whoever owns it. */
  memoryBudget: MemoryBudget | undefined;
  /** Where queue depths come from; set by whoever owns the outputs. */
  queueDepths: () => Record<string, number> = () => ({});
  /** The worker threads' heaps (profile workers, file writers); set by whoever owns them. */
  threadHeaps: () => Array<{ readonly thread: string } & ThreadHeap> = () => [];
  readonly outputQueue: Gauge<'output'>;
  readonly configReloadOk = new Gauge({
    name: 'collector_config_last_reload_successful',
    help: '1 when the last config load or reload succeeded, 0 when it was rejected.',
    registers: [this.registry],
  });
  // [inputs.profile.go.trigger]
  readonly triggerFirings = new Counter({
    name: 'collector_trigger_firings_total',
    help: 'Times a derived metric crossed its trigger threshold and the trigger types were taken, by metric.',
    labelNames: ['metric'],
    registers: [this.registry],
  });
  readonly triggeredProfiles = new Counter({
    name: 'collector_triggered_profiles_total',
    help: 'Profiles shipped because a trigger fired (tagged trigger=<metric>), by that metric and the profile type.',
    labelNames: ['metric', 'type'],
    registers: [this.registry],
  });

  // Runtime metrics derived from the profiles themselves ([inputs.profile]
  // generate_metrics, on by default), per service/env/version/target.
  private readonly derived = {
    cpuCores: this.runtimeGauge('collector_go_cpu_cores', 'CPU cores the process used during the last CPU profile (CPU time / window).'),
    heapLiveBytes: this.runtimeGauge('collector_go_heap_live_bytes', 'Live heap bytes (inuse_space) at the last heap scrape, as Go estimates them from its sampled profile.'),
    heapLiveObjects: this.runtimeGauge('collector_go_heap_live_objects', 'Live heap objects (inuse_objects) at the last heap scrape.'),
    allocBytesRate: this.runtimeGauge('collector_go_alloc_bytes_per_second', 'Bytes allocated per second over the last heap delta window (alloc_space delta / window).'),
    allocObjectsRate: this.runtimeGauge('collector_go_alloc_objects_per_second', 'Objects allocated per second over the last heap delta window.'),
    goroutines: this.runtimeGauge('collector_go_goroutines', 'Goroutines in the last goroutine profile.'),
    mutexWait: this.runtimeGauge('collector_go_mutex_wait_seconds_per_second', 'Seconds spent waiting on contended mutexes per second, over the last mutex delta window (0 when mutex profiling is off in the target).'),
    blockWait: this.runtimeGauge('collector_go_block_wait_seconds_per_second', 'Seconds spent blocked (channels, select, locks) per second, over the last block delta window (0 when block profiling is off).'),
  };

  private runtimeGauge(name: string, help: string): Gauge<RuntimeLabel> {
    return new Gauge({ name, help, labelNames: [...RUNTIME_LABELS], registers: [this.registry] });
  }

  constructor(opts: { defaultMetrics?: boolean } = {}) {
    const depths = () => this.queueDepths();
    this.outputQueue = new Gauge({
      name: 'collector_output_queue_profiles',
      help: 'Profiles waiting for this output (in the spool or in memory).',
      labelNames: ['output'],
      registers: [this.registry],
      collect() {
        this.reset();
        for (const [output, n] of Object.entries(depths())) this.set({ output }, n);
      },
    });
    // Each worker thread's isolate, as of its last report: nodejs_heap_* and
    // nodejs_external_memory_bytes are the main thread's only.
    const heaps = () => this.threadHeaps();
    const threadGauge = (name: string, help: string, read: (h: ThreadHeap) => number) =>
      new Gauge({
        name,
        help,
        labelNames: ['thread'],
        registers: [this.registry],
        collect() {
          this.reset();
          for (const h of heaps()) this.set({ thread: h.thread }, read(h));
        },
      });
    threadGauge('collector_thread_heap_used_bytes', "A worker thread's V8 heap in use, as of its last report (sent with an answer, at most once a second; thread: profile-worker-N, file-writer-<output>).", (h) => h.usedBytes);
    threadGauge('collector_thread_heap_size_bytes', "A worker thread's V8 heap reserved, as of its last report.", (h) => h.totalBytes);
    threadGauge('collector_thread_external_memory_bytes', "Memory outside a worker thread's V8 heap held by its objects (buffers), as of its last report.", (h) => h.externalBytes);
    const budget = () => this.memoryBudget;
    const budgetGauge = (name: string, help: string, read: (b: MemoryBudget) => number) =>
      new Gauge({
        name,
        help,
        registers: [this.registry],
        collect() {
          const b = budget();
          if (b) this.set(read(b));
        },
      });
    budgetGauge('collector_memory_budget_bytes', '[agent] memory_limit: bytes of scraped bodies, decoded profiles and queued work held at once.', (b) => b.limit);
    budgetGauge('collector_memory_budget_in_use_bytes', 'Bytes of the memory budget reserved now by scrapes in flight (estimates until their bodies are read).', (b) => b.inUse);
    budgetGauge('collector_memory_budget_in_use_peak_bytes', 'The most of the memory budget reserved at once since the start (may pass the limit when bodies come in larger than estimated).', (b) => b.peak);
    if (opts.defaultMetrics !== false) collectDefaultMetrics({ register: this.registry });
    this.configReloadOk.set(1);
  }

  observeOutcome(o: CollectOutcome, t: Target): void {
    const labels = { service: t.service, target: t.instance, type: o.type };
    // Every series of one metric has the same label names: reason is "" for all but skips.
    const reason = o.result === 'skipped' ? (o.reason ?? o.error?.code ?? 'other') : '';
    this.skipReasons.add(reason);
    this.scrapes.inc({ ...labels, result: o.result, reason });
    this.scrapeDuration.observe(labels, o.durationMs / 1000);
    if (o.bytes > 0) this.scrapeBytes.inc(labels, o.bytes);
    if (o.result === 'failed') this.targetUp.set(labels, 0);
    else if (o.result !== 'skipped') this.targetUp.set(labels, 1);
    if (o.error) {
      this.scrapeFailures.inc({ ...labels, code: o.error.code });
      this.failureCodes.add(o.error.code);
    }
    if (o.result === 'shipped' || o.result === 'baseline') this.profileSamples.set(labels, o.samples);
    // A cumulative type's series starts at 0 with its baseline, so that
    // increase() and rate() see the first reset (a series born at 1 shows none).
    if (o.result === 'baseline') this.deltaResets.inc(labels, 0);
    if (o.result === 'reset') this.deltaResets.inc(labels);
    if (t.config.generateMetrics && o.stats) this.observeDerived(o, t);
    // A value from before the target went down is not its value now.
    if (o.result === 'failed') this.forgetDerived(o.type, t);
  }

  private forgetDerived(type: string, t: Target): void {
    const labels = { service: t.service, env: t.env, version: t.version, target: t.instance };
    const d = this.derived;
    const byType: Record<string, Array<Gauge<RuntimeLabel>>> = {
      cpu: [d.cpuCores],
      heap: [d.heapLiveBytes, d.heapLiveObjects, d.allocBytesRate, d.allocObjectsRate],
      goroutine: [d.goroutines],
      mutex: [d.mutexWait],
      block: [d.blockWait],
    };
    for (const g of byType[type] ?? []) g.remove(labels);
  }

  /** Outputs start with zero series, so rate() and alerts see them from the start. */
  initOutput(output: string, kind?: string): void {
    this.outputSent.inc({ output }, 0);
    this.outputRetries.inc({ output }, 0);
    this.outputDropped.inc({ output, reason: 'rejected' }, 0);
    if (kind === 'otlp') this.outputPartialRejected.inc({ output }, 0);
  }

  private observeDerived(o: CollectOutcome, t: Target): void {
    const labels = { service: t.service, env: t.env, version: t.version, target: t.instance };
    const { scraped, delta, windowSeconds } = o.stats!;
    const perSecond = (v: number | undefined) => (v !== undefined && windowSeconds && windowSeconds > 0 ? v / windowSeconds : undefined);
    const set = (g: Gauge<RuntimeLabel>, v: number | undefined) => {
      if (v !== undefined && Number.isFinite(v)) g.set(labels, v);
    };
    const d = this.derived;
    switch (o.type) {
      case 'cpu':
        if (o.result === 'shipped') set(d.cpuCores, perSecond(scraped.cpu !== undefined ? scraped.cpu / 1e9 : undefined));
        break;
      case 'heap':
        set(d.heapLiveBytes, scraped.inuse_space);
        set(d.heapLiveObjects, scraped.inuse_objects);
        if (delta) {
          set(d.allocBytesRate, perSecond(delta.alloc_space));
          set(d.allocObjectsRate, perSecond(delta.alloc_objects));
        }
        break;
      case 'goroutine':
        set(d.goroutines, scraped.goroutine);
        break;
      case 'mutex':
        if (delta) set(d.mutexWait, perSecond(delta.delay !== undefined ? delta.delay / 1e9 : undefined));
        break;
      case 'block':
        if (delta) set(d.blockWait, perSecond(delta.delay !== undefined ? delta.delay / 1e9 : undefined));
        break;
    }
  }

  /**
   * Drops every series of a target that is gone (reload, discovery): with
   * pods coming and going, series of vanished instances would otherwise pile
   * up for the life of the process.
   */
  forgetTarget(t: Target, types: readonly string[]): void {
    for (const type of types) {
      const labels = { service: t.service, target: t.instance, type };
      for (const m of [this.targetUp, this.profileSamples, this.scrapeBytes, this.deltaResets, this.scrapeDuration]) m.remove(labels);
      for (const result of COLLECT_RESULTS) for (const reason of this.skipReasons) this.scrapes.remove({ ...labels, result, reason });
      for (const code of this.failureCodes) this.scrapeFailures.remove({ ...labels, code });
    }
    const runtime = { service: t.service, env: t.env, version: t.version, target: t.instance };
    for (const g of Object.values(this.derived)) g.remove(runtime);
  }
}
