// [[outputs.file]]: one gzipped pprof file per profile, plus a JSON file with
// the same stem holding type, window and tags. Both are written to a temp name,
// synced and renamed, pprof first, so a reader that sees the .json sees a
// complete profile beside it, and the directory is synced before the profile
// counts as delivered: the spool lets go of it then, so it must be on disk.
// The sends in flight into one directory share its sync (DirectorySyncs, a
// group commit), and the output runs FILE_OUTPUT_CONCURRENCY of them at once:
// the main thread handles their completions together (bench/file-output.ts).

import { mkdir, rm } from 'node:fs/promises';
import { fsOps, writeFileDurably, type FileOps } from '../core/files.js';
import { join } from 'node:path';
import type { FileOutputConfig } from '../config/types.js';
import { rfc3339Nano, type ProfileRecord } from '../profile/record.js';
import { DirectorySyncs } from './dir-sync.js';
import type { ProfileSender } from './queue.js';
import { DeliveryError } from './retry.js';

function safe(s: string): string {
  return s.replace(/[^A-Za-z0-9._-]+/g, '_').replace(/^\.+/, '_') || '_';
}

/** `<service>/<UTC time>_<instance>_<type>_<id tail>`: sorts by time within a service. */
export function fileStem(record: ProfileRecord): string {
  const t = rfc3339Nano(record.endNs).replace(/[-:]/g, '').replace(/\.(\d{3})\d*Z$/, '.$1Z');
  return join(safe(record.service), `${t}_${safe(record.instance)}_${record.type}_${record.id.slice(-8)}`);
}

export function fileSidecar(record: ProfileRecord, pprofName: string): Record<string, unknown> {
  return {
    id: record.id,
    type: record.type,
    file: pprofName,
    service: record.service,
    env: record.env,
    version: record.version,
    instance: record.instance,
    start: rfc3339Nano(record.startNs),
    end: rfc3339Nano(record.endNs),
    start_unix_nano: record.startNs.toString(),
    end_unix_nano: record.endNs.toString(),
    delta: record.isDelta,
    samples: record.sampleCount,
    tags: record.tags,
    custom_tags: record.customTags,
    ...(record.tenantId ? { tenant_id: record.tenantId } : {}),
  };
}

export class FileSender implements ProfileSender {
  readonly kind = 'file';
  readonly name: string;
  private readonly madeDirs = new Set<string>();
  private readonly dirSyncs: DirectorySyncs;

  constructor(
    private readonly cfg: FileOutputConfig,
    private readonly ops: FileOps = fsOps,
  ) {
    this.name = cfg.name;
    this.dirSyncs = new DirectorySyncs(ops);
  }

  get dir(): string {
    return this.cfg.dir;
  }

  async send(record: ProfileRecord): Promise<void> {
    const stem = join(this.cfg.dir, fileStem(record));
    const pprofPath = `${stem}.pprof`;
    try {
      const dir = join(this.cfg.dir, safe(record.service));
      if (!this.madeDirs.has(dir)) {
        await mkdir(dir, { recursive: true });
        await this.dirSyncs.sync(this.cfg.dir);
        this.madeDirs.add(dir);
      }
      await writeFileDurably(pprofPath, record.pprof, this.ops);
      const sidecar = fileSidecar(record, pprofPath.slice(pprofPath.lastIndexOf('/') + 1));
      await writeFileDurably(`${stem}.json`, Buffer.from(`${JSON.stringify(sidecar, null, 2)}\n`), this.ops);
      await this.dirSyncs.sync(dir);
    } catch (err) {
      // Neither file stays: a pprof without its .json (or one whose name may
      // not survive a power cut) is not delivered; the retry writes both.
      await rm(pprofPath, { force: true }).catch(() => undefined);
      await rm(`${stem}.json`, { force: true }).catch(() => undefined);
      this.madeDirs.clear(); // the directory may be what went missing
      const e = err as NodeJS.ErrnoException;
      // A full disk or a permission problem can be fixed while we wait; retry.
      throw new DeliveryError(`writing ${pprofPath}: ${e.code ?? e.message}`, true, { ...(e.code ? { code: e.code } : {}) });
    }
  }
}
