// What the discovery provider tests (test/discovery/*-sd.test.ts) share: a
// logger whose lines they read back, and the updates a provider sends.

import assert from 'node:assert/strict';
import type { DiscoveryProvider, TargetGroup } from '../../src/discovery/types.js';
import { createLogger, type Logger } from '../../src/core/log.js';
import type { Cleanup } from './processes.js';

/** A log line of a provider; each test file adds the fields it reads. */
export interface SdLogLine {
  level: string;
  msg: string;
  err?: { code?: string; message?: string };
  [k: string]: unknown;
}

/** A debug logger whose JSON lines are parsed into `lines`. */
export function capturingLogger<L extends SdLogLine = SdLogLine>(): { logger: Logger; lines: L[] } {
  const lines: L[] = [];
  const logger = createLogger({ level: 'debug', destination: { write: (s: string) => void lines.push(JSON.parse(s) as L) } });
  return { logger, lines };
}

/**
 * Starts `sd` (stopped by `cleanup`) and records a copy of every list it
 * sends; `latest()` is the last one, and asserts that there is one.
 */
export function recordUpdates(sd: DiscoveryProvider, cleanup: Cleanup): { updates: TargetGroup[][]; latest(): TargetGroup[] } {
  cleanup.add(() => sd.stop());
  const updates: TargetGroup[][] = [];
  sd.start((groups) => updates.push(groups.map((g) => ({ targets: [...g.targets], labels: { ...g.labels } }))));
  const latest = () => {
    assert.ok(updates.length > 0, 'at least one update was sent');
    return updates[updates.length - 1]!;
  };
  return { updates, latest };
}

/**
 * The groups without Prometheus's __meta_* labels (each provider's own test
 * checks those): what else a provider sends.
 */
export function withoutMeta(groups: readonly TargetGroup[]): TargetGroup[] {
  return groups.map((g) => ({ targets: g.targets, labels: Object.fromEntries(Object.entries(g.labels).filter(([k]) => !k.startsWith('__meta_'))) }));
}

/** Every target with its labels but the __meta_* ones, sorted: groups may come in any order. */
export function flat(groups: readonly TargetGroup[]): string[] {
  return withoutMeta(groups).flatMap((g) => g.targets.map((t) => `${t} ${JSON.stringify(Object.fromEntries(Object.entries(g.labels).sort()))}`)).sort();
}

/** Each target with its __meta_* labels alone, sorted. */
export function metaOf(groups: readonly TargetGroup[]): string[] {
  return groups.flatMap((g) => g.targets.map((t) => `${t} ${JSON.stringify(Object.fromEntries(Object.entries(g.labels).filter(([k]) => k.startsWith('__meta_')).sort()))}`)).sort();
}
