// file_sd: JSON or TOML files of target groups, in Prometheus file_sd's
// shape. Files are watched (fs.watch on their directories) and re-read on
// change, and re-read every refresh_interval anyway (watches can miss
// events on some file systems). A file that cannot be read or parsed keeps
// its last good groups, and the log says why. Every group gets the label
// __meta_filepath (the file it came from), as in Prometheus, for relabel rules.
//
// JSON: [{"targets": ["10.0.0.1:6060"], "labels": {"env": "prod"}}]
// TOML: [[group]]  targets = ["10.0.0.1:6060"]  labels = { env = "prod" }

import { watch, type FSWatcher } from 'node:fs';
import { readdir, readFile } from 'node:fs/promises';
import { basename, dirname, join } from 'node:path';
import { parse as parseToml } from 'smol-toml';
import type { Logger } from '../core/log.js';
import type { Clock, TimerHandle } from '../core/clock.js';
import { changesOnly, parseTargetGroups, type DiscoveryProvider, type TargetGroup } from './types.js';

function globToRegExp(pattern: string): RegExp {
  const re = pattern.replace(/[.+^${}()|[\]\\]/g, '\\$&').replace(/\*/g, '[^/]*').replace(/\?/g, '[^/]');
  return new RegExp(`^${re}$`);
}

/** The files a pattern names now; `*` and `?` are allowed in the file name part. */
async function expand(pattern: string): Promise<string[]> {
  const name = basename(pattern);
  if (!/[*?]/.test(name)) return [pattern];
  const dir = dirname(pattern);
  const re = globToRegExp(name);
  try {
    return (await readdir(dir)).filter((f) => re.test(f)).sort().map((f) => join(dir, f));
  } catch {
    return [];
  }
}

export function parseSdFile(text: string, file: string): TargetGroup[] {
  if (/\.toml$/i.test(file)) {
    const doc = parseToml(text) as { group?: unknown };
    return parseTargetGroups(doc.group ?? [], file);
  }
  return parseTargetGroups(JSON.parse(text) as unknown, file);
}

export class FileSd implements DiscoveryProvider {
  readonly description: string;
  private readonly watchers: FSWatcher[] = [];
  private timer: TimerHandle | null = null;
  private debounce: TimerHandle | null = null;
  private readonly lastGood = new Map<string, TargetGroup[]>();
  private readonly saidError = new Map<string, string>();
  private stopped = false;
  private reading = false;
  private again = false;
  private send: (groups: readonly TargetGroup[]) => void = () => undefined;

  constructor(
    private readonly files: readonly string[],
    private readonly refreshIntervalMs: number,
    private readonly clock: Clock,
    private readonly log: Logger,
  ) {
    this.description = `file_sd ${files.join(', ')}`;
  }

  start(update: (groups: readonly TargetGroup[]) => void): void {
    this.send = changesOnly(update);
    for (const dir of new Set(this.files.map((f) => dirname(f)))) {
      try {
        const w = watch(dir, () => this.soon());
        w.on('error', () => undefined);
        this.watchers.push(w);
      } catch (err) {
        this.log.warn({ dir, err: { message: (err as Error).message } }, `file_sd cannot watch ${dir}; re-reading every refresh_interval only`);
      }
    }
    void this.refresh();
  }

  /** Changes come in bursts (write, rename): read once they settle. */
  private soon(): void {
    if (this.stopped || this.debounce) return;
    this.debounce = this.clock.setTimer(() => {
      this.debounce = null;
      void this.refresh();
    }, 200);
  }

  async refresh(): Promise<void> {
    // One read at a time: a watch event during a read asks for one more.
    if (this.reading) {
      this.again = true;
      return;
    }
    this.reading = true;
    try {
      do {
        this.again = false;
        await this.readAll();
      } while (this.again && !this.stopped);
    } finally {
      this.reading = false;
    }
    if (!this.stopped) {
      if (this.timer) this.clock.clearTimer(this.timer);
      this.timer = this.clock.setTimer(() => void this.refresh(), this.refreshIntervalMs);
    }
  }

  private async readAll(): Promise<void> {
    if (this.timer) this.clock.clearTimer(this.timer);
    this.timer = null;
    const seen = new Set<string>();
    for (const pattern of this.files) {
      for (const file of await expand(pattern)) {
        seen.add(file);
        try {
          const groups = parseSdFile(await readFile(file, 'utf8'), file);
          this.lastGood.set(file, groups.map((g) => ({ targets: g.targets, labels: { ...g.labels, __meta_filepath: file } })));
          if (this.saidError.has(file)) this.log.info({ file }, `file_sd: ${file} reads fine again`);
          this.saidError.delete(file);
        } catch (err) {
          const msg = (err as NodeJS.ErrnoException).code === 'ENOENT' ? 'file not found' : (err as Error).message;
          if (this.saidError.get(file) !== msg) this.log.warn({ file, err: { message: msg } }, `file_sd: cannot use ${file} (${msg}); keeping its last good targets`);
          this.saidError.set(file, msg);
          if ((err as NodeJS.ErrnoException).code === 'ENOENT') this.lastGood.delete(file);
        }
      }
    }
    // A file that is gone (or no longer matches) takes its targets with it.
    for (const f of [...this.lastGood.keys()]) if (!seen.has(f)) this.lastGood.delete(f);
    this.send([...this.lastGood.values()].flat());
  }

  async stop(): Promise<void> {
    this.stopped = true;
    for (const w of this.watchers) w.close();
    if (this.timer) this.clock.clearTimer(this.timer);
    if (this.debounce) this.clock.clearTimer(this.debounce);
  }
}
