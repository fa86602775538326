import { mkdir, readdir, readFile, rm, stat } from 'node:fs/promises';
import { writeAtomic } from '../core/files.js';
import { TargetTypeMap } from '../core/target-type-map.js';
import { join } from 'node:path';
import type { RawBaseline as DeltaBaseline } from './raw/index.js';
import { PROFILE_TYPE_NAMES, type ProfileTypeName } from './types.js';

const BASELINE_EXT = '.pb.gz';

/**
 * The last scraped body of each cumulative (target, type), on disk, so a
 * restarted collector continues its deltas where it stopped instead of
 * losing one window per type to a fresh baseline. Written without fsync: a
 * torn file only costs that one baseline (it fails to decode and the next
 * scrape becomes the baseline).
 */
export class BaselineFiles {
  private readonly savedAt = new TargetTypeMap<number>();
  private dirMade = false;

  /**
   * `everyMs`: a body is written at most this often per target and type. Any
   * earlier scrape of the same process is a valid baseline (the delta just
   * covers a longer window), so writing every scrape would buy nothing.
   */
  constructor(
    private readonly dir: string,
    private readonly everyMs = 60_000,
    private readonly now: () => number = Date.now,
  ) {}

  /**
   * Forgets targets that are gone, files and all: with discovery, pods come
   * and go, and their files would otherwise pile up under data_dir.
   */
  retainTargets(ids: ReadonlySet<string>): Promise<void> {
    const gone = this.savedAt.retainTargets(ids);
    return Promise.all(gone.flatMap((id) => PROFILE_TYPE_NAMES.map((type) => this.remove(id, type)))).then(
      () => undefined,
      () => undefined,
    );
  }

  /**
   * Removes saved bodies older than `maxAgeMs` (no longer used as a baseline),
   * such as those of targets a previous run scraped and this one does not.
   */
  async pruneOlderThan(maxAgeMs: number): Promise<number> {
    let names: string[];
    try {
      names = await readdir(this.dir);
    } catch {
      return 0;
    }
    const cutoff = this.now() - maxAgeMs;
    let removed = 0;
    for (const name of names) {
      if (!name.endsWith(BASELINE_EXT)) continue;
      const p = join(this.dir, name);
      try {
        if ((await stat(p)).mtimeMs < cutoff) {
          await rm(p, { force: true });
          removed++;
        }
      } catch {
        // gone meanwhile
      }
    }
    return removed;
  }

  /** Saves the body unless one was saved for this target and type within `everyMs`. */
  async maybeSave(targetId: string, type: ProfileTypeName, body: Uint8Array): Promise<void> {
    const last = this.savedAt.get(targetId, type);
    const now = this.now();
    if (last !== undefined && now - last < this.everyMs) return;
    this.savedAt.set(targetId, type, now);
    await this.save(targetId, type, body);
  }

  private path(targetId: string, type: ProfileTypeName): string {
    return join(this.dir, `${targetId.replace(/[^A-Za-z0-9_-]/g, '_')}-${type}${BASELINE_EXT}`);
  }

  async save(targetId: string, type: ProfileTypeName, body: Uint8Array): Promise<void> {
    this.savedAt.set(targetId, type, this.now());
    if (!this.dirMade) {
      await mkdir(this.dir, { recursive: true });
      this.dirMade = true;
    }
    await writeAtomic(this.path(targetId, type), body);
  }

  /** The saved body and when it was saved, or null. */
  async load(targetId: string, type: ProfileTypeName): Promise<{ body: Buffer; savedAtMs: number } | null> {
    const p = this.path(targetId, type);
    try {
      const [body, st] = await Promise.all([readFile(p), stat(p)]);
      return { body, savedAtMs: st.mtimeMs };
    } catch {
      return null;
    }
  }

  async remove(targetId: string, type: ProfileTypeName): Promise<void> {
    await rm(this.path(targetId, type), { force: true });
  }
}

/**
 * Delta baselines by target identity and type. Lives outside any scheduler
 * job, so a reload that keeps a target keeps its baselines.
 */
export class BaselineStore {
  private readonly byTarget = new TargetTypeMap<DeltaBaseline>();

  get(targetId: string, type: ProfileTypeName): DeltaBaseline | undefined {
    return this.byTarget.get(targetId, type);
  }

  set(targetId: string, type: ProfileTypeName, b: DeltaBaseline): void {
    this.byTarget.set(targetId, type, b);
  }

  /** Forgets targets that are gone (after a reload). */
  retainTargets(targetIds: ReadonlySet<string>): void {
    this.byTarget.retainTargets(targetIds);
  }

  get size(): number {
    return this.byTarget.size;
  }
}
