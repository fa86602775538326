// Go's string functions that relabeling uses, as Go defines them:
// Regexp.Expand's $1 / ${name} templates (resolved once per rule) and
// strings.ToLower / strings.ToUpper.

import type { CompiledRegex } from './relabel-regex.js';

/** Literal text and group references, resolved once per rule. */
export type Template = ReadonlyArray<string | readonly number[]>;

const NAME_CHAR = /[\p{L}\p{Nd}_]/u;

/** Go's regexp.extract + expand, resolving each $ref to the groups it may take. */
export function parseTemplate(template: string, re: CompiledRegex): Template {
  const out: Array<string | readonly number[]> = [];
  let text = '';
  const cps = Array.from(template);
  let i = 0;
  while (i < cps.length) {
    if (cps[i] !== '$') {
      text += cps[i++];
      continue;
    }
    i++;
    if (cps[i] === '$') {
      text += '$';
      i++;
      continue;
    }
    const brace = cps[i] === '{';
    let j = brace ? i + 1 : i;
    const start = j;
    while (j < cps.length && NAME_CHAR.test(cps[j]!)) j++;
    const name = cps.slice(start, j).join('');
    if (name === '' || (brace && cps[j] !== '}')) {
      text += '$'; // malformed: the $ is literal text
      continue;
    }
    i = brace ? j + 1 : j;
    if (text) out.push(text);
    text = '';
    // A number is ASCII digits without a leading zero, at most 9 of them (Go's
    // cut-off); anything else is a group name, so $1x is the group named "1x".
    const num = /^(?:0|[1-9][0-9]{0,8})$/.test(name) ? Number(name) : -1;
    if (num >= 0) out.push(num <= re.groups ? [num] : []);
    else out.push(re.names.get(name) ?? []);
  }
  if (text) out.push(text);
  return out;
}

export function expand(t: Template, m: RegExpExecArray): string {
  if (t.length === 1 && typeof t[0] === 'string') return t[0];
  let s = '';
  for (const part of t) {
    if (typeof part === 'string') s += part;
    else
      for (const g of part) {
        const v = m[g];
        if (v !== undefined) {
          s += v;
          break;
        }
      }
  }
  return s;
}

// Go maps case one code point to one (unicode.ToLower/ToUpper, simple case
// mapping); JavaScript uses full mappings (ß -> SS, İ -> i̇) and final sigma.
// Per code point, a one-character JavaScript result is the simple mapping;
// these are the simple mappings of the characters it expands.
const LOWER_EXPANDED: ReadonlyMap<number, number> = new Map([[0x130, 0x69]]);
const UPPER_EXPANDED: ReadonlyMap<number, number> = new Map([
  ...Array.from({ length: 8 }, (_, k) => [0x1f80 + k, 0x1f88 + k] as const),
  ...Array.from({ length: 8 }, (_, k) => [0x1f90 + k, 0x1f98 + k] as const),
  ...Array.from({ length: 8 }, (_, k) => [0x1fa0 + k, 0x1fa8 + k] as const),
  [0x1fb3, 0x1fbc], [0x1fc3, 0x1fcc], [0x1ff3, 0x1ffc],
]);
const ASCII = /^[\x00-\x7f]*$/;

function mapCase(s: string, lower: boolean): string {
  if (ASCII.test(s)) return lower ? s.toLowerCase() : s.toUpperCase();
  let out = '';
  for (const ch of s) {
    const m = lower ? ch.toLowerCase() : ch.toUpperCase();
    if (m.length === 1 || (m.length === 2 && m.codePointAt(0)! > 0xffff)) out += m;
    else out += String.fromCodePoint((lower ? LOWER_EXPANDED : UPPER_EXPANDED).get(ch.codePointAt(0)!) ?? ch.codePointAt(0)!);
  }
  return out;
}

/** Go's strings.ToLower. */
export function goToLower(s: string): string {
  return mapCase(s, true);
}

/** Go's strings.ToUpper. */
export function goToUpper(s: string): string {
  return mapCase(s, false);
}
