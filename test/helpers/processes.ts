// The collector as a child process (`node bin/collector.js ...`), with its
// output captured, and a registry of everything a test started so `after`
// can stop it even when the test failed half-way.

import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { after, afterEach } from 'node:test';
import { fileURLToPath } from 'node:url';

export const ROOT = join(dirname(fileURLToPath(import.meta.url)), '..', '..');

export interface Exit {
  readonly code: number | null;
  readonly signal: NodeJS.Signals | null;
}

export class CollectorProcess {
  stdout = '';
  stderr = '';
  readonly exited: Promise<Exit>;

  constructor(private readonly child: ChildProcess) {
    child.stdout!.on('data', (d: Buffer) => (this.stdout += d.toString()));
    child.stderr!.on('data', (d: Buffer) => (this.stderr += d.toString()));
    this.exited = new Promise((resolve) => child.once('exit', (code, signal) => resolve({ code, signal })));
  }

  /**
   * The status server's base URL, from the collector's "status server on"
   * log line (JSON logs); fails the test when the collector exits first.
   */
  async statusUrl(ms = 15_000): Promise<string> {
    const find = () => this.logLines().find((l) => typeof l.msg === 'string' && l.msg.startsWith('status server on') && typeof l.url === 'string');
    await waitFor(() => !this.running || find() !== undefined, ms, 'the "status server on" log line');
    const line = find();
    if (!line) throw new Error(`the collector exited at start:\n${this.stdout.slice(-3000)}\n${this.stderr.slice(-2000)}`);
    return String(line.url);
  }

  /** Lets the collector run `ms`; throws at once if it exits on its own meanwhile. */
  async runFor(ms: number): Promise<void> {
    let timer: NodeJS.Timeout | undefined;
    const early = await Promise.race([this.exited, new Promise<null>((r) => (timer = setTimeout(() => r(null), ms)))]);
    clearTimeout(timer);
    if (early) throw new Error(`collector exited early (${JSON.stringify(early)}):\n${this.stdout.slice(-3000)}\n${this.stderr.slice(-3000)}`);
  }

  get pid(): number | undefined {
    return this.child.pid;
  }

  get running(): boolean {
    return this.child.exitCode === null && this.child.signalCode === null;
  }

  signal(sig: NodeJS.Signals): void {
    if (this.running) this.child.kill(sig);
  }

  /** Waits at most `ms` for the exit; on timeout the process is SIGKILLed and an error thrown. */
  async waitExit(ms: number): Promise<Exit> {
    let timer: NodeJS.Timeout | undefined;
    const res = await Promise.race([this.exited, new Promise<null>((r) => (timer = setTimeout(() => r(null), ms)))]);
    clearTimeout(timer);
    if (res === null) {
      this.signal('SIGKILL');
      await this.exited;
      throw new Error(`collector (pid ${this.pid}) did not exit within ${ms} ms; killed.\nstdout tail:\n${this.stdout.slice(-3000)}\nstderr tail:\n${this.stderr.slice(-3000)}`);
    }
    return res;
  }

  /** stdout parsed as pino JSON lines (non-JSON lines are kept as { raw }). */
  logLines(which: 'stdout' | 'stderr' = 'stdout'): Array<Record<string, unknown>> {
    return this[which]
      .split('\n')
      .filter((l) => l.trim() !== '')
      .map((l) => {
        try {
          return JSON.parse(l) as Record<string, unknown>;
        } catch {
          return { raw: l };
        }
      });
  }

  async kill(): Promise<void> {
    this.signal('SIGKILL');
    await this.exited;
  }
}

export function spawnCollector(args: readonly string[]): CollectorProcess {
  const child = spawn(process.execPath, [join(ROOT, 'bin', 'collector.js'), ...args], {
    cwd: ROOT,
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  return new CollectorProcess(child);
}

/** Cleanups run last-in first-out; every one runs even when another throws. */
export class Cleanup {
  private readonly fns: Array<() => unknown> = [];

  add(fn: () => unknown): void {
    this.fns.push(fn);
  }

  /** A new temp dir (`prefix` + random), removed with everything in it when this cleanup runs. */
  tempDir(prefix: string): string {
    const d = mkdtempSync(join(tmpdir(), prefix));
    this.add(() => rmSync(d, { recursive: true, force: true }));
    return d;
  }

  async run(): Promise<void> {
    const errors: unknown[] = [];
    while (this.fns.length > 0) {
      const fn = this.fns.pop()!;
      try {
        await fn();
      } catch (err) {
        errors.push(err);
      }
    }
    if (errors.length > 0) throw new AggregateError(errors, 'cleanup failed');
  }
}

/**
 * A Cleanup for a test file, run after each of its tests and once more after
 * the last (for anything a before() hook or a failed test left). Call it at
 * the top level of the file.
 */
export function cleanupAfterEach(): Cleanup {
  const cleanup = new Cleanup();
  afterEach(() => cleanup.run());
  after(() => cleanup.run());
  return cleanup;
}

/**
 * A Cleanup run once, after the last test of the file: for what a before()
 * hook starts and every test uses. Call it at the top level of the file.
 */
export function cleanupAfterAll(): Cleanup {
  const cleanup = new Cleanup();
  after(() => cleanup.run());
  return cleanup;
}

export const sleep = (ms: number) => new Promise<void>((r) => setTimeout(r, ms));

/** Polls `pred` every `everyMs` (100 by default) for at most `ms`; throws with `what` on timeout. */
export async function waitFor(pred: () => boolean | Promise<boolean>, ms: number, what: string, everyMs = 100): Promise<void> {
  const end = Date.now() + ms;
  for (;;) {
    if (await pred()) return;
    if (Date.now() > end) throw new Error(`timed out after ${ms} ms waiting for ${what}`);
    await sleep(everyMs);
  }
}
