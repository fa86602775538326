// cpu_budget and the <type>_budget keys of a target block: how much profiling a service may take, across its replicas.

import { BUILTIN_TYPE_NAMES, type ProfileTypeName } from '../../profile/types.js';
import { formatDuration, parseGoDuration } from '../duration.js';
import { joinPath } from '../key-lines.js';
import type { CpuBudgetConfig, ScrapeBudgetConfig } from '../types.js';
import { Ctx, readString, type Table } from './readers.js';

/** "10s/1m": at most that much CPU profiling per that period. */
export function readCpuBudget(ctx: Ctx, t: Table, path: string, profileDurationMs: number | undefined): CpuBudgetConfig | undefined {
  const text = readString(ctx, t, 'cpu_budget', path);
  if (text === undefined) return undefined;
  const keyPath = joinPath(path, 'cpu_budget');
  const parts = text.split('/');
  let budgetMs: number;
  let periodMs: number;
  try {
    if (parts.length !== 2) throw new Error('x');
    budgetMs = parseGoDuration(parts[0]!);
    periodMs = parseGoDuration(parts[1]!);
  } catch {
    ctx.error(keyPath, `must be "BUDGET/PERIOD" with Go durations, like "10s/1m" (at most 10s of CPU profiling per service per minute), got "${text}"`);
    return undefined;
  }
  if (periodMs <= 0 || budgetMs <= 0 || budgetMs > periodMs) {
    ctx.error(keyPath, `needs 0 < BUDGET <= PERIOD, got "${text}"`);
    return undefined;
  }
  if (profileDurationMs !== undefined && budgetMs < profileDurationMs) {
    ctx.error(keyPath, `the budget (${formatDuration(budgetMs)}) is shorter than one CPU window (profile_duration ${formatDuration(profileDurationMs)}): no profile would ever fit`);
    return undefined;
  }
  return { budgetMs, periodMs };
}

/** The `<type>_budget` keys: one per built-in type other than cpu (which has cpu_budget). */
export const SCRAPE_BUDGET_KEYS: readonly string[] = BUILTIN_TYPE_NAMES.filter((t) => t !== 'cpu').map((t) => `${t}_budget`);

/** `<type>_budget = "N/PERIOD"` for the types other than cpu: at most N scrapes per service per PERIOD. */
export function readScrapeBudgets(ctx: Ctx, t: Table, path: string, enabledTypes: readonly ProfileTypeName[]): Partial<Record<ProfileTypeName, ScrapeBudgetConfig>> {
  const out: Partial<Record<ProfileTypeName, ScrapeBudgetConfig>> = {};
  for (const type of BUILTIN_TYPE_NAMES) {
    if (type === 'cpu') continue;
    const key = `${type}_budget`;
    const text = readString(ctx, t, key, path);
    if (text === undefined) continue;
    const keyPath = joinPath(path, key);
    const m = /^\s*(\d+)\s*\/\s*(\S+)\s*$/.exec(text);
    let periodMs: number | undefined;
    try {
      if (m) periodMs = parseGoDuration(m[2]!);
    } catch {
      periodMs = undefined;
    }
    const scrapes = m ? Number(m[1]) : 0;
    if (periodMs === undefined || periodMs <= 0 || scrapes < 1) {
      ctx.error(keyPath, `must be "N/PERIOD": at most N ${type} scrapes per service per PERIOD (a Go duration), like "2/1m", got "${text}"`);
      continue;
    }
    if (!enabledTypes.includes(type)) {
      ctx.error(keyPath, `${type} is not in enabled_types, so there is nothing to budget`);
      continue;
    }
    out[type] = { scrapes, periodMs };
  }
  return out;
}
