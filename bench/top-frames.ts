// node --import tsx bench/top-frames.ts FILE.cpuprofile [FILE...] [--top 25]
//
// Summarises V8 CPU profiles as `node --cpu-prof` writes them (one per
// thread: CPU.<date>.<time>.<pid>.<thread id>.<seq>.cpuprofile, thread id 0
// the main thread): the time sampled, the shares of idle, garbage collection
// and "(program)" (V8 and native work outside any JS frame), then the
// functions with the most self time and with the most total (inclusive) time.
// The collector runs compiled, so its functions have their lines in dist/.
// Under tsx (a script run with --import tsx) a TypeScript function's line is
// where it is declared ("~"), as V8 only sees tsx's one-line output.

import { readFileSync } from 'node:fs';
import { basename, relative, isAbsolute } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';

export interface CallFrame {
  readonly functionName: string;
  readonly url: string;
  /** 0-based, as V8 writes it. */
  readonly lineNumber: number;
  readonly columnNumber: number;
}

export interface CpuProfileNode {
  readonly id: number;
  readonly callFrame: CallFrame;
  readonly hitCount?: number;
  readonly children?: readonly number[];
}

export interface CpuProfile {
  readonly nodes: readonly CpuProfileNode[];
  /** Microseconds. */
  readonly startTime: number;
  readonly endTime: number;
  readonly samples?: readonly number[];
  readonly timeDeltas?: readonly number[];
}

export interface FrameStat {
  readonly name: string;
  /** file:line, the file relative to `cwd` when under it. */
  readonly where: string;
  readonly selfMs: number;
  readonly totalMs: number;
}

export interface CpuSummary {
  readonly sampledMs: number;
  readonly idleMs: number;
  readonly gcMs: number;
  readonly programMs: number;
  /** Everything but idle. */
  readonly busyMs: number;
  /** Functions, most self time first (the pseudo-frames above are left out). */
  readonly bySelf: readonly FrameStat[];
  /** Functions, most inclusive time first, each sample counted once per function however deep the recursion. */
  readonly byTotal: readonly FrameStat[];
}

const PSEUDO = new Set(['(root)', '(program)', '(idle)', '(garbage collector)']);

const sources = new Map<string, string[] | null>();

/**
 * The line where `name` is declared in a TypeScript file. tsx hands V8 its
 * output on one line, so V8's line is 1 for every function of a .ts file;
 * the declaration in the source is the next best thing (marked "~").
 */
export function declarationLine(file: string, name: string): number | undefined {
  let lines = sources.get(file);
  if (lines === undefined) {
    try {
      lines = readFileSync(file, 'utf8').split('\n');
    } catch {
      lines = null;
    }
    sources.set(file, lines);
  }
  const bare = name.split('.').pop()!.replace(/^(get|set) /, '');
  if (!lines || !/^[\w$#]+$/.test(bare)) return undefined;
  const n = bare.replace(/\$/g, '\\$');
  const patterns = [
    new RegExp(`\\bfunction\\s*\\*?\\s*${n}\\s*[<(]`),
    new RegExp(`\\bclass\\s+${n}\\b`),
    new RegExp(`\\b(?:const|let|var)\\s+${n}\\s*[:=]`),
    new RegExp(`^\\s*(?:(?:public|private|protected|static|async|override|readonly|get|set)\\s+)*\\*?${n}\\s*[<(]`),
    new RegExp(`\\b${n}\\s*[:=]\\s*(?:async\\s*)?(?:function\\b|\\([^)]*\\)\\s*(?::[^=]+)?=>)`),
  ];
  for (const re of patterns) {
    const i = lines.findIndex((l) => re.test(l));
    if (i >= 0) return i + 1;
  }
  return undefined;
}

function where(f: CallFrame, cwd: string): string {
  let file = f.url;
  let path: string | undefined;
  if (file.startsWith('file://')) {
    path = fileURLToPath(file);
    const rel = relative(cwd, path);
    file = !rel.startsWith('..') && !isAbsolute(rel) ? rel : path;
  }
  if (file === '') return '(native)';
  if (path && f.lineNumber === 0 && f.columnNumber > 0 && /\.[cm]?tsx?$/.test(path)) {
    const line = declarationLine(path, f.functionName);
    return line === undefined ? `${file}:1:${f.columnNumber + 1} (tsx output)` : `${file}:~${line}`;
  }
  return `${file}:${f.lineNumber + 1}`;
}

/** Milliseconds of sampled time per node id. */
function selfTimes(p: CpuProfile): Map<number, number> {
  const self = new Map<number, number>();
  const samples = p.samples ?? [];
  const deltas = p.timeDeltas ?? [];
  if (samples.length > 0 && deltas.length === samples.length) {
    // Sample i was taken at startTime + deltas[0..i]; it stands for the time until the next one.
    let t = p.startTime;
    const at = deltas.map((d) => (t += d));
    samples.forEach((id, i) => {
      const until = i + 1 < at.length ? at[i + 1]! : Math.max(at[i]!, p.endTime);
      self.set(id, (self.get(id) ?? 0) + Math.max(0, until - at[i]!) / 1000);
    });
    return self;
  }
  // No sample list: spread the profile's time over the hit counts.
  const hits = p.nodes.reduce((a, n) => a + (n.hitCount ?? 0), 0);
  const each = hits > 0 ? (p.endTime - p.startTime) / 1000 / hits : 0;
  for (const n of p.nodes) if (n.hitCount) self.set(n.id, n.hitCount * each);
  return self;
}

export function summarizeCpuProfile(p: CpuProfile, cwd = process.cwd()): CpuSummary {
  const byId = new Map(p.nodes.map((n) => [n.id, n]));
  const self = selfTimes(p);
  const key = (f: CallFrame) => `${f.functionName}\u0000${f.url}\u0000${f.lineNumber}\u0000${f.columnNumber}`;
  const stats = new Map<string, { name: string; where: string; selfMs: number; totalMs: number }>();
  const stat = (f: CallFrame) => {
    const k = key(f);
    let s = stats.get(k);
    if (!s) stats.set(k, (s = { name: f.functionName || '(anonymous)', where: where(f, cwd), selfMs: 0, totalMs: 0 }));
    return s;
  };
  let sampledMs = 0;
  const pseudo: Record<string, number> = {};
  for (const [id, ms] of self) {
    const n = byId.get(id);
    if (!n) continue;
    sampledMs += ms;
    const name = n.callFrame.functionName;
    if (PSEUDO.has(name)) pseudo[name] = (pseudo[name] ?? 0) + ms;
    else stat(n.callFrame).selfMs += ms;
  }

  // Inclusive time: each subtree's time, added to a function once at its
  // outermost frame on the path.
  const children = new Set(p.nodes.flatMap((n) => n.children ?? []));
  const roots = p.nodes.filter((n) => !children.has(n.id));
  const subtree = new Map<number, number>();
  const order: CpuProfileNode[] = [];
  const stack = [...roots];
  while (stack.length > 0) {
    const n = stack.pop()!;
    order.push(n);
    for (const c of n.children ?? []) stack.push(byId.get(c)!);
  }
  for (const n of [...order].reverse()) subtree.set(n.id, (self.get(n.id) ?? 0) + (n.children ?? []).reduce((a, c) => a + (subtree.get(c) ?? 0), 0));
  const active = new Map<string, number>();
  const walk: Array<[CpuProfileNode, boolean]> = roots.map((r) => [r, false]);
  while (walk.length > 0) {
    const [n, leaving] = walk.pop()!;
    const f = n.callFrame;
    if (PSEUDO.has(f.functionName)) {
      if (!leaving) for (const c of n.children ?? []) walk.push([byId.get(c)!, false]);
      continue;
    }
    const k = key(f);
    if (leaving) {
      active.set(k, active.get(k)! - 1);
      continue;
    }
    if ((active.get(k) ?? 0) === 0) stat(f).totalMs += subtree.get(n.id) ?? 0;
    active.set(k, (active.get(k) ?? 0) + 1);
    walk.push([n, true]);
    for (const c of n.children ?? []) walk.push([byId.get(c)!, false]);
  }

  const all = [...stats.values()];
  const idleMs = pseudo['(idle)'] ?? 0;
  return {
    sampledMs,
    idleMs,
    gcMs: pseudo['(garbage collector)'] ?? 0,
    programMs: pseudo['(program)'] ?? 0,
    busyMs: sampledMs - idleMs,
    bySelf: all.filter((s) => s.selfMs > 0).sort((a, b) => b.selfMs - a.selfMs),
    byTotal: all.filter((s) => s.totalMs > 0).sort((a, b) => b.totalMs - a.totalMs),
  };
}

/** "main thread" or "worker thread N", from node's default file name. */
export function threadOfFile(file: string): string | undefined {
  const m = /^CPU\.\d{8}\.\d{6}\.\d+\.(\d+)\.\d+\.cpuprofile$/.exec(basename(file));
  if (!m) return undefined;
  return m[1] === '0' ? 'main thread' : `worker thread ${m[1]}`;
}

/**
 * What a worker thread of the collector was, from the scripts it ran: the
 * compiled ones in dist/ (the collector as it runs) or the sources in src/
 * (under tsx).
 */
export function roleOf(p: CpuProfile): string | undefined {
  const urls = p.nodes.map((n) => n.callFrame.url);
  const ran = (re: RegExp) => urls.some((u) => re.test(u));
  if (ran(/\/(src|dist)\/profile\/(worker-thread\.|raw\/)/)) return 'profile worker';
  if (ran(/\/(src|dist)\/discovery\/relabel-worker\./)) return 'relabel worker';
  if (ran(/\/(src|dist)\/output\/file-writer-thread\./)) return 'file writer';
  if (ran(/\/(src|dist)\/(cli|collector)\./)) return 'collector main';
  if (urls.some((u) => u.includes('esm/hooks') || u.includes('/tsx/'))) return 'module loader hooks';
  return undefined;
}

const pct = (x: number, of: number) => (of > 0 ? ((100 * x) / of).toFixed(1) : '0.0');

export function formatCpuSummary(s: CpuSummary, top: number): string {
  const out: string[] = [];
  out.push(
    `  sampled ${(s.sampledMs / 1000).toFixed(1)} s: idle ${pct(s.idleMs, s.sampledMs)} %, busy ${pct(s.busyMs, s.sampledMs)} % ` +
      `(GC ${pct(s.gcMs, s.sampledMs)} %, program ${pct(s.programMs, s.sampledMs)} %, functions ${pct(s.busyMs - s.gcMs - s.programMs, s.sampledMs)} %)`,
  );
  const rows = (title: string, xs: readonly FrameStat[], ms: (f: FrameStat) => number) => {
    const shown = xs.slice(0, top);
    const nameW = Math.min(60, Math.max(8, ...shown.map((f) => f.name.length)));
    out.push(`  top ${shown.length} by ${title}: ms, % of sampled, % of busy, function, where`);
    for (const f of shown) {
      const name = f.name.length > nameW ? `${f.name.slice(0, nameW - 1)}…` : f.name.padEnd(nameW);
      out.push(`    ${ms(f).toFixed(0).padStart(8)}  ${pct(ms(f), s.sampledMs).padStart(5)}  ${pct(ms(f), s.busyMs).padStart(5)}  ${name}  ${f.where}`);
    }
  };
  rows('self time', s.bySelf, (f) => f.selfMs);
  rows('total time (inclusive)', s.byTotal, (f) => f.totalMs);
  return out.join('\n');
}

/** The summary of one file, titled with its thread and role. */
export function summarizeFile(file: string, top: number): string {
  const p = JSON.parse(readFileSync(file, 'utf8')) as CpuProfile;
  const thread = threadOfFile(file);
  const role = roleOf(p);
  const title = [thread, role && (thread === 'main thread' ? undefined : `looks like the ${role}`)].filter(Boolean).join(', ');
  return `${file}${title ? ` (${title})` : ''}\n${formatCpuSummary(summarizeCpuProfile(p), top)}`;
}

async function main(): Promise<void> {
  const { values, positionals } = parseArgs({ allowPositionals: true, options: { top: { type: 'string', default: '25' } } });
  const top = Number(values.top);
  if (positionals.length === 0 || !Number.isInteger(top) || top < 1) {
    process.stderr.write('usage: node --import tsx bench/top-frames.ts FILE.cpuprofile [FILE...] [--top 25]\n');
    process.exit(2);
  }
  for (const f of positionals) process.stdout.write(`${summarizeFile(f, top)}\n\n`);
}

if (process.argv[1] && fileURLToPath(import.meta.url) === process.argv[1]) await main();
