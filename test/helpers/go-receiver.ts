// The Go test receiver (test/go-receiver): the backends' own decoders
// (pdata's pprofileotlp, Pyroscope's connect push handler, google/pprof's
// Parse + CheckValid) behind one local HTTP server. Built like the Go fixture:
// once per source version into the OS temp dir (outside the tree); its
// modules come through the Go module proxy on the first build.

import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { createHash } from 'node:crypto';
import { closeSync, existsSync, mkdirSync, openSync, readFileSync, renameSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { createInterface } from 'node:readline';
import { fileURLToPath } from 'node:url';
import assert from 'node:assert/strict';
import { after, before, beforeEach } from 'node:test';
import { goMissing } from '../../fixtures/go-target/harness.js';
import type { ProfileSender } from '../../src/output/queue.js';
import { DeliveryError } from '../../src/output/retry.js';
import type { ProfileRecord } from '../../src/profile/record.js';
import { shippedRecords, type ShippedFixture } from './shipped.js';

export const GO_RECEIVER_DIR = join(dirname(fileURLToPath(import.meta.url)), '..', 'go-receiver');

const SOURCES = ['go.mod', 'go.sum', 'main.go', 'otlp.go', 'otlp_check.go', 'pprof.go', 'push.go', 'multipart.go'];
/** A first build downloads and compiles pdata, connect and protobuf: allow for it. */
const BUILD_TIMEOUT_MS = 480_000;
/** A lock older than this was left by a build that died. */
const STALE_LOCK_MS = 600_000;

function sleepSync(ms: number): void {
  Atomics.wait(new Int32Array(new SharedArrayBuffer(4)), 0, 0, ms);
}

/**
 * Path of the built receiver; builds it when its sources changed. Parallel
 * test files wait for one build (a lock file) instead of compiling it twice
 * on a two-core machine.
 */
export function buildGoReceiver(): string {
  const hash = createHash('sha256');
  for (const f of SOURCES) hash.update(f).update(readFileSync(join(GO_RECEIVER_DIR, f)));
  const dir = join(tmpdir(), 'pprof-collector-go-receiver');
  const bin = join(dir, `go-receiver-${hash.digest('hex').slice(0, 12)}`);
  if (existsSync(bin)) return bin;
  mkdirSync(dir, { recursive: true });
  const lock = `${bin}.lock`;
  const deadline = Date.now() + BUILD_TIMEOUT_MS;
  for (;;) {
    try {
      closeSync(openSync(lock, 'wx'));
      break;
    } catch {
      if (existsSync(bin)) return bin;
      try {
        if (Date.now() - statSync(lock).mtimeMs > STALE_LOCK_MS) rmSync(lock, { force: true });
      } catch {
        // gone meanwhile
      }
      if (Date.now() > deadline) throw new Error(`another build of test/go-receiver held ${lock} for too long`);
      sleepSync(500);
    }
  }
  try {
    if (existsSync(bin)) return bin;
    const tmp = `${bin}.${process.pid}.tmp`;
    const res = spawnSync('go', ['build', '-o', tmp, '.'], {
      cwd: GO_RECEIVER_DIR,
      encoding: 'utf8',
      timeout: BUILD_TIMEOUT_MS,
      // go.sum pins every module; -mod=readonly never rewrites go.mod in the tree;
      // no VCS stamp (a fresh clone or a worktree builds the same).
      env: { ...process.env, GOFLAGS: '-mod=readonly -buildvcs=false', GOCACHE: process.env.GOCACHE ?? join(dir, 'gocache'), GOPATH: process.env.GOPATH ?? join(dir, 'gopath') },
    });
    if (res.status !== 0) throw new Error(`go build of test/go-receiver failed:\n${res.stderr}${res.error ? String(res.error) : ''}`);
    renameSync(tmp, bin);
    return bin;
  } finally {
    rmSync(lock, { force: true });
  }
}

/** null when the receiver builds; otherwise the sentence a test fails with (it is not skipped). */
export function goReceiverProblem(): string | null {
  const missing = goMissing('this test decodes what the collector sends with the backends\' own Go code (test/go-receiver)');
  if (missing) return missing;
  try {
    buildGoReceiver();
    return null;
  } catch (err) {
    return `building test/go-receiver failed: ${(err as Error).message}`;
  }
}

export interface FuncValue {
  readonly function: string;
  readonly flat: number;
  readonly cum: number;
}

export interface PprofSummary {
  readonly bytes: number;
  readonly sample_types: string[] | null;
  readonly period_type: string;
  readonly period: number;
  /** Decimal strings: exact int64. */
  readonly time_nanos: string;
  readonly duration_nanos: string;
  readonly samples: number;
  readonly sums: Record<string, number>;
  readonly top: Record<string, FuncValue[]>;
  readonly tables: Record<string, number>;
  readonly error?: string;
}

export interface OtlpProfileSummary {
  readonly sample_type: string;
  readonly period_type: string;
  readonly period: number;
  /** Decimal strings: exact uint64. */
  readonly time_unix_nano: string;
  readonly duration_nano: string;
  readonly profile_id: string;
  readonly samples: number;
  readonly sum: number;
  readonly attributes: Record<string, unknown>;
  readonly top: FuncValue[];
  /** root-first "a;b;c" (+ "|labels") -> value; only with summary({ stacks: true }). */
  readonly stacks?: Record<string, number>;
}

export interface ReceivedRequest {
  readonly seq: number;
  readonly kind: 'otlp' | 'pyroscope_push' | 'dd_agent' | 'dd_intake' | 'pprof';
  readonly path: string;
  readonly headers: Record<string, string>;
  readonly status: number;
  readonly wire_bytes: number;
  readonly decoded_bytes: number;
  readonly errors: string[];
  readonly resources?: Array<{
    attributes: Record<string, unknown>;
    scopes: Array<{ name: string; version: string; attributes: Record<string, unknown>; profiles: OtlpProfileSummary[] }>;
  }>;
  readonly dictionary?: Record<'strings' | 'mappings' | 'locations' | 'functions' | 'links' | 'attributes' | 'stacks', number>;
  readonly partial_success?: { rejected_profiles: number; error_message: string };
  readonly series?: Array<{ labels: Record<string, string>; samples: Array<{ id: string; pprof: PprofSummary }> }>;
  readonly event?: Record<string, unknown>;
  readonly parts?: Array<{ name: string; filename: string; content_type: string; bytes: number; pprof?: PprofSummary }>;
  readonly pprof?: PprofSummary;
}

export interface OtlpAnswer {
  readonly status?: number;
  readonly retry_after?: string;
  readonly rejected?: number;
  readonly message?: string;
}

export class RunningGoReceiver {
  constructor(
    readonly url: string,
    private readonly child: ChildProcess,
    readonly exited: Promise<number | null>,
  ) {}

  get otlpUrl(): string {
    return `${this.url}/v1development/profiles`;
  }

  async summary(opts: { stacks?: boolean } = {}): Promise<ReceivedRequest[]> {
    const res = await fetch(`${this.url}/summary${opts.stacks ? '?stacks=1' : ''}`);
    if (!res.ok) throw new Error(`go-receiver /summary answered ${res.status}`);
    return ((await res.json()) as { requests: ReceivedRequest[] }).requests;
  }

  /** Queues the answers to the next OTLP requests, one each, in order. */
  async answerOtlp(answers: readonly OtlpAnswer[]): Promise<void> {
    const res = await fetch(`${this.url}/control/otlp`, { method: 'POST', body: JSON.stringify({ answers }) });
    if (!res.ok) throw new Error(`go-receiver /control/otlp answered ${res.status}`);
  }

  /** Sends one raw pprof to /pprof; the receiver's verdict comes back in the summary. */
  async checkPprof(gz: Uint8Array): Promise<PprofSummary> {
    const res = await fetch(`${this.url}/pprof`, { method: 'POST', body: gz });
    const all = await this.summary();
    const last = all[all.length - 1];
    if (!last?.pprof) throw new Error(`go-receiver /pprof answered ${res.status} with no summary`);
    return last.pprof;
  }

  async reset(): Promise<void> {
    await fetch(`${this.url}/reset`, { method: 'POST' });
  }

  async stop(): Promise<void> {
    if (this.child.exitCode === null && this.child.signalCode === null) this.child.kill('SIGTERM');
    await this.exited;
  }
}

export async function startGoReceiver(): Promise<RunningGoReceiver> {
  const bin = buildGoReceiver();
  const child = spawn(bin, ['-addr', '127.0.0.1:0'], { stdio: ['ignore', 'pipe', 'pipe'] });
  const exited = new Promise<number | null>((resolve) => child.once('exit', (code) => resolve(code)));
  let stderr = '';
  child.stderr!.on('data', (d: Buffer) => (stderr += d.toString()));
  const lines = createInterface({ input: child.stdout! });
  let timer: NodeJS.Timeout | undefined;
  const first = await Promise.race([
    new Promise<string>((resolve) => lines.once('line', resolve)),
    exited.then((code) => {
      throw new Error(`go-receiver exited with ${code} before listening: ${stderr.trim()}`);
    }),
    new Promise<never>((_, reject) => (timer = setTimeout(() => reject(new Error('go-receiver did not start within 10s')), 10_000))),
  ]).finally(() => clearTimeout(timer));
  lines.close();
  child.stdout!.resume();
  const { listening } = JSON.parse(first) as { listening: string };
  return new RunningGoReceiver(listening, child, exited);
}

export interface GoReceiverSuite {
  /** The running receiver; fails the test (it is not skipped) when Go or the build is missing. */
  receiver(): RunningGoReceiver;
  /** The shipped records of the recorded fixtures (helpers/shipped.ts). */
  shipped(): ShippedFixture[];
}

/**
 * The per-file setup of a test against the receiver: built and started once
 * for the file (a first build may take minutes), forgotten between tests,
 * stopped after the last. Call at the top level of the file.
 */
export function goReceiverSuite(): GoReceiverSuite {
  let receiver: RunningGoReceiver | undefined;
  let problem: string | null = null;
  let shipped: ShippedFixture[] = [];
  before(
    async () => {
      problem = goReceiverProblem();
      if (!problem) receiver = await startGoReceiver();
      shipped = await shippedRecords();
    },
    { timeout: BUILD_TIMEOUT_MS + 60_000 },
  );
  beforeEach(() => receiver?.reset());
  after(() => receiver?.stop());
  return {
    receiver: () => {
      if (problem) assert.fail(problem);
      return receiver!;
    },
    shipped: () => shipped,
  };
}

/** One send: the DeliveryError it threw, or undefined when the backend took it. */
export async function sendOutcome(sender: ProfileSender, record: ProfileRecord): Promise<DeliveryError | undefined> {
  try {
    await sender.send(record, new AbortController().signal);
    return undefined;
  } catch (err) {
    assert.ok(err instanceof DeliveryError, String(err));
    return err;
  }
}
