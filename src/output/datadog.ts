// [[outputs.datadog]]: the upload dd-trace-go's profiler makes (the DataKit
// output's multipart body, with dd-trace-go's own event.json), either to a
// Datadog Agent (`url`: its /profiling/v1/input, which adds the API key) or,
// agentless, straight to the intake of a Datadog `site` with DD-API-KEY.
//
// As dd-trace-go's profiler does it (profiler/options.go urlForSite,
// profiler/upload.go doRequest and encode):
//   agentless URL  https://intake.profile.<site>/v1/input (the config builds it: config/validate/datadog-site.ts)
//   headers        DD-API-KEY: <key> (agentless only), Content-Type: multipart/form-data; boundary=…
//   event.json     { attachments, tags_profiler, start, end, family: "go", version: "4" }
//                  with tags_profiler ending in runtime:go

import type { Dispatcher } from 'undici';
import type { DatadogOutputConfig } from '../config/types.js';
import type { ProfileRecord } from '../profile/record.js';
import { outputSecrets } from '../core/redact.js';
import { datakitEvent, datakitTagString, postUpload } from './datakit.js';
import type { ProfileSender } from './queue.js';
import { authorizationHeader } from './post.js';

/** event.json with exactly the fields dd-trace-go's uploadEvent has. */
export function datadogEvent(record: ProfileRecord): Record<string, unknown> {
  const dk = datakitEvent(record);
  const tags = datakitTagString(record.tags);
  return {
    attachments: dk.attachments,
    tags_profiler: tags ? `${tags},runtime:go` : 'runtime:go',
    start: dk.start,
    end: dk.end,
    family: 'go',
    version: '4',
  };
}

export class DatadogSender implements ProfileSender {
  readonly kind = 'datadog';
  readonly name: string;
  private readonly secrets: string[];

  constructor(
    private readonly cfg: DatadogOutputConfig,
    private readonly dispatcher: Dispatcher,
    private readonly now: () => number = Date.now,
  ) {
    this.name = cfg.name;
    this.secrets = [...(cfg.apiKey ? [cfg.apiKey] : []), ...outputSecrets(cfg.auth, cfg.headers, cfg.url)];
  }

  async send(record: ProfileRecord, signal: AbortSignal): Promise<void> {
    await postUpload(this.cfg.url, record, datadogEvent(record), {
      dispatcher: this.dispatcher,
      headers: { ...this.cfg.headers, ...authorizationHeader(this.cfg.auth), ...(this.cfg.apiKey ? { 'dd-api-key': this.cfg.apiKey } : {}) },
      timeoutMs: this.cfg.timeoutMs,
      secrets: this.secrets,
      now: this.now,
      signal,
    });
  }
}
