// The Authorization header of a scrape: basic auth or a bearer token, from
// the config or from a file. A file is looked at on every scrape (one stat)
// and read again only when it changed (device, inode, size or mtime), so a
// rotated token (a Kubernetes projected service-account token is swapped in
// by a symlink rename) is sent from the next scrape on, without a reload.

import { open, stat } from 'node:fs/promises';
import type { TargetAuth } from '../config/types.js';
import { basicCredentials, outputSecrets } from '../core/redact.js';

/** A token or password file is never more than this (the config check says the same). */
const MAX_SECRET_FILE_BYTES = 64 * 1024;

export class CredentialError extends Error {
  override name = 'CredentialError';
  readonly code = 'credentials';
}

interface CachedFile {
  readonly version: string;
  readonly value: string;
}

export class TargetCredentials {
  private readonly files = new Map<string, CachedFile>();
  /** File reads done (not stats): what the cache saves, for tests. */
  reads = 0;

  /** The headers that carry `auth`; throws CredentialError when its file cannot be read. */
  async headers(auth: TargetAuth | undefined): Promise<Record<string, string>> {
    if (!auth) return {};
    if (auth.kind === 'basic') {
      const password = auth.passwordFile !== undefined ? await this.read(auth.passwordFile, 'basic_auth.password_file') : (auth.password ?? '');
      return { authorization: `Basic ${basicCredentials(auth.username, password)}` };
    }
    const token = auth.tokenFile !== undefined ? await this.read(auth.tokenFile, 'bearer_token_file') : (auth.token ?? '');
    return { authorization: `Bearer ${token}` };
  }

  /** Every form the credentials of `auth` travel in (as last read), to hide them in messages. */
  secrets(auth: TargetAuth | undefined): string[] {
    if (!auth) return [];
    if (auth.kind === 'basic') {
      const password = auth.passwordFile !== undefined ? this.files.get(auth.passwordFile)?.value : auth.password;
      return password === undefined ? [] : outputSecrets({ kind: 'basic', username: auth.username, password });
    }
    const token = auth.tokenFile !== undefined ? this.files.get(auth.tokenFile)?.value : auth.token;
    return token === undefined || token === '' ? [] : outputSecrets({ kind: 'bearer', token });
  }

  /** Forgets files no target names any more. */
  retainFiles(files: ReadonlySet<string>): void {
    for (const f of this.files.keys()) if (!files.has(f)) this.files.delete(f);
  }

  private async read(file: string, key: string): Promise<string> {
    try {
      const st = await stat(file, { bigint: true });
      const version = `${st.dev}:${st.ino}:${st.size}:${st.mtimeNs}`;
      const cached = this.files.get(file);
      if (cached?.version === version) return cached.value;
      if (!st.isFile()) throw new CredentialError(`${key} "${file}" is not a regular file`);
      if (st.size > BigInt(MAX_SECRET_FILE_BYTES)) throw new CredentialError(`${key} "${file}" is larger than ${MAX_SECRET_FILE_BYTES / 1024} KiB`);
      const fh = await open(file, 'r');
      let text: string;
      try {
        const buf = Buffer.alloc(MAX_SECRET_FILE_BYTES + 1);
        const { bytesRead } = await fh.read(buf, 0, buf.length, 0);
        text = buf.subarray(0, bytesRead).toString('utf8');
      } finally {
        await fh.close();
      }
      this.reads++;
      // Like Prometheus: surrounding white space (a trailing newline) is not part of the secret.
      const value = text.trim();
      if (/[\r\n]/.test(value)) throw new CredentialError(`${key} "${file}" holds more than one line`);
      this.files.set(file, { version, value });
      return value;
    } catch (err) {
      if (err instanceof CredentialError) throw err;
      const code = (err as NodeJS.ErrnoException).code ?? (err as Error).message;
      throw new CredentialError(`cannot read ${key} "${file}" (${code}); not scraped without its credentials. The file is read again at every scrape, so fixing it is enough`);
    }
  }
}
