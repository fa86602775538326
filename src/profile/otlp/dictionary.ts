// The ProfilesDictionary of one OTLP export request, built from a pprof read
// by the raw scanner (../raw/): strings, mappings, functions and
// locations carried over from the pprof, stacks and attributes interned as
// samples use them. Every table starts with its zero value, so that index 0
// means "unset" (profiles.proto: "all fields in this message MUST have a
// zero value encoded as the first element").
//
//   ProfilesDictionary { mapping_table = 1; location_table = 2; function_table = 3;
//                        link_table = 4; string_table = 5; attribute_table = 6; stack_table = 7 }
//   Mapping   { memory_start = 1; memory_limit = 2; file_offset = 3; filename_strindex = 4; attribute_indices = 5 }
//   Location  { mapping_index = 1; address = 2; lines = 3; attribute_indices = 4 }
//   Line      { function_index = 1; line = 2; column = 3 }
//   Function  { name_strindex = 1; system_name_strindex = 2; filename_strindex = 3; start_line = 4 }
//   KeyValueAndUnit { key_strindex = 1; value = 2 (AnyValue); unit_strindex = 3 }
//   AnyValue  { string_value = 1; bool_value = 2; int_value = 3; array_value = 5 (ArrayValue { values = 1 }) }
//   Stack     { location_indices = 1 }

import { PbReader, PbWriter, WIRE_LEN, WIRE_VARINT } from '../../core/pb.js';
import { stringAt, type ProfileIndex, type RawProfile } from '../raw/index.js';

type Int = number | bigint;

const F_MAPPING = 1;
const F_LOCATION = 2;
const F_FUNCTION = 3;
const F_LINK = 4;
const F_STRING = 5;
const F_ATTRIBUTE = 6;
const F_STACK = 7;

/** An attribute value as OTLP carries it. */
export type AttrValue = { readonly str: string } | { readonly int: Int } | { readonly bool: true } | { readonly strs: readonly string[] };

/** Sizes of the tables, zero entries included (what a receiver sees). */
export interface DictionarySizes {
  readonly strings: number;
  readonly mappings: number;
  readonly locations: number;
  readonly functions: number;
  readonly links: number;
  readonly attributes: number;
  readonly stacks: number;
}

function stringField(w: PbWriter, field: number, s: string): void {
  const b = Buffer.from(s, 'utf8');
  w.lenBytes(field, b, 0, b.length);
}

/** Packed repeated int32 of non-negative values (indices). */
export function packedIndices(w: PbWriter, field: number, values: ArrayLike<number>, n = values.length): void {
  if (n === 0) return;
  const sub = new PbWriter(n * 3 + 8);
  for (let i = 0; i < n; i++) sub.uint(values[i]!);
  w.message(field, sub);
}

export function writeAnyValue(w: PbWriter, v: AttrValue): void {
  if ('str' in v) stringField(w, 1, v.str);
  else if ('bool' in v) {
    w.tag(2, WIRE_VARINT);
    w.uint(1);
  } else if ('int' in v) {
    w.tag(3, WIRE_VARINT);
    w.int64(v.int);
  } else {
    const arr = new PbWriter(64);
    const item = new PbWriter(64);
    for (const s of v.strs) {
      item.reset();
      stringField(item, 1, s);
      arr.message(1, item);
    }
    w.message(5, arr);
  }
}

export class OtlpDictionary {
  private readonly strings: string[] = [''];
  private readonly stringIndex = new Map<string, number>([['', 0]]);
  /** pprof string index -> dictionary string index (-1: not yet). */
  private readonly fromPprofString: Int32Array;
  private readonly attributes = new Map<string, number>();
  private readonly attributeTable = new PbWriter(256);
  private readonly stacks = new Map<string, number>();
  private readonly stackTable = new PbWriter(4096);
  private readonly mappingTable = new PbWriter(256);
  private readonly functionTable = new PbWriter(4096);
  private readonly locationTable = new PbWriter(4096);
  private nAttributes = 1;
  private nStacks = 1;
  private readonly scratch = new PbWriter(256);

  constructor(
    private readonly p: RawProfile,
    private readonly index: ProfileIndex,
  ) {
    this.fromPprofString = new Int32Array(p.nStrings).fill(-1);
    this.fromPprofString[0] = 0;
    // Each table writer holds its entries already tagged with the table's
    // field number; the zero entry of every table is an empty message.
    for (const [t, field] of [
      [this.mappingTable, F_MAPPING],
      [this.locationTable, F_LOCATION],
      [this.functionTable, F_FUNCTION],
      [this.attributeTable, F_ATTRIBUTE],
      [this.stackTable, F_STACK],
    ] as const) {
      t.tag(field, WIRE_LEN);
      t.uint(0);
    }
    this.addMappings();
    this.addFunctions();
    this.addLocations();
  }

  /** Interns a string; returns its index. */
  str(s: string): number {
    let i = this.stringIndex.get(s);
    if (i === undefined) {
      i = this.strings.length;
      this.strings.push(s);
      this.stringIndex.set(s, i);
    }
    return i;
  }

  /** The dictionary index of a pprof string index. */
  pprofStr(i: number): number {
    const known = this.fromPprofString[i];
    if (known !== undefined && known >= 0) return known;
    const d = this.str(stringAt(this.p, i));
    this.fromPprofString[i] = d;
    return d;
  }

  /** Interns a KeyValueAndUnit; returns its index. */
  attribute(key: string, value: AttrValue, unit = ''): number {
    const k = this.str(key);
    const u = unit === '' ? 0 : this.str(unit);
    const id = `${k}\0${u}\0${JSON.stringify(value, (_, v: unknown) => (typeof v === 'bigint' ? `${v}n` : v))}`;
    let i = this.attributes.get(id);
    if (i !== undefined) return i;
    const w = this.scratch;
    w.reset();
    w.varintField(1, k);
    const val = new PbWriter(64);
    writeAnyValue(val, value);
    w.message(2, val);
    w.varintField(3, u);
    this.attributeTable.message(F_ATTRIBUTE, w);
    i = this.nAttributes++;
    this.attributes.set(id, i);
    return i;
  }

  /** Interns a stack of pprof location indexes (leaf first); returns its index. */
  stack(locs: Int32Array, n: number): number {
    let id = '';
    for (let i = 0; i < n; i++) id += `${locs[i]},`;
    let s = this.stacks.get(id);
    if (s !== undefined) return s;
    const w = this.scratch;
    w.reset();
    const shifted = new Int32Array(n);
    for (let i = 0; i < n; i++) shifted[i] = locs[i]! + 1; // location i of the pprof is entry i + 1
    packedIndices(w, 1, shifted);
    this.stackTable.message(F_STACK, w);
    s = this.nStacks++;
    this.stacks.set(id, s);
    return s;
  }

  private addMappings(): void {
    const { p } = this;
    const r = new PbReader(p.buf);
    for (let i = 0; i < p.nMappings; i++) {
      r.at(p.mappings[i * 2]!, p.mappings[i * 2 + 1]!);
      let start: Int = 0;
      let limit: Int = 0;
      let offset: Int = 0;
      let filename = 0;
      let buildId = 0;
      const flags: string[] = [];
      while (!r.done) {
        const t = r.tag();
        const f = t >>> 3;
        if ((t & 7) !== WIRE_VARINT) {
          r.skip(t & 7);
          continue;
        }
        const v = r.int64();
        if (f === 2) start = v;
        else if (f === 3) limit = v;
        else if (f === 4) offset = v;
        else if (f === 5) filename = Number(v);
        else if (f === 6) buildId = Number(v);
        else if (f >= 7 && f <= 10 && v !== 0) flags.push(['has_functions', 'has_filenames', 'has_line_numbers', 'has_inline_frames'][f - 7]!);
      }
      const attrs: number[] = [];
      if (buildId !== 0) attrs.push(this.attribute('process.executable.build_id.gnu', { str: stringAt(p, buildId) }));
      for (const flag of flags) attrs.push(this.attribute(`pprof.mapping.${flag}`, { bool: true }));
      const w = this.scratch;
      w.reset();
      w.varintField(1, start);
      w.varintField(2, limit);
      w.varintField(3, offset);
      w.varintField(4, this.pprofStr(filename));
      packedIndices(w, 5, attrs);
      this.mappingTable.message(F_MAPPING, w);
    }
  }

  private addFunctions(): void {
    const { index } = this;
    for (let i = 0; i < this.p.nFunctions; i++) {
      const w = this.scratch;
      w.reset();
      w.varintField(1, this.pprofStr(index.fnName[i]!));
      w.varintField(2, this.pprofStr(index.fnSystemName[i]!));
      w.varintField(3, this.pprofStr(index.fnFilename[i]!));
      w.varintField(4, index.fnStartLine[i]!);
      this.functionTable.message(F_FUNCTION, w);
    }
  }

  private addLocations(): void {
    const { index } = this;
    const line = new PbWriter(32);
    for (let i = 0; i < this.p.nLocations; i++) {
      const w = this.scratch;
      w.reset();
      const mappingId = index.locMapping[i]!;
      // Mapping i of the pprof is entry i + 1; id 0 (none) stays the unset entry 0.
      w.varintField(1, mappingId === 0 ? 0 : index.mapIndexById(mappingId) + 1);
      w.varintField(2, index.locAddr[i]!);
      for (let j = index.locLineStart[i]!; j < index.locLineStart[i + 1]!; j++) {
        line.reset();
        const fnId = index.lineFn[j]!;
        line.varintField(1, fnId === 0 ? 0 : index.fnIndexById(fnId) + 1);
        line.varintField(2, index.lineNo[j]!);
        line.varintField(3, index.lineCol[j]!);
        w.message(3, line);
      }
      if (index.locFolded[i]) packedIndices(w, 4, [this.attribute('pprof.location.is_folded', { bool: true })]);
      this.locationTable.message(F_LOCATION, w);
    }
  }

  sizes(): DictionarySizes {
    return {
      strings: this.strings.length,
      mappings: this.p.nMappings + 1,
      locations: this.p.nLocations + 1,
      functions: this.p.nFunctions + 1,
      links: 1,
      attributes: this.nAttributes,
      stacks: this.nStacks,
    };
  }

  /** The ProfilesDictionary message. Call after every profile has interned what it uses. */
  write(): PbWriter {
    const tables = [this.mappingTable, this.locationTable, this.functionTable, this.attributeTable, this.stackTable];
    const out = new PbWriter(tables.reduce((n, t) => n + t.pos, 0) + this.strings.length * 24 + 1024);
    out.bytes(this.mappingTable.finish());
    out.bytes(this.locationTable.finish());
    out.bytes(this.functionTable.finish());
    out.tag(F_LINK, WIRE_LEN); // the zero link only: pprof has no span links
    out.uint(0);
    for (const s of this.strings) stringField(out, F_STRING, s);
    out.bytes(this.attributeTable.finish());
    out.bytes(this.stackTable.finish());
    return out;
  }
}
