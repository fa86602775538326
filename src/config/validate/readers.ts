// The primitives of config validation: the context that collects every
// problem (located by line and key path), unknown-key checks with a
// suggestion, and readers of strings, booleans, numbers, durations, tables
// and arrays that report a wrong value instead of throwing.

import { parseGoDuration } from '../duration.js';
import { expandEnv, type Env } from '../env.js';
import type { ConfigIssue } from '../errors.js';
import { displayPath, joinPath, type KeyLines } from '../key-lines.js';
import type { ConfigNotice, IgnoredKey } from '../types.js';

export type Table = Record<string, unknown>;

export interface ValidateOptions {
  readonly file: string;
  readonly lines: KeyLines;
  readonly env: Env;
  /** The OS host name, the default of [agent] hostname. */
  readonly osHostname: string;
}

/** How a key is known: ours (validated), or DataKit's with no meaning here. */
export type KeySpec = { readonly kind: 'ours' } | { readonly kind: 'ignored'; readonly why: string };
export const OURS: KeySpec = { kind: 'ours' };
export const datakitOnly = (why: string): KeySpec => ({ kind: 'ignored', why });

export class Ctx {
  readonly issues: ConfigIssue[] = [];
  readonly ignored: IgnoredKey[] = [];
  readonly notices: ConfigNotice[] = [];

  constructor(readonly opts: ValidateOptions) {}

  line(path: string): number {
    return this.opts.lines.lineOf(path);
  }

  error(path: string, message: string): void {
    this.issues.push({ file: this.opts.file, line: this.line(path), path: displayPath(path), message });
  }

  notice(path: string, message: string): void {
    this.notices.push({ path: displayPath(path), line: this.line(path), message });
  }
}

/** A wrong value as the user wrote it where that is short (a string, a number), else its kind. */
export function shown(v: unknown): string {
  if (typeof v === 'string') return JSON.stringify(v);
  if (typeof v === 'number' || typeof v === 'bigint') return String(v);
  return describe(v);
}

export function describe(v: unknown): string {
  if (typeof v === 'string') return 'a string';
  if (typeof v === 'boolean') return 'a boolean';
  if (typeof v === 'number' || typeof v === 'bigint') return Number.isInteger(Number(v)) ? 'an integer' : 'a float';
  if (Array.isArray(v)) return 'an array';
  if (v instanceof Date || (typeof v === 'object' && v !== null && 'toISOString' in v)) return 'a date-time';
  if (typeof v === 'object' && v !== null) return 'a table';
  return typeof v;
}

export function isTable(v: unknown): v is Table {
  return typeof v === 'object' && v !== null && !Array.isArray(v) && !(v instanceof Date) && !('toISOString' in v);
}

function editDistance(a: string, b: string): number {
  const d = Array.from({ length: a.length + 1 }, (_, i) => [i, ...Array<number>(b.length).fill(0)]);
  for (let j = 1; j <= b.length; j++) d[0]![j] = j;
  for (let i = 1; i <= a.length; i++)
    for (let j = 1; j <= b.length; j++)
      d[i]![j] = Math.min(d[i - 1]![j]! + 1, d[i]![j - 1]! + 1, d[i - 1]![j - 1]! + (a[i - 1] === b[j - 1] ? 0 : 1));
  return d[a.length]![b.length]!;
}

export function suggest(word: string, options: readonly string[]): string {
  let best: string | undefined;
  let bestD = Infinity;
  const limit = Math.max(2, Math.floor(word.length / 3));
  for (const o of options) {
    // The distance is at least the length difference: skipping those keeps a
    // megabyte-long key from costing seconds (length × option) to refuse.
    if (Math.abs(word.length - o.length) > limit) continue;
    const dist = editDistance(word.toLowerCase(), o.toLowerCase());
    if (dist < bestD) {
      best = o;
      bestD = dist;
    }
  }
  return best !== undefined && bestD <= limit ? ` (did you mean "${best}"?)` : '';
}

/** Reports unknown keys; records DataKit-only keys as ignored. */
export function checkKeys(ctx: Ctx, table: Table, path: string, known: Record<string, KeySpec>): void {
  const names = Object.keys(known);
  for (const key of Object.keys(table)) {
    // Own entries only: `valueOf = 1` must not pass as a known key.
    const spec = Object.hasOwn(known, key) ? known[key] : undefined;
    const keyPath = joinPath(path, key);
    if (spec === undefined) {
      ctx.error(keyPath, `unknown key "${key}"${suggest(key, names)}; allowed here: ${names.join(', ')}`);
    } else if (spec.kind === 'ignored') {
      ctx.ignored.push({ path: displayPath(keyPath), line: ctx.line(keyPath), why: spec.why });
    }
  }
}

export function readString(ctx: Ctx, table: Table, key: string, path: string): string | undefined {
  const v = table[key];
  if (v === undefined) return undefined;
  const keyPath = joinPath(path, key);
  if (typeof v !== 'string') {
    ctx.error(keyPath, `must be a string, got ${describe(v)}`);
    return undefined;
  }
  try {
    return expandEnv(v, ctx.opts.env);
  } catch (err) {
    ctx.error(keyPath, (err as Error).message);
    return undefined;
  }
}

export function readBool(ctx: Ctx, table: Table, key: string, path: string): boolean | undefined {
  const v = table[key];
  if (v === undefined) return undefined;
  if (typeof v !== 'boolean') {
    ctx.error(joinPath(path, key), `must be true or false, got ${describe(v)}`);
    return undefined;
  }
  return v;
}

export function readPositiveInt(ctx: Ctx, table: Table, key: string, path: string, max: number): number | undefined {
  const v = table[key];
  if (v === undefined) return undefined;
  const n = typeof v === 'bigint' ? Number(v) : v;
  if (typeof n !== 'number' || !Number.isInteger(n) || n < 1 || n > max) {
    ctx.error(joinPath(path, key), `must be a whole number from 1 to ${max}, got ${shown(v)}`);
    return undefined;
  }
  return n;
}

export function readDuration(ctx: Ctx, table: Table, key: string, path: string): number | undefined {
  const v = table[key];
  if (v === undefined) return undefined;
  const keyPath = joinPath(path, key);
  if (typeof v !== 'string') {
    const hint = typeof v === 'number' || typeof v === 'bigint' ? ` (write "${String(v)}s" for seconds)` : '';
    ctx.error(keyPath, `must be a Go duration string like "10s" or "1m30s", got ${describe(v)}${hint}`);
    return undefined;
  }
  try {
    return parseGoDuration(expandEnv(v, ctx.opts.env));
  } catch (err) {
    ctx.error(keyPath, `${(err as Error).message}; write a Go duration like "10s", "1m30s" or "500ms"`);
    return undefined;
  }
}

export function readStringTable(ctx: Ctx, table: Table, key: string, path: string): Record<string, string> {
  const v = table[key];
  if (v === undefined) return {};
  const keyPath = joinPath(path, key);
  if (!isTable(v)) {
    ctx.error(keyPath, `must be a table of strings like [${displayPath(keyPath)}] with name = "value" lines, got ${describe(v)}`);
    return {};
  }
  const out: Record<string, string> = {};
  for (const [k, val] of Object.entries(v)) {
    const p = joinPath(keyPath, k);
    if (k === '') {
      ctx.error(p, 'a tag name must not be empty');
      continue;
    }
    if (typeof val !== 'string') {
      ctx.error(p, `must be a string, got ${describe(val)}${typeof val === 'number' || typeof val === 'boolean' ? ` (write "${String(val)}")` : ''}`);
      continue;
    }
    const s = readString(ctx, v, k, keyPath);
    if (s !== undefined) out[k] = s;
  }
  return out;
}

/** `[[x]]` arrays; a single `[x]` table is taken as one element. */
export function tablesOf(ctx: Ctx, v: unknown, path: string, write: string): Array<{ table: Table; path: string }> {
  if (v === undefined) return [];
  if (isTable(v)) return [{ table: v, path }];
  if (Array.isArray(v)) {
    const out: Array<{ table: Table; path: string }> = [];
    v.forEach((el, i) => {
      const p = `${path}[${i}]`;
      if (isTable(el)) out.push({ table: el, path: p });
      else ctx.error(p, `must be a table (write ${write}), got ${describe(el)}`);
    });
    return out;
  }
  ctx.error(path, `must be a table (write ${write}), got ${describe(v)}`);
  return [];
}

export function readStringList(ctx: Ctx, t: Table, key: string, path: string, what: string): string[] | undefined {
  const v = t[key];
  if (v === undefined) return undefined;
  const keyPath = joinPath(path, key);
  if (!Array.isArray(v) || v.some((x) => typeof x !== 'string')) {
    ctx.error(keyPath, `must be an array of strings (${what}), got ${describe(v)}`);
    return undefined;
  }
  const out: string[] = [];
  v.forEach((_, i) => {
    const s = readString(ctx, v as unknown as Table, String(i), keyPath);
    if (s !== undefined) out.push(s);
  });
  return out;
}
