// What the bench prints: tables for people, and one line per run for scripts.

import { gauge, type Sample } from './prom.js';

export interface RunFigures {
  readonly heapLabel: string;
  readonly targets: number;
  /** Size of the heap the farm serves, in kB (1000 bytes), as Go writes it (gzip level 6). */
  readonly heapKb: number;
  readonly cpuPercent: number;
  readonly peakRssMb: number;
  readonly profilesPerSecond: number;
  readonly expectedPerSecond: number;
  readonly lateP50Ms: number;
  readonly lateP99Ms: number;
  readonly heapScrapeMsAvg: number;
  /** collector_scrapes_total{result="skipped"} and {result="failed"} in the measured window. */
  readonly skipped: number;
  readonly failed: number;
  readonly memory: MemoryFigures;
}

export interface MemoryFigures {
  /** collector_memory_budget_bytes, when the collector exports it. */
  readonly budgetBytes?: number;
  /** Highest collector_memory_budget_in_use_bytes seen in the run. */
  readonly peakInUseBytes?: number;
  readonly peakRssMb: number;
}

const MIB = 1024 * 1024;

/** The highest collector_memory_budget_in_use_bytes seen, and the budget. */
export class BudgetWatch {
  budgetBytes: number | undefined;
  peakInUseBytes: number | undefined;
  see(m: readonly Sample[]): void {
    this.budgetBytes = gauge(m, 'collector_memory_budget_bytes') ?? this.budgetBytes;
    const inUse = gauge(m, 'collector_memory_budget_in_use_bytes');
    if (inUse !== undefined) this.peakInUseBytes = Math.max(this.peakInUseBytes ?? 0, inUse);
  }
  /** Whether the collector exports either gauge (else there is no need to read /metrics for them). */
  get present(): boolean {
    return this.budgetBytes !== undefined || this.peakInUseBytes !== undefined;
  }
  figures(peakRssMb: number): MemoryFigures {
    return { peakRssMb, ...(this.budgetBytes !== undefined ? { budgetBytes: this.budgetBytes } : {}), ...(this.peakInUseBytes !== undefined ? { peakInUseBytes: this.peakInUseBytes } : {}) };
  }
}

const num = (x: number, digits: number) => (Number.isFinite(x) ? x.toFixed(digits) : 'nan');

export function benchLine(f: RunFigures): string {
  return [
    'BENCH',
    `targets=${f.targets}`,
    `heap_kb=${Math.round(f.heapKb)}`,
    `cpu_pct=${num(f.cpuPercent, 1)}`,
    `rss_mb=${num(f.peakRssMb, 0)}`,
    `profiles_per_s=${num(f.profilesPerSecond, 1)}`,
    `expected_per_s=${num(f.expectedPerSecond, 1)}`,
    `late_p99_ms=${num(f.lateP99Ms, 1)}`,
    `skipped=${f.skipped}`,
    `failed=${f.failed}`,
  ].join(' ');
}

/** The fields of a BENCH line (or any "NAME k=v k=v" line), as a script reads them. */
export function parseBenchLine(line: string, prefix = 'BENCH'): Record<string, string> | undefined {
  const parts = line.trim().split(/\s+/);
  if (parts[0] !== prefix) return undefined;
  const out: Record<string, string> = {};
  for (const p of parts.slice(1)) {
    const eq = p.indexOf('=');
    if (eq <= 0) return undefined;
    out[p.slice(0, eq)] = p.slice(eq + 1);
  }
  return out;
}

/**
 * The memory budget next to what the process used: the limit, the peak in
 * use, the peak RSS, and RSS - budget (the constant the budget does not
 * cover). "n/a" where the collector exports no budget.
 */
export function memoryLine(m: MemoryFigures): string {
  const mb = (b: number | undefined) => (b === undefined ? 'n/a' : `${(b / MIB).toFixed(1)} MB`);
  const over = m.budgetBytes === undefined ? 'n/a' : `${(m.peakRssMb - m.budgetBytes / MIB).toFixed(1)} MB`;
  return `memory: budget ${mb(m.budgetBytes)} | peak in use ${mb(m.peakInUseBytes)} | peak RSS ${m.peakRssMb.toFixed(1)} MB | RSS - budget ${over}`;
}

export function table(rows: readonly (readonly string[])[]): string {
  const w = rows[0]!.map((_, i) => Math.max(...rows.map((r) => r[i]!.length)));
  return rows.map((r) => `  ${r.map((c, i) => c.padEnd(w[i]!)).join('  ')}`).join('\n');
}

export const RUN_HEADER = [
  'heap',
  'targets',
  'CPU % of one core',
  'peak RSS MB',
  'profiles/s (of expected)',
  'lateness p50 ms',
  'lateness p99 ms',
  'heap scrape+delta avg ms',
  'skipped',
  'failed',
];

export function runRow(f: RunFigures): string[] {
  return [
    f.heapLabel,
    String(f.targets),
    num(f.cpuPercent, 1),
    num(f.peakRssMb, 0),
    `${num(f.profilesPerSecond, 1)} of ${num(f.expectedPerSecond, 1)}`,
    num(f.lateP50Ms, 1),
    num(f.lateP99Ms, 1),
    num(f.heapScrapeMsAvg, 1),
    String(f.skipped),
    String(f.failed),
  ];
}
