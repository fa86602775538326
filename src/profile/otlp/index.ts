// A record's pprof as OpenTelemetry profiles (OTLP profiles v1development):
// the profile stage's product for the OTLP output. Turning a pprof into
// OTLP needs the profile stage's raw scanner and its knowledge of the
// pprof tables, so the conversion lives here; output/ only sends the bytes.
//
// encode.ts builds the ExportProfilesServiceRequest (one Profile per sample
// type, resource attributes from the record's tags); dictionary.ts its
// shared ProfilesDictionary.

export { encodeOtlpExport, OTLP_SCOPE_NAME, otlpProfileIds, otlpResourceAttributes, type OtlpExportRequest } from './encode.js';
export type { DictionarySizes } from './dictionary.js';
