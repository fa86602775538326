// [[outputs.file]]: one gzipped pprof file per profile, plus a JSON file with
// the same stem holding type, window and tags. A send names the files and
// hands them to the writer (by default a writer thread, file-writer.ts),
// which writes both durably and syncs the directory (file-writes.ts) before
// the profile counts as delivered: the spool lets go of it then, so it must
// be on disk. The output runs LIMITS.fileOutputConcurrency sends at once, and
// the writer takes those of one event-loop turn as one batch.

import { join } from 'node:path';
import type { FileOutputConfig } from '../config/types.js';
import { rfc3339Nano, type ProfileRecord } from '../profile/record.js';
import { ThreadProfileWriter } from './file-writer.js';
import type { ProfileFileWriter } from './file-writes.js';
import type { ProfileSender } from './queue.js';
import { DeliveryError } from './retry.js';
import type { ThreadHeap } from '../core/thread-heap.js';

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

  constructor(
    private readonly cfg: FileOutputConfig,
    private readonly writer: ProfileFileWriter = new ThreadProfileWriter(),
  ) {
    this.name = cfg.name;
  }

  get dir(): string {
    return this.cfg.dir;
  }

  async send(record: ProfileRecord): Promise<void> {
    const stem = join(this.cfg.dir, fileStem(record));
    const pprofPath = `${stem}.pprof`;
    const sidecar = fileSidecar(record, pprofPath.slice(pprofPath.lastIndexOf('/') + 1));
    try {
      await this.writer.write({ root: this.cfg.dir, dir: join(this.cfg.dir, safe(record.service)), stem, pprof: record.pprof, json: `${JSON.stringify(sidecar, null, 2)}\n` });
    } catch (err) {
      const e = err as NodeJS.ErrnoException;
      // A full disk or a permission problem can be fixed while we wait; retry.
      throw new DeliveryError(`writing ${pprofPath}: ${e.code ?? e.message}`, true, { ...(e.code ? { code: e.code } : {}) });
    }
  }

  close(): Promise<void> {
    return this.writer.close();
  }

  threadHeap(): ThreadHeap | undefined {
    return this.writer.threadHeap?.();
  }
}
