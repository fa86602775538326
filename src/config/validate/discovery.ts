// The discovery table of a template block: file_sd, http_sd, dns_sd or kubernetes_sd.

import { LIMITS } from '../../core/limits.js';
import { formatDuration } from '../duration.js';
import { joinPath } from '../key-lines.js';
import type { DiscoveryConfig } from '../types.js';
import { checkKeys, Ctx, describe, isTable, type KeySpec, OURS, readBool, readDuration, readPositiveInt, readString, readStringList, type Table } from './readers.js';
import { fieldSelectorProblem, labelSelectorProblem } from './kube-selectors.js';
import { validateTlsKeys } from './tls.js';
import { parseHttpUrl } from './url.js';

export const SD_KINDS = ['file_sd', 'http_sd', 'dns_sd', 'kubernetes_sd'] as const;
const FILE_SD_KEYS: Record<string, KeySpec> = { files: OURS, refresh_interval: OURS };
const HTTP_SD_KEYS: Record<string, KeySpec> = { url: OURS, refresh_interval: OURS, timeout: OURS };
const DNS_SD_KEYS: Record<string, KeySpec> = { names: OURS, type: OURS, port: OURS, refresh_interval: OURS, servers: OURS };
const KUBERNETES_SD_KEYS: Record<string, KeySpec> = {
  api_server: OURS,
  kubeconfig: OURS,
  namespaces: OURS,
  own_namespace: OURS,
  label_selector: OURS,
  field_selector: OURS,
  bearer_token_file: OURS,
  tls_open: OURS,
  tls_ca: OURS,
  tls_cert: OURS,
  tls_key: OURS,
  insecure_skip_verify: OURS,
};

/** The one *_sd table of a template block, validated. */
export function validateDiscovery(ctx: Ctx, t: Table, path: string): DiscoveryConfig | undefined {
  const kinds = SD_KINDS.filter((k) => t[k] !== undefined);
  if (kinds.length === 0) return undefined;
  if (kinds.length > 1) {
    ctx.error(joinPath(path, kinds[1]!), `one discovery per [[inputs.profile.go]] block, got ${kinds.join(' and ')}: write a block for each`);
    return undefined;
  }
  const kind = kinds[0]!;
  const p = joinPath(path, kind);
  const raw = t[kind];
  if (!isTable(raw)) {
    ctx.error(p, `must be a table ([inputs.profile.go.${kind}]), got ${describe(raw)}`);
    return undefined;
  }
  const refresh = (dflt: number) => {
    const v = readDuration(ctx, raw, 'refresh_interval', p) ?? dflt;
    if (v < 1000) ctx.error(joinPath(p, 'refresh_interval'), `must be at least 1s, got ${formatDuration(v)}`);
    return v;
  };
  switch (kind) {
    case 'file_sd': {
      checkKeys(ctx, raw, p, FILE_SD_KEYS);
      const files = readStringList(ctx, raw, 'files', p, 'paths or globs of JSON or TOML target files');
      if (!files || files.length === 0) {
        if (raw.files === undefined) ctx.error(joinPath(p, 'files'), 'is required: files = ["targets/*.json"]');
        else if (files) ctx.error(joinPath(p, 'files'), 'must list at least one file or glob, like files = ["targets/*.json"]');
        return undefined;
      }
      return { kind, files, refreshIntervalMs: refresh(5 * 60_000) };
    }
    case 'http_sd': {
      checkKeys(ctx, raw, p, HTTP_SD_KEYS);
      const u = readString(ctx, raw, 'url', p);
      if (u === undefined) {
        if (raw.url === undefined) ctx.error(joinPath(p, 'url'), 'is required: the URL serving Prometheus HTTP SD JSON');
        return undefined;
      }
      const parsed = parseHttpUrl(ctx, u, joinPath(p, 'url'), null);
      if (!parsed) return undefined;
      const timeoutMs = readDuration(ctx, raw, 'timeout', p) ?? 10_000;
      if (timeoutMs <= 0) ctx.error(joinPath(p, 'timeout'), `must be more than 0s (every request would time out at once), got ${formatDuration(timeoutMs)}`);
      return { kind, url: u, refreshIntervalMs: refresh(60_000), timeoutMs };
    }
    case 'dns_sd': {
      checkKeys(ctx, raw, p, DNS_SD_KEYS);
      const names = readStringList(ctx, raw, 'names', p, 'DNS names');
      const type = (readString(ctx, raw, 'type', p) ?? 'SRV').toUpperCase();
      if (type !== 'SRV' && type !== 'A' && type !== 'AAAA') ctx.error(joinPath(p, 'type'), `must be SRV, A or AAAA, got "${type}"`);
      const port = readPositiveInt(ctx, raw, 'port', p, 65535);
      if ((type === 'A' || type === 'AAAA') && port === undefined && raw.port === undefined) ctx.error(joinPath(p, 'port'), `is required with type = "${type}": the port net/http/pprof listens on`);
      const servers = readStringList(ctx, raw, 'servers', p, 'DNS servers as "ip:port"');
      if (!names || names.length === 0) {
        if (raw.names === undefined) ctx.error(joinPath(p, 'names'), 'is required: names = ["_pprof._tcp.example.com"]');
        else if (names) ctx.error(joinPath(p, 'names'), 'must list at least one DNS name, like names = ["_pprof._tcp.example.com"]');
        return undefined;
      }
      return {
        kind,
        names,
        type: type as 'SRV' | 'A' | 'AAAA',
        ...(port !== undefined ? { port } : {}),
        refreshIntervalMs: refresh(30_000),
        ...(servers ? { servers } : {}),
      };
    }
    case 'kubernetes_sd': {
      checkKeys(ctx, raw, p, KUBERNETES_SD_KEYS);
      const apiServer = readString(ctx, raw, 'api_server', p);
      if (apiServer !== undefined) parseHttpUrl(ctx, apiServer, joinPath(p, 'api_server'), null);
      const kubeconfig = readString(ctx, raw, 'kubeconfig', p);
      const namespaces = readStringList(ctx, raw, 'namespaces', p, 'namespaces') ?? [];
      const ownNamespace = readBool(ctx, raw, 'own_namespace', p) ?? false;
      const labelSelector = readString(ctx, raw, 'label_selector', p);
      const labelProblem = labelSelector === undefined ? undefined : labelSelectorProblem(labelSelector);
      if (labelProblem) ctx.error(joinPath(p, 'label_selector'), labelProblem);
      const fieldSelector = readString(ctx, raw, 'field_selector', p) ?? LIMITS.kubernetesFieldSelector;
      const fieldProblem = fieldSelectorProblem(fieldSelector);
      if (fieldProblem) ctx.error(joinPath(p, 'field_selector'), fieldProblem);
      const bearerTokenFile = readString(ctx, raw, 'bearer_token_file', p);
      const tls = validateTlsKeys(ctx, raw, p, true);
      return {
        kind,
        ...(apiServer !== undefined ? { apiServer } : {}),
        ...(kubeconfig !== undefined ? { kubeconfig } : {}),
        namespaces,
        ownNamespace,
        ...(labelSelector !== undefined ? { labelSelector } : {}),
        fieldSelector,
        ...(tls ? { tls } : {}),
        ...(bearerTokenFile !== undefined ? { bearerTokenFile } : {}),
      };
    }
  }
}
