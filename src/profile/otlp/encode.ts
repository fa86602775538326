// One profile record as one OTLP ExportProfilesServiceRequest
// (opentelemetry.proto.collector.profiles.v1development, as pdata v1.71.0 /
// pprofile v0.165.0 read it): the pprof's tables go to the shared
// ProfilesDictionary, and each of its sample types becomes one Profile (a Go
// heap profile becomes four), with the pprof's period and times.
//
//   ExportProfilesServiceRequest { resource_profiles = 1; dictionary = 2 }
//   ResourceProfiles { resource = 1 (Resource { attributes = 1 (KeyValue { key = 1; value = 2 }) });
//                      scope_profiles = 2; schema_url = 3 }
//   ScopeProfiles    { scope = 1 (InstrumentationScope { name = 1; version = 2 }); profiles = 2 }
//   Profile          { sample_type = 1; samples = 2; time_unix_nano = 3 (fixed64); duration_nano = 4;
//                      period_type = 5; period = 6; profile_id = 7; attribute_indices = 11 }
//   Sample           { stack_index = 1; attribute_indices = 2; link_index = 3; values = 4 }
//   ValueType        { type_strindex = 1; unit_strindex = 2 }
//
// A sample whose value is zero for a sample type is left out of that type's
// Profile: it carries nothing there (Pyroscope drops such samples on ingest),
// and a delta heap profile is mostly zeros in its alloc_* types.

import { createHash } from 'node:crypto';
import { PbWriter, WIRE_FIXED64, WIRE_LEN } from '../../core/pb.js';
import { SampleCursor, indexProfile, scanProfile, stringAt, type RawProfile } from '../raw/index.js';
import type { ProfileRecord } from '../record.js';
import { VERSION } from '../../core/version.js';
import { OtlpDictionary, packedIndices, writeAnyValue, type AttrValue, type DictionarySizes } from './dictionary.js';

type Int = number | bigint;

/** The instrumentation scope every profile is sent under. */
export const OTLP_SCOPE_NAME = 'pprof-pull-collector';

/** Our tag -> the OpenTelemetry resource attribute it becomes. */
const SEMCONV_TAGS: Readonly<Record<string, string>> = {
  service: 'service.name',
  version: 'service.version',
  env: 'deployment.environment.name',
  host: 'host.name',
};

export interface OtlpExportRequest {
  readonly body: Buffer;
  /** Profiles in the request: one per sample type. */
  readonly profiles: number;
  readonly dictionary: DictionarySizes;
}

/**
 * The resource attributes of a record: service.name, service.version,
 * deployment.environment.name and host.name from our tags of those roles,
 * then every other tag (instance and the user's tags) under its own name.
 */
export function otlpResourceAttributes(record: ProfileRecord): Array<[string, string]> {
  const out: Array<[string, string]> = [['service.name', record.tags.service ?? record.service]];
  const version = record.tags.version ?? record.version;
  const env = record.tags.env ?? record.env;
  if (version) out.push(['service.version', version]);
  if (env) out.push(['deployment.environment.name', env]);
  if (record.tags.host) out.push(['host.name', record.tags.host]);
  for (const [k, v] of Object.entries(record.tags)) if (!(k in SEMCONV_TAGS)) out.push([k, v]);
  return out;
}

/**
 * 16 bytes per profile: the record's UUID with its last byte XORed by the
 * sample type's position, so the profiles of one record differ (a receiver
 * may deduplicate by id) and a redelivery carries the same ids.
 */
export function otlpProfileIds(recordId: string, n: number): Buffer[] {
  const hex = recordId.replace(/-/g, '');
  const base = /^[0-9a-f]{32}$/i.test(hex) ? Buffer.from(hex, 'hex') : createHash('sha256').update(recordId).digest().subarray(0, 16);
  return Array.from({ length: n }, (_, i) => {
    const id = Buffer.from(base);
    id[15] = id[15]! ^ i;
    return id;
  });
}

function stringField(w: PbWriter, field: number, s: string): void {
  const b = Buffer.from(s, 'utf8');
  w.lenBytes(field, b, 0, b.length);
}

function isZero(v: Int): boolean {
  return v === 0 || v === 0n;
}

function fixed64(w: PbWriter, field: number, v: bigint): void {
  w.tag(field, WIRE_FIXED64);
  const b = Buffer.alloc(8);
  b.writeBigUInt64LE(BigInt.asUintN(64, v));
  w.bytes(b);
}

/** The pprof-level fields OTLP has no place for, as the semantic conventions' pprof.profile.* attributes. */
function profileAttributes(p: RawProfile, dict: OtlpDictionary): number[] {
  const attrs: number[] = [];
  const add = (key: string, strIndex: number) => {
    if (strIndex !== 0) attrs.push(dict.attribute(key, { str: stringAt(p, strIndex) }));
  };
  if (p.comments.length > 0) attrs.push(dict.attribute('pprof.profile.comment', { strs: p.comments.map((c) => stringAt(p, c)) }));
  add('pprof.profile.drop_frames', p.dropFrames);
  add('pprof.profile.keep_frames', p.keepFrames);
  add('pprof.profile.doc_url', p.docUrl);
  return attrs;
}

/**
 * Encodes a record's pprof (plain, not gzipped) as one export request.
 * Throws InvalidProfileError on a malformed pprof.
 */
export function encodeOtlpExport(record: ProfileRecord, pprof: Uint8Array): OtlpExportRequest {
  const p = scanProfile(pprof);
  const index = indexProfile(p);
  const dict = new OtlpDictionary(p, index);
  const nTypes = p.sampleTypes.length;

  // One pass over the samples: their stack and attribute indices (shared by
  // every profile) and their values (one column per sample type).
  const stackOf = new Int32Array(p.nSamples);
  const attrsOf: Array<number[] | null> = new Array(p.nSamples).fill(null);
  const values: Int[][] = Array.from({ length: nTypes }, () => new Array<Int>(p.nSamples));
  const c = new SampleCursor(index);
  for (let i = 0; i < p.nSamples; i++) {
    c.read(i, false);
    stackOf[i] = dict.stack(c.locs, c.nLocs);
    for (let t = 0; t < nTypes; t++) values[t]![i] = c.values[t]!;
    if (c.nLabels > 0) {
      const attrs: number[] = [];
      for (let j = 0; j < c.nLabels; j++) {
        const key = stringAt(p, c.labelKey[j]!);
        // As google/pprof reads a label: a string when it has one, else a number.
        const value: AttrValue = c.labelStr[j] !== 0 ? { str: stringAt(p, c.labelStr[j]!) } : { int: c.labelNum[j]! };
        attrs.push(dict.attribute(key, value, c.labelStr[j] !== 0 ? '' : stringAt(p, c.labelUnit[j]!)));
      }
      attrsOf[i] = attrs;
    }
  }

  const profileAttrs = profileAttributes(p, dict);
  const ids = otlpProfileIds(record.id, nTypes);
  const hasTime = !isZero(p.timeNanos);
  const timeNanos = hasTime ? BigInt(p.timeNanos) : record.startNs;
  const durationNanos: Int = hasTime ? p.durationNanos : record.endNs - record.startNs;
  const valueType = (type: number, unit: number) => {
    const w = new PbWriter(16);
    w.varintField(1, dict.pprofStr(type));
    w.varintField(2, dict.pprofStr(unit));
    return w;
  };

  const scope = new PbWriter(pprof.length + 4096);
  const scopeInfo = new PbWriter(64);
  stringField(scopeInfo, 1, OTLP_SCOPE_NAME);
  stringField(scopeInfo, 2, VERSION);
  scope.message(1, scopeInfo);
  const prof = new PbWriter(pprof.length);
  const sample = new PbWriter(64);
  const vals = new PbWriter(16);
  for (let t = 0; t < nTypes; t++) {
    prof.reset();
    const st = p.sampleTypes[t]!;
    prof.message(1, valueType(st.type, st.unit));
    const column = values[t]!;
    for (let i = 0; i < p.nSamples; i++) {
      const v = column[i]!;
      if (isZero(v)) continue;
      sample.reset();
      sample.varintField(1, stackOf[i]!);
      const attrs = attrsOf[i];
      if (attrs) packedIndices(sample, 2, attrs);
      vals.reset();
      vals.int64(v);
      sample.message(4, vals); // packed values: one per profile
      prof.message(2, sample);
    }
    fixed64(prof, 3, timeNanos);
    prof.varintField(4, durationNanos);
    if (p.periodType) prof.message(5, valueType(p.periodType.type, p.periodType.unit));
    prof.varintField(6, p.period);
    prof.lenBytes(7, ids[t]!, 0, 16);
    packedIndices(prof, 11, profileAttrs);
    scope.message(2, prof);
  }

  const resource = new PbWriter(1024);
  const kv = new PbWriter(128);
  const val = new PbWriter(128);
  for (const [k, v] of otlpResourceAttributes(record)) {
    kv.reset();
    stringField(kv, 1, k);
    val.reset();
    writeAnyValue(val, { str: v });
    kv.message(2, val);
    resource.message(1, kv);
  }
  const rp = new PbWriter(scope.pos + resource.pos + 64);
  rp.message(1, resource);
  rp.message(2, scope);

  const dictionary = dict.write();
  const req = new PbWriter(rp.pos + dictionary.pos + 32);
  req.message(1, rp);
  req.tag(2, WIRE_LEN);
  req.uint(dictionary.pos);
  req.bytes(dictionary.finish());
  const out = req.finish();
  return { body: Buffer.from(out.buffer, out.byteOffset, out.byteLength), profiles: nTypes, dictionary: dict.sizes() };
}
