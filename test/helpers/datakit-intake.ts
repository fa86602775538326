// A strict DataKit /profiling/v1/input test double.
//
// It parses every request by the wire format the brief documents (one
// multipart/form-data POST per profile: the gzipped pprof file part, then
// event.json) with a real WHATWG multipart parser (undici's
// Response.formData()), and answers 400 with a reason to anything off-contract,
// recording the rejection. Accepted uploads are stored for the test to read.
// It can be told to answer another status (503, 429 with Retry-After, 400) for
// a number of requests or for a while, and to hold its answers (to count
// concurrent requests).

import { createServer, type IncomingHttpHeaders, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import { Response } from 'undici';
import { sleep } from './processes.js';
import { closeServer, header, listenLocal, readBody } from './servers.js';

export const INTAKE_PATH = '/profiling/v1/input';

/** The file part names the collector sends (dd-trace-go's, and ours for the other types), by profile type. */
export const DATAKIT_FILE_TYPES: Readonly<Record<string, string>> = {
  'cpu.pprof': 'cpu',
  'delta-heap.pprof': 'heap',
  'goroutines.pprof': 'goroutine',
  'delta-mutex.pprof': 'mutex',
  'delta-block.pprof': 'block',
  'delta-allocs.pprof': 'allocs',
  'threadcreate.pprof': 'threadcreate',
  // The default name of a custom type called fgprof.
  'fgprof.pprof': 'fgprof',
};

/** RFC 3339, UTC, exactly nine fractional digits. */
export const RFC3339_NANO_UTC = /^(\d{4})-(\d{2})-(\d{2})T(\d{2}):(\d{2}):(\d{2})\.(\d{9})Z$/;

export interface IntakeEvent {
  readonly format: string;
  readonly profiler: string;
  readonly attachments: string[];
  readonly language: string;
  readonly family: string;
  readonly tags_profiler: string;
  readonly sub_custom_tags: string;
  readonly start: string;
  readonly end: string;
  readonly [k: string]: unknown;
}

export interface ParsedUpload {
  /** The file part's name (= its filename), e.g. "delta-heap.pprof". */
  readonly fileName: string;
  /** The profile type the file name stands for. */
  readonly type: string;
  /** The file part's bytes (gzipped pprof). */
  readonly gzipped: Buffer;
  readonly event: IntakeEvent;
  /** tags_profiler split as DataKit splits it (commas, then the first colon). */
  readonly tags: Record<string, string>;
  readonly customTags: Record<string, string>;
  readonly startNs: bigint;
  readonly endNs: bigint;
}

export interface Upload extends ParsedUpload {
  /** The request target as sent (path and query). */
  readonly url: string;
  readonly headers: IncomingHttpHeaders;
  readonly profileId: string | undefined;
  /** Date.now() when the body was complete. */
  readonly receivedAtMs: number;
}

export interface Rejection {
  readonly reason: string;
  readonly method: string;
  readonly url: string;
  readonly headers: IncomingHttpHeaders;
  readonly receivedAtMs: number;
}

/** Every request the double answered, in order, good or bad. */
export interface Attempt {
  readonly status: number;
  readonly profileId: string | undefined;
  readonly receivedAtMs: number;
}

export interface IntakeMode {
  /** Status to answer valid requests with (default 200). Invalid requests always get 400. */
  readonly status?: number;
  /** Response body for a non-200 status. */
  readonly body?: string;
  readonly headers?: Readonly<Record<string, string>>;
  /** Answer `status` to this many valid requests, then go back to 200. */
  readonly times?: number;
  /** Answer `status` until this long from now, then go back to 200. */
  readonly forMs?: number;
  /** Hold every answer this long (concurrency tests). */
  readonly delayMs?: number;
}

/** Thrown by parseUpload: what is off-contract, in words. */
export class OffContract extends Error {}

function fail(reason: string): never {
  throw new OffContract(reason);
}

/** Unix nanoseconds of an RFC 3339 UTC timestamp with nanoseconds. */
export function parseRfc3339Nano(s: string): bigint {
  const m = RFC3339_NANO_UTC.exec(s);
  if (!m) fail(`"${s}" is not RFC 3339 UTC with nanoseconds (YYYY-MM-DDTHH:MM:SS.nnnnnnnnnZ)`);
  const ms = Date.parse(`${m[1]}-${m[2]}-${m[3]}T${m[4]}:${m[5]}:${m[6]}Z`);
  if (Number.isNaN(ms)) fail(`"${s}" is not a valid date`);
  return BigInt(ms) * 1_000_000n + BigInt(m[7]!);
}

/** `k:v,k:v` as DataKit splits it: on commas, then on the first colon. Throws on a malformed item. */
export function parseTagString(s: string, what: string): Record<string, string> {
  const out: Record<string, string> = {};
  if (s === '') return out;
  for (const item of s.split(',')) {
    const i = item.indexOf(':');
    if (i <= 0) fail(`${what}: item "${item}" is not k:v`);
    const k = item.slice(0, i);
    if (k in out) fail(`${what}: tag "${k}" appears twice`);
    out[k] = item.slice(i + 1);
  }
  return out;
}

interface BlobLike {
  readonly name?: string;
  readonly type: string;
  arrayBuffer(): Promise<ArrayBuffer>;
}

/**
 * Parses one upload by the documented wire format; throws OffContract with
 * the reason when anything is off. Used by the server and directly by tests.
 */
export async function parseUpload(contentType: string | undefined, body: Uint8Array): Promise<ParsedUpload> {
  if (!contentType) fail('no content-type');
  const ct = contentType.toLowerCase();
  if (!ct.startsWith('multipart/form-data')) fail(`content-type is "${contentType}", not multipart/form-data`);
  const boundary = /;\s*boundary=("?)([^";]+)\1/i.exec(contentType);
  if (!boundary || boundary[2]!.length === 0) fail(`content-type "${contentType}" has no boundary`);

  let form: Awaited<ReturnType<Response['formData']>>;
  try {
    form = await new Response(body, { headers: { 'content-type': contentType } }).formData();
  } catch (err) {
    fail(`the body is not valid multipart/form-data: ${(err as Error).message}`);
  }
  const entries = [...form.entries()] as Array<[string, string | BlobLike]>;
  if (entries.length !== 2) fail(`expected exactly 2 parts (profile file, event), got ${entries.length}: [${entries.map(([k]) => k).join(', ')}]`);

  const [fileName, file] = entries[0]!;
  if (typeof file === 'string') fail(`first part "${fileName}" is a plain field, not a file (no filename)`);
  if (!(fileName in DATAKIT_FILE_TYPES)) fail(`first part name "${fileName}" is not one of ${Object.keys(DATAKIT_FILE_TYPES).join(', ')}`);
  if (file.name !== fileName) fail(`first part: name "${fileName}" != filename "${file.name}"`);
  if (file.type !== 'application/octet-stream') fail(`first part content-type is "${file.type}", not application/octet-stream`);
  const gzipped = Buffer.from(await file.arrayBuffer());
  if (gzipped.length < 2 || gzipped[0] !== 0x1f || gzipped[1] !== 0x8b) fail('first part is not gzipped (no 1f 8b magic)');

  const [eventName, eventPart] = entries[1]!;
  if (eventName !== 'event') fail(`second part name is "${eventName}", not "event"`);
  if (typeof eventPart === 'string') fail('second part "event" is a plain field, not a file named event.json');
  if (eventPart.name !== 'event.json') fail(`second part filename is "${eventPart.name}", not "event.json"`);
  if (eventPart.type !== 'application/json') fail(`second part content-type is "${eventPart.type}", not application/json`);
  let event: Record<string, unknown>;
  try {
    event = JSON.parse(Buffer.from(await eventPart.arrayBuffer()).toString('utf8')) as Record<string, unknown>;
  } catch (err) {
    fail(`event.json is not JSON: ${(err as Error).message}`);
  }
  if (event === null || typeof event !== 'object' || Array.isArray(event)) fail('event.json is not a JSON object');

  const want: Record<string, string> = { format: 'pprof', profiler: 'pprof', language: 'golang', family: 'go' };
  for (const [k, v] of Object.entries(want)) {
    if (event[k] !== v) fail(`event.${k} is ${JSON.stringify(event[k])}, want "${v}"`);
  }
  const att = event.attachments;
  if (!Array.isArray(att) || att.length !== 1 || att[0] !== fileName) fail(`event.attachments is ${JSON.stringify(att)}, want ["${fileName}"]`);
  for (const k of ['tags_profiler', 'sub_custom_tags', 'start', 'end']) {
    if (typeof event[k] !== 'string') fail(`event.${k} is ${JSON.stringify(event[k])}, want a string`);
  }
  const tags = parseTagString(event.tags_profiler as string, 'event.tags_profiler');
  for (const k of ['service', 'env', 'version', 'host', 'instance']) {
    if (!(k in tags) || tags[k] === '') fail(`event.tags_profiler "${String(event.tags_profiler)}" has no ${k}`);
  }
  const customTags = parseTagString(event.sub_custom_tags as string, 'event.sub_custom_tags');
  for (const [k, v] of Object.entries(customTags)) {
    if (tags[k] !== v) fail(`event.sub_custom_tags has ${k}:${v} but tags_profiler has ${k}:${tags[k]}`);
  }
  const startNs = parseRfc3339Nano(event.start as string);
  const endNs = parseRfc3339Nano(event.end as string);
  if (startNs > endNs) fail(`event.start ${String(event.start)} is after event.end ${String(event.end)}`);

  return {
    fileName,
    type: DATAKIT_FILE_TYPES[fileName]!,
    gzipped,
    event: event as unknown as IntakeEvent,
    tags,
    customTags,
    startNs,
    endNs,
  };
}

export class DatakitIntake {
  readonly uploads: Upload[] = [];
  readonly rejections: Rejection[] = [];
  readonly attempts: Attempt[] = [];
  /** Requests being handled right now, and the most ever at once. */
  inFlight = 0;
  maxInFlight = 0;

  private server: Server | null = null;
  private mode: IntakeMode = {};
  private modeLeft = Infinity;
  private modeUntil = Infinity;
  private baseUrl = '';

  /** Full URL of the intake path, e.g. http://127.0.0.1:PORT/profiling/v1/input. */
  get url(): string {
    if (!this.server) throw new Error('intake not started');
    return `${this.baseUrl}${INTAKE_PATH}`;
  }

  get origin(): string {
    return this.baseUrl;
  }

  async start(): Promise<this> {
    const server = createServer((req, res) => void this.handle(req, res));
    const port = await listenLocal(server);
    this.baseUrl = `http://127.0.0.1:${port}`;
    this.server = server;
    return this;
  }

  /** Answer `status` to valid requests (for `times` of them or `forMs`); {} goes back to 200. */
  setMode(mode: IntakeMode): void {
    this.mode = mode;
    this.modeLeft = mode.times ?? Infinity;
    this.modeUntil = mode.forMs !== undefined ? Date.now() + mode.forMs : Infinity;
  }

  /** Uploads by profile type. */
  byType(): Record<string, Upload[]> {
    const out: Record<string, Upload[]> = {};
    for (const u of this.uploads) (out[u.type] ??= []).push(u);
    return out;
  }

  private forcedStatus(): IntakeMode | null {
    const m = this.mode;
    if (m.status === undefined || m.status === 200) return null;
    if (this.modeLeft <= 0 || Date.now() >= this.modeUntil) {
      this.mode = { ...(m.delayMs !== undefined ? { delayMs: m.delayMs } : {}) };
      return null;
    }
    this.modeLeft--;
    return m;
  }

  private reject(req: IncomingMessage, res: ServerResponse, reason: string, receivedAtMs: number): void {
    this.rejections.push({ reason, method: req.method ?? '', url: req.url ?? '', headers: req.headers, receivedAtMs });
    this.attempts.push({ status: 400, profileId: header(req.headers, 'x-profile-id'), receivedAtMs });
    res.writeHead(400, { 'content-type': 'text/plain' }).end(`off-contract upload: ${reason}\n`);
  }

  private async handle(req: IncomingMessage, res: ServerResponse): Promise<void> {
    this.inFlight++;
    this.maxInFlight = Math.max(this.maxInFlight, this.inFlight);
    try {
      const body = await readBody(req);
      const receivedAtMs = Date.now();
      if (this.mode.delayMs) await sleep(this.mode.delayMs);
      if (req.method !== 'POST') return this.reject(req, res, `method ${req.method}, want POST`, receivedAtMs);
      const path = (req.url ?? '').split('?')[0];
      if (path !== INTAKE_PATH) return this.reject(req, res, `path ${req.url}, want ${INTAKE_PATH}`, receivedAtMs);
      let parsed: ParsedUpload;
      try {
        parsed = await parseUpload(header(req.headers, 'content-type'), body);
      } catch (err) {
        if (err instanceof OffContract) return this.reject(req, res, err.message, receivedAtMs);
        throw err;
      }
      const profileId = header(req.headers, 'x-profile-id');
      const forced = this.forcedStatus();
      if (forced) {
        this.attempts.push({ status: forced.status!, profileId, receivedAtMs });
        res.writeHead(forced.status!, { 'content-type': 'text/plain', ...forced.headers }).end(forced.body ?? `status ${forced.status}`);
        return;
      }
      this.uploads.push({ ...parsed, url: req.url ?? '', headers: req.headers, profileId, receivedAtMs });
      this.attempts.push({ status: 200, profileId, receivedAtMs });
      res.writeHead(200, { 'content-type': 'application/json' }).end('{"content":"ok"}');
    } catch (err) {
      if (!res.headersSent) res.writeHead(500, { 'content-type': 'text/plain' }).end(`intake double failed: ${String(err)}`);
    } finally {
      this.inFlight--;
    }
  }

  async close(): Promise<void> {
    const s = this.server;
    this.server = null;
    if (s) await closeServer(s);
  }
}

/** Starts a double on 127.0.0.1 with a free port. */
export async function startIntake(): Promise<DatakitIntake> {
  return new DatakitIntake().start();
}
