// One pass over a profile's top-level fields: byte ranges of every string,
// sample, location, function and mapping, and the scalar fields. Nothing is
// decoded twice afterwards.

import { InvalidProfileError } from '../errors.js';
import { PbReader, WIRE_LEN, WIRE_VARINT } from '../../core/pb.js';
import type { Int } from './int64.js';

/** A profile scanned into byte ranges and index arrays; nothing is decoded twice. */
export interface RawProfile {
  readonly buf: Uint8Array;
  /** [start, end) of each string, flattened. */
  readonly strings: Int32Array;
  readonly nStrings: number;
  readonly sampleTypes: ReadonlyArray<{ readonly type: number; readonly unit: number }>;
  /** [start, end) of each sample message, flattened. */
  readonly samples: Int32Array;
  readonly nSamples: number;
  readonly locations: Int32Array;
  readonly nLocations: number;
  readonly functions: Int32Array;
  readonly nFunctions: number;
  readonly mappings: Int32Array;
  readonly nMappings: number;
  readonly timeNanos: Int;
  readonly durationNanos: Int;
  readonly periodType?: { readonly type: number; readonly unit: number };
  readonly period: Int;
  readonly comments: readonly number[];
  readonly dropFrames: number;
  readonly keepFrames: number;
  readonly defaultSampleType: number;
  readonly docUrl: number;
}

const decoder = new TextDecoder('utf-8', { fatal: false });

export function invalid(what: string): never {
  throw new InvalidProfileError(`invalid pprof: ${what}`);
}

class RangeList {
  data = new Int32Array(64);
  n = 0;
  push(start: number, end: number): void {
    if (this.n * 2 + 2 > this.data.length) {
      const next = new Int32Array(this.data.length * 2);
      next.set(this.data);
      this.data = next;
    }
    this.data[this.n * 2] = start;
    this.data[this.n * 2 + 1] = end;
    this.n++;
  }
}

function valueType(r: PbReader, start: number, end: number): { type: number; unit: number } {
  const sub = new PbReader(r.buf, start, end);
  let type = 0;
  let unit = 0;
  while (!sub.done) {
    const t = sub.tag();
    if (t === 8) type = sub.uint();
    else if (t === 16) unit = sub.uint();
    else sub.skip(t & 7);
  }
  return { type, unit };
}

/** One pass over the top-level fields; throws InvalidProfileError on malformed bytes. */
export function scanProfile(buf: Uint8Array): RawProfile {
  const r = new PbReader(buf);
  const strings = new RangeList();
  const samples = new RangeList();
  const locations = new RangeList();
  const functions = new RangeList();
  const mappings = new RangeList();
  const sampleTypes: Array<{ type: number; unit: number }> = [];
  let timeNanos: Int = 0;
  let durationNanos: Int = 0;
  let periodType: { type: number; unit: number } | undefined;
  let period: Int = 0;
  const comments: number[] = [];
  let dropFrames = 0;
  let keepFrames = 0;
  let defaultSampleType = 0;
  let docUrl = 0;
  while (!r.done) {
    const tag = r.tag();
    const field = tag >>> 3;
    const wire = tag & 7;
    if (wire === WIRE_LEN && field >= 1 && field <= 6) {
      const start = r.lenRange();
      const end = r.pos;
      switch (field) {
        case 1:
          sampleTypes.push(valueType(r, start, end));
          break;
        case 2:
          samples.push(start, end);
          break;
        case 3:
          mappings.push(start, end);
          break;
        case 4:
          locations.push(start, end);
          break;
        case 5:
          functions.push(start, end);
          break;
        case 6:
          strings.push(start, end);
          break;
      }
      continue;
    }
    // Scalar fields are varints; read as one, another wire type would misframe
    // what follows (its bytes read as top-level fields). Go's pprof refuses it.
    if (wire !== WIRE_VARINT && field >= 7 && field <= 15 && field !== 11 && field !== 13) invalid(`field ${field} has wire type ${wire}, not a varint`);
    switch (field) {
      case 7:
        dropFrames = r.uint();
        break;
      case 8:
        keepFrames = r.uint();
        break;
      case 9:
        timeNanos = r.int64();
        break;
      case 10:
        durationNanos = r.int64();
        break;
      case 11: {
        if (wire !== WIRE_LEN) invalid('period_type is not a message');
        const start = r.lenRange();
        periodType = valueType(r, start, r.pos);
        break;
      }
      case 12:
        period = r.int64();
        break;
      case 13:
        r.repeatedUint(wire, (v) => comments.push(v));
        break;
      case 14:
        defaultSampleType = r.uint();
        break;
      case 15:
        docUrl = r.uint();
        break;
      default:
        r.skip(wire);
    }
  }
  return {
    buf,
    strings: strings.data,
    nStrings: strings.n,
    sampleTypes,
    samples: samples.data,
    nSamples: samples.n,
    locations: locations.data,
    nLocations: locations.n,
    functions: functions.data,
    nFunctions: functions.n,
    mappings: mappings.data,
    nMappings: mappings.n,
    timeNanos,
    durationNanos,
    ...(periodType ? { periodType } : {}),
    period,
    comments,
    dropFrames,
    keepFrames,
    defaultSampleType,
    docUrl,
  };
}

export function stringAt(p: RawProfile, i: number): string {
  if (i <= 0 || i >= p.nStrings) return '';
  return decoder.decode(p.buf.subarray(p.strings[i * 2]!, p.strings[i * 2 + 1]!));
}

export function sampleTypeNames(p: RawProfile): string[] {
  return p.sampleTypes.map((st) => stringAt(p, st.type));
}
