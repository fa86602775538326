// pprof on raw bytes: scan and validate a profile without building an object
// per sample, compute the delta of cumulative types against a compact
// baseline, and write the result. This is the production path; it costs a
// small multiple of the gunzip + gzip every delta pays anyway, where a full
// object decode and re-encode costs several.
//
// Samples are matched between scrapes by a 64-bit hash of what they are:
// the stack as program counters (function/file/line where a location has no
// address) plus the sample's labels (heap samples carry the object size as a
// `bytes` label). Go renumbers ids on every request, so ids are never used.
// A baseline keeps only per-stack hashes and the totals of the delta types.
//
// scan.ts reads the top level, profile-index.ts the tables, cursor.ts one
// sample at a time (hashing its stack as it reads the ids); validate.ts,
// delta.ts and encode.ts are built on them. stacks.ts keeps what the delta's
// one pass over the samples read, so the encoder parses nothing again and
// copies a sample's location ids as they are when their ids are kept.

export { SampleCursor } from './cursor.js';
export { baselineBytes, rawDelta, type RawBaseline, type RawDeltaOutcome } from './delta.js';
export { indexProfile, type ProfileIndex } from './profile-index.js';
export { sampleTypeNames, scanProfile, stringAt, type RawProfile } from './scan.js';
export { rawSampleTypeIndexes, rawSums, validateRaw } from './validate.js';
