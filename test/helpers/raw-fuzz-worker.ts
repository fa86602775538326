// Runs the production codec on one input per message, in a worker thread, so
// the test can bound every call: a hang is a terminated worker, not a stuck
// test run. Started by startRawFuzzWorker() below (through startThread, which
// registers tsx in the thread).
//
// For each input: parseRawProfile; scanProfile, indexProfile, validateRaw,
// rawSums; rawDelta of the input against the baseline of a real profile, and
// of the real profile against the input's baseline. A delta that comes out is
// read back by the production reader and by pprof-format with the reference
// validator: whatever is shipped must be a valid profile.

import { readFileSync } from 'node:fs';
import { isMainThread, parentPort, type Worker } from 'node:worker_threads';
import { gunzipSync } from 'node:zlib';
import { Profile } from 'pprof-format';
import { startThread } from '../../src/core/thread.js';
import { parseRawProfile } from '../../src/profile/codec.js';
import { InvalidProfileError } from '../../src/profile/errors.js';
import {
  indexProfile,
  rawDelta,
  rawSampleTypeIndexes,
  rawSums,
  scanProfile,
  validateRaw,
  type ProfileIndex,
  type RawBaseline,
  type RawProfile,
} from '../../src/profile/raw/index.js';
import { validateProfile } from './reference/validate.js';

export interface FuzzRequest {
  readonly id: number;
  readonly bytes: Uint8Array;
  /** The fixture the input was derived from (its delta types, its baseline), if any. */
  readonly fixture?: string;
}

export type FuzzReply =
  | { readonly id: number; readonly ok: true; readonly stage: string }
  | { readonly id: number; readonly ok: false; readonly invalid: boolean; readonly stage: string; readonly error: string };

const DELTA_TYPES: Record<string, readonly string[]> = {
  heap: ['alloc_objects', 'alloc_space'],
  mutex: ['contentions', 'delay'],
  block: ['contentions', 'delay'],
};

function kindOf(fixture: string): string {
  return fixture.startsWith('heap') ? 'heap' : fixture.startsWith('mutex') ? 'mutex' : fixture.startsWith('block') ? 'block' : 'heap';
}

function deltaIdx(p: RawProfile, kind: string): number[] {
  try {
    return rawSampleTypeIndexes(p, DELTA_TYPES[kind]!, kind);
  } catch (err) {
    if (!(err instanceof InvalidProfileError)) throw err;
    // Not that kind any more: still run the delta, on what types there are.
    return p.sampleTypes.map((_, i) => i).slice(0, 2);
  }
}

interface Real {
  readonly p: RawProfile;
  readonly index: ProfileIndex;
  readonly baseline: RawBaseline;
}
const reals = new Map<string, Real>();
function real(fixture: string): Real {
  let r = reals.get(fixture);
  if (!r) {
    const raw = gunzipSync(readFileSync(new URL(`../../fixtures/profiles/${fixture}`, import.meta.url)));
    const p = scanProfile(raw);
    const index = validateRaw(p);
    const baseline = rawDelta(p, index, undefined, deltaIdx(p, kindOf(fixture)), BigInt(p.timeNanos)).baseline;
    r = { p, index, baseline };
    reals.set(fixture, r);
  }
  return r;
}

/** A shipped delta must read back as a valid profile, with both readers. */
function checkShipped(bytes: Uint8Array): void {
  try {
    validateRaw(scanProfile(bytes));
    validateProfile(Profile.decode(bytes));
  } catch (err) {
    throw new Error(`the delta written from this input is not a valid profile: ${String(err)}`);
  }
}

export function exercise(req: FuzzRequest): string {
  let stage = 'parseRawProfile';
  const mark = (s: string) => (stage = s);
  try {
    try {
      parseRawProfile(req.bytes);
    } catch (err) {
      if (!(err instanceof InvalidProfileError)) throw err;
    }
    mark('scanProfile');
    const p = scanProfile(req.bytes);
    mark('indexProfile');
    const index = indexProfile(p);
    mark('rawSums');
    rawSums(p, index);
    mark('validateRaw');
    validateRaw(p);
    const fixture = req.fixture ?? 'heap-1.pb.gz';
    const r = real(fixture);
    const kind = kindOf(fixture);
    mark('rawDelta (input against a real baseline)');
    const idx = deltaIdx(p, kind);
    const d1 = rawDelta(p, index, r.baseline, idx, r.baseline.timeNanos + 1_000_000_000n);
    if (d1.kind === 'delta') checkShipped(d1.profile);
    mark('rawDelta (real profile against the input as baseline)');
    const d2 = rawDelta(r.p, r.index, d1.baseline, deltaIdx(r.p, kind), d1.baseline.timeNanos + 1_000_000_000n);
    if (d2.kind === 'delta') checkShipped(d2.profile);
    return `ok:${d1.kind}`;
  } catch (err) {
    (err as { stage?: string }).stage = stage;
    throw err;
  }
}

if (!isMainThread && parentPort) {
  const port = parentPort;
  port.on('message', (req: FuzzRequest) => {
    let reply: FuzzReply;
    try {
      reply = { id: req.id, ok: true, stage: exercise(req) };
    } catch (err) {
      const e = err as Error & { stage?: string };
      reply = { id: req.id, ok: false, invalid: err instanceof InvalidProfileError, stage: e.stage ?? '?', error: `${e.name}: ${e.message}\n${e.stack ?? ''}` };
    }
    port.postMessage(reply);
  });
}

/** A worker running this file under tsx; call `run` per input, with a deadline. */
export class RawFuzzWorker {
  private worker: Worker;
  private nextId = 1;
  private pending = new Map<number, (r: FuzzReply) => void>();

  constructor() {
    this.worker = this.start();
  }

  private start(): Worker {
    const w = startThread(import.meta.url, './raw-fuzz-worker.js');
    w.on('message', (r: FuzzReply) => {
      const done = this.pending.get(r.id);
      this.pending.delete(r.id);
      done?.(r);
    });
    w.unref();
    return w;
  }

  /** Resolves with the reply, or with null when the input took longer than `ms` (the worker is then replaced). */
  run(bytes: Uint8Array, fixture: string | undefined, ms: number): Promise<FuzzReply | null> {
    const id = this.nextId++;
    return new Promise((resolve) => {
      const timer = setTimeout(() => {
        this.pending.delete(id);
        void this.worker.terminate();
        this.worker = this.start();
        resolve(null);
      }, ms);
      this.pending.set(id, (r) => {
        clearTimeout(timer);
        resolve(r);
      });
      this.worker.postMessage({ id, bytes, ...(fixture ? { fixture } : {}) } satisfies FuzzRequest);
    });
  }

  /** Waits until the worker has loaded (tsx compiles the codec on first use). */
  async ready(ms = 30_000): Promise<void> {
    const r = await this.run(new Uint8Array(0), undefined, ms);
    if (r === null) throw new Error('the fuzz worker did not start');
  }

  async close(): Promise<void> {
    await this.worker.terminate();
  }
}
