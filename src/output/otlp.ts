// [[outputs.otlp]]: OTLP profiles over HTTP (OTLP/HTTP binary protobuf), to
// the OpenTelemetry Collector (…:4318/v1development/profiles) or Pyroscope
// (…:4040/v1development/profiles). One ExportProfilesServiceRequest per
// profile record, encoded by the profile stage (profile/otlp/).
//
// OTLP/HTTP's rules, not the other outputs': only 429, 502, 503 and 504 are
// retried (honouring Retry-After); every other answer that is not 2xx is
// final. A 200 may carry partial_success: the backend rejected some of the
// profiles (or warns). That is logged, counted through `onPartialSuccess`,
// and never retried (the spec forbids it).
//
//   ExportProfilesServiceResponse { partial_success = 1 }
//   ExportProfilesPartialSuccess  { int64 rejected_profiles = 1; string error_message = 2 }
//   google.rpc.Status (error body) { int32 code = 1; string message = 2 }

import { promisify } from 'node:util';
import { gunzip, gzip } from 'node:zlib';
import type { Dispatcher } from 'undici';
import type { OtlpOutputConfig } from '../config/types.js';
import type { Logger } from '../core/log.js';
import { PbReader, WIRE_LEN, WIRE_VARINT } from '../core/pb.js';
import type { ProfileRecord } from '../profile/record.js';
import { outputSecrets, redactSecrets, redactedUrl } from '../core/redact.js';
import { USER_AGENT } from '../core/version.js';
import { encodeOtlpExport } from '../profile/otlp/index.js';
import type { ProfileSender } from './queue.js';
import { authorizationHeader, postProfile, type PostResult } from './post.js';
import { DeliveryError, httpDeliveryError } from './retry.js';

const gunzipAsync = promisify(gunzip);
const gzipAsync = promisify(gzip);

/** What OTLP/HTTP retries; every other non-2xx status is final. */
export const OTLP_RETRYABLE_STATUS: ReadonlySet<number> = new Set([429, 502, 503, 504]);

export interface OtlpPartialSuccess {
  /** Profiles of the request the backend says it rejected (0: a warning only). */
  readonly rejectedProfiles: number;
  readonly errorMessage: string;
  /** Profiles the request carried. */
  readonly sentProfiles: number;
}

/** Called once per answer that carries a partial_success; for metrics. */
export type PartialSuccessHook = (output: string, record: ProfileRecord, partial: OtlpPartialSuccess) => void;

export interface OtlpSenderOptions {
  readonly now?: () => number;
  readonly onPartialSuccess?: PartialSuccessHook;
}

function readString(r: PbReader): string {
  const start = r.lenRange();
  return Buffer.from(r.buf.subarray(start, r.pos)).toString('utf8');
}

/** partial_success of a protobuf ExportProfilesServiceResponse; undefined when absent or unreadable. */
export function parsePartialSuccess(body: Uint8Array): { rejectedProfiles: number; errorMessage: string } | undefined {
  try {
    const r = new PbReader(body);
    let out: { rejectedProfiles: number; errorMessage: string } | undefined;
    while (!r.done) {
      const t = r.tag();
      if (t >>> 3 !== 1 || (t & 7) !== WIRE_LEN) {
        r.skip(t & 7);
        continue;
      }
      const start = r.lenRange();
      const ps = new PbReader(body, start, r.pos);
      let rejectedProfiles = 0;
      let errorMessage = '';
      while (!ps.done) {
        const pt = ps.tag();
        if (pt === (1 << 3) + WIRE_VARINT) rejectedProfiles = Number(ps.int64());
        else if (pt === (2 << 3) + WIRE_LEN) errorMessage = readString(ps);
        else ps.skip(pt & 7);
      }
      out = { rejectedProfiles, errorMessage };
    }
    return out;
  } catch {
    return undefined;
  }
}

/** The message of a google.rpc.Status body; undefined when the body is not one. */
export function parseRpcStatusMessage(body: Uint8Array): string | undefined {
  try {
    const r = new PbReader(body);
    let message: string | undefined;
    while (!r.done) {
      const t = r.tag();
      if (t === (2 << 3) + WIRE_LEN) message = readString(r);
      else r.skip(t & 7);
    }
    return message;
  } catch {
    return undefined;
  }
}

function isProtobuf(contentType: string | undefined): boolean {
  return contentType !== undefined && /^application\/(x-)?protobuf\b/i.test(contentType);
}

export class OtlpSender implements ProfileSender {
  readonly kind = 'otlp';
  readonly name: string;
  private readonly secrets: string[];
  private readonly now: () => number;

  constructor(
    private readonly cfg: OtlpOutputConfig,
    private readonly dispatcher: Dispatcher,
    private readonly log: Logger,
    private readonly opts: OtlpSenderOptions = {},
  ) {
    this.name = cfg.name;
    this.secrets = outputSecrets(cfg.auth, cfg.headers, cfg.url);
    this.now = opts.now ?? Date.now;
  }

  async send(record: ProfileRecord, signal: AbortSignal): Promise<void> {
    const what = `POST ${redactedUrl(this.cfg.url)} (${record.type} of ${record.service})`;
    let request: ReturnType<typeof encodeOtlpExport>;
    try {
      request = encodeOtlpExport(record, await gunzipAsync(record.pprof));
    } catch (err) {
      // The profile stage validated it; a record that still cannot be read never will be.
      throw new DeliveryError(`${what}: cannot encode the profile as OTLP: ${(err as Error).message}`, false, { code: 'encode_failed' });
    }
    const gz = this.cfg.compression === 'gzip';
    const body = gz ? await gzipAsync(request.body) : request.body;
    const res = await postProfile(this.cfg.url, {
      dispatcher: this.dispatcher,
      headers: {
        ...this.cfg.headers,
        ...authorizationHeader(this.cfg.auth),
        // The profile's own tenant (its target's tenant_id or __tenant_id__) wins over the output's.
        ...(record.tenantId || this.cfg.tenantId ? { 'x-scope-orgid': record.tenantId || this.cfg.tenantId } : {}),
        'content-type': 'application/x-protobuf',
        ...(gz ? { 'content-encoding': 'gzip' } : {}),
        'user-agent': USER_AGENT,
      },
      body,
      timeoutMs: this.cfg.timeoutMs,
      signal,
      what,
      secrets: this.secrets,
      readOkBody: true,
    });
    if (res.status >= 200 && res.status < 300) {
      this.partialSuccess(record, res, request.profiles, what);
      return;
    }
    throw this.failure(res, what);
  }

  private partialSuccess(record: ProfileRecord, res: PostResult, sentProfiles: number, what: string): void {
    if (!res.body || res.body.length === 0) return;
    const ps = parsePartialSuccess(res.body);
    if (!ps || (ps.rejectedProfiles === 0 && ps.errorMessage === '')) return;
    const partial: OtlpPartialSuccess = { ...ps, errorMessage: redactSecrets(ps.errorMessage, this.secrets), sentProfiles };
    const fields = { output: this.name, type: record.type, service: record.service, rejected_profiles: partial.rejectedProfiles, sent_profiles: sentProfiles, error_message: partial.errorMessage };
    if (partial.rejectedProfiles > 0) {
      this.log.warn(fields, `${what}: the backend rejected ${partial.rejectedProfiles} of ${sentProfiles} profile(s): ${partial.errorMessage || '(no message)'}; not retried (OTLP partial success)`);
    } else {
      this.log.info(fields, `${what}: accepted with a warning: ${partial.errorMessage}`);
    }
    this.opts.onPartialSuccess?.(this.name, record, partial);
  }

  private failure(res: PostResult, what: string): DeliveryError {
    // OTLP/HTTP answers errors as google.rpc.Status in the request's encoding.
    const statusMessage = res.body && isProtobuf(res.contentType) ? parseRpcStatusMessage(res.body) : undefined;
    const text = statusMessage !== undefined ? redactSecrets(statusMessage, this.secrets) : res.text;
    const base = httpDeliveryError(what, res.status, text, res.retryAfter, this.now());
    return new DeliveryError(base.message, OTLP_RETRYABLE_STATUS.has(res.status), base.opts);
  }
}
