// Which provider serves which discovery kind.

import { Agent } from 'undici';
import type { GoTargetConfig } from '../config/types.js';
import type { Logger } from '../core/log.js';
import type { Clock } from '../core/clock.js';
import { DnsSd } from './dns-sd.js';
import { FileSd } from './file-sd.js';
import { HttpSd } from './http-sd.js';
import { KubernetesSd } from './kubernetes/index.js';
import type { ProviderFactory } from './manager.js';
import type { DiscoveryProvider } from './types.js';

export interface ProviderDeps {
  readonly clock: Clock;
  readonly logger: Logger;
  readonly env: Readonly<Record<string, string | undefined>>;
}

export function providerFactory(deps: ProviderDeps): ProviderFactory {
  return (template: GoTargetConfig): DiscoveryProvider => {
    const d = template.discovery;
    const log = deps.logger.child({ discovery_line: template.source.line });
    switch (d?.kind) {
      case 'file_sd':
        return new FileSd(d.files, d.refreshIntervalMs, deps.clock, log);
      case 'http_sd':
        return new HttpSd(d.url, d.refreshIntervalMs, d.timeoutMs, new Agent({ keepAliveTimeout: 60_000, connections: 1 }), deps.clock, log);
      case 'dns_sd':
        return new DnsSd(d, deps.clock, log);
      case 'kubernetes_sd':
        return new KubernetesSd(d, deps.clock, log, { env: deps.env });
      default:
        throw new Error(`discovery "${(d as { kind?: string } | undefined)?.kind ?? 'none'}" is not available`);
    }
  };
}
