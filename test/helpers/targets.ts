import type { GoTargetConfig } from '../../src/config/types.js';
import type { Target } from '../../src/core/target.js';
import { buildTarget } from '../../src/discovery/static.js';
import { DEFAULT_TYPE_NAMES } from '../../src/profile/types.js';

export function goTargetConfig(over: Partial<GoTargetConfig> = {}): GoTargetConfig {
  return {
    source: { file: 'test.conf', line: 1 },
    baseUrl: 'http://127.0.0.1:6060/debug/pprof',
    intervalMs: 10_000,
    profileDurationMs: 9_000,
    httpTimeoutMs: 15_000,
    service: 'go-target',
    env: 'test',
    version: '1.2.3',
    enabledTypes: DEFAULT_TYPE_NAMES,
    inputTags: { region: 'eu-1' },
    goTags: { team: 'payments' },
    bodySizeLimitBytes: 32 * 1024 * 1024,
    generateMetrics: false,
    ...over,
  };
}

export function testTarget(over: Partial<GoTargetConfig> = {}, hostname = 'test-host'): Target {
  return buildTarget(goTargetConfig(over), hostname);
}
