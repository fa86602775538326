import type { ProfileTypeName, ProfileTypeSpec } from '../profile/types.js';

export const LOG_LEVELS = ['trace', 'debug', 'info', 'warn', 'error'] as const;
export type LogLevel = (typeof LOG_LEVELS)[number];

/** Where a setting was written, for messages. */
export interface SourceRef {
  readonly file: string;
  readonly line: number;
}

/** This process scrapes the targets whose rendezvous hash picks `index` among `count`. */
export interface ShardConfig {
  readonly index: number;
  readonly count: number;
}

export interface AgentConfig {
  /** Host name for targets on loopback (default: the OS host name). */
  readonly hostname: string;
  /** HTTP listen address for metrics and status; '' turns it off. */
  readonly listen: string;
  readonly dataDir: string;
  readonly logLevel: LogLevel;
  /** Bounds of the on-disk spool under data_dir; past them the oldest profiles go. */
  readonly spoolMaxBytes: number;
  readonly spoolMaxAgeMs: number;
  /** Bytes of scraped bodies, decoded profiles and queued work held at once; a scrape that would pass it waits briefly or is skipped before it is fetched. */
  readonly memoryLimitBytes: number;
  /** On SIGTERM/SIGINT: how long scrapes and sends in flight may still take. */
  readonly shutdownGraceMs: number;
  /** Worker threads for decoding and deltas; 0 runs them on the main thread. */
  readonly profileWorkers: number;
  /** zlib level (1-9) of the gzip the profile stage writes (deltas, uncompressed bodies); LIMITS.defaultCompressionLevel. */
  readonly compressionLevel: number;
  readonly shard?: ShardConfig;
  /** TLS and authentication of the status server ([agent.web]); none: plain HTTP, open. */
  readonly web?: WebConfig;
}

/**
 * [agent.web], after Prometheus's web config: TLS for the status server, and
 * who may read it (basic auth users with bcrypt hashes, and/or a bearer
 * token). /healthz and /readyz stay open for probes.
 */
export interface WebConfig {
  readonly tls?: { readonly certFile: string; readonly keyFile: string };
  /** User name -> bcrypt hash ($2a$, $2b$ or $2y$). */
  readonly basicAuthUsers?: Readonly<Record<string, string>>;
  /** The token itself (from bearer_token or bearer_token_file); never logged. */
  readonly bearerToken?: string;
}

export interface TlsConfig {
  readonly caFile?: string;
  readonly certFile?: string;
  readonly keyFile?: string;
  readonly insecureSkipVerify: boolean;
}

/**
 * Where heap, mutex and block deltas come from: godeltaprof's delta_* paths
 * when the target serves them, else our own delta of /heap, /mutex, /block
 * ("auto"); always godeltaprof; always our own ("client").
 */
export const DELTA_SOURCES = ['auto', 'godeltaprof', 'client'] as const;
export type DeltaSource = (typeof DELTA_SOURCES)[number];

/** One `[[inputs.profile.go]]` block, validated, with defaults applied. */
export interface GoTargetConfig {
  readonly source: SourceRef;
  /** Origin plus pprof prefix, no trailing slash, no credentials. */
  readonly baseUrl: string;
  /**
   * Credentials sent with every scrape: `basic_auth`, `bearer_token(_file)`,
   * or user:password from the URL. Never logged.
   */
  readonly auth?: TargetAuth;
  /** `tenant_id` (or, on a discovered target, `__tenant_id__`): the profiles' X-Scope-OrgID. */
  readonly tenantId?: string;
  /** A template's credentials may go to discovered http:// targets (default: https only). */
  readonly allowInsecureCredentials?: boolean;
  /** On a template: Prometheus relabel rules, as written (validated), applied to every discovered target. */
  readonly relabelConfigs?: readonly RelabelConfigSpec[];
  /**
   * Set by discovery on a target whose template has credentials and whose
   * scheme is http (without allow_insecure_credentials): why it is not
   * scraped. Its credentials were taken off.
   */
  readonly credentialsRefused?: string;
  readonly intervalMs: number;
  readonly profileDurationMs: number;
  readonly httpTimeoutMs: number;
  readonly service: string;
  readonly env: string;
  readonly version: string;
  /** Built-in and custom types, in scraping order. */
  readonly enabledTypes: readonly ProfileTypeName[];
  /** The types its [[inputs.profile.go.custom]] blocks declare (all of them enabled). */
  readonly customTypes?: readonly ProfileTypeSpec[];
  /** Default "auto". */
  readonly deltaSource?: DeltaSource;
  /** `[inputs.profile.tags]` of the parent input. */
  readonly inputTags: Readonly<Record<string, string>>;
  /** `[inputs.profile.go.tags]`. */
  readonly goTags: Readonly<Record<string, string>>;
  readonly bodySizeLimitBytes: number;
  readonly generateMetrics: boolean;
  readonly tls?: TlsConfig;
  /** At most this much CPU profiling per service per period, across its replicas. */
  readonly cpuBudget?: CpuBudgetConfig;
  /** `<type>_budget` of the other types: at most so many scrapes per service per period. */
  readonly scrapeBudgets?: Readonly<Partial<Record<ProfileTypeName, ScrapeBudgetConfig>>>;
  /** Set on a template: targets come from this discovery, not from `baseUrl`. */
  readonly discovery?: DiscoveryConfig;
  /** `[inputs.profile.go.schedule]`: types on a cron pattern instead of `interval`. */
  readonly schedule?: Readonly<Partial<Record<ProfileTypeName, CronScheduleConfig>>>;
  /** `schedule_spread` (with its default when `schedule` is set): targets on a pattern fire spread over this much after each run. */
  readonly scheduleSpreadMs?: number;
  /** `[inputs.profile.go.trigger]`: profiles taken at once when a derived metric crosses a threshold. */
  readonly trigger?: TriggerConfig;
}

export interface CronScheduleConfig {
  /** Six fields: second minute hour day-of-month month day-of-week (croner). */
  readonly pattern: string;
  /** The shortest gap between two runs, as found when the config was read. */
  readonly minGapMs: number;
}

/** The runtime metrics derived from profiles that a trigger can watch, and the type each comes from. */
export const TRIGGER_METRICS = {
  cpu_cores: 'cpu',
  heap_live_bytes: 'heap',
  goroutines: 'goroutine',
  mutex_wait_seconds_per_second: 'mutex',
} as const satisfies Record<string, ProfileTypeName>;
export type TriggerMetric = keyof typeof TRIGGER_METRICS;

export interface TriggerConfig {
  /** `<metric>_above` thresholds; at least one. */
  readonly above: Readonly<Partial<Record<TriggerMetric, number>>>;
  /** The types taken when one is crossed. */
  readonly types: readonly ProfileTypeName[];
  /** After a firing, the target fires again no sooner than this. */
  readonly cooldownMs: number;
}

/**
 * A target's credentials. A `*File` is read when a scrape needs it (again
 * whenever the file changes), so a rotated token is picked up.
 */
export type TargetAuth =
  | { readonly kind: 'basic'; readonly username: string; readonly password?: string; readonly passwordFile?: string; readonly fromUrl?: boolean }
  | { readonly kind: 'bearer'; readonly token?: string; readonly tokenFile?: string };

/** One `[[inputs.profile.go.relabel_configs]]` rule as written (Prometheus's keys); compiled where it is used. */
export interface RelabelConfigSpec {
  readonly source_labels?: readonly string[];
  readonly separator?: string;
  readonly regex?: string;
  readonly modulus?: number;
  readonly target_label?: string;
  readonly replacement?: string;
  readonly action?: string;
}

export interface CpuBudgetConfig {
  readonly budgetMs: number;
  readonly periodMs: number;
}

export interface ScrapeBudgetConfig {
  readonly scrapes: number;
  readonly periodMs: number;
}

export type DiscoveryConfig =
  | { readonly kind: 'file_sd'; readonly files: readonly string[]; readonly refreshIntervalMs: number }
  | { readonly kind: 'http_sd'; readonly url: string; readonly refreshIntervalMs: number; readonly timeoutMs: number }
  | {
      readonly kind: 'dns_sd';
      readonly names: readonly string[];
      readonly type: 'SRV' | 'A' | 'AAAA';
      /** For A/AAAA records: the port to scrape. */
      readonly port?: number;
      readonly refreshIntervalMs: number;
      /** DNS servers to ask instead of the system's ("ip:port"). */
      readonly servers?: readonly string[];
    }
  | {
      readonly kind: 'kubernetes_sd';
      /** API server URL; default: in-cluster (KUBERNETES_SERVICE_HOST and the service account). */
      readonly apiServer?: string;
      readonly kubeconfig?: string;
      /** Namespaces to watch; empty (and not ownNamespace): all. */
      readonly namespaces: readonly string[];
      /** Also the namespace the collector runs in (its service account's), like Prometheus's own_namespace. */
      readonly ownNamespace?: boolean;
      /** Sent as labelSelector on every list and watch; none: every pod. */
      readonly labelSelector?: string;
      /** Sent as fieldSelector; "" for none; unset: LIMITS.kubernetesFieldSelector (Running pods). */
      readonly fieldSelector?: string;
      readonly tls?: TlsConfig;
      readonly bearerTokenFile?: string;
    };

/** Settings every network output has. */
export interface NetworkOutputSettings {
  readonly timeoutMs: number;
  readonly headers: Readonly<Record<string, string>>;
  /** Sends in flight at once, at most (default 4). */
  readonly concurrency?: number;
  readonly tls?: TlsConfig;
}

export interface DatakitOutputConfig extends NetworkOutputSettings {
  readonly kind: 'datakit';
  readonly name: string;
  readonly source: SourceRef;
  /** Without credentials; those are in `auth`. */
  readonly url: string;
  readonly auth?: OutputAuth;
}

export interface FileOutputConfig {
  readonly kind: 'file';
  readonly name: string;
  readonly source: SourceRef;
  readonly dir: string;
}

/** Credentials for an output; resolved from the file when a *_file key is used. Never logged. */
export type OutputAuth =
  | { readonly kind: 'basic'; readonly username: string; readonly password: string; readonly from?: string }
  | { readonly kind: 'bearer'; readonly token: string; readonly from?: string };

export interface PyroscopeOutputConfig extends NetworkOutputSettings {
  readonly kind: 'pyroscope';
  readonly name: string;
  readonly source: SourceRef;
  /** Base URL (no trailing slash); /push.v1.PusherService/Push or /ingest is added. */
  readonly url: string;
  readonly api: 'push' | 'ingest';
  /** Sent as X-Scope-OrgID when not empty. */
  readonly tenantId: string;
  readonly auth?: OutputAuth;
}

/** [[outputs.otlp]]: OTLP profiles over HTTP (OTLP/HTTP binary protobuf). */
export interface OtlpOutputConfig extends NetworkOutputSettings {
  readonly kind: 'otlp';
  readonly name: string;
  readonly source: SourceRef;
  /** The full endpoint (…/v1development/profiles), without credentials; those are in `auth`. */
  readonly url: string;
  /** Content-Encoding of the request body. */
  readonly compression: 'gzip' | 'none';
  /** Sent as X-Scope-OrgID when not empty. */
  readonly tenantId: string;
  readonly auth?: OutputAuth;
}

/** [[outputs.datadog]]: dd-trace-go's upload, to a Datadog Agent (`url`) or the agentless intake of a `site`. */
export interface DatadogOutputConfig extends NetworkOutputSettings {
  readonly kind: 'datadog';
  readonly name: string;
  readonly source: SourceRef;
  /** An Agent's /profiling/v1/input as written (credentials in `auth`), or the intake URL of `site`. */
  readonly url: string;
  /** Agentless: the site whose intake `url` is. */
  readonly site?: string;
  /** Agentless: the API key (api_key or api_key_file), sent as DD-API-KEY. Never logged. */
  readonly apiKey?: string;
  /** The file the API key was read from, for --check. */
  readonly apiKeyFrom?: string;
  readonly auth?: OutputAuth;
}

export type OutputConfig = DatadogOutputConfig | DatakitOutputConfig | FileOutputConfig | OtlpOutputConfig | PyroscopeOutputConfig;

/** A key DataKit defines that has no meaning here: accepted, listed by --check. */
export interface IgnoredKey {
  readonly path: string;
  readonly line: number;
  readonly why: string;
}

export interface ConfigNotice {
  readonly path: string;
  readonly line: number;
  readonly message: string;
}

export interface Config {
  readonly file: string;
  readonly agent: AgentConfig;
  readonly targets: readonly GoTargetConfig[];
  /** [[inputs.profile.go]] blocks with a discovery: templates for the targets it finds. */
  readonly templates: readonly GoTargetConfig[];
  readonly outputs: readonly OutputConfig[];
  /** True when no [[outputs.*]] was written and the file output was implied. */
  readonly defaultOutput: boolean;
  readonly ignored: readonly IgnoredKey[];
  /** Valid but worth saying (a defaulted service name, TLS keys on http). */
  readonly notices: readonly ConfigNotice[];
}
