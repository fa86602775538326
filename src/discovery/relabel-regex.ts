// RE2 (Go's regexp/syntax, which Prometheus compiles relabel regexes with)
// translated to a JavaScript RegExp with the same matches and the same
// captures. What JavaScript would read differently, and what RE2 refuses, is
// rejected with what the construct is, why, and what to write instead.
//
// Prometheus anchors a relabel regex as `^(?s:REGEX)$`: fully anchored, and
// `.` matches a newline unless the pattern says `(?-s)`. compileRelabelRegex
// does the same. The JavaScript side always uses the `u` flag (code points,
// \p{...}, strict syntax); everything is written out in syntax that means
// the same under it: `.` as [^] or [^\n], `\s` as RE2's five characters, (?m)
// `^`/`$` as lookarounds on "\n" only, escapes as \u{...}.

/** A regex that RE2 rejects or that JavaScript cannot match the same way. */
export class Re2Error extends Error {
  override name = 'Re2Error';
}

export interface CompiledRegex {
  /** `^(?:...)$` with flags `u` (and `i` when the whole pattern is case-insensitive). */
  readonly regex: RegExp;
  /** Number of capture groups (`$1`..`$groups`). */
  readonly groups: number;
  /** Group numbers of each name, in order (RE2 allows a name twice; Expand takes the first that matched). */
  readonly names: ReadonlyMap<string, readonly number[]>;
}

interface Flags {
  readonly i: boolean;
  readonly m: boolean;
  readonly s: boolean;
  readonly U: boolean;
}

interface Capture {
  readonly index: number;
  readonly at: number;
  /** May be unset in a match of the enclosing piece. */
  readonly optional: boolean;
}

/** A counted repetition `{n,m}`, for RE2's 1000-copies limit on nesting. */
interface RepeatNode {
  readonly m: number;
  readonly subs: readonly RepeatNode[];
}

/** One parsed atom or sequence, already in JavaScript syntax. */
interface Piece {
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

function rangesJs(ranges: readonly Range[]): string {
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
const PERL_SPACE: Range[] = [R('\t', '\n'), R('\f', '\r'), R(' ')];
/** Go's posixGroup (ASCII only). `letters` marks sets JavaScript's `i` flag folds into. */
const POSIX: Record<string, { ranges: Range[]; letters: boolean }> = {
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
const CATEGORY_ALIASES: Record<string, string> = {
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

function repeatIsValid(node: RepeatNode, n: number): boolean {
  let m = node.m;
  if (m === 0) return true;
  if (m > n) return false;
  if (m > 0) n = Math.floor(n / m);
  return node.subs.every((s) => repeatIsValid(s, n));
}

class Parser {
  private pos = 0;
  private flags: Flags = { i: false, m: false, s: true, U: false };
  groups = 0;
  readonly names = new Map<string, number[]>();
  /** Where a case-relevant atom was met with (?i) on, and with it off. */
  caseOn: number | null = null;
  caseOff: number | null = null;
  /** Where a repetition of something that can match empty text is. */
  nullableLoop: number | null = null;
  private readonly cps: readonly string[];

  constructor(pattern: string) {
    this.cps = Array.from(pattern);
  }

  private peek(k = 0): string | undefined {
    return this.cps[this.pos + k];
  }

  private text(from: number, to = this.pos): string {
    return this.cps.slice(from, to).join('');
  }

  fail(at: number, construct: string, why: string): never {
    throw new Re2Error(`${construct} at offset ${at}: ${why}`);
  }

  private noteCase(at: number): void {
    if (this.flags.i) this.caseOn ??= at;
    else this.caseOff ??= at;
  }

  parseAll(): Piece {
    const p = this.parseAlt();
    if (this.pos < this.cps.length) this.fail(this.pos, 'unmatched ")"', 'there is no "(" for it; escape it as \\) to match a parenthesis');
    return p;
  }

  /** Alternatives up to ")" or the end. Flags set by (?i) inside last to the end of the group. */
  private parseAlt(): Piece {
    const branches = [this.parseConcat()];
    while (this.peek() === '|') {
      this.pos++;
      branches.push(this.parseConcat());
    }
    if (branches.length === 1) return branches[0]!;
    return {
      js: branches.map((b) => b.js).join('|'),
      assertion: false,
      nullable: branches.some((b) => b.nullable),
      captures: branches.flatMap((b) => b.captures.map((c) => ({ ...c, optional: true }))),
      repeats: branches.flatMap((b) => b.repeats),
    };
  }

  private parseConcat(): Piece {
    const parts: Piece[] = [];
    let last: Piece | null = null; // what a repetition operator would apply to
    let lastQuantified = false;
    for (;;) {
      const c = this.peek();
      if (c === undefined || c === '|' || c === ')') break;
      const start = this.pos;
      const rep = this.readRepeat();
      if (rep) {
        if (!last) this.fail(start, `repetition operator "${this.text(start)}"`, 'it has nothing to repeat (missing argument to repetition operator); escape it (\\*, \\+, \\?, \\{) to match it literally');
        if (lastQuantified) this.fail(start, `repetition operator "${this.text(start)}" after another`, 'RE2 refuses stacked repetitions (a** or a*+; possessive quantifiers do not exist in RE2); write one operator, or group: (?:a*)+');
        const q = this.quantify(last, rep, start);
        parts[parts.length - 1] = q;
        last = q;
        lastQuantified = true;
        continue;
      }
      const atoms = this.parseAtom();
      parts.push(...atoms);
      last = atoms.length ? atoms[atoms.length - 1]! : null;
      lastQuantified = false;
    }
    return {
      js: parts.map((p) => p.js).join(''),
      assertion: parts.length > 0 && parts.every((p) => p.assertion),
      nullable: parts.every((p) => p.nullable),
      captures: parts.flatMap((p) => p.captures),
      repeats: parts.flatMap((p) => p.repeats),
    };
  }

  /** A repetition operator at pos (consumed), or null. */
  private readRepeat(): { min: number; max: number; counted: boolean; lazy: boolean } | null {
    const c = this.peek();
    let min: number;
    let max: number;
    let counted = false;
    if (c === '*') [min, max] = [0, -1];
    else if (c === '+') [min, max] = [1, -1];
    else if (c === '?') [min, max] = [0, 1];
    else if (c === '{') {
      const m = /^\{(\d+)(?:(,)(\d*))?\}/.exec(this.cps.slice(this.pos, this.pos + 24).join(''));
      if (!m) return null;
      const num = (s: string): number | null => (s.length >= 2 && s[0] === '0' ? null : Number(s));
      const lo = num(m[1]!);
      const hi = m[2] === undefined ? lo : m[3] === '' ? -1 : num(m[3]!);
      if (lo === null || hi === null) return null; // Go: a leading zero makes "{" a literal
      if (lo > 1000 || hi > 1000 || (hi >= 0 && lo > hi)) this.fail(this.pos, `repetition "${m[0]}"`, 'RE2 allows counts up to 1000 and min <= max (invalid repeat count)');
      [min, max, counted] = [lo, hi, true];
      this.pos += m[0].length - 1;
    } else return null;
    this.pos++;
    let lazy = false;
    if (this.peek() === '?') {
      lazy = true;
      this.pos++;
    }
    return { min, max, counted, lazy };
  }

  private quantify(atom: Piece, rep: { min: number; max: number; counted: boolean; lazy: boolean }, at: number): Piece {
    if (rep.max === -1 || rep.max > 1) {
      const inner = atom.captures.find((c) => c.index !== atom.own && c.optional);
      if (inner)
        this.fail(inner.at, `capture group ${inner.index} inside a repeated group`, 'when an iteration skips it, RE2 keeps the text of an earlier iteration and JavaScript forgets it, so $' + inner.index + ' could differ; make it non-capturing (?:...), or capture the whole repetition instead');
    }
    // JavaScript refuses an empty iteration beyond the minimum and backtracks
    // for a longer one; RE2 takes the empty one. The same strings match, but
    // groups anywhere in the pattern can end up holding different text.
    if ((rep.max === -1 || rep.max > rep.min) && atom.nullable) this.nullableLoop ??= at;
    let repeats = atom.repeats;
    if (rep.counted) {
      const node: RepeatNode = { m: rep.max === -1 ? rep.min : rep.max, subs: atom.repeats };
      if ((rep.min >= 2 || rep.max >= 2) && !repeatIsValid(node, 1000)) this.fail(at, 'nested repetition', 'RE2 refuses more than 1000 copies of one thing in nested counted repetitions (invalid repeat count)');
      repeats = [node];
    }
    const nonGreedy = this.flags.U !== rep.lazy;
    const q = rep.counted ? `{${rep.min}${rep.max === rep.min ? '' : `,${rep.max === -1 ? '' : rep.max}`}}` : rep.max === 1 ? '?' : rep.min === 1 ? '+' : '*';
    return {
      js: `${atom.assertion ? `(?:${atom.js})` : atom.js}${q}${nonGreedy ? '?' : ''}`,
      assertion: false,
      nullable: rep.min === 0 || atom.nullable,
      captures: rep.min === 0 ? atom.captures.map((c) => ({ ...c, optional: true })) : atom.captures,
      repeats,
    };
  }

  private simple(js: string, assertion = false): Piece {
    return { js, assertion, nullable: assertion, captures: [], repeats: [] };
  }

  private literal(cp: number, at: number): Piece {
    if (hasCase(cp)) this.noteCase(at);
    return this.simple(lit(cp));
  }

  /** One atom, several for \Q...\E (each character is its own), none for a flag group. */
  private parseAtom(): Piece[] {
    const at = this.pos;
    const c = this.peek()!;
    switch (c) {
      case '(':
        return this.parseGroup();
      case '[':
        return [this.parseClass()];
      case '.':
        this.pos++;
        return [this.simple(this.flags.s ? '[^]' : '[^\\u{a}]')];
      case '^':
        this.pos++;
        return [this.simple(this.flags.m ? '(?<![^\\u{a}])' : '^', true)];
      case '$':
        this.pos++;
        return [this.simple(this.flags.m ? '(?![^\\u{a}])' : '$', true)];
      case '\\':
        return this.parseEscapeAtom();
      default:
        this.pos++;
        return [this.literal(c.codePointAt(0)!, at)];
    }
  }

  private parseGroup(): Piece[] {
    const at = this.pos;
    if (this.peek(1) !== '?') {
      this.pos++;
      return [this.groupBody(at, ++this.groups, this.flags)];
    }
    const rest = this.cps.slice(this.pos, this.pos + 4).join('');
    const named = /^\(\?P?<(?![=!])/.exec(rest);
    if (named) {
      const close = this.cps.indexOf('>', this.pos);
      const name = close < 0 ? '' : this.text(this.pos + named[0].length, close);
      if (close < 0 || !/^[A-Za-z0-9_]+$/.test(name))
        this.fail(at, `named group "${this.text(at, close < 0 ? this.cps.length : close + 1)}"`, 'a group name is letters, digits and _ only, closed by ">" (invalid named capture); write (?P<name>...)');
      this.pos = close + 1;
      const index = ++this.groups;
      const list = this.names.get(name) ?? [];
      list.push(index);
      this.names.set(name, list);
      return [this.groupBody(at, index, this.flags)];
    }
    const refusals: Array<[RegExp, string, string]> = [
      [/^\(\?[=!]/, 'lookahead (?=...) / (?!...)', 'RE2 has no lookarounds (Prometheus would refuse this regex); match the wider text and capture the part you need, or add a keep/drop rule on another label'],
      [/^\(\?<[=!]/, 'lookbehind (?<=...) / (?<!...)', 'RE2 has no lookarounds (Prometheus would refuse this regex); match the wider text and capture the part you need'],
      [/^\(\?>/, 'atomic group (?>...)', 'RE2 has no atomic groups (it never backtracks, so none are needed); use a plain group (?:...)'],
      [/^\(\?#/, 'comment (?#...)', 'RE2 has no comments in patterns; remove it'],
      [/^\(\?P=/, 'backreference (?P=name)', 'RE2 has no backreferences; compare two labels with a keepequal or dropequal rule instead'],
      [/^\(\?P>|^\(\?[R&+\d]/, 'recursion (?R) / subroutine call', 'RE2 has no recursion or subroutine calls'],
      [/^\(\?'/, "named group (?'name'...)", "RE2 only knows (?P<name>...) and (?<name>...); write (?P<name>...)"],
      [/^\(\?\|/, 'branch reset (?|...)', 'RE2 has no branch reset; use separate groups'],
      [/^\(\?\(/, 'conditional (?(...)...)', 'RE2 has no conditionals; split it into several rules'],
    ];
    for (const [re, construct, why] of refusals) if (re.test(rest)) this.fail(at, construct, why);
    // Flags: (?imsU-imsU) or (?imsU-imsU:...)
    this.pos += 2;
    let sign = 1;
    let saw = false;
    const f = { ...this.flags };
    for (;;) {
      const ch = this.peek();
      if (ch === undefined) this.fail(at, `"${this.text(at)}"`, 'the group is never closed (missing ")")');
      this.pos++;
      if (ch === 'i' || ch === 'm' || ch === 's' || ch === 'U') {
        f[ch] = sign > 0;
        saw = true;
        continue;
      }
      if (ch === '-' && sign > 0) {
        sign = -1;
        saw = false;
        continue;
      }
      if ((ch === ':' || ch === ')') && (sign > 0 || saw)) {
        if (ch === ')') {
          this.flags = f; // lasts to the end of the enclosing group
          if (this.readRepeatAhead()) this.fail(this.pos, 'repetition operator after a flag group', 'a flag group like (?i) matches nothing, so there is nothing to repeat');
          return [];
        }
        return [this.groupBody(at, undefined, f)];
      }
      if (ch === 'x') this.fail(at, 'flag x (free-spacing)', 'RE2 has no free-spacing mode; remove the x and the spaces and comments it allowed');
      this.fail(at, `flag group "${this.text(at)}"`, 'RE2 flags are i (case-insensitive), m (multi-line ^ and $), s (. matches \\n) and U (ungreedy), as (?i), (?-s) or (?i:...) (invalid or unsupported Perl syntax)');
    }
  }

  /** Contents of a group whose opening is consumed, up to and including ")". */
  private groupBody(at: number, index: number | undefined, flags: Flags): Piece {
    const outer = this.flags;
    this.flags = flags;
    const inner = this.parseAlt();
    if (this.peek() !== ')') this.fail(at, `group "${this.text(at, Math.min(at + 12, this.cps.length))}"`, 'it is never closed (missing ")")');
    this.pos++;
    this.flags = outer;
    if (index === undefined) return { ...inner, js: `(?:${inner.js})`, assertion: false };
    return { js: `(${inner.js})`, assertion: false, nullable: inner.nullable, captures: [{ index, at, optional: false }, ...inner.captures], repeats: inner.repeats, own: index };
  }

  private parseEscapeAtom(): Piece[] {
    const at = this.pos;
    const c = this.peek(1);
    if (c === undefined) this.fail(at, 'trailing "\\"', 'a pattern cannot end in a backslash; write \\\\ for a backslash');
    switch (c) {
      case 'A':
        this.pos += 2;
        return [this.simple('^', true)]; // JavaScript never gets the m flag: ^ is the start of the text
      case 'z':
        this.pos += 2;
        return [this.simple('$', true)];
      case 'b':
      case 'B':
        if (this.flags.i) this.fail(at, `\\${c} under (?i)`, "JavaScript's case-insensitive \\b also treats ſ and the Kelvin sign as word characters, RE2 does not; drop (?i) and write the letters as classes like [Tt]");
        this.noteCase(at);
        this.pos += 2;
        return [this.simple(`\\${c}`, true)];
      case 'Q': {
        this.pos += 2;
        const out: Piece[] = [];
        while (this.pos < this.cps.length && !(this.peek() === '\\' && this.peek(1) === 'E')) {
          out.push(this.literal(this.peek()!.codePointAt(0)!, this.pos));
          this.pos++;
        }
        // Prometheus wraps the regex in ^(?s:...)$, so an open \Q would quote that closing too: RE2 refuses it.
        if (this.pos >= this.cps.length) this.fail(at, '\\Q without \\E', 'Prometheus wraps the regex as ^(?s:REGEX)$ and the quote would swallow that closing ")" (RE2 refuses it); end the quoted text with \\E');
        this.pos += 2;
        if (out.length === 0 && this.readRepeatAhead()) this.fail(at, 'repetition after an empty \\Q\\E', 'there is nothing to repeat');
        return out;
      }
      case 'p':
      case 'P':
        return [this.simple(this.unicodeClass().top)];
      case 'd':
      case 'D':
      case 'w':
      case 'W':
        if (c === 'w' || c === 'W') this.noteCase(at);
        this.pos += 2;
        return [this.simple(`\\${c}`)];
      case 's':
        this.pos += 2;
        return [this.simple(`[${rangesJs(PERL_SPACE)}]`)];
      case 'S':
        this.pos += 2;
        return [this.simple(`[^${rangesJs(PERL_SPACE)}]`)];
      default:
        return [this.literal(this.parseEscapeChar(false), at)];
    }
  }

  private readRepeatAhead(): boolean {
    const c = this.peek();
    return c === '*' || c === '+' || c === '?' || (c === '{' && /^\{\d+(,\d*)?\}/.test(this.text(this.pos, this.pos + 24)));
  }

  /** An escape that stands for one character: octal, \x, C escapes, escaped punctuation. */
  private parseEscapeChar(inClass: boolean): number {
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
  private unicodeClass(): { top: string; item: string } {
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

  private parseClass(): Piece {
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

/** RE2 pattern -> JavaScript source; throws Re2Error. Exported for tests and --check. */
export function translateRe2(pattern: string): { source: string; flags: string; groups: number; names: ReadonlyMap<string, readonly number[]> } {
  const p = new Parser(pattern);
  const piece = p.parseAll();
  if (p.caseOn !== null && p.caseOff !== null)
    p.fail(Math.max(p.caseOn, p.caseOff), '(?i) on part of the pattern', 'JavaScript can only be case-insensitive for the whole pattern; put (?i) at the very start, or write the letters as classes like [Ff][Oo][Oo]');
  if (p.nullableLoop !== null && p.groups > 0)
    p.fail(p.nullableLoop, 'repetition of something that can match empty text, in a regex with groups', 'RE2 and JavaScript can fill the groups differently (as in (a*)* or (?:a?)+(b)); make the repeated part need at least one character (a+ instead of a*), or use (?:...) for the groups');
  return { source: piece.js, flags: p.caseOn !== null ? 'iu' : 'u', groups: p.groups, names: p.names };
}

/** Compiles a relabel regex as Prometheus does: fully anchored, `.` matching "\n". */
export function compileRelabelRegex(pattern: string): CompiledRegex {
  const t = translateRe2(pattern);
  let regex: RegExp;
  try {
    regex = new RegExp(`^(?:${t.source})$`, t.flags);
  } catch (err) {
    // A translation bug, not the user's: say so rather than blame the pattern.
    throw new Re2Error(`could not be translated to JavaScript (${(err as Error).message}); please report this pattern`);
  }
  return { regex, groups: t.groups, names: t.names };
}
