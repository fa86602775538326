// The real collector as a child process for the bench: its config (every
// farm target, interval 10 s, file output), its /metrics, its CPU time and
// RSS from /proc, and the CPU profiles it writes when BENCH_NODE_ARGS has
// --cpu-prof.

import { spawn } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseProm, type Sample } from './prom.js';

export const ROOT = join(dirname(fileURLToPath(import.meta.url)), '..');
const CLK_TCK = 100; // Linux user HZ for /proc/<pid>/stat
/** Every profile type of a Go target; the collector scrapes all by default. */
export const TYPES_PER_TARGET = 5;

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/** CPU seconds (user + system) the process has used so far. */
export function cpuSeconds(pid: number): number {
  const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
  const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
  return (Number(fields[11]) + Number(fields[12])) / CLK_TCK; // utime + stime
}

/** Resident set now (VmRSS) or at its peak (VmHWM), in MiB. */
export function rssMb(pid: number, field: 'VmRSS' | 'VmHWM' = 'VmRSS'): number {
  const m = new RegExp(`^${field}:\\s+(\\d+) kB`, 'm').exec(readFileSync(`/proc/${pid}/status`, 'utf8'));
  return m ? Number(m[1]) / 1024 : 0;
}

export interface CollectorOptions {
  readonly intervalMs: number;
  /** Extra node flags (BENCH_NODE_ARGS). */
  readonly nodeArgs: readonly string[];
}

export class CollectorRun {
  private out = '';
  private statusUrl = '';
  private readonly exited: Promise<void>;
  private readonly profilesBefore: ReadonlySet<string>;

  private constructor(
    private readonly child: ReturnType<typeof spawn>,
    private readonly dir: string,
    /** Where --cpu-prof writes, when it is on. */
    readonly cpuProfileDir: string | undefined,
  ) {
    child.stdout!.on('data', (d: Buffer) => {
      this.out += d.toString();
      if (!this.statusUrl) this.statusUrl = /"url":"(http:\/\/127\.0\.0\.1:\d+)"/.exec(this.out)?.[1] ?? '';
      if (this.out.length > 1 << 20) this.out = this.out.slice(-4096);
    });
    this.exited = new Promise<void>((r) => child.once('exit', () => r()));
    this.profilesBefore = new Set(cpuProfileDir ? listCpuProfiles(cpuProfileDir) : []);
  }

  static async start(urls: readonly string[], o: CollectorOptions): Promise<CollectorRun> {
    const dir = mkdtempSync(join(tmpdir(), 'pprof-bench-'));
    const cfg = join(dir, 'bench.conf');
    const lines = ['[agent]', 'listen = "127.0.0.1:0"', `data_dir = ${JSON.stringify(join(dir, 'data'))}`, 'log_level = "info"', ''];
    urls.forEach((url, i) =>
      lines.push('[[inputs.profile.go]]', `url = "${url}"`, `interval = "${o.intervalMs / 1000}s"`, `service = "svc-${i % 50}"`, `env = "bench"`, `version = "1.0.${i}"`, ''),
    );
    lines.push('[[outputs.file]]', `dir = ${JSON.stringify(join(dir, 'profiles'))}`, '');
    writeFileSync(cfg, lines.join('\n'));

    const nodeArgs = [...o.nodeArgs];
    let cpuProfileDir: string | undefined;
    if (nodeArgs.includes('--cpu-prof')) {
      // Without --cpu-prof-dir, node writes into the child's cwd (the repository).
      const given = nodeArgs.find((a) => a.startsWith('--cpu-prof-dir='));
      if (given) cpuProfileDir = resolve(ROOT, given.slice('--cpu-prof-dir='.length));
      else {
        cpuProfileDir = mkdtempSync(join(tmpdir(), 'pprof-bench-cpuprof-'));
        nodeArgs.push(`--cpu-prof-dir=${cpuProfileDir}`);
      }
      if (!existsSync(cpuProfileDir)) mkdirSync(cpuProfileDir, { recursive: true });
    }
    const child = spawn(process.execPath, [...nodeArgs, join(ROOT, 'bin', 'collector.js'), '-c', cfg, '--log-format', 'json'], {
      cwd: ROOT,
      stdio: ['ignore', 'pipe', 'inherit'],
    });
    const run = new CollectorRun(child, dir, cpuProfileDir);
    for (let i = 0; i < 600 && !run.statusUrl && child.exitCode === null; i++) await sleep(50);
    if (!run.statusUrl) {
      await run.stop();
      throw new Error(`the collector did not start its status server:\n${run.out.slice(-3000)}`);
    }
    return run;
  }

  get pid(): number {
    return this.child.pid!;
  }

  async metrics(): Promise<Sample[]> {
    return parseProm(await (await fetch(`${this.statusUrl}/metrics`)).text());
  }

  /** SIGTERM, then SIGKILL after 30 s; the config and output go. Returns the CPU profiles it wrote. */
  async stop(): Promise<string[]> {
    if (this.child.exitCode === null && this.child.signalCode === null) this.child.kill('SIGTERM');
    await Promise.race([this.exited, sleep(30_000)]);
    if (this.child.exitCode === null && this.child.signalCode === null) {
      this.child.kill('SIGKILL');
      await this.exited;
    }
    rmSync(this.dir, { recursive: true, force: true });
    if (!this.cpuProfileDir) return [];
    return listCpuProfiles(this.cpuProfileDir)
      .filter((f) => !this.profilesBefore.has(f))
      .map((f) => join(this.cpuProfileDir!, f));
  }
}

function listCpuProfiles(dir: string): string[] {
  return readdirSync(dir)
    .filter((f) => f.endsWith('.cpuprofile'))
    .sort();
}
