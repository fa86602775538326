// [[outputs.pyroscope]]: Grafana Pyroscope, through its push API (connect
// unary call push.v1.PusherService/Push, binary protobuf) or the legacy
// /ingest endpoint (multipart: profile + sample_type_config).
//
//   PushRequest      { repeated RawProfileSeries series = 1; }
//   RawProfileSeries { repeated LabelPair labels = 1; repeated RawSample samples = 2; }
//   LabelPair        { string name = 1; string value = 2; }
//   RawSample        { bytes raw_profile = 1; string ID = 2; }

import type { Dispatcher } from 'undici';
import type { PyroscopeOutputConfig } from '../config/types.js';
import { pyroscopeLabels, type LabelPlan } from '../core/pyroscope-labels.js';
import type { Logger } from '../core/log.js';
import type { ProfileRecord } from '../profile/record.js';
import { USER_AGENT } from '../core/version.js';
import { outputSecrets, redactSecrets, redactedUrl } from '../core/redact.js';
import { buildMultipart } from './multipart.js';
import { PbWriter } from '../core/pb.js';
import type { ProfileSender } from './queue.js';
import { authorizationHeader, postProfile } from './post.js';
import { DeliveryError, httpDeliveryError } from './retry.js';

export const PUSH_PATH = '/push.v1.PusherService/Push';
export const INGEST_PATH = '/ingest';

/** Connect codes worth another try (the brief's rule); every other code is final. */
const RETRYABLE_CONNECT_CODES = new Set(['unavailable', 'deadline_exceeded', 'resource_exhausted', 'aborted', 'internal', 'unknown']);

type LabelPairs = LabelPlan['labels'];

/** A string field (UTF-8 bytes, length-delimited). */
function stringField(w: PbWriter, field: number, s: string): void {
  const b = Buffer.from(s, 'utf8');
  w.lenBytes(field, b, 0, b.length);
}

export function pushRequestBody(record: ProfileRecord, labels: LabelPairs = pyroscopeLabels(record.tags, record.pyroscopeName, record.isDelta).labels): Buffer {
  const series = new PbWriter(record.pprof.length + 1024);
  const pair = new PbWriter(256);
  for (const [name, value] of labels) {
    pair.reset();
    stringField(pair, 1, name);
    stringField(pair, 2, value);
    series.message(1, pair);
  }
  const sample = new PbWriter(record.pprof.length + 64);
  sample.lenBytes(1, record.pprof, 0, record.pprof.length);
  stringField(sample, 2, record.id);
  series.message(2, sample);
  const request = new PbWriter(series.pos + 16);
  request.message(1, series);
  const out = request.finish();
  return Buffer.from(out.buffer, out.byteOffset, out.byteLength);
}

type SampleTypeConfig = Record<string, { units?: string; 'display-name'?: string; aggregation?: string; cumulative?: boolean; sampled?: boolean }>;

const HEAP_SAMPLE_TYPES: SampleTypeConfig = {
  alloc_objects: { units: 'objects', cumulative: false },
  alloc_space: { units: 'bytes', cumulative: false },
  inuse_objects: { units: 'objects', aggregation: 'average', cumulative: false },
  inuse_space: { units: 'bytes', aggregation: 'average', cumulative: false },
};

/**
 * How /ingest should read each built-in type. Pyroscope names a profile from
 * these display names; without them a Go block profile (contentions/delay,
 * like mutex) is stored as mutex. `cumulative` is false everywhere: the
 * collector has already turned cumulative values into deltas. A custom type
 * is sent without one (Pyroscope's defaults apply).
 */
export const SAMPLE_TYPE_CONFIG: Readonly<Partial<Record<string, SampleTypeConfig>>> = {
  cpu: {
    samples: { units: 'samples', 'display-name': 'cpu', sampled: true },
    cpu: { units: 'nanoseconds', sampled: true },
  },
  heap: HEAP_SAMPLE_TYPES,
  allocs: HEAP_SAMPLE_TYPES,
  goroutine: {
    goroutine: { units: 'goroutines', 'display-name': 'goroutines', aggregation: 'average', cumulative: false },
  },
  mutex: {
    contentions: { units: 'lock_samples', 'display-name': 'mutex_count', cumulative: false },
    delay: { units: 'lock_nanoseconds', 'display-name': 'mutex_duration', cumulative: false },
  },
  block: {
    contentions: { units: 'lock_samples', 'display-name': 'block_count', cumulative: false },
    delay: { units: 'lock_nanoseconds', 'display-name': 'block_duration', cumulative: false },
  },
  threadcreate: {
    threadcreate: { units: 'threads', aggregation: 'average', cumulative: false },
  },
};

/** A label value in the `name` query ends at `,` or `}` (Pyroscope's labelset parser); those are replaced. */
function ingestValue(v: string): string {
  return v.replace(/[{},]/g, '_');
}

/**
 * The /ingest query. No `format=pprof`: Pyroscope reads a body sent with
 * format=pprof as one raw pprof and ignores multipart parts, which would lose
 * the sample_type_config; without it the multipart branch reads both.
 */
export function ingestQuery(record: ProfileRecord, labels: LabelPairs = pyroscopeLabels(record.tags, record.pyroscopeName, record.isDelta).labels): URLSearchParams {
  const rest = labels.filter(([k]) => k !== '__name__' && k !== 'service_name' && !k.startsWith('__'));
  const app = (record.tags.service ?? record.service).replace(/[^A-Za-z0-9_.\-/]/g, '_') || 'unnamed-service';
  const name = `${app}{${rest.map(([k, v]) => `${k}=${ingestValue(v)}`).join(',')}}`;
  const q = new URLSearchParams({
    name,
    from: record.startNs.toString(),
    until: record.endNs.toString(),
    spyName: 'gospy',
  });
  if (record.type === 'cpu') q.set('sampleRate', '100'); // Go's CPU profiler samples at 100 Hz
  return q;
}

export function ingestBody(record: ProfileRecord): { contentType: string; body: Buffer } {
  const config = SAMPLE_TYPE_CONFIG[record.type];
  return buildMultipart([
    { name: 'profile', filename: 'profile.pprof', contentType: 'application/octet-stream', data: record.pprof },
    ...(config ? [{ name: 'sample_type_config', filename: 'sample_type_config.json', contentType: 'application/json', data: Buffer.from(JSON.stringify(config)) }] : []),
  ]);
}

/** A connect error body: {"code": "...", "message": "..."}; undefined when it is not one. */
export function parseConnectError(body: string): { code: string; message: string } | undefined {
  try {
    const o = JSON.parse(body) as { code?: unknown; message?: unknown };
    if (typeof o.code === 'string') return { code: o.code, message: typeof o.message === 'string' ? o.message : '' };
  } catch {
    // not JSON
  }
  return undefined;
}

export class PyroscopeSender implements ProfileSender {
  readonly kind = 'pyroscope';
  readonly name: string;
  private readonly renamedSaid = new Set<string>();
  private readonly secrets: string[];

  constructor(
    private readonly cfg: PyroscopeOutputConfig,
    private readonly dispatcher: Dispatcher,
    private readonly log: Logger,
    private readonly now: () => number = Date.now,
  ) {
    this.name = cfg.name;
    this.secrets = outputSecrets(cfg.auth, cfg.headers, cfg.url);
  }

  /** The profile's own tenant (its target's tenant_id or __tenant_id__) wins over the output's. */
  private headers(record: ProfileRecord, extra: Record<string, string>): Record<string, string> {
    const tenant = record.tenantId || this.cfg.tenantId;
    return {
      ...this.cfg.headers,
      ...authorizationHeader(this.cfg.auth),
      ...(tenant ? { 'x-scope-orgid': tenant } : {}),
      'user-agent': USER_AGENT,
      ...extra,
    };
  }

  private sayRenames(renamed: LabelPlan['renamed']): void {
    for (const [from, to] of renamed) {
      if (this.renamedSaid.has(from)) continue;
      this.renamedSaid.add(from);
      this.log.info({ output: this.name, tag: from, label: to }, `tag "${from}" is sent as Pyroscope label "${to}" (label names allow only [A-Za-z0-9_.])`);
    }
  }

  async send(record: ProfileRecord, signal: AbortSignal): Promise<void> {
    const { labels, renamed } = pyroscopeLabels(record.tags, record.pyroscopeName, record.isDelta);
    this.sayRenames(renamed);
    const push = this.cfg.api === 'push';
    const url = push ? `${this.cfg.url}${PUSH_PATH}` : `${this.cfg.url}${INGEST_PATH}?${ingestQuery(record, labels).toString()}`;
    const what = `POST ${redactedUrl(push ? url : `${this.cfg.url}${INGEST_PATH}`)} (${record.type} of ${record.service})`;
    let body: Buffer;
    let headers: Record<string, string>;
    if (push) {
      body = pushRequestBody(record, labels);
      headers = this.headers(record, {
        'content-type': 'application/proto',
        'connect-protocol-version': '1',
        'connect-timeout-ms': String(this.cfg.timeoutMs),
      });
    } else {
      const mp = ingestBody(record);
      body = mp.body;
      headers = this.headers(record, { 'content-type': mp.contentType });
    }
    const res = await postProfile(url, { dispatcher: this.dispatcher, headers, body, timeoutMs: this.cfg.timeoutMs, signal, what, secrets: this.secrets });
    if (res.status >= 200 && res.status < 300) return;
    const { text, retryAfter } = res;
    const connect = push ? parseConnectError(text) : undefined;
    if (connect) {
      // The connect code decides; the HTTP status only stands in when there is none.
      const base = httpDeliveryError(what, res.status, '', retryAfter, this.now());
      // Redacted again after JSON unescaping (a secret may have been escaped in the body).
      throw new DeliveryError(`${what}: ${connect.code}: ${redactSecrets(connect.message, this.secrets)}`, RETRYABLE_CONNECT_CODES.has(connect.code) || res.status === 429, {
        ...base.opts,
        code: connect.code,
        body: text,
      });
    }
    throw httpDeliveryError(what, res.status, text, retryAfter, this.now());
  }
}
