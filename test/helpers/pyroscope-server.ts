// A strict Grafana Pyroscope test double: the connect push API and the
// legacy /ingest endpoint, on 127.0.0.1 with a free port.
//
// Push (POST /push.v1.PusherService/Push, connect unary, binary protobuf):
// the body is decoded by the schema with protobufjs, from the .proto text
// below, never with the collector's own encoder. Labels are validated the
// way Pyroscope's distributor validates them (pkg/validation ValidateLabels:
// at most 30 names, service_name present, valid and known __name__, valid
// names after '.' -> '_', no duplicates, name/value length limits), and every
// raw_profile must be a pprof that pprof-format decodes (gunzipped when it is
// gzip). Success is 200 with an empty application/proto body; failure is a
// connect error: JSON {"code", "message"} with the code's HTTP status.
//
// Ingest (POST /ingest?name=app{k=v,...}&from=&until=...): `name` is parsed
// like Pyroscope's labelset parser; from/until are Unix s (10 digits), ms
// (13) or ns (19). With format=pprof the whole body is one raw pprof (what the
// @pyroscope/nodejs client sends); otherwise a multipart/form-data body whose
// FILE parts `profile` and `sample_type_config` are read (Go's form.File:
// a part without a filename is not seen, as in Pyroscope). The profile name
// is derived from the sample types as Pyroscope does, with its default Go
// mapping when there is no sample_type_config (so a Go block profile without
// one is taken for mutex).
//
// Where the double is stricter than the server, on purpose (it exists to
// catch our mistakes): from/until are required; only pprof bodies are read
// (no format=folded/trie/jfr); a profile whose configured sample types name
// no profile or several is refused; a sample_type_config `aggregation` other
// than "sum" or "average" is refused (Pyroscope silently reads it as sum); a
// push sample ID must be empty or a UUID; the push content type must be
// application/proto (the server would also take JSON).
//
// Every request is counted in `attempts`; accepted profiles are in
// `accepted`, off-contract requests in `rejections`. `setMode` makes it
// answer a status (a connect code, or a bare HTTP status without JSON, as a
// proxy would) to valid requests for a number of requests or for a while.

import { createServer, type IncomingHttpHeaders, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import { gunzipSync } from 'node:zlib';
import { Profile } from 'pprof-format';
import protobuf from 'protobufjs';
import { Response } from 'undici';
import { closeServer, header, listenLocal, readBody } from './servers.js';

export const PUSH_PATH = '/push.v1.PusherService/Push';
export const INGEST_PATH = '/ingest';

// The schema, as Pyroscope's api/ defines it (types/v1 and push/v1).
const TYPES_PROTO = `
syntax = "proto3";
package types.v1;
message LabelPair {
  string name = 1;
  string value = 2;
}
`;
const PUSH_PROTO = `
syntax = "proto3";
package push.v1;
message PushRequest {
  repeated RawProfileSeries series = 1;
}
message RawProfileSeries {
  repeated types.v1.LabelPair labels = 1;
  repeated RawSample samples = 2;
}
message RawSample {
  bytes raw_profile = 1;
  string ID = 2;
}
message PushResponse {}
`;

const root = new protobuf.Root();
protobuf.parse(TYPES_PROTO, root, { keepCase: true });
protobuf.parse(PUSH_PROTO, root, { keepCase: true });
root.resolveAll();
const PushRequestType = root.lookupType('push.v1.PushRequest');

export interface DecodedLabel {
  readonly name: string;
  readonly value: string;
}
export interface DecodedSample {
  readonly raw_profile: Buffer;
  readonly ID: string;
}
export interface DecodedSeries {
  readonly labels: DecodedLabel[];
  readonly samples: DecodedSample[];
}
export interface DecodedPush {
  readonly series: DecodedSeries[];
  /** Re-encoding the decoded message gives back the same bytes: no unknown fields, nothing protobufjs skipped. */
  readonly canonical: boolean;
}

/** Decodes a PushRequest body with protobufjs, by the schema above. Throws on malformed protobuf. */
export function decodePushRequest(body: Uint8Array): DecodedPush {
  const msg = PushRequestType.decode(body);
  const o = PushRequestType.toObject(msg, { defaults: true, arrays: true }) as {
    series: Array<{ labels: Array<{ name: string; value: string }>; samples: Array<{ raw_profile: Uint8Array; ID: string }> }>;
  };
  const reencoded = PushRequestType.encode(msg).finish();
  return {
    series: o.series.map((s) => ({
      labels: s.labels.map((l) => ({ name: l.name, value: l.value })),
      samples: s.samples.map((x) => ({ raw_profile: Buffer.from(x.raw_profile), ID: x.ID })),
    })),
    canonical: Buffer.from(reencoded).equals(Buffer.from(body)),
  };
}

/** Encodes a PushRequest with protobufjs (tests build off-contract requests with it). */
export function encodePushRequest(series: ReadonlyArray<{ labels: readonly DecodedLabel[]; samples: ReadonlyArray<{ raw_profile: Uint8Array; ID: string }> }>): Buffer {
  const msg = PushRequestType.fromObject({ series: series.map((s) => ({ labels: s.labels.map((l) => ({ ...l })), samples: s.samples.map((x) => ({ ...x })) })) });
  return Buffer.from(PushRequestType.encode(msg).finish());
}

/** Connect error codes and the HTTP status the connect protocol gives each. */
export const CONNECT_STATUS = {
  canceled: 499,
  unknown: 500,
  invalid_argument: 400,
  deadline_exceeded: 504,
  not_found: 404,
  already_exists: 409,
  permission_denied: 403,
  resource_exhausted: 429,
  failed_precondition: 400,
  aborted: 409,
  out_of_range: 400,
  unimplemented: 501,
  internal: 500,
  unavailable: 503,
  data_loss: 500,
  unauthenticated: 401,
} as const;
export type ConnectCode = keyof typeof CONNECT_STATUS;

/** The __name__ values the double knows (Go profiles, ours for allocs and threadcreate, fgprof, and a few others). */
export const KNOWN_PROFILE_NAMES = new Set(['process_cpu', 'memory', 'goroutine', 'goroutines', 'mutex', 'block', 'wall', 'allocs', 'threadcreate', 'fgprof']);

/** Pyroscope's defaults: validation.max-label-names-per-series, max-label-name-length, max-label-value-length. */
export const MAX_LABEL_NAMES = 30;
export const MAX_LABEL_NAME_LENGTH = 1024;
export const MAX_LABEL_VALUE_LENGTH = 2048;

export type SampleTypeConfig = Record<string, { units?: string; 'display-name'?: string; aggregation?: string; cumulative?: boolean; sampled?: boolean }>;

/** Pyroscope's tree.DefaultSampleTypeMapping (used when an upload has no sample_type_config). */
export const DEFAULT_SAMPLE_TYPE_MAPPING: SampleTypeConfig = {
  samples: { 'display-name': 'cpu', units: 'samples', sampled: true },
  inuse_objects: { units: 'objects', aggregation: 'average' },
  alloc_objects: { units: 'objects', cumulative: true },
  inuse_space: { units: 'bytes', aggregation: 'average' },
  alloc_space: { units: 'bytes', cumulative: true },
  goroutine: { 'display-name': 'goroutines', units: 'goroutines', aggregation: 'average' },
  contentions: { 'display-name': 'mutex_count', units: 'lock_samples', cumulative: true },
  delay: { 'display-name': 'mutex_duration', units: 'lock_nanoseconds', cumulative: true },
};

/** The profile name one (display) sample type name stands for, or undefined. */
export function profileNameOf(displayName: string): string | undefined {
  if (displayName === 'samples' || displayName.includes('cpu')) return 'process_cpu';
  if (displayName.startsWith('alloc_') || displayName.startsWith('inuse_')) return 'memory';
  if (displayName === 'goroutine' || displayName === 'goroutines') return 'goroutines';
  if (displayName.startsWith('mutex_')) return 'mutex';
  if (displayName.startsWith('block_')) return 'block';
  return undefined;
}

export interface AcceptedProfile {
  readonly api: 'push' | 'ingest';
  /** __name__: the label (push) or derived from the sample types (ingest). */
  readonly name: string;
  /** Every label of the series (ingest: the `name` pairs plus service_name and the derived __name__). */
  readonly labels: Record<string, string>;
  /** Push: the label names in the order sent. */
  readonly labelOrder: string[];
  /** Push: the RawSample ID. */
  readonly id: string | undefined;
  /** The profile bytes as received (raw_profile, the profile part, or the body). */
  readonly raw: Buffer;
  readonly gzipped: boolean;
  readonly profile: Profile;
  readonly sampleTypes: string[];
  readonly headers: IncomingHttpHeaders;
  /** Ingest: the query as sent, and parsed. */
  readonly rawQuery?: string;
  readonly query?: Record<string, string>;
  readonly appName?: string;
  readonly fromNs?: bigint;
  readonly untilNs?: bigint;
  readonly sampleTypeConfig?: SampleTypeConfig;
  /** Push: the request held this many series / this series this many samples. */
  readonly requestSeries?: number;
  readonly seriesSamples?: number;
  /** Push: the protobuf body re-encodes to the same bytes. */
  readonly canonical?: boolean;
  readonly receivedAtMs: number;
}

export interface PyroRejection {
  readonly api: 'push' | 'ingest' | 'other';
  readonly status: number;
  readonly code?: string;
  readonly reason: string;
  readonly method: string;
  readonly url: string;
  readonly headers: IncomingHttpHeaders;
  readonly receivedAtMs: number;
}

export interface PyroAttempt {
  readonly api: 'push' | 'ingest' | 'other';
  readonly status: number;
  readonly code?: string;
  /** Push: the sample ID(s) of the request. */
  readonly ids: string[];
  readonly receivedAtMs: number;
}

export interface PyroscopeMode {
  /** Answer valid requests with this connect error (push: JSON body and the code's status; ingest: the status and the message as text). */
  readonly code?: ConnectCode;
  /** Answer valid requests with this bare HTTP status and a text body (a proxy's answer). Ignored when `code` is set. */
  readonly status?: number;
  readonly message?: string;
  readonly headers?: Readonly<Record<string, string>>;
  /** For this many valid requests, then 200 again. */
  readonly times?: number;
  /** For this long from now, then 200 again. */
  readonly forMs?: number;
}

export interface PyroscopeServerOptions {
  /** When set, a request whose Authorization header differs gets 401 unauthenticated. */
  readonly expectAuthorization?: string;
}

/** Thrown while checking a request: status, connect code and reason. */
class Refusal extends Error {
  constructor(
    readonly status: number,
    readonly code: ConnectCode,
    message: string,
  ) {
    super(message);
  }
}

function refuse(message: string, code: ConnectCode = 'invalid_argument', status: number = CONNECT_STATUS[code]): never {
  throw new Refusal(status, code, message);
}

const num = (v: number | bigint): number => (typeof v === 'number' ? v : Number(BigInt.asUintN(64, v)));

function labelsString(ls: readonly DecodedLabel[]): string {
  return `{${ls.map((l) => `${l.name}="${l.value}"`).join(', ')}}`;
}

/** Pyroscope's ValidateLabels, with the double's known-name check. Throws Refusal. */
export function validateLabels(input: readonly DecodedLabel[]): void {
  if (input.length === 0) refuse('error at least one label pair is required per profile');
  const ls = [...input].sort((a, b) => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0));
  const text = labelsString(ls);
  if (ls.length > MAX_LABEL_NAMES) refuse(`profile series '${text}' has ${ls.length} label names; limit ${MAX_LABEL_NAMES}`);
  const metricName = ls.find((l) => l.name === '__name__')?.value ?? '';
  if (!/^[a-zA-Z_:][a-zA-Z0-9_:]*$/.test(metricName)) refuse(`invalid labels '${text}' with error: invalid metric name`);
  if (!KNOWN_PROFILE_NAMES.has(metricName)) refuse(`invalid labels '${text}' with error: unknown profile name "${metricName}"`);
  const service = ls.find((l) => l.name === 'service_name')?.value ?? '';
  if (service === '') refuse(`invalid labels '${text}' with error: service name is not provided`);
  let last = '';
  for (const l of ls) {
    if (l.name.length > MAX_LABEL_NAME_LENGTH) refuse(`profile with labels '${text}' has label name too long: '${l.name}'`);
    if (l.value.length > MAX_LABEL_VALUE_LENGTH) refuse(`profile with labels '${text}' has label value too long: '${l.value}'`);
    if (!/^[a-zA-Z_][a-zA-Z0-9_]*$/.test(l.name.replace(/\./g, '_'))) refuse(`invalid labels '${text}' with error: invalid label name '${l.name}'`);
    if (l.name === last) refuse(`profile with labels '${text}' has duplicate label name: '${l.name}'`);
    last = l.name;
  }
}

/** Gunzips (when gzip) and decodes a pprof; checks what Pyroscope's ValidateProfile checks. */
export function readPprof(raw: Buffer, what: string, status = 400, code: ConnectCode = 'invalid_argument'): { profile: Profile; gzipped: boolean; sampleTypes: string[] } {
  if (raw.length === 0) refuse(`${what}: empty profile`, code, status);
  const gzipped = raw.length >= 2 && raw[0] === 0x1f && raw[1] === 0x8b;
  let plain: Buffer;
  try {
    plain = gzipped ? gunzipSync(raw) : raw;
  } catch (err) {
    return refuse(`${what}: gzip: ${(err as Error).message}`, code, status);
  }
  let profile: Profile;
  try {
    profile = Profile.decode(plain);
  } catch (err) {
    return refuse(`${what}: failed to parse pprof: ${(err as Error).message}`, code, status);
  }
  const strings = profile.stringTable.strings;
  if (profile.sampleType.length === 0) refuse(`${what}: the profile has no sample types`, code, status);
  const sampleTypes = profile.sampleType.map((st) => strings[num(st.type)] ?? '');
  for (const st of sampleTypes) if (st.includes('-')) refuse(`${what}: sample type contains -`, code, status);
  for (const l of profile.location) if (num(l.id) === 0) refuse(`${what}: location id is 0`, code, status);
  for (const f of profile.function) if (num(f.id) === 0) refuse(`${what}: function id is 0`, code, status);
  return { profile, gzipped, sampleTypes };
}

/** Pyroscope's labelset key parser: `app{k=v,k=v}`; a value ends at ',' or '}'. */
export function parseIngestName(name: string): { app: string; labels: Record<string, string> } {
  const open = name.indexOf('{');
  const app = open < 0 ? name : name.slice(0, open);
  if (app === '') refuse('name: the application name is empty', 'invalid_argument', 400);
  if (/[{},=]/.test(app)) refuse(`name: the application name "${app}" holds one of { } , =`, 'invalid_argument', 400);
  const labels: Record<string, string> = {};
  if (open < 0) return { app, labels };
  let i = open + 1;
  if (name[i] === '}') {
    if (i + 1 !== name.length) refuse(`name: characters after '}' in "${name}"`, 'invalid_argument', 400);
    return { app, labels };
  }
  for (;;) {
    const eq = name.indexOf('=', i);
    if (eq < 0) refuse(`name: a key without '=' in "${name}"`, 'invalid_argument', 400);
    const key = name.slice(i, eq);
    if (!/^[a-zA-Z_][a-zA-Z0-9_]*$/.test(key.replace(/\./g, '_'))) refuse(`name: invalid tag key "${key}"`, 'invalid_argument', 400);
    if (key.startsWith('__')) refuse(`name: tag key "${key}" is reserved`, 'invalid_argument', 400);
    let j = eq + 1;
    while (j < name.length && name[j] !== ',' && name[j] !== '}') j++;
    if (j >= name.length) refuse(`name: no closing '}' in "${name}"`, 'invalid_argument', 400);
    if (Object.hasOwn(labels, key)) refuse(`name: tag key "${key}" appears twice`, 'invalid_argument', 400);
    labels[key] = name.slice(eq + 1, j);
    if (name[j] === '}') {
      if (j + 1 !== name.length) refuse(`name: characters after '}' in "${name}"`, 'invalid_argument', 400);
      return { app, labels };
    }
    i = j + 1;
  }
}

/** from/until: 10 digits = s, 13 = ms, 19 = ns. */
export function parseIngestTime(v: string | null, key: string): bigint {
  if (v === null || v === '') return refuse(`${key} is required`, 'invalid_argument', 400);
  if (!/^\d+$/.test(v)) refuse(`${key} "${v}" is not a Unix timestamp`, 'invalid_argument', 400);
  switch (v.length) {
    case 10:
      return BigInt(v) * 1_000_000_000n;
    case 13:
      return BigInt(v) * 1_000_000n;
    case 19:
      return BigInt(v);
    default:
      return refuse(`${key} "${v}" has ${v.length} digits: want 10 (s), 13 (ms) or 19 (ns)`, 'invalid_argument', 400);
  }
}

const AGGREGATIONS = new Set(['sum', 'average']);

function parseSampleTypeConfig(text: string): SampleTypeConfig {
  let o: unknown;
  try {
    o = JSON.parse(text);
  } catch (err) {
    return refuse(`sample_type_config is not JSON: ${(err as Error).message}`, 'invalid_argument', 422);
  }
  if (o === null || typeof o !== 'object' || Array.isArray(o)) refuse('sample_type_config is not a JSON object', 'invalid_argument', 422);
  const out: SampleTypeConfig = {};
  for (const [k, v] of Object.entries(o as Record<string, unknown>)) {
    if (v === null || typeof v !== 'object' || Array.isArray(v)) refuse(`sample_type_config.${k} is not an object`, 'invalid_argument', 422);
    const e = v as Record<string, unknown>;
    for (const f of Object.keys(e)) {
      if (!['units', 'display-name', 'aggregation', 'cumulative', 'sampled'].includes(f)) refuse(`sample_type_config.${k}: unknown field "${f}"`, 'invalid_argument', 422);
    }
    for (const f of ['units', 'display-name', 'aggregation']) if (e[f] !== undefined && typeof e[f] !== 'string') refuse(`sample_type_config.${k}.${f} is not a string`, 'invalid_argument', 422);
    for (const f of ['cumulative', 'sampled']) if (e[f] !== undefined && typeof e[f] !== 'boolean') refuse(`sample_type_config.${k}.${f} is not a boolean`, 'invalid_argument', 422);
    if (e.aggregation !== undefined && !AGGREGATIONS.has(e.aggregation as string)) {
      refuse(`sample_type_config.${k}.aggregation is "${String(e.aggregation)}": Pyroscope knows "sum" and "average" (anything else is read as sum)`, 'invalid_argument', 422);
    }
    out[k] = e as SampleTypeConfig[string];
  }
  return out;
}

/** The profile name Pyroscope gives an ingested profile; refuses none or several. */
export function deriveIngestName(sampleTypes: readonly string[], config: SampleTypeConfig | undefined): string {
  const mapping = config ?? DEFAULT_SAMPLE_TYPE_MAPPING;
  const names = new Set<string>();
  for (const st of sampleTypes) {
    const entry = Object.hasOwn(mapping, st) ? mapping[st] : undefined;
    if (!entry) continue;
    const n = profileNameOf(entry['display-name'] ?? st);
    if (n) names.add(n);
  }
  if (names.size !== 1) {
    refuse(
      `the sample types [${sampleTypes.join(', ')}] name ${names.size === 0 ? 'no profile' : `several profiles (${[...names].join(', ')})`}${config ? ' with the sample_type_config sent' : ' (no sample_type_config: the default Go mapping)'}`,
      'invalid_argument',
      422,
    );
  }
  return [...names][0]!;
}

interface BlobLike {
  readonly name?: string;
  readonly type: string;
  arrayBuffer(): Promise<ArrayBuffer>;
}

const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;

export class PyroscopeServer {
  readonly accepted: AcceptedProfile[] = [];
  readonly rejections: PyroRejection[] = [];
  readonly attempts: PyroAttempt[] = [];
  /** Requests answered with the mode's status (valid, but told to fail). */
  forced = 0;

  private server: Server | null = null;
  private mode: PyroscopeMode = {};
  private modeLeft = Infinity;
  private modeUntilMs = Infinity;
  private baseUrl = '';

  constructor(private readonly opts: PyroscopeServerOptions = {}) {}

  /** http://127.0.0.1:PORT (the `url` of an [[outputs.pyroscope]]). */
  get url(): string {
    if (!this.server) throw new Error('pyroscope double not started');
    return this.baseUrl;
  }

  /** Date.now() when the current timed mode ends (Infinity when none). */
  get modeEndsAtMs(): number {
    return this.modeUntilMs;
  }

  async start(): Promise<this> {
    const server = createServer((req, res) => void this.handle(req, res));
    this.baseUrl = `http://127.0.0.1:${await listenLocal(server)}`;
    this.server = server;
    return this;
  }

  setMode(mode: PyroscopeMode): void {
    this.mode = mode;
    this.modeLeft = mode.times ?? Infinity;
    this.modeUntilMs = mode.forMs !== undefined ? Date.now() + mode.forMs : Infinity;
  }

  /** Forgets everything recorded and goes back to 200. */
  reset(): void {
    this.accepted.length = 0;
    this.rejections.length = 0;
    this.attempts.length = 0;
    this.forced = 0;
    this.setMode({});
  }

  /** Counts of answers by status, e.g. { "200": 5, "503": 3 }. */
  statusCounts(): Record<string, number> {
    const out: Record<string, number> = {};
    for (const a of this.attempts) out[String(a.status)] = (out[String(a.status)] ?? 0) + 1;
    return out;
  }

  private forcedMode(): PyroscopeMode | null {
    const m = this.mode;
    if (m.code === undefined && (m.status === undefined || m.status === 200)) return null;
    if (this.modeLeft <= 0 || Date.now() >= this.modeUntilMs) {
      this.mode = {};
      this.modeUntilMs = Infinity;
      return null;
    }
    this.modeLeft--;
    return m;
  }

  private answerError(api: 'push' | 'ingest' | 'other', res: ServerResponse, status: number, code: ConnectCode | undefined, message: string, extra: Readonly<Record<string, string>> = {}): void {
    if (api === 'push' && code !== undefined) {
      res.writeHead(status, { 'content-type': 'application/json', ...extra }).end(JSON.stringify({ code, message }));
    } else {
      res.writeHead(status, { 'content-type': 'text/plain; charset=utf-8', ...extra }).end(`${message}\n`);
    }
  }

  private reject(api: 'push' | 'ingest' | 'other', req: IncomingMessage, res: ServerResponse, r: Refusal, receivedAtMs: number, ids: string[] = []): void {
    const code = api === 'push' && r.status !== 415 && r.status !== 405 && r.status !== 404 ? r.code : undefined;
    this.rejections.push({ api, status: r.status, ...(code ? { code } : {}), reason: r.message, method: req.method ?? '', url: req.url ?? '', headers: req.headers, receivedAtMs });
    this.attempts.push({ api, status: r.status, ...(code ? { code } : {}), ids, receivedAtMs });
    this.answerError(api, res, r.status, code, r.message);
  }

  private async handle(req: IncomingMessage, res: ServerResponse): Promise<void> {
    let api: 'push' | 'ingest' | 'other' = 'other';
    try {
      const body = await readBody(req);
      const receivedAtMs = Date.now();
      const url = new URL(req.url ?? '/', 'http://double');
      if (url.pathname === PUSH_PATH) api = 'push';
      else if (url.pathname === INGEST_PATH) api = 'ingest';
      try {
        if (api === 'other') refuse(`404 page not found: ${url.pathname}`, 'not_found', 404);
        if (req.method !== 'POST') refuse(`method ${req.method} not allowed, want POST`, 'invalid_argument', 405);
        if (this.opts.expectAuthorization !== undefined && header(req.headers, 'authorization') !== this.opts.expectAuthorization) {
          refuse('authentication required: the Authorization header is missing or wrong', 'unauthenticated');
        }
        if (api === 'push') await this.push(req, res, body, receivedAtMs);
        else await this.ingest(req, res, url, body, receivedAtMs);
      } catch (err) {
        if (err instanceof Refusal) this.reject(api, req, res, err, receivedAtMs);
        else throw err;
      }
    } catch (err) {
      if (!res.headersSent) this.answerError(api, res, 500, 'internal', `pyroscope double failed: ${String(err)}`);
    }
  }

  /** When the mode says so, answers the forced status and returns true. */
  private answerForced(api: 'push' | 'ingest', res: ServerResponse, ids: string[], receivedAtMs: number): boolean {
    const m = this.forcedMode();
    if (!m) return false;
    this.forced++;
    if (m.code !== undefined) {
      const status = CONNECT_STATUS[m.code];
      this.attempts.push({ api, status, code: m.code, ids, receivedAtMs });
      this.answerError(api, res, status, api === 'push' ? m.code : undefined, m.message ?? `forced ${m.code}`, m.headers);
    } else {
      this.attempts.push({ api, status: m.status!, ids, receivedAtMs });
      res.writeHead(m.status!, { 'content-type': 'text/html', ...m.headers }).end(m.message ?? `<html><body>${m.status} from the proxy</body></html>`);
    }
    return true;
  }

  private async push(req: IncomingMessage, res: ServerResponse, body: Buffer, receivedAtMs: number): Promise<void> {
    const ct = (header(req.headers, 'content-type') ?? '').split(';')[0]!.trim().toLowerCase();
    if (ct !== 'application/proto') refuse(`unsupported content-type "${ct}": want application/proto`, 'invalid_argument', 415);
    if (header(req.headers, 'connect-protocol-version') !== '1') refuse('missing required header: set Connect-Protocol-Version to "1"');
    const timeout = header(req.headers, 'connect-timeout-ms');
    if (timeout !== undefined && !/^\d{1,10}$/.test(timeout)) refuse(`protocol error: invalid timeout "${timeout}"`);
    let decoded: DecodedPush;
    try {
      decoded = decodePushRequest(body);
    } catch (err) {
      return refuse(`unmarshal into *v1.PushRequest: ${(err as Error).message}`);
    }
    if (decoded.series.length === 0) refuse('no series in the request');
    const ids = decoded.series.flatMap((s) => s.samples.map((x) => x.ID));
    const out: AcceptedProfile[] = [];
    for (const s of decoded.series) {
      validateLabels(s.labels);
      if (s.samples.length === 0) refuse(`series ${labelsString(s.labels)} has no samples`);
      const labels = Object.fromEntries(s.labels.map((l) => [l.name, l.value]));
      for (const x of s.samples) {
        if (x.ID !== '' && !UUID.test(x.ID)) refuse(`sample ID "${x.ID}" is not a UUID`);
        const { profile, gzipped, sampleTypes } = readPprof(x.raw_profile, `series ${labelsString(s.labels)}`);
        out.push({
          api: 'push',
          name: labels.__name__!,
          labels,
          labelOrder: s.labels.map((l) => l.name),
          id: x.ID === '' ? undefined : x.ID,
          raw: x.raw_profile,
          gzipped,
          profile,
          sampleTypes,
          headers: req.headers,
          requestSeries: decoded.series.length,
          seriesSamples: s.samples.length,
          canonical: decoded.canonical,
          receivedAtMs,
        });
      }
    }
    if (this.answerForced('push', res, ids, receivedAtMs)) return;
    this.accepted.push(...out);
    this.attempts.push({ api: 'push', status: 200, ids, receivedAtMs });
    res.writeHead(200, { 'content-type': 'application/proto' }).end();
  }

  private async ingest(req: IncomingMessage, res: ServerResponse, url: URL, body: Buffer, receivedAtMs: number): Promise<void> {
    const q = url.searchParams;
    const name = q.get('name');
    if (name === null || name === '') refuse('"name" is required', 'invalid_argument', 400);
    const { app, labels: pairs } = parseIngestName(name);
    const fromNs = parseIngestTime(q.get('from'), 'from');
    const untilNs = parseIngestTime(q.get('until'), 'until');
    if (fromNs > untilNs) refuse(`from ${fromNs} is after until ${untilNs}`, 'invalid_argument', 400);
    const format = q.get('format');
    let raw: Buffer;
    let sampleTypeConfig: SampleTypeConfig | undefined;
    if (format === 'pprof') {
      // The whole body is one raw pprof; multipart is not parsed.
      raw = body;
    } else if (format !== null && format !== '') {
      return refuse(`format "${format}": the double reads pprof only`, 'invalid_argument', 400);
    } else {
      const contentType = header(req.headers, 'content-type') ?? '';
      if (!contentType.toLowerCase().startsWith('multipart/form-data')) {
        return refuse(`content-type "${contentType}" without format=pprof: want multipart/form-data with a profile part`, 'invalid_argument', 400);
      }
      if (!/;\s*boundary=/i.test(contentType)) refuse('malformed multipart content type header', 'invalid_argument', 400);
      let form: Awaited<ReturnType<Response['formData']>>;
      try {
        form = await new Response(body, { headers: { 'content-type': contentType } }).formData();
      } catch (err) {
        return refuse(`the body is not valid multipart/form-data: ${(err as Error).message}`, 'invalid_argument', 400);
      }
      // Go's multipart.Form: only parts with a filename are in form.File, which is all Pyroscope reads.
      const file = (key: string): BlobLike | undefined => {
        const v = form.get(key) as string | BlobLike | null;
        return v !== null && typeof v !== 'string' ? v : undefined;
      };
      const profilePart = file('profile');
      if (!profilePart) return refuse('multipart body has no "profile" file part', 'invalid_argument', 422);
      raw = Buffer.from(await profilePart.arrayBuffer());
      const stc = file('sample_type_config');
      if (stc) sampleTypeConfig = parseSampleTypeConfig(Buffer.from(await stc.arrayBuffer()).toString('utf8'));
    }
    const { profile, gzipped, sampleTypes } = readPprof(raw, 'profile', 422);
    const derived = deriveIngestName(sampleTypes, sampleTypeConfig);
    const labels: Record<string, string> = { ...pairs, service_name: app, __name__: derived };
    validateLabels(Object.entries(labels).map(([k, v]) => ({ name: k, value: v })));
    if (this.answerForced('ingest', res, [], receivedAtMs)) return;
    this.accepted.push({
      api: 'ingest',
      name: derived,
      labels,
      labelOrder: Object.keys(labels),
      id: undefined,
      raw,
      gzipped,
      profile,
      sampleTypes,
      headers: req.headers,
      rawQuery: url.search.replace(/^\?/, ''),
      query: Object.fromEntries(q.entries()),
      appName: app,
      fromNs,
      untilNs,
      ...(sampleTypeConfig ? { sampleTypeConfig } : {}),
      receivedAtMs,
    });
    this.attempts.push({ api: 'ingest', status: 200, ids: [], receivedAtMs });
    res.writeHead(200, { 'content-type': 'text/plain' }).end();
  }

  async close(): Promise<void> {
    const s = this.server;
    this.server = null;
    if (s) await closeServer(s);
  }
}

export async function startPyroscope(opts: PyroscopeServerOptions = {}): Promise<PyroscopeServer> {
  return new PyroscopeServer(opts).start();
}
