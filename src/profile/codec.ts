// Bytes <-> pprof Profile. Go serves gzipped protobuf; other pprof servers may
// serve it uncompressed, so both are accepted. Decompression runs on the libuv
// pool (async zlib) so a large profile does not stall the scrape schedule, and
// is capped so a gzip bomb cannot take the process down.

import { promisify } from 'node:util';
import { createGunzip, gunzip as gunzipCb, gunzipSync } from 'node:zlib';
import { LIMITS } from '../core/limits.js';
import { InvalidProfileError, ProfileTooLargeError } from './errors.js';
import { indexProfile, rawSums, scanProfile, type ProfileIndex, type RawProfile } from './raw/index.js';

/**
 * Below this many compressed bytes zlib runs on the main thread: a small
 * profile takes microseconds, less than handing it to the thread pool and
 * back. Large ones go to the pool so they never stall the schedule.
 */
const SYNC_ZLIB_MAX_BYTES = 16 * 1024;

const gunzipAsync = promisify(gunzipCb) as (buf: Uint8Array, opts: { maxOutputLength: number }) => Promise<Buffer>;

export function isGzip(body: Uint8Array): boolean {
  return body.length >= 2 && body[0] === 0x1f && body[1] === 0x8b;
}

/** Whether bytes look like text (an error page, JSON), not binary. */
function looksLikeText(head: Uint8Array): boolean {
  if (head.length === 0) return false;
  let printable = 0;
  for (const b of head) if (b === 9 || b === 10 || b === 13 || (b >= 32 && b < 127) || b >= 0xc0) printable++;
  return printable / head.length > 0.95;
}

/** What a body that is not a profile looks like, in words a user can act on. */
export function describeNonProfile(body: Uint8Array, contentType?: string): string {
  const headBytes = body.subarray(0, 512);
  const head = Buffer.from(headBytes).toString('utf8').trimStart().toLowerCase();
  const ct = (contentType ?? '').toLowerCase();
  const text = looksLikeText(headBytes);
  if (ct.includes('text/html') || (text && (head.startsWith('<!doctype html') || head.startsWith('<html') || head.startsWith('<')))) {
    return 'the response is an HTML page, not a pprof profile: wrong port, or a proxy or login page in between?';
  }
  if (ct.includes('json') || (text && (head.startsWith('{') || head.startsWith('[')))) {
    return 'the response is JSON, not a pprof profile: is this the service\'s API port rather than its pprof endpoint?';
  }
  if (body.length === 0) return 'the response body is empty, not a pprof profile';
  if (text) return `the response is text, not a pprof profile: "${Buffer.from(headBytes).toString('utf8').slice(0, 80).replace(/\s+/g, ' ').trim()}"`;
  return `the response is not a pprof profile (${body.length} bytes starting ${Buffer.from(body.subarray(0, 8)).toString('hex')})`;
}

/** The gzip trailer's ISIZE: what the encoder says the (last member's) data inflates to, mod 2^32. */
function declaredInflatedSize(body: Uint8Array): number {
  return body.length >= 18 ? Buffer.from(body.buffer, body.byteOffset, body.byteLength).readUInt32LE(body.length - 4) : 0;
}

/**
 * Inflates and throws the output away, counting: true as soon as it passes
 * `max`. Memory stays at a chunk or two however large the stream inflates.
 */
function inflatesPast(body: Uint8Array, max: number): Promise<boolean> {
  return new Promise((resolve, reject) => {
    const z = createGunzip({ chunkSize: 64 * 1024 });
    let n = 0;
    let settled = false;
    z.on('data', (chunk: Buffer) => {
      n += chunk.length;
      if (n > max && !settled) {
        settled = true;
        z.destroy();
        resolve(true);
      }
    });
    z.on('end', () => {
      if (!settled) resolve(false);
      settled = true;
    });
    z.on('error', (err) => {
      if (!settled) reject(err);
      settled = true;
    });
    z.end(body);
  });
}

function tooLarge(body: Uint8Array, maxDecompressedBytes: number): ProfileTooLargeError {
  return new ProfileTooLargeError(
    `the profile decompresses to more than ${Math.round(maxDecompressedBytes / 1048576)} MiB (${body.length} bytes compressed): refused as a possible gzip bomb`,
  );
}

function broken(err: unknown): InvalidProfileError {
  const e = err as NodeJS.ErrnoException;
  return new InvalidProfileError(`the gzip stream is broken (${e.code ?? e.message}): truncated or corrupt response`);
}

/**
 * Gunzips (when gzipped) with a cap on the decompressed size. When the gzip
 * trailer claims more than the cap (a gzip bomb, or a truncated body whose
 * last bytes are not a trailer), the stream is first inflated without keeping
 * the output: a bomb is refused without ever holding the cap in memory.
 */
export async function inflateProfile(body: Uint8Array, maxDecompressedBytes: number): Promise<Buffer> {
  if (!isGzip(body)) return Buffer.from(body.buffer, body.byteOffset, body.byteLength);
  if (declaredInflatedSize(body) > maxDecompressedBytes) {
    let past: boolean;
    try {
      past = await inflatesPast(body, maxDecompressedBytes);
    } catch (err) {
      throw broken(err);
    }
    if (past) throw tooLarge(body, maxDecompressedBytes);
  }
  try {
    // Small bodies inflate faster than a round trip to the thread pool.
    if (body.length <= SYNC_ZLIB_MAX_BYTES && declaredInflatedSize(body) <= SYNC_ZLIB_MAX_BYTES * 8) {
      return gunzipSync(body, { maxOutputLength: maxDecompressedBytes });
    }
    return await gunzipAsync(body, { maxOutputLength: maxDecompressedBytes });
  } catch (err) {
    const e = err as NodeJS.ErrnoException;
    if (e.code === 'ERR_BUFFER_TOO_LARGE' || e instanceof RangeError) throw tooLarge(body, maxDecompressedBytes);
    throw broken(err);
  }
}

/**
 * Scans and validates raw pprof bytes and sums each sample type (unless
 * `sums: false`, when the caller reads and so validates every sample itself).
 * Bytes that are not a profile at all get an error saying what they look
 * like (HTML, JSON, text) rather than which protobuf field is off.
 */
export function parseRawProfile(
  raw: Uint8Array,
  original: Uint8Array = raw,
  contentType?: string,
  opts: { sums?: boolean } = {},
): { profile: RawProfile; index: ProfileIndex; sums: Record<string, number> } {
  let profile: RawProfile;
  try {
    profile = scanProfile(raw);
  } catch {
    throw new InvalidProfileError(describeNonProfile(original, contentType));
  }
  if (profile.sampleTypes.length === 0 || profile.nStrings <= 1) throw new InvalidProfileError(describeNonProfile(original, contentType));
  const index = indexProfile(profile);
  // Reading every sample validates it; a caller that reads them anyway
  // (the delta) can skip this pass.
  const sums = opts.sums === false ? {} : rawSums(profile, index);
  return { profile, index, sums };
}

/**
 * Deltas are gzipped at level 1 unless [agent] compression_level says
 * otherwise, as Go's runtime/pprof writes its own profiles: a few percent
 * larger than level 6 and several times cheaper (bench/compression.ts).
 */
export const DELTA_GZIP_LEVEL: number = LIMITS.defaultCompressionLevel;

/** Normalises a decoded int64 (number, bigint, or a negative read back as uint64). */
export function int64(v: number | bigint): bigint {
  return BigInt.asIntN(64, BigInt(v));
}

/** Ids and string indices: non-negative and small in any real profile. */
export function uint(v: number | bigint): number {
  return typeof v === 'number' ? v : Number(BigInt.asUintN(64, v));
}
