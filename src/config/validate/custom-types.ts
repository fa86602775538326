// [[inputs.profile.go.custom]]: a profile the target serves besides Go's own
// (fgprof, a handler of the service's own), as a type of the same shape as
// the built-in ones (src/profile/types.ts).

import { CUSTOM_TYPE_NAME, isBuiltinType, typeSpec, type ProfileTypeSpec } from '../../profile/types.js';
import { joinPath } from '../key-lines.js';
import { checkKeys, type Ctx, describe, OURS, type KeySpec, readBool, readString, type Table, tablesOf } from './readers.js';

const CUSTOM_KEYS: Record<string, KeySpec> = {
  name: OURS,
  path: OURS,
  seconds: OURS,
  cpu_profiler: OURS,
  delta: OURS,
  pyroscope_name: OURS,
  datakit_file: OURS,
};

/**
 * Pyroscope takes `__name__` as a metric name ([a-zA-Z_:][a-zA-Z0-9_:]*), and
 * it is the first part of a profile type id (`name:sample:unit:period:unit`),
 * so no colon either.
 */
const PYROSCOPE_NAME = /^[A-Za-z_][A-Za-z0-9_]*$/;
/** A multipart file name: no quotes, slashes or spaces. */
const DATAKIT_FILE = /^[A-Za-z0-9_.-]+$/;

/** `delta`: false (or absent) for none, or the sample types to take the delta of. */
function readDelta(ctx: Ctx, t: Table, path: string): string[] | undefined {
  const v = t.delta;
  const p = joinPath(path, 'delta');
  if (v === undefined || v === false) return [];
  if (v === true) {
    ctx.error(p, 'must be false or the list of cumulative sample types to take the delta of, like delta = ["contentions", "delay"]; true does not say which');
    return undefined;
  }
  if (!Array.isArray(v) || v.length === 0 || v.some((x) => typeof x !== 'string' || x === '')) {
    ctx.error(p, `must be false or a non-empty list of sample type names, like delta = ["alloc_objects", "alloc_space"], got ${describe(v)}`);
    return undefined;
  }
  const names = v as string[];
  const twice = names.find((x, i) => names.indexOf(x) !== i);
  if (twice !== undefined) {
    ctx.error(p, `lists "${twice}" twice`);
    return undefined;
  }
  return names;
}

function readPath(ctx: Ctx, t: Table, path: string, seconds: boolean): string | undefined {
  const p = joinPath(path, 'path');
  const v = readString(ctx, t, 'path', path);
  if (v === undefined) {
    if (t.path === undefined) ctx.error(p, 'is required: where the target serves the profile, like path = "/debug/fgprof" (from the root of its host) or "goroutine?debug=0" (under the pprof prefix)');
    return undefined;
  }
  if (v === '' || /\s|#|:\/\/|^\/\//.test(v)) {
    ctx.error(p, `must be a path like "/debug/fgprof" (from the root of the target's host) or one under its pprof prefix like "heap", got "${v}"`);
    return undefined;
  }
  if (seconds && /[?&]seconds=/.test(v)) {
    ctx.error(p, 'has ?seconds= in it while seconds = true adds it (profile_duration): keep one');
    return undefined;
  }
  return v;
}

/** A custom type and the key path of its block. */
export interface CustomTypeBlock {
  readonly spec: ProfileTypeSpec;
  readonly path: string;
}

/** The custom types of one target block; names are checked against the built-in ones and each other. */
export function readCustomTypes(ctx: Ctx, t: Table, path: string): CustomTypeBlock[] {
  const out: CustomTypeBlock[] = [];
  for (const { table, path: p } of tablesOf(ctx, t.custom, joinPath(path, 'custom'), '[[inputs.profile.go.custom]]')) {
    const before = ctx.issues.length;
    checkKeys(ctx, table, p, CUSTOM_KEYS);
    const name = readString(ctx, table, 'name', p);
    const nameP = joinPath(p, 'name');
    if (name === undefined) {
      if (table.name === undefined) ctx.error(nameP, 'is required: the type\'s name in metrics, file names and enabled_types, like name = "fgprof"');
    } else if (isBuiltinType(name)) {
      ctx.error(nameP, `"${name}" is a built-in type: list it in enabled_types instead`);
    } else if (!CUSTOM_TYPE_NAME.test(name)) {
      ctx.error(nameP, `must be lower case letters, digits and _ (a letter first, at most 32), like "fgprof", got "${name}"`);
    } else if (out.some((c) => c.spec.name === name)) {
      ctx.error(nameP, `"${name}" is declared twice in this block`);
    }
    const seconds = readBool(ctx, table, 'seconds', p) ?? false;
    const cpuProfiler = readBool(ctx, table, 'cpu_profiler', p) ?? false;
    if (cpuProfiler && !seconds) {
      ctx.error(joinPath(p, 'cpu_profiler'), 'only a profile taken over a window (seconds = true) can be the CPU profiler');
    }
    const profilePath = readPath(ctx, table, p, seconds);
    const delta = readDelta(ctx, table, p);
    if (seconds && delta && delta.length > 0) {
      ctx.error(joinPath(p, 'delta'), 'a profile taken over a window (seconds = true) covers that window already: set delta = false');
    }
    const pyroscopeName = readString(ctx, table, 'pyroscope_name', p) ?? name;
    // (A default from a valid name is valid; a bad name is said once, above.)
    if (table.pyroscope_name !== undefined && pyroscopeName !== undefined && !PYROSCOPE_NAME.test(pyroscopeName)) {
      ctx.error(joinPath(p, 'pyroscope_name'), `must be letters, digits and _, not starting with a digit (Pyroscope's metric name rule, less the colon that separates its profile type id), got "${pyroscopeName}"`);
    }
    const defaultFile = name === undefined ? undefined : delta && delta.length > 0 ? `delta-${name}.pprof` : `${name}.pprof`;
    const datakitFile = readString(ctx, table, 'datakit_file', p) ?? defaultFile;
    if (table.datakit_file !== undefined && datakitFile !== undefined && !DATAKIT_FILE.test(datakitFile)) {
      ctx.error(joinPath(p, 'datakit_file'), `must be a file name of letters, digits, _, . and -, like "fgprof.pprof", got "${datakitFile}"`);
    }
    if (ctx.issues.length > before || name === undefined || profilePath === undefined || delta === undefined || pyroscopeName === undefined || datakitFile === undefined) continue;
    out.push({ path: p, spec: { name, path: profilePath, seconds, cpuProfiler, deltaSampleTypes: delta, datakitFileName: datakitFile, pyroscopeName, custom: true } });
  }
  return out;
}

/**
 * Two enabled types of one target must not ship under one name: in Pyroscope
 * they would add up in one series, and DataKit tells profiles by file name.
 */
export function checkShipNames(ctx: Ctx, enabledTypes: readonly string[], blocks: readonly CustomTypeBlock[]): void {
  const custom = blocks.map((b) => b.spec);
  const specs = enabledTypes.map((t) => typeSpec(t, custom));
  blocks.forEach(({ spec: c, path: p }, i) => {
    // Each pair once: against the built-in types and the custom ones before it.
    const others = specs.filter((o) => o.name !== c.name && (!o.custom || custom.indexOf(o) < i));
    for (const other of others) {
      if (other.pyroscopeName === c.pyroscopeName) {
        ctx.error(joinPath(p, 'pyroscope_name'), `"${c.pyroscopeName}" is what ${other.name} ships under too: both would add up in one Pyroscope series; give ${c.name} a name of its own`);
      }
      if (other.datakitFileName === c.datakitFileName) {
        ctx.error(joinPath(p, 'datakit_file'), `"${c.datakitFileName}" is ${other.name}'s DataKit file name too: DataKit could not tell them apart; give ${c.name} one of its own`);
      }
    }
  });
}
