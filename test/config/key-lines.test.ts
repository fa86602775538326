import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import fc from 'fast-check';
import { parse } from 'smol-toml';
import { displayPath, joinPath, locateKeys } from '../../src/config/key-lines.js';

/** Lines joined with \n: element i is line i + 1. */
const doc = (...lines: string[]): string => lines.join('\n') + '\n';

/** Asserts every path → line of `expected`, after checking the text is valid TOML. */
function assertLines(source: string, expected: Record<string, number>): void {
  parse(source); // the scanner runs on syntax-checked text only
  const kl = locateKeys(source);
  for (const [path, line] of Object.entries(expected)) {
    assert.equal(kl.lineOf(path), line, `lineOf(${path})`);
    assert.ok(kl.has(path), `has(${path})`);
  }
}

describe('locateKeys', () => {
  test('arrays of tables get indices, per parent element', () => {
    const src = doc(
      '[agent]', //                                   1
      'hostname = "a"', //                            2
      '', //                                          3
      '[[inputs.profile]]', //                        4
      '  [[inputs.profile.go]]', //                   5
      '  url = "http://127.0.0.1:6060"', //           6
      '  [[inputs.profile.go]]', //                   7
      '  url = "http://127.0.0.1:6061"', //           8
      '  interval = "10s"', //                        9
      '    [inputs.profile.go.tags]', //              10
      '    team = "payments"', //                     11
      '[[inputs.profile]]', //                        12
      '  [inputs.profile.tags]', //                   13
      '  region = "eu-1"', //                         14
      '  [[inputs.profile.go]]', //                   15
      '  url = "http://127.0.0.1:6062"', //           16
      '[[outputs.file]]', //                          17
      'dir = "x"', //                                 18
      '[[outputs.file]]', //                          19
      'dir = "y"', //                                 20
    );
    assertLines(src, {
      agent: 1,
      'agent.hostname': 2,
      inputs: 4,
      'inputs.profile': 4, // the array itself: its first element
      'inputs.profile[0]': 4,
      'inputs.profile[0].go': 5,
      'inputs.profile[0].go[0]': 5,
      'inputs.profile[0].go[0].url': 6,
      'inputs.profile[0].go[1]': 7,
      'inputs.profile[0].go[1].url': 8,
      'inputs.profile[0].go[1].interval': 9,
      'inputs.profile[0].go[1].tags': 10,
      'inputs.profile[0].go[1].tags.team': 11,
      'inputs.profile[1]': 12,
      'inputs.profile[1].tags': 13,
      'inputs.profile[1].tags.region': 14,
      'inputs.profile[1].go': 15,
      'inputs.profile[1].go[0]': 15,
      'inputs.profile[1].go[0].url': 16,
      outputs: 17,
      'outputs.file': 17,
      'outputs.file[0]': 17,
      'outputs.file[0].dir': 18,
      'outputs.file[1]': 19,
      'outputs.file[1].dir': 20,
    });
  });

  test('[[inputs.profile.go]] without a [[inputs.profile]] parent has no parent index', () => {
    const src = doc(
      '[[inputs.profile.go]]', //          1
      'url = "http://127.0.0.1:6060"', //  2
      '[inputs.profile.go.tags]', //       3
      'a = "1"', //                        4
      '[[inputs.profile.go]]', //          5
      'url = "http://127.0.0.1:6061"', //  6
    );
    assertLines(src, {
      'inputs.profile.go[0]': 1,
      'inputs.profile.go[0].url': 2,
      'inputs.profile.go[0].tags.a': 4,
      'inputs.profile.go[1]': 5,
      'inputs.profile.go[1].url': 6,
    });
    // The implicit parents take the line of the first header that made them.
    assert.equal(locateKeys(src).lineOf('inputs'), 1);
    assert.equal(locateKeys(src).lineOf('inputs.profile.go'), 1);
  });

  test('an array of tables is located at its own first header, not at an earlier sibling', () => {
    const src = doc('[[outputs.file]]', 'dir = "x"', '', '[[outputs.kafka]]', 'url = "y"', '[[outputs.kafka]]');
    assertLines(src, { 'outputs.file': 1, 'outputs.kafka': 4, 'outputs.kafka[0].url': 5, 'outputs.kafka[1]': 6 });
  });

  test('dotted keys, inline tables and quoted keys', () => {
    const src = doc(
      '[[inputs.profile.go]]', //                               1
      'url = "http://127.0.0.1:6060"', //                       2
      'tags.team = "payments"', //                              3
      '"quoted key" = 1', //                                    4
      "'literal.key' = 2", //                                   5
      'inline = { a = 1, "b c" = "x", d.e = true }', //         6
      'site."dot.ted".leaf = "v"', //                           7
      '[ inputs . "other table" ]  # spaces around dots', //    8
      'k = 1', //                                               9
      '[[ inputs . "profile" . go ]]', //                       10
      'url = "http://127.0.0.1:6061"', //                       11
    );
    assertLines(src, {
      'inputs.profile.go[0].tags': 3,
      'inputs.profile.go[0].tags.team': 3,
      'inputs.profile.go[0]."quoted key"': 4,
      'inputs.profile.go[0]."literal.key"': 5,
      'inputs.profile.go[0].inline': 6,
      'inputs.profile.go[0].inline.a': 6,
      'inputs.profile.go[0].inline."b c"': 6,
      'inputs.profile.go[0].inline.d.e': 6,
      'inputs.profile.go[0].site."dot.ted".leaf': 7,
      'inputs."other table"': 8,
      'inputs."other table".k': 9,
      'inputs.profile.go[1]': 10,
      'inputs.profile.go[1].url': 11,
    });
  });

  test('multi-line strings and arrays holding `key = value` and `[header]` text do not confuse the scanner', () => {
    const src = doc(
      '[[inputs.profile.go]]', //                              1
      'url = "http://127.0.0.1:6060" # [[inputs.profile.go]]', // 2
      'notes = """', //                                        3
      'with \\""" escaped quotes', //                          4
      'interval = "1s"', //                                    5
      '[[inputs.profile.go]] \\', //                           6 (line-ending backslash)
      '  and more"""""', //                                    7 (two quotes belong to the content)
      "raw = '''", //                                          8
      '[inputs.fake]', //                                      9
      "x = 'y'''", //                                          10
      'enabled_types = [', //                                  11
      '  "cpu",   # service = "x"', //                         12
      '  # [[inputs.profile.go]]', //                          13
      '  "heap", "a = b",', //                                 14
      '  """', //                                              15
      '[not.a.header]', //                                     16
      '""",', //                                               17
      "  '[x]',", //                                           18
      '  [ "nested", { k = "v" } ],', //                      19
      ']', //                                                  20
      'service = "s] = [x"', //                                21
      'version = \'v"1\'', //                                  22
      '[inputs.profile.go.tags]', //                           23
      'team = "p"', //                                         24
    );
    assertLines(src, {
      'inputs.profile.go[0].url': 2,
      'inputs.profile.go[0].notes': 3,
      'inputs.profile.go[0].raw': 8,
      'inputs.profile.go[0].enabled_types': 11,
      'inputs.profile.go[0].enabled_types[0]': 12,
      'inputs.profile.go[0].enabled_types[1]': 14,
      'inputs.profile.go[0].enabled_types[2]': 14,
      'inputs.profile.go[0].enabled_types[3]': 15,
      'inputs.profile.go[0].enabled_types[4]': 18,
      'inputs.profile.go[0].enabled_types[5]': 19,
      'inputs.profile.go[0].enabled_types[5][1].k': 19,
      'inputs.profile.go[0].service': 21,
      'inputs.profile.go[0].version': 22,
      'inputs.profile.go[0].tags': 23,
      'inputs.profile.go[0].tags.team': 24,
    });
    const kl = locateKeys(src);
    // Nothing inside the strings became a key or a second target.
    assert.equal(kl.has('inputs.profile.go[1]'), false);
    assert.equal(kl.has('inputs.profile.go[0].interval'), false);
    assert.equal(kl.has('inputs.fake'), false);
    assert.equal(kl.has('not.a.header'), false);
    assert.equal(kl.has('x'), false);
  });

  test('CRLF line endings count lines the same', () => {
    const src = doc('[agent]', '', 'log_level = "info"', '[[inputs.profile.go]]', 'url = "x"').replace(/\n/g, '\r\n');
    assertLines(src, { 'agent.log_level': 3, 'inputs.profile.go[0]': 4, 'inputs.profile.go[0].url': 5 });
  });

  test('lineOf falls back to the nearest written ancestor, then to line 1', () => {
    const src = doc('# top', '[[inputs.profile.go]]', 'url = "x"', '[inputs.profile.go.tags]', 'a = "b"');
    const kl = locateKeys(src);
    assert.equal(kl.lineOf('inputs.profile.go[0].interval'), 2); // not written: its block
    assert.equal(kl.lineOf('inputs.profile.go[0].tags.missing'), 4);
    assert.equal(kl.lineOf('inputs.profile.go[0].enabled_types[3]'), 2);
    assert.equal(kl.lineOf('outputs.file[0].dir'), 1);
    assert.equal(kl.has('inputs.profile.go[0].interval'), false);
  });

  test('displayPath drops indices; joinPath quotes keys that are not bare', () => {
    assert.equal(displayPath('inputs.profile[0].go[12].enabled_types[3]'), 'inputs.profile.go.enabled_types');
    assert.equal(joinPath('', 'agent'), 'agent');
    assert.equal(joinPath('a.b[0]', 'key-1_x'), 'a.b[0].key-1_x');
    assert.equal(joinPath('a', 'x y'), 'a."x y"');
    assert.equal(joinPath('a', 'x.y'), 'a."x.y"');
    assert.equal(joinPath('a', ''), 'a.""');
  });
});

// ---------------------------------------------------------------------------
// Property: random documents, every key found on the line it was written on.

interface Written {
  readonly text: string[]; // lines
  readonly keys: Array<{ path: string; line: number }>; // line relative to the first text line (0-based)
}

const segment = (k: string): string => (/^[A-Za-z0-9_-]+$/.test(k) ? k : JSON.stringify(k));

/** Strings that look like TOML structure when read line by line. */
const trickyText = fc.constantFrom('plain', 'a = b', '[x]', '[[inputs.profile.go]]', '# not a comment', 'k = "v"', "it's", 'x] = [y', '{ a = 1 }');

/** A value and the paths inside it, as lines (first line continues the `key = `). */
function valueArb(): fc.Arbitrary<(path: string) => Written> {
  const basic = trickyText.map((s) => (_p: string): Written => ({ text: [JSON.stringify(s)], keys: [] }));
  const literal = fc.constantFrom('a = b', '[x]', 'plain').map((s) => (_p: string): Written => ({ text: [`'${s}'`], keys: [] }));
  const integer = fc.integer({ min: -1000, max: 1000 }).map((n) => (_p: string): Written => ({ text: [String(n)], keys: [] }));
  const multiString = fc
    .tuple(fc.array(trickyText, { minLength: 0, maxLength: 3 }), fc.constantFrom('"""', "'''"))
    .map(([lines, q]) => (_p: string): Written => ({ text: [q, ...lines.map((l) => (q === "'''" ? l.replace(/'/g, '') : l)), q], keys: [] }));
  const inline = fc
    .uniqueArray(fc.constantFrom('a', 'b-c', 'd e', 'f.g'), { minLength: 0, maxLength: 3 })
    .map((ks) => (p: string): Written => ({
      text: [`{ ${ks.map((k) => `${/^[A-Za-z0-9_-]+$/.test(k) ? k : JSON.stringify(k)} = "[x] = y"`).join(', ')} }`],
      keys: ks.map((k) => ({ path: `${p}.${segment(k)}`, line: 0 })),
    }));
  // Multi-line array: one element per line, comments and blank lines between.
  const element = fc.oneof(
    trickyText.map((s) => ({ kind: 'el' as const, text: JSON.stringify(s) })),
    fc.constant({ kind: 'el' as const, text: '{ k = "v" }' }),
    trickyText.map((s) => ({ kind: 'filler' as const, text: `# ${s}` })),
    fc.constant({ kind: 'filler' as const, text: '' }),
  );
  const array = fc.array(element, { minLength: 0, maxLength: 5 }).map((els) => (p: string): Written => {
    const text = ['['];
    const keys: Written['keys'] = [];
    let idx = 0;
    for (const e of els) {
      if (e.kind === 'el') {
        keys.push({ path: `${p}[${idx}]`, line: text.length });
        if (e.text.startsWith('{')) keys.push({ path: `${p}[${idx}].k`, line: text.length });
        idx++;
        text.push(`  ${e.text},`);
      } else {
        text.push(`  ${e.text}`);
      }
    }
    text.push(']');
    return { text, keys };
  });
  return fc.oneof(basic, literal, integer, multiString, inline, array);
}

const filler = fc.array(
  fc.oneof(
    fc.constant(''),
    fc.constant('   '),
    trickyText.map((s) => `# ${s}`),
    trickyText.map((s) => `  ## url = "${s}"`),
  ),
  { minLength: 0, maxLength: 2 },
);

const GO_KEYS = ['url', 'interval', 'profile_duration', 'http_timeout', 'service', 'env', 'version', 'enabled_types', 'tls_open', 'x-custom', 'quoted key', 'dot.ted'];

const goBlockArb = fc.record({
  indent: fc.constantFrom('', '  ', '\t'),
  headFiller: filler,
  keys: fc.shuffledSubarray(GO_KEYS).chain((ks) => fc.tuple(...ks.map((k) => fc.tuple(fc.constant(k), valueArb(), filler)))),
  tags: fc.option(fc.uniqueArray(fc.constantFrom('team', 'region', 'a b', 'x.y'), { minLength: 0, maxLength: 3 }), { nil: undefined }),
});

const documentArb = fc.record({
  // undefined: [[inputs.profile.go]] blocks with no [[inputs.profile]] parent.
  inputs: fc.oneof(
    fc.array(goBlockArb, { minLength: 1, maxLength: 3 }).map((gos) => ({ explicit: false, list: [gos] })),
    fc.array(fc.array(goBlockArb, { minLength: 0, maxLength: 3 }), { minLength: 1, maxLength: 3 }).map((list) => ({ explicit: true, list })),
  ),
  lead: filler,
});

test('property: locateKeys(source).lineOf(path) is the line each key of a random document was written on', () => {
  fc.assert(
    fc.property(documentArb, ({ inputs, lead }) => {
      const lines: string[] = [...lead];
      const expected: Array<{ path: string; line: number }> = [];
      inputs.list.forEach((gos, j) => {
        const inputPath = inputs.explicit ? `inputs.profile[${j}]` : 'inputs.profile';
        if (inputs.explicit) {
          if (j === 0) expected.push({ path: 'inputs.profile', line: lines.length + 1 });
          expected.push({ path: inputPath, line: lines.length + 1 });
          lines.push('[[inputs.profile]]');
        }
        gos.forEach((go, i) => {
          const goPath = `${inputPath}.go[${i}]`;
          lines.push(...go.headFiller);
          if (i === 0) expected.push({ path: `${inputPath}.go`, line: lines.length + 1 });
          expected.push({ path: goPath, line: lines.length + 1 });
          lines.push(`${go.indent}[[inputs.profile.go]]`);
          for (const [key, value, after] of go.keys) {
            const keyPath = `${goPath}.${segment(key)}`;
            const v = value(keyPath);
            const first = lines.length + 1;
            expected.push({ path: keyPath, line: first });
            for (const k of v.keys) expected.push({ path: k.path, line: first + k.line });
            lines.push(`${go.indent}${segment(key)} = ${v.text[0]}`, ...v.text.slice(1));
            lines.push(...after);
          }
          if (go.tags !== undefined) {
            expected.push({ path: `${goPath}.tags`, line: lines.length + 1 });
            lines.push(`${go.indent}[inputs.profile.go.tags]`);
            for (const t of go.tags) {
              expected.push({ path: `${goPath}.tags.${segment(t)}`, line: lines.length + 1 });
              lines.push(`${go.indent}  ${segment(t)} = "v" # [x]`);
            }
          }
        });
      });
      const source = lines.join('\n') + '\n';
      parse(source); // the generator writes valid TOML only
      const kl = locateKeys(source);
      for (const { path, line } of expected) {
        assert.equal(kl.lineOf(path), line, `lineOf(${path}) in:\n${source}`);
      }
    }),
    { numRuns: 300 },
  );
});
