// The pieces of RE2 syntax below the level of groups and repetitions, for
// relabel-regex.ts: characters and escapes, classes ([...], \d, \s,
// [[:alpha:]], \p{Greek}) and the parser state they share, each written out
// as JavaScript (u flag) that matches the same code points.

/** A regex that RE2 rejects or that JavaScript cannot match the same way. */
export class Re2Error extends Error {
  override name = 'Re2Error';
}

export interface Flags {
  readonly i: boolean;
  readonly m: boolean;
  readonly s: boolean;
  readonly U: boolean;
}

export interface Capture {
  readonly index: number;
  readonly at: number;
  /** May be unset in a match of the enclosing piece. */
  readonly optional: boolean;
}

/** A counted repetition `{n,m}`, for RE2's 1000-copies limit on nesting. */
export interface RepeatNode {
  readonly m: number;
  readonly subs: readonly RepeatNode[];
}

/** One parsed atom or sequence, already in JavaScript syntax. */
export interface Piece {
  readonly js: string;
  /** Empty-width: JavaScript (u flag) cannot quantify it bare. */
  readonly assertion: boolean;
  /** Can match the empty string. */
  readonly nullable: boolean;
  readonly captures: readonly Capture[];
  readonly repeats: readonly RepeatNode[];
  /** The group number when the piece is itself a capture group. */
  readonly own?: number;
}

const MAX_CP = 0x10ffff;
const SYNTAX_HINT = 'Go regexp syntax: https://pkg.go.dev/regexp/syntax';

/** \u{...} for anything but [A-Za-z0-9_]: valid in and out of classes under the u flag. */
function lit(cp: number): string {
  return (cp >= 0x30 && cp <= 0x39) || (cp >= 0x41 && cp <= 0x5a) || (cp >= 0x61 && cp <= 0x7a) || cp === 0x5f ? String.fromCodePoint(cp) : `\\u{${cp.toString(16)}}`;
}

type Range = readonly [number, number];

export function rangesJs(ranges: readonly Range[]): string {
  return ranges.map(([lo, hi]) => (lo === hi ? lit(lo) : `${lit(lo)}-${lit(hi)}`)).join('');
}

function complement(ranges: readonly Range[]): Range[] {
  const sorted = [...ranges].sort((a, b) => a[0] - b[0]);
  const out: Range[] = [];
  let next = 0;
  for (const [lo, hi] of sorted) {
    if (lo > next) out.push([next, lo - 1]);
    next = Math.max(next, hi + 1);
  }
  if (next <= MAX_CP) out.push([next, MAX_CP]);
  return out;
}

const R = (a: string, b = a): Range => [a.codePointAt(0)!, b.codePointAt(0)!];
/** RE2's \s: no \v, no Unicode spaces (JavaScript's \s has both). */
export const PERL_SPACE: Range[] = [R('\t', '\n'), R('\f', '\r'), R(' ')];
/** Go's posixGroup (ASCII only). `letters` marks sets JavaScript's `i` flag folds into. */
export const POSIX: Record<string, { ranges: Range[]; letters: boolean }> = {
  alnum: { ranges: [R('0', '9'), R('A', 'Z'), R('a', 'z')], letters: true },
  alpha: { ranges: [R('A', 'Z'), R('a', 'z')], letters: true },
  ascii: { ranges: [[0, 0x7f]], letters: true },
  blank: { ranges: [R('\t'), R(' ')], letters: false },
  cntrl: { ranges: [[0, 0x1f], [0x7f, 0x7f]], letters: false },
  digit: { ranges: [R('0', '9')], letters: false },
  graph: { ranges: [R('!', '~')], letters: true },
  lower: { ranges: [R('a', 'z')], letters: true },
  print: { ranges: [R(' ', '~')], letters: true },
  punct: { ranges: [R('!', '/'), R(':', '@'), R('[', '`'), R('{', '~')], letters: false },
  space: { ranges: [R('\t', '\r'), R(' ')], letters: false },
  upper: { ranges: [R('A', 'Z')], letters: true },
  word: { ranges: [R('0', '9'), R('A', 'Z'), R('a', 'z'), R('_')], letters: true },
  xdigit: { ranges: [R('0', '9'), R('A', 'F'), R('a', 'f')], letters: true },
};

/** General categories: Go's unicode.Categories and CategoryAliases, by Go's canonical name. */
export const CATEGORY_ALIASES: Record<string, string> = {
  C: 'C', Cc: 'Cc', Cf: 'Cf', Co: 'Co', Cs: 'Cs', L: 'L', Ll: 'Ll', Lm: 'Lm', Lo: 'Lo', Lt: 'Lt', Lu: 'Lu',
  M: 'M', Mc: 'Mc', Me: 'Me', Mn: 'Mn', N: 'N', Nd: 'Nd', Nl: 'Nl', No: 'No', P: 'P', Pc: 'Pc', Pd: 'Pd',
  Pe: 'Pe', Pf: 'Pf', Pi: 'Pi', Po: 'Po', Ps: 'Ps', S: 'S', Sc: 'Sc', Sk: 'Sk', Sm: 'Sm', So: 'So',
  Z: 'Z', Zl: 'Zl', Zp: 'Zp', Zs: 'Zs', Lc: 'LC',
  Other: 'C', Control: 'Cc', Cntrl: 'Cc', Format: 'Cf', Privateuse: 'Co', Surrogate: 'Cs', Letter: 'L',
  Casedletter: 'LC', Lowercaseletter: 'Ll', Modifierletter: 'Lm', Otherletter: 'Lo', Titlecaseletter: 'Lt',
  Uppercaseletter: 'Lu', Mark: 'M', Combiningmark: 'M', Spacingmark: 'Mc', Enclosingmark: 'Me',
  Nonspacingmark: 'Mn', Number: 'N', Decimalnumber: 'Nd', Digit: 'Nd', Letternumber: 'Nl', Othernumber: 'No',
  Punctuation: 'P', Punct: 'P', Connectorpunctuation: 'Pc', Dashpunctuation: 'Pd', Closepunctuation: 'Pe',
  Finalpunctuation: 'Pf', Initialpunctuation: 'Pi', Otherpunctuation: 'Po', Openpunctuation: 'Ps', Symbol: 'S',
  Currencysymbol: 'Sc', Modifiersymbol: 'Sk', Mathsymbol: 'Sm', Othersymbol: 'So', Separator: 'Z',
  Lineseparator: 'Zl', Paragraphseparator: 'Zp', Spaceseparator: 'Zs',
};
/** Scripts accepted (one-word names, identical in Go's unicode.Scripts and JavaScript's Script=). */
const SCRIPTS = new Set(
  'Arabic Armenian Bengali Braille Cherokee Common Cyrillic Devanagari Ethiopic Georgian Greek Gujarati Gurmukhi Han Hangul Hebrew Hiragana Inherited Kannada Katakana Khmer Lao Latin Malayalam Mongolian Myanmar Oriya Sinhala Tamil Telugu Thaana Thai Tibetan'.split(' '),
);

/** Go's canonicalName: first letter upper, the rest lower, no '_', '-' or ' '. */
function canonicalName(name: string): string {
  const s = name.replace(/[_\- ]/g, '');
  return s.slice(0, 1).toUpperCase() + s.slice(1).toLowerCase();
}

/** A character JavaScript's `i` flag could fold to another (so its case matters). */
function hasCase(cp: number): boolean {
  const s = String.fromCodePoint(cp);
  return s.toLowerCase() !== s.toUpperCase() || s.toLowerCase() !== s;
}

function rangesHaveCase(ranges: readonly Range[]): boolean {
  return ranges.some(([lo, hi]) => {
    if (hi >= 0x80) return true; // non-ASCII ranges: assume letters (only matters for mixed (?i))
    for (let c = lo; c <= hi; c++) if (hasCase(c)) return true;
    return false;
  });
}

/** Cursor, flags and what the whole pattern has seen; the atoms' parsers. */
export abstract class AtomParser {
  protected pos = 0;
  protected flags: Flags = { i: false, m: false, s: true, U: false };
  groups = 0;
  readonly names = new Map<string, number[]>();
  /** Where a case-relevant atom was met with (?i) on, and with it off. */
  caseOn: number | null = null;
  caseOff: number | null = null;
  /** Where a repetition of something that can match empty text is. */
  nullableLoop: number | null = null;
  protected readonly cps: readonly string[];

  constructor(pattern: string) {
    this.cps = Array.from(pattern);
  }

  protected peek(k = 0): string | undefined {
    return this.cps[this.pos + k];
  }

  protected text(from: number, to = this.pos): string {
    return this.cps.slice(from, to).join('');
  }

  fail(at: number, construct: string, why: string): never {
    throw new Re2Error(`${construct} at offset ${at}: ${why}`);
  }

  protected noteCase(at: number): void {
    if (this.flags.i) this.caseOn ??= at;
    else this.caseOff ??= at;
  }

  protected simple(js: string, assertion = false): Piece {
    return { js, assertion, nullable: assertion, captures: [], repeats: [] };
  }

  protected literal(cp: number, at: number): Piece {
    if (hasCase(cp)) this.noteCase(at);
    return this.simple(lit(cp));
  }

  /** One atom, several for \Q...\E (each character is its own), none for a flag group. */

  protected readRepeatAhead(): boolean {
    const c = this.peek();
    return c === '*' || c === '+' || c === '?' || (c === '{' && /^\{\d+(,\d*)?\}/.test(this.text(this.pos, this.pos + 24)));
  }

  /** An escape that stands for one character: octal, \x, C escapes, escaped punctuation. */
  protected parseEscapeChar(inClass: boolean): number {
    const at = this.pos;
    const c = this.peek(1)!;
    this.pos += 2;
    const isOct = (s: string | undefined): boolean => s !== undefined && s >= '0' && s <= '7';
    if (c >= '1' && c <= '9' && !(c <= '7' && isOct(this.peek())))
      this.fail(at, `backreference "\\${c}"`, 'RE2 has no backreferences; compare two labels with a keepequal or dropequal rule instead');
    if (c >= '0' && c <= '7') {
      let v = c.charCodeAt(0) - 48;
      for (let k = 1; k < 3 && isOct(this.peek()); k++) v = v * 8 + this.cps[this.pos++]!.charCodeAt(0) - 48;
      return v;
    }
    if (c === 'x') {
      if (this.peek() === '{') {
        const close = this.cps.indexOf('}', this.pos);
        const hex = close < 0 ? '' : this.text(this.pos + 1, close);
        const v = /^[0-9A-Fa-f]+$/.test(hex) ? parseInt(hex, 16) : NaN;
        if (!(v <= MAX_CP)) this.fail(at, `"${this.text(at, close < 0 ? this.pos : close + 1)}"`, 'RE2 writes a code point as \\x{hex} up to \\x{10FFFF} (invalid escape)');
        this.pos = close + 1;
        return v;
      }
      const hex = this.text(this.pos, this.pos + 2);
      if (!/^[0-9A-Fa-f]{2}$/.test(hex)) this.fail(at, `"\\x${hex}"`, 'RE2 takes exactly two hex digits after \\x, or \\x{hex} (invalid escape)');
      this.pos += 2;
      return parseInt(hex, 16);
    }
    const controls: Record<string, number> = { a: 7, f: 12, n: 10, r: 13, t: 9, v: 11 };
    if (controls[c] !== undefined) return controls[c]!;
    const cp = c.codePointAt(0)!;
    if (cp < 0x80 && !/[A-Za-z0-9]/.test(c)) return cp; // escaped punctuation is itself
    const hints: Record<string, string> = {
      Z: 'RE2 has no \\Z; \\z is the end of the text (and $ without (?m) is the same)',
      u: '\\uXXXX is JavaScript syntax; RE2 writes \\x{XXXX}',
      U: 'RE2 has no \\U; write \\x{XXXXXXXX}',
      C: 'RE2 refuses \\C (any byte); use . for any character',
      b: inClass ? 'inside [...] RE2 refuses \\b (JavaScript would read a backspace); write \\x08' : 'word boundary',
      e: 'RE2 has no \\e; write \\x1b',
      c: 'RE2 has no \\cX control escapes; write \\x{..}',
      k: 'RE2 has no backreferences (\\k<name>)',
      g: 'RE2 has no backreferences (\\g)',
      G: 'RE2 has no \\G', K: 'RE2 has no \\K', R: 'RE2 has no \\R; write (?:\\r\\n|\\n)', X: 'RE2 has no \\X', h: 'RE2 has no \\h; write [\\t ]', N: 'RE2 has no \\N',
    };
    this.fail(at, `escape "\\${c}"`, `${hints[c] ?? 'not an RE2 escape (invalid escape)'}; ${SYNTAX_HINT}`);
  }

  /** \pX, \p{Name}, \p{^Name}, \PX at pos: `top` is a whole JS atom, `item` goes inside [...]. */
  protected unicodeClass(): { top: string; item: string } {
    const at = this.pos;
    let negated = this.peek(1) === 'P';
    let name: string;
    if (this.peek(2) === '{') {
      const close = this.cps.indexOf('}', this.pos);
      if (close < 0) this.fail(at, `"${this.text(at)}"`, 'missing "}" after \\p{ (invalid character class range)');
      name = this.text(this.pos + 3, close);
      this.pos = close + 1;
    } else {
      if (this.peek(2) === undefined) this.fail(at, '"\\p"', 'a property name must follow, as \\pL or \\p{Greek}');
      name = this.peek(2)!;
      this.pos += 3;
    }
    if (name.startsWith('^')) {
      negated = !negated;
      name = name.slice(1);
    }
    const shown = this.text(at);
    if (negated && this.flags.i) this.fail(at, `negated class "${shown}" under (?i)`, 'RE2 folds case before negating and JavaScript after, so they match different letters; drop (?i) or list what you want');
    this.noteCase(at);
    const canon = canonicalName(name);
    const any: Range[] = [[0, MAX_CP]];
    let set: { pos: string; neg: string };
    if (canon === 'Any' || canon === 'Ascii') {
      const r = canon === 'Any' ? any : POSIX.ascii!.ranges;
      set = { pos: rangesJs(r), neg: rangesJs(complement(r)) };
    } else if (canon === 'Assigned') set = { pos: '\\P{Cn}', neg: '\\p{Cn}' };
    else if (CATEGORY_ALIASES[canon] === 'C') set = { pos: '\\p{Cc}\\p{Cf}\\p{Co}\\p{Cs}', neg: '\\P{C}\\p{Cn}' }; // Go's C has no Cn; JavaScript's has
    else if (CATEGORY_ALIASES[canon]) set = { pos: `\\p{${CATEGORY_ALIASES[canon]}}`, neg: `\\P{${CATEGORY_ALIASES[canon]}}` };
    else if (SCRIPTS.has(canon)) set = { pos: `\\p{Script=${canon}}`, neg: `\\P{Script=${canon}}` };
    else
      this.fail(at, `Unicode class "${shown}"`, `not a general category (L, Lu, Nd, ...) or a supported script (${[...SCRIPTS].slice(0, 6).join(', ')}, ...); write the code points as a range like [\\x{0370}-\\x{03FF}]`);
    const item = negated ? set.neg : set.pos;
    return { top: `[${item}]`, item };
  }

  protected parseClass(): Piece {
    const at = this.pos;
    this.pos++;
    let negated = false;
    if (this.peek() === '^') {
      negated = true;
      this.pos++;
    }
    const items: string[] = [];
    const plain: Range[] = [];
    let first = true;
    let caseRelevant = false;
    for (;;) {
      const c = this.peek();
      if (c === undefined) this.fail(at, `class "${this.text(at, Math.min(at + 12, this.cps.length))}"`, 'it is never closed (missing "]"); write \\[ for a literal bracket');
      if (c === ']' && !first) {
        this.pos++;
        break;
      }
      first = false;
      if (c === '[' && this.peek(1) === ':') {
        let close = this.pos + 2;
        while (close + 1 < this.cps.length && !(this.cps[close] === ':' && this.cps[close + 1] === ']')) close++;
        if (close + 1 < this.cps.length) {
          const whole = this.text(this.pos, close + 2);
          const m = /^\[:(\^?)([a-z]+):\]$/.exec(whole);
          const g = m ? POSIX[m[2]!] : undefined;
          if (!m || !g) this.fail(this.pos, `POSIX class "${whole}"`, `known classes: ${Object.keys(POSIX).join(', ')}, as [[:alpha:]] or [[:^alpha:]] (invalid character class range)`);
          if (m[1] && g.letters && this.flags.i) this.fail(this.pos, `negated class "${whole}" under (?i)`, 'RE2 folds case before negating and JavaScript after, so they match different letters; drop (?i)');
          caseRelevant ||= g.letters;
          items.push(rangesJs(m[1] ? complement(g.ranges) : g.ranges));
          this.pos = close + 2;
          continue;
        }
      }
      if (c === '\\' && (this.peek(1) === 'p' || this.peek(1) === 'P')) {
        items.push(this.unicodeClass().item);
        caseRelevant = true;
        continue;
      }
      const pc = c === '\\' ? this.peek(1) : undefined;
      if (pc !== undefined && 'dDwWsS'.includes(pc)) {
        this.pos += 2;
        if (pc === 's') items.push(rangesJs(PERL_SPACE));
        else if (pc === 'S') items.push(rangesJs(complement(PERL_SPACE)));
        else items.push(`\\${pc}`);
        caseRelevant ||= pc === 'w' || pc === 'W';
        continue;
      }
      const lo = this.classChar();
      let hi = lo;
      if (this.peek() === '-' && this.peek(1) !== undefined && this.peek(1) !== ']') {
        const dash = this.pos;
        this.pos++;
        hi = this.classChar();
        if (hi < lo) this.fail(dash, `range "${this.text(dash - 1, this.pos)}"`, 'the end is below the start (invalid character class range)');
      }
      plain.push([lo, hi]);
    }
    caseRelevant ||= rangesHaveCase(plain);
    if (caseRelevant) this.noteCase(at);
    return this.simple(`[${negated ? '^' : ''}${rangesJs(plain)}${items.join('')}]`);
  }

  private classChar(): number {
    const c = this.peek()!;
    if (c !== '\\') {
      this.pos++;
      return c.codePointAt(0)!;
    }
    if (this.peek(1) === undefined) this.fail(this.pos, 'trailing "\\"', 'the class is never closed');
    return this.parseEscapeChar(true);
  }
}
