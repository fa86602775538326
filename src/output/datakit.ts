// [[outputs.datakit]]: DataKit's /profiling/v1/input, the intake dd-trace-go
// uploads to. One multipart POST per profile: the gzipped pprof as a file
// part named by its type (cpu.pprof, delta-heap.pprof, ...), then event.json.
// DataKit answers 200 once it has queued the body, before it parses it, so the
// profile is validated before it is sent, never after.

import type { Dispatcher } from 'undici';
import type { DatakitOutputConfig } from '../config/types.js';
import { outputSecrets, redactedUrl } from '../core/redact.js';
import { rfc3339Nano, type ProfileRecord } from '../profile/record.js';
import { USER_AGENT } from '../core/version.js';
import { buildMultipart } from './multipart.js';
import type { ProfileSender } from './queue.js';
import { authorizationHeader, postProfile } from './post.js';
import { httpDeliveryError } from './retry.js';

/** `k:v,k:v` as DataKit splits it: on commas, then on the first colon. */
export function datakitTagString(tags: Readonly<Record<string, string>>): string {
  return Object.entries(tags)
    .map(([k, v]) => `${k.replace(/[,:]/g, '_')}:${v.replace(/,/g, '_')}`)
    .join(',');
}

/** The event.json part, field for field as the brief's wire format says. */
export function datakitEvent(record: ProfileRecord): Record<string, unknown> {
  const file = record.datakitFileName;
  return {
    attachments: [file],
    tags_profiler: datakitTagString(record.tags),
    sub_custom_tags: datakitTagString(record.customTags),
    start: rfc3339Nano(record.startNs),
    end: rfc3339Nano(record.endNs),
    family: 'go',
    language: 'golang',
    format: 'pprof',
    profiler: 'pprof',
  };
}

/** The upload body: the profile file part, then event.json (`event`: the Datadog output passes dd-trace-go's). */
export function datakitBody(record: ProfileRecord, event: Record<string, unknown> = datakitEvent(record)): { contentType: string; body: Buffer } {
  const file = record.datakitFileName;
  return buildMultipart([
    { name: file, filename: file, contentType: 'application/octet-stream', data: record.pprof },
    { name: 'event', filename: 'event.json', contentType: 'application/json', data: Buffer.from(JSON.stringify(event)) },
  ]);
}

/** Header that lets a receiver tell a redelivery of the same profile. */
export const PROFILE_ID_HEADER = 'x-profile-id';

export interface UploadOptions {
  readonly dispatcher: Dispatcher;
  /** The output's own headers (custom, auth, ...); Content-Type and User-Agent are added. */
  readonly headers: Record<string, string>;
  readonly timeoutMs: number;
  readonly secrets: readonly string[];
  readonly now: () => number;
  readonly signal: AbortSignal;
}

/** One upload of the body above with `event`: what the DataKit and Datadog outputs share. */
export async function postUpload(url: string, record: ProfileRecord, event: Record<string, unknown>, o: UploadOptions): Promise<void> {
  const { contentType, body } = datakitBody(record, event);
  const what = `POST ${redactedUrl(url)} (${record.type} of ${record.service})`;
  const res = await postProfile(url, {
    dispatcher: o.dispatcher,
    headers: { ...o.headers, 'content-type': contentType, 'user-agent': USER_AGENT },
    body,
    timeoutMs: o.timeoutMs,
    signal: o.signal,
    what,
    secrets: o.secrets,
  });
  if (res.status >= 200 && res.status < 300) return;
  throw httpDeliveryError(what, res.status, res.text, res.retryAfter, o.now());
}

export class DatakitSender implements ProfileSender {
  readonly kind = 'datakit';
  readonly name: string;
  private readonly secrets: string[];

  constructor(
    private readonly cfg: DatakitOutputConfig,
    private readonly dispatcher: Dispatcher,
    private readonly now: () => number = Date.now,
  ) {
    this.name = cfg.name;
    this.secrets = outputSecrets(cfg.auth, cfg.headers, cfg.url);
  }

  async send(record: ProfileRecord, signal: AbortSignal): Promise<void> {
    await postUpload(this.cfg.url, record, datakitEvent(record), {
      dispatcher: this.dispatcher,
      headers: { ...this.cfg.headers, ...authorizationHeader(this.cfg.auth), [PROFILE_ID_HEADER]: record.id },
      timeoutMs: this.cfg.timeoutMs,
      secrets: this.secrets,
      now: this.now,
      signal,
    });
  }
}
