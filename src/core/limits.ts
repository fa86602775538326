// Every bound the collector applies, with its default, in one place.
// Config keys that override one of these say so in their validation.

import { availableParallelism } from 'node:os';

const SECOND = 1000;
const MiB = 1024 * 1024;

export const LIMITS = {
  /** Smallest scrape interval a target may have (brief: "at least 10s"). */
  minIntervalMs: 10 * SECOND,
  /** Default scrape interval when `interval` is not set (DataKit's default). */
  defaultIntervalMs: 10 * SECOND,
  /** schedule_spread default: targets on a cron pattern fire within this much after each run. */
  defaultScheduleSpreadMs: 60 * SECOND,
  /** [inputs.profile.go.trigger] cooldown: default, and the least (a triggered set costs what a scheduled one does). */
  defaultTriggerCooldownMs: 5 * 60 * SECOND,
  minTriggerCooldownMs: 10 * SECOND,
  /** Upper bound of the default CPU window: min(this, interval - 1s). */
  defaultProfileDurationMs: 10 * SECOND,
  /** Default http_timeout is max(profile_duration + this, minHttpTimeoutMs). */
  httpTimeoutSlackMs: 5 * SECOND,
  minHttpTimeoutMs: 15 * SECOND,

  /** Compressed response body cap (DataKit's body_size_limit_mb default). */
  maxBodyBytes: 32 * MiB,
  /** Decompressed profile cap: a gzip bomb stops here. */
  maxDecompressedBytes: 256 * MiB,
  /** How much of an error body we keep for logs. */
  errorBodySnippetBytes: 1024,

  /** Profiles an output holds only in memory (no spool, or the spool cannot be written) before the oldest is dropped. */
  outputQueueProfiles: 1000,
  /** Concurrent sends per output. */
  outputConcurrency: 4,
  /**
   * Concurrent writes of [[outputs.file]] (it has no concurrency key): more
   * than a network output's, as each waits on two fdatasyncs and a directory
   * sync, and the writer thread takes the sends of one turn as one batch: on
   * the 2-core machine 16 at once cost less main-thread CPU per profile than
   * 4, at a higher rate (bench/file-output.ts).
   */
  fileOutputConcurrency: 16,
  /** Per-send deadline for an output request. */
  outputTimeoutMs: 30 * SECOND,
  /** Retry backoff: exponential between these, each delay half fixed and half jitter. */
  retryInitialMs: 500,
  retryMaxMs: 5 * 60 * SECOND,
  /** Longest Retry-After we honour; a larger one is clamped and logged. */
  retryAfterMaxMs: 10 * 60 * SECOND,
  /** A failure that goes on (a scrape, an output refusing profiles) is summed up in one log line this often. */
  repeatSummaryEveryMs: 5 * 60 * SECOND,

  /** Spool bounds ([agent] spool_max_bytes, spool_max_age). */
  spoolMaxBytes: 1024 * MiB,
  spoolMaxAgeMs: 24 * 3600 * SECOND,
  /** A persisted delta baseline older than this is not used after a restart. */
  baselineMaxAgeMs: 3600 * SECOND,

  /** [agent] memory_limit default: bytes of scraped bodies, decoded profiles and queued work held at once. */
  memoryLimitBytes: 256 * MiB,
  /**
   * A scrape reserves its last body's size times this before it is fetched:
   * the gzipped body, the decompressed profile (Go's pprof gzips about 3-5x),
   * the delta and the record queued for the outputs.
   */
  memoryEstimateFactor: 8,
  /** The body size guessed for a first scrape (a typical Go heap profile is well under this). */
  memoryEstimateFirstBodyBytes: 512 * 1024,
  /** The same for a CPU window (it reserves its body alone while the target records; Go CPU profiles are tens of KB). */
  memoryEstimateFirstWindowBytes: 64 * 1024,
  /** Longest wait for room in the memory budget before a scrape is skipped (and at most a tenth of its interval). */
  memoryBudgetMaxWaitMs: 2 * SECOND,
  /**
   * The profile workers are behind (cumulative scrapes are skipped before
   * they are fetched) when the oldest job on a target's worker has waited
   * more than this fraction of the type's interval, or it holds more jobs
   * than workersBehindJobs. The age is the measure; the count is a safety
   * net set well above the bursts a worker clears in a moment (a worker
   * paused for half a second on a loaded machine, with 300 targets, holds
   * about 75 jobs and is not behind).
   */
  workersBehindFraction: 0.5,
  workersBehindJobs: 512,

  /** Grace period on SIGTERM/SIGINT for in-flight scrapes and sends. */
  shutdownGraceMs: 10 * SECOND,
  /**
   * Keep-alive idle time of pooled connections (targets, outputs): longer
   * than the default 10 s interval, so a target's next scrapes reuse the
   * socket, and the bound on how long an idle one (a target gone) stays open.
   */
  keepAliveMs: 60 * SECOND,
  /**
   * [agent] compression_level default: the gzip level of the deltas the
   * collector writes. 1, as Go's runtime/pprof writes its own profiles: on
   * the bench's ~60 KB heap about 10x cheaper than level 6 for 18 % more
   * bytes (bench/compression.ts, the README's table).
   */
  defaultCompressionLevel: 1,
  /**
   * Connections per target origin: one for the CPU profile (open for its
   * whole window, ~9 s of each 10 s by default) and one the quick types
   * take in turn, each request a few ms. Not 1: the quick types would wait
   * behind the CPU window; not more: a socket per type is 5,000 sockets at
   * 1,000 targets, and overlapping quick scrapes only queue for a few ms.
   */
  connectionsPerTarget: 2,

  /** kubernetes_sd: pods per list page (limit), and the default field_selector (pods that are not running have nothing to profile). */
  kubernetesListPageSize: 500,
  kubernetesFieldSelector: 'status.phase=Running',
} as const;

export type Limits = typeof LIMITS;

/** Default profile worker pool size ([agent] profile_workers): every core but one (the main thread's), at least one, at most four. */
export function defaultWorkerCount(): number {
  return Math.max(1, Math.min(4, availableParallelism() - 1));
}
