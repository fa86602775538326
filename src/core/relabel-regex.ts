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

import { AtomParser, PERL_SPACE, rangesJs, Re2Error, type Flags, type Piece, type RepeatNode } from './relabel-regex-atoms.js';

export { Re2Error };

export interface CompiledRegex {
  /** `^(?:...)$` with flags `u` (and `i` when the whole pattern is case-insensitive). */
  readonly regex: RegExp;
  /** Number of capture groups (`$1`..`$groups`). */
  readonly groups: number;
  /** Group numbers of each name, in order (RE2 allows a name twice; Expand takes the first that matched). */
  readonly names: ReadonlyMap<string, readonly number[]>;
}

function repeatIsValid(node: RepeatNode, n: number): boolean {
  const m = node.m;
  if (m === 0) return true;
  if (m > n) return false;
  if (m > 0) n = Math.floor(n / m);
  return node.subs.every((s) => repeatIsValid(s, n));
}

class Parser extends AtomParser {
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
