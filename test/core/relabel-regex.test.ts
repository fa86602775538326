// RE2 -> JavaScript translation (src/core/relabel-regex.ts): a table of
// accepted translations, a table of refused constructs, and Go's regexp (via
// Prometheus's relabel.NewRegexp in fixtures/relabel-oracle) as the judge of
// what each pattern matches and captures.
//
//   node --import tsx --test test/core/relabel-regex.test.ts

import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import fc from 'fast-check';
import { startRelabelOracle, type RelabelOracle } from '../../fixtures/relabel-oracle/harness.js';
import { compileRelabelRegex, Re2Error, translateRe2 } from '../../src/core/relabel-regex.js';

let oracle: RelabelOracle;
before(() => {
  oracle = startRelabelOracle();
});
after(() => oracle.close());

type GoAnswer = { error: string } | { results: Array<Array<string | null> | null> };

/** Go's anchored match of each input: null, or the whole match and each group (null when unset). */
async function goMatch(pattern: string, inputs: readonly string[]): Promise<GoAnswer> {
  return oracle.ask<GoAnswer>({ op: 'regex', pattern, inputs });
}

/** Ours, in the oracle's shape; an unset group and "" both expand to "", but say which. */
function jsMatch(pattern: string, inputs: readonly string[]): Array<Array<string | null> | null> {
  const { regex } = compileRelabelRegex(pattern);
  return inputs.map((s) => {
    const m = regex.exec(s);
    return m ? Array.from(m, (g) => g ?? null) : null;
  });
}

/** Same match or not, and the same text for every group as Expand sees it (unset = ""). */
function assertSameAsGo(pattern: string, inputs: readonly string[], go: GoAnswer): void {
  assert.ok('results' in go, `Go refuses ${JSON.stringify(pattern)}: ${'error' in go ? go.error : ''}`);
  const ours = jsMatch(pattern, inputs);
  inputs.forEach((s, i) => {
    const g = go.results[i] ?? null;
    const o = ours[i] ?? null;
    const show = `${JSON.stringify(pattern)} on ${JSON.stringify(s)}`;
    assert.equal(o === null, g === null, `${show}: match ${o !== null} vs Go ${g !== null}`);
    if (o && g) assert.deepEqual(o.map((x) => x ?? ''), g.map((x) => x ?? ''), show);
  });
}

const INPUTS = ['', 'a', 'A', 'ab', 'aB', 'foo', 'FOO', 'Foo', 'foo.bar', 'a\nb', '\n', 'a-b', 'x:9090', '10.0.0.1:8080', 'ſ', 'K', 'k', 'é', 'Σ', 'σ', '😀', 'a😀b', '\t \v\f\r', '{,2}', 'a{2}', '_x1', 'αβγ', '中文', '[a]', '\\', 'aaa', 'bbb', 'abab', 'ba'];

/** Accepted: the RE2 pattern, the JavaScript source it becomes, its flags. */
const ACCEPTED: Array<[string, string, string]> = [
  ['f(.*)', 'f([^]*)', 'u'],
  ['(.+?)(\\:\\d+)?;(\\d+)', '([^]+?)(\\u{3a}\\d+)?\\u{3b}(\\d+)', 'u'],
  ['(?:.+,|^)path:(/[^,]+).*', '(?:[^]+\\u{2c}|^)path\\u{3a}(\\u{2f}[^\\u{2c}]+)[^]*', 'u'],
  ['', '', 'u'],
  ['a|', 'a|', 'u'],
  ['(?i)foo', 'foo', 'iu'],
  ['(?i:foo|bar)', '(?:foo|bar)', 'iu'],
  ['(?i)[a-z]+\\d', '[a-z]+\\d', 'iu'],
  ['(?-s:.)+', '(?:[^\\u{a}])+', 'u'],
  ['(?s).', '[^]', 'u'],
  ['(?m)^a$', '(?<![^\\u{a}])a(?![^\\u{a}])', 'u'],
  ['(?m:^)*a', '(?:(?<![^\\u{a}]))*a', 'u'],
  ['^*a', '(?:^)*a', 'u'],
  ['\\Aab\\z', '^ab$', 'u'],
  ['(?U)a*b*?', 'a*?b*', 'u'],
  ['a{2}b{1,}c{0,3}?', 'a{2}b{1,}c{0,3}?', 'u'],
  ['a{,2}', 'a\\u{7b}\\u{2c}2\\u{7d}', 'u'],
  ['a{01}', 'a\\u{7b}01\\u{7d}', 'u'],
  ['a{', 'a\\u{7b}', 'u'],
  ['}]', '\\u{7d}\\u{5d}', 'u'],
  ['[]a-]', '[\\u{5d}a\\u{2d}]', 'u'],
  ['[^]a]', '[^\\u{5d}a]', 'u'],
  ['[\\w-a]', '[\\u{2d}a\\w]', 'u'],
  ['[a\\-z]', '[a\\u{2d}z]', 'u'],
  ['\\s\\S', '[\\u{9}-\\u{a}\\u{c}-\\u{d}\\u{20}][^\\u{9}-\\u{a}\\u{c}-\\u{d}\\u{20}]', 'u'],
  ['[\\s]', '[\\u{9}-\\u{a}\\u{c}-\\u{d}\\u{20}]', 'u'],
  ['\\d\\D\\w\\W', '\\d\\D\\w\\W', 'u'],
  ['[[:alpha:]][[:^digit:]]', '[A-Za-z][\\u{0}-\\u{2f}\\u{3a}-\\u{10ffff}]', 'u'],
  ['[[:word:][:space:]]', '[0-9A-Za-z_\\u{9}-\\u{d}\\u{20}]', 'u'],
  ['[[:alpha]', '[\\u{5b}\\u{3a}alpha]', 'u'],
  ['\\pL\\p{Lu}\\PN\\p{^Nd}', '[\\p{L}][\\p{Lu}][\\P{N}][\\P{Nd}]', 'u'],
  ['\\p{Greek}\\p{greek}\\p{Han}', '[\\p{Script=Greek}][\\p{Script=Greek}][\\p{Script=Han}]', 'u'],
  ['\\p{Letter}\\p{Uppercase_Letter}\\p{digit}', '[\\p{L}][\\p{Lu}][\\p{Nd}]', 'u'],
  ['\\p{Any}\\P{Any}', '[\\u{0}-\\u{10ffff}][]', 'u'],
  ['[\\p{Greek}\\d]', '[\\p{Script=Greek}\\d]', 'u'],
  ['\\Qa.b*\\E*', 'a\\u{2e}b\\u{2a}*', 'u'],
  ['\\101\\0\\x41\\x{1F600}\\a\\f\\t\\n\\r\\v', 'A\\u{0}A\\u{1f600}\\u{7}\\u{c}\\u{9}\\u{a}\\u{d}\\u{b}', 'u'],
  ['\\12', '\\u{a}', 'u'],
  ['a\\-b\\:c\\/d\\#', 'a\\u{2d}b\\u{3a}c\\u{2f}d\\u{23}', 'u'],
  ['(?P<first>a)(?<second>b)(c)', '(a)(b)(c)', 'u'],
  ['(?P<n>x)|(?P<n>y)', '(x)|(y)', 'u'],
  ['(a+)+', '(a+)+', 'u'],
  ['(?:a*)*b', '(?:a*)*b', 'u'],
  ['(?:(a)b)+', '(?:(a)b)+', 'u'],
  ['(a|(b))?', '(a|(b))?', 'u'],
  ['(?)a', 'a', 'u'],
  ['(?i)(?-i:1)', '(?:1)', 'u'],
  ['\\b\\B', '\\b\\B', 'u'],
  ['😀.', '\\u{1f600}[^]', 'u'],
];

/** Refused: the pattern, words of the message, whether RE2 (Go) refuses it too. */
const REFUSED: Array<[string, string, boolean]> = [
  ['(?=x)', 'lookahead', true],
  ['(?!x)', 'lookahead', true],
  ['(?<=x)', 'lookbehind', true],
  ['(?<!x)', 'lookbehind', true],
  ['(a)\\1', 'backreference "\\1"', true],
  ['(?P<n>a)(?P=n)', 'backreference (?P=name)', true],
  ['\\k<n>', 'backreferences (\\k<name>)', true],
  ['(?>a)', 'atomic group', true],
  ['a*+', 'after another', true],
  ['a++', 'after another', true],
  ['a**', 'after another', true],
  ['a{2}{3}', 'after another', true],
  ['a*??', 'after another', true],
  ['\\Z', 'RE2 has no \\Z', true],
  ['\\C', 'RE2 refuses \\C', true],
  ['\\G', 'RE2 has no \\G', true],
  ['\\uFFFF', '\\uXXXX is JavaScript syntax', true],
  ['(?x)a b', 'free-spacing', true],
  ['(?#note)a', 'comment', true],
  ["(?'n'a)", "(?'name'...)", true],
  ['(?|a)', 'branch reset', true],
  ['(?R)', 'recursion', true],
  ['(?i-)a', 'flag group', true],
  ['(?-)a', 'flag group', true],
  ['(?z)a', 'flag group', true],
  ['(?P<a-b>x)', 'named group', true],
  ['(?P<>x)', 'named group', true],
  ['*a', 'nothing to repeat', true],
  ['(|*)', 'nothing to repeat', true],
  ['a{1001}', 'counts up to 1000', true],
  ['a{3,2}', 'min <= max', true],
  ['(a{100}){100}', '1000 copies', true],
  ['((a{10}){10}){11}', '1000 copies', true],
  ['[z-a]', 'end is below the start', true],
  ['[a', 'missing "]"', true],
  ['[]', 'missing "]"', true],
  ['(a', 'missing ")"', true],
  ['a)', 'unmatched ")"', true],
  ['[[:foo:]]', 'POSIX class', true],
  ['[a-\\d]', 'invalid escape', true],
  ['[\\b]', 'backspace', true],
  ['\\8', 'backreference', true],
  ['\\x4', 'two hex digits', true],
  ['\\x{110000}', '\\x{10FFFF}', true],
  ['\\p{Klingon}', 'Unicode class', true],
  ['\\p{Old_Italic}', 'Unicode class', true],
  ['\\p{Grek}', 'Unicode class', true],
  ['\\p{L', 'missing "}"', true],
  ['a\\', 'trailing', true],
  ['\\Q(unclosed', 'without \\E', true],
  ['\\é', 'invalid escape', true],
  // RE2 accepts these; JavaScript would match them differently, so they are refused with a way out.
  ['(a|(b))+', 'capture group 2 inside a repeated group', false],
  ['(?:(a)|b)*', 'capture group 1 inside a repeated group', false],
  ['(?:(a)?b){2}', 'capture group 1 inside a repeated group', false],
  ['(a*)*', 'repetition of something that can match empty text', false],
  ['(|a)?a*', 'repetition of something that can match empty text', false],
  ['((?:.*)*?)*a', 'repetition of something that can match empty text', false],
  ['((?U:a*)*){2}', 'repetition of something that can match empty text', false],
  ['(?:a?)+(b)', 'repetition of something that can match empty text', false],
  ['(?i)a(?-i)b', '(?i) on part of the pattern', false],
  ['a(?i:b)', '(?i) on part of the pattern', false],
  ['(?i)\\bfoo', '\\b under (?i)', false],
  ['(?i)\\P{Lu}', 'negated class', false],
  ['(?i)[[:^alpha:]]', 'negated class', false],
  ['a(?i)*', 'after a flag group', false],
];

describe('RE2 translation: accepted', () => {
  for (const [pattern, source, flags] of ACCEPTED)
    test(`${JSON.stringify(pattern)} -> /${source}/${flags}`, async () => {
      const t = translateRe2(pattern);
      assert.equal(t.source, source);
      assert.equal(t.flags, flags);
      assertSameAsGo(pattern, INPUTS, await goMatch(pattern, INPUTS));
    });

  test('group numbers and names', () => {
    const t = compileRelabelRegex('(?P<first>a)(b)(?<n>c)(?P<n>d)');
    assert.equal(t.groups, 4);
    assert.deepEqual([...t.names], [['first', [1]], ['n', [3, 4]]]);
    assert.equal(t.regex.source, '^(?:(a)(b)(c)(d))$');
  });
});

describe('RE2 translation: refused', () => {
  for (const [pattern, words, re2Refuses] of REFUSED)
    test(`${JSON.stringify(pattern)}: ${words}`, async () => {
      assert.throws(() => compileRelabelRegex(pattern), (err: Error) => {
        assert.ok(err instanceof Re2Error, String(err));
        assert.ok(err.message.includes(words), err.message);
        assert.match(err.message, /at offset \d+: /);
        return true;
      });
      const go = await goMatch(pattern, ['ab']);
      assert.equal('error' in go, re2Refuses, re2Refuses ? 'RE2 refuses it too' : 'RE2 accepts it (we refuse it for JavaScript)');
    });
});

let unassignedInGo: Array<[number, number]> | null = null;
/** Code points Go's Unicode tables (15.0) leave unassigned, and old ones whose case partner is new in Unicode 16. */
async function newerThanGo(c: number): Promise<boolean> {
  unassignedInGo ??= (await oracle.ask<{ ranges: Array<[number, number]> }>({ op: 'class', pattern: '\\P{Assigned}' })).ranges;
  const unassigned = (x: number): boolean => unassignedInGo!.some(([lo, hi]) => x >= lo && x <= hi);
  const ch = String.fromCodePoint(c);
  const partners = [ch.toLowerCase(), ch.toUpperCase()].filter((x) => [...x].length === 1).map((x) => x.codePointAt(0)!);
  return c === 0x295 /* Lo -> Ll in Unicode 16 */ || unassigned(c) || partners.some(unassigned);
}

/** Every range Go gives for a class: both ends match, the code points just outside do not. */
async function assertSameClass(re2: string): Promise<void> {
  const go = await oracle.ask<{ ranges?: Array<[number, number]>; error?: string }>({ op: 'class', pattern: re2 });
  assert.ok(go.ranges, `Go: ${go.error}`);
  const { regex } = compileRelabelRegex(re2);
  const inGo = (c: number): boolean => go.ranges!.some(([lo, hi]) => c >= lo && c <= hi);
  const probes = new Set<number>();
  for (const [lo, hi] of go.ranges!) for (const c of [lo - 1, lo, hi, hi + 1]) if (c >= 0 && c <= 0x10ffff && (c < 0xd800 || c > 0xdfff)) probes.add(c);
  for (let c = 0; c < 0x3000; c += 7) probes.add(c);
  const wrong: number[] = [];
  for (const c of probes) if (regex.test(String.fromCodePoint(c)) !== inGo(c) && !(await newerThanGo(c))) wrong.push(c);
  assert.deepEqual(wrong.map((c) => `U+${c.toString(16)}`), [], `${re2} differs from Go`);
}

describe('classes match the same code points as in Go', () => {
  const classes = [
    '\\d', '\\D', '\\s', '\\S', '\\w', '\\W', '.', '(?-s:.)', '[^a]', '[\\x00-\\x{10FFFF}]', '[a-c\\d\\s]', '[^\\S\\n]',
    ...['alnum', 'alpha', 'ascii', 'blank', 'cntrl', 'digit', 'graph', 'lower', 'print', 'punct', 'space', 'upper', 'word', 'xdigit'].flatMap((n) => [`[[:${n}:]]`, `[[:^${n}:]]`]),
    ...'C Cc Cf Co Cs L Ll Lm Lo Lt Lu M Mc Me Mn N Nd Nl No P Pc Pd Pe Pf Pi Po Ps S Sc Sk Sm So Z Zl Zp Zs LC Any Assigned ASCII'.split(' ').flatMap((n) => [`\\p{${n}}`, `\\P{${n}}`]),
    '\\p{Letter}', '\\p{Other}', '\\p{Punctuation}', '\\p{Decimal_Number}', '\\p{cased letter}',
    'Arabic Armenian Bengali Braille Cherokee Common Cyrillic Devanagari Ethiopic Georgian Greek Gujarati Gurmukhi Han Hangul Hebrew Hiragana Inherited Kannada Katakana Khmer Lao Latin Malayalam Mongolian Myanmar Oriya Sinhala Tamil Telugu Thaana Thai Tibetan'.split(' ').map((n) => `\\p{${n}}`),
    '(?i)[a-z]', '(?i)\\p{Lu}', '(?i)[k]', '(?i)\\w', '(?i)\\W', '(?i)[^a-z]', '(?i)[[:upper:]]',
  ].flat();
  for (const c of classes) test(c, () => assertSameClass(c));
});

// --- random patterns -----------------------------------------------------------

const ALPHABET = ['a', 'b', 'A', 'K', 'k', 'ſ', '1', '_', '-', ' ', '\n', 'é', '😀'];
const input = fc.string({ unit: fc.constantFrom(...ALPHABET), maxLength: 6 });

const pattern: fc.Arbitrary<string> = fc.letrec<{ re: string; atom: string }>((tie) => ({
  atom: fc.oneof(
    { depthSize: 'small', withCrossShrink: true },
    fc.constantFrom('a', 'b', 'A', 'k', 'ſ', '1', '-', '\\n', 'é', '😀', '.', '\\d', '\\w', '\\W', '\\s', '\\S', '[a-c]', '[^a]', '[[:alpha:]]', '[[:^space:]]', '\\pL', '\\p{Lu}', '^', '$', '\\b', '\\B', '\\A', '\\z', '\\x{1F600}', '\\Qa.\\E'),
    tie('re').map((r) => `(?:${r})`),
    tie('re').map((r) => `(${r})`),
    tie('re').map((r) => `(?P<g>${r})`),
    fc.tuple(fc.constantFrom('i', 's', '-s', 'm', 'U', 'i-s'), tie('re')).map(([f, r]) => `(?${f}:${r})`),
  ),
  re: fc.oneof(
    { depthSize: 'small', withCrossShrink: true },
    tie('atom'),
    fc.tuple(tie('atom'), fc.constantFrom('*', '+', '?', '*?', '+?', '??', '{2}', '{1,2}', '{0,}', '{2,3}?')).map(([a, q]) => a + q),
    fc.tuple(tie('re'), tie('re')).map(([a, b]) => a + b),
    fc.tuple(tie('re'), tie('re')).map(([a, b]) => `${a}|${b}`),
  ),
})).re.chain((r) => fc.constantFrom(r, `(?i)${r}`, `(?m)${r}`));

/** RELABEL_FUZZ_RUNS=50000 for a longer search by hand. */
const RUNS = Number(process.env.RELABEL_FUZZ_RUNS ?? 3000);

/** Our refusals of patterns RE2 accepts: each names one of the JavaScript differences. */
const DELIBERATE = /inside a repeated group|can match empty text|\(\?i\) on part of the pattern|under \(\?i\)|after a flag group/;

describe('random RE2 patterns: accepted ones match and capture as Go does', () => {
  test('patterns from a grammar of RE2 constructs, on random inputs', async () => {
    let accepted = 0;
    await fc.assert(
      fc.asyncProperty(pattern, fc.array(input, { minLength: 1, maxLength: 8 }), async (p, inputs) => {
        const go = await goMatch(p, inputs);
        let ok = true;
        try {
          compileRelabelRegex(p);
        } catch (err) {
          if (!(err instanceof Re2Error)) throw err;
          ok = false;
          if (!('error' in go)) assert.match(err.message, DELIBERATE, `${JSON.stringify(p)}: RE2 accepts, we refuse: ${err.message}`);
        }
        if (ok) {
          accepted++;
          assertSameAsGo(p, inputs, go);
        }
      }),
      { numRuns: RUNS },
    );
    assert.ok(accepted > RUNS / 2, `only ${accepted} of ${RUNS} patterns were accepted`);
  });
});
