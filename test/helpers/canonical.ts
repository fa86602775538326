// A profile as a reader sees it, for comparing two encodings of "the same"
// profile (production bytes against the reference's objects): each sample as
// its frames (address, mapping file, inlined function@file:line), its labels
// and its int64 values, sorted; and the profile-level fields by their strings.

import type { Profile } from 'pprof-format';
import { i64, labelString, str, u } from './pprof-model.js';

export type CanonicalSample = [key: string, values: bigint[]];

export function canonicalSamples(p: Profile): CanonicalSample[] {
  const fns = new Map(p.function.map((f) => [u(f.id), `${str(p, f.name)}@${str(p, f.filename)}`]));
  const maps = new Map(p.mapping.map((m) => [u(m.id), str(p, m.filename)]));
  const locs = new Map(
    p.location.map((l) => [
      u(l.id),
      `0x${BigInt.asUintN(64, BigInt(l.address)).toString(16)}[${maps.get(u(l.mappingId)) ?? '-'}]{${l.line
        .map((ln) => `${fns.get(u(ln.functionId)) ?? '?'}:${i64(ln.line)}`)
        .join('+')}}`,
    ]),
  );
  const cmp = (a: string, b: string) => (a < b ? -1 : a > b ? 1 : 0);
  return p.sample
    .map((s): CanonicalSample => [
      `${s.locationId.map((id) => locs.get(u(id)) ?? `missing ${u(id)}`).join('>')}|${labelString(p, s.label)}`,
      s.value.map(i64),
    ])
    .sort(([a, va], [b, vb]) => cmp(a, b) || cmp(String(va), String(vb)));
}

export function profileFields(p: Profile) {
  return {
    sampleTypes: p.sampleType.map((st) => `${str(p, st.type)}/${str(p, st.unit)}`),
    periodType: p.periodType ? `${str(p, p.periodType.type)}/${str(p, p.periodType.unit)}` : undefined,
    period: i64(p.period),
    comments: p.comment.map((c) => str(p, c)),
    dropFrames: str(p, p.dropFrames),
    keepFrames: str(p, p.keepFrames),
    defaultSampleType: str(p, p.defaultSampleType),
    docUrl: str(p, p.docUrl),
    timeNanos: i64(p.timeNanos),
    durationNanos: i64(p.durationNanos),
  };
}
