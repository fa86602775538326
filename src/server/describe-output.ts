// One line per output, for --check and the start log: where profiles go and
// how (auth, TLS, headers), never a secret.

import type { Config, DatadogOutputConfig, DatakitOutputConfig, OtlpOutputConfig, PyroscopeOutputConfig } from '../config/types.js';
import { redactedUrl } from '../core/redact.js';

/** Auth, TLS and headers of a network output, in words, without any secret. */
function networkParts(o: DatadogOutputConfig | DatakitOutputConfig | OtlpOutputConfig | PyroscopeOutputConfig): string[] {
  const parts: string[] = [];
  if (o.auth?.kind === 'basic') parts.push(`basic auth as ${o.auth.username}${o.auth.from ? ` (password from ${o.auth.from})` : ''}`);
  if (o.auth?.kind === 'bearer') parts.push(`bearer token${o.auth.from ? ` from ${o.auth.from}` : ''}`);
  if (o.tls) parts.push(o.tls.insecureSkipVerify ? 'TLS certificate NOT verified' : `TLS verified${o.tls.caFile ? ` with CA ${o.tls.caFile}` : ''}`);
  if (o.tls?.certFile) parts.push(`client certificate ${o.tls.certFile}`);
  const headers = Object.keys(o.headers);
  if (headers.length) parts.push(`headers: ${headers.join(', ')}; values not shown`);
  return parts;
}

/** One line per output for --check and the start log; secrets are never shown. */
export function describeOutput(o: Config['outputs'][number]): string {
  switch (o.kind) {
    case 'file':
      return `file "${o.name}" -> ${o.dir}`;
    case 'datakit': {
      const parts = networkParts(o);
      return `datakit "${o.name}" -> ${redactedUrl(o.url)}${parts.length ? ` (${parts.join(', ')})` : ''}`;
    }
    case 'pyroscope': {
      const parts = [`api ${o.api}`];
      if (o.tenantId) parts.push(`tenant ${o.tenantId}`);
      parts.push(...networkParts(o));
      return `pyroscope "${o.name}" -> ${redactedUrl(o.url)} (${parts.join(', ')})`;
    }
    case 'otlp': {
      const parts = [`OTLP/HTTP protobuf, ${o.compression === 'gzip' ? 'gzip' : 'uncompressed'}`];
      if (o.tenantId) parts.push(`tenant ${o.tenantId}`);
      parts.push(...networkParts(o));
      return `otlp "${o.name}" -> ${redactedUrl(o.url)} (${parts.join(', ')})`;
    }
    case 'datadog': {
      const parts = o.site
        ? [`agentless, site ${o.site}`, o.apiKeyFrom ? `API key from ${o.apiKeyFrom}` : 'API key set; not shown']
        : ['Datadog Agent'];
      parts.push(...networkParts(o));
      return `datadog "${o.name}" -> ${redactedUrl(o.url)} (${parts.join(', ')})`;
    }
  }
}
