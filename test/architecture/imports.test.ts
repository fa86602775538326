// The layout's rules (docs/architecture.md), read off src/: which folder may
// import which, and how long a file may be. Fails with the offending import
// or file named.
//
//   node --import tsx --test test/architecture/imports.test.ts

import assert from 'node:assert/strict';
import { readdirSync, readFileSync, statSync } from 'node:fs';
import { dirname, join, relative, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, test } from 'node:test';

const SRC = resolve(dirname(fileURLToPath(import.meta.url)), '..', '..', 'src');

/** The stages, in the order data flows; server observes them all. */
const STAGES = ['config', 'discovery', 'schedule', 'scrape', 'profile', 'output', 'server'] as const;

/** What a stage hands on: the only files of a stage another stage (or core) may import. */
const PRODUCTS = new Set(['config/types.ts', 'profile/types.ts', 'profile/record.ts', 'profile/errors.ts', 'profile/otlp/index.ts']);

const MAX_LINES = 400;
/** A longer file says why on its first line. */
const LONG_REASON = /^\/\/ Over 400 lines: \S/;

function filesUnder(dir: string): string[] {
  return readdirSync(dir).flatMap((name) => {
    const p = join(dir, name);
    return statSync(p).isDirectory() ? filesUnder(p) : /\.(ts|mjs)$/.test(name) ? [p] : [];
  });
}

interface Import {
  readonly from: string;
  /** The imported file, relative to src/ ('' when outside src/ or a package). */
  readonly to: string;
}

const SPEC = /(?:\bfrom\s+|\bimport\(\s*|^\s*import\s+)(['"])(\.{1,2}\/[^'"]+)\1/gm;

function importsOf(file: string): Import[] {
  const text = readFileSync(file, 'utf8');
  const out: Import[] = [];
  for (const m of text.matchAll(SPEC)) {
    const target = resolve(dirname(file), m[2]!.replace(/\.js$/, '.ts'));
    const to = relative(SRC, target);
    out.push({ from: relative(SRC, file), to: to.startsWith('..') ? '' : to });
  }
  return out;
}

/** 'config' for config/x.ts, 'core' for core/x.ts, '' for a top-level file (the wiring). */
function folderOf(path: string): string {
  const i = path.indexOf('/');
  return i < 0 ? '' : path.slice(0, i);
}

const files = filesUnder(SRC);
const imports = files.flatMap(importsOf).filter((i) => i.to !== '');

describe('the layout of src/', () => {
  test('every product named above is a file of src/ (a move must update the list)', () => {
    assert.deepEqual([...PRODUCTS].filter((p) => !files.includes(join(SRC, p))), []);
  });

  test('nothing imports the command line (src/cli.ts)', () => {
    assert.deepEqual(imports.filter((i) => i.to === 'cli.ts'), []);
  });

  test('core/ and the stages import no top-level file (the wiring imports them, not the other way round)', () => {
    assert.deepEqual(imports.filter((i) => folderOf(i.from) !== '' && folderOf(i.to) === ''), []);
  });

  test('output/ imports neither schedule/ nor scrape/', () => {
    assert.deepEqual(imports.filter((i) => folderOf(i.from) === 'output' && ['schedule', 'scrape'].includes(folderOf(i.to))), []);
  });

  test('core/ imports only core/ and the stages\' products', () => {
    const bad = imports.filter((i) => folderOf(i.from) === 'core' && folderOf(i.to) !== 'core' && !PRODUCTS.has(i.to));
    assert.deepEqual(bad, []);
  });

  test('a stage imports from another stage only its products (shared helpers live in core/); server/ observes them all', () => {
    const bad = imports.filter((i) => {
      const from = folderOf(i.from);
      const to = folderOf(i.to);
      if (!(STAGES as readonly string[]).includes(from) || from === 'server') return false;
      return (STAGES as readonly string[]).includes(to) && to !== from && !PRODUCTS.has(i.to);
    });
    assert.deepEqual(bad, []);
  });

  test(`no file over ${MAX_LINES} lines without a one-line reason at its top`, () => {
    const long = files
      .map((f) => ({ file: relative(SRC, f), text: readFileSync(f, 'utf8') }))
      .filter(({ text }) => text.split('\n').length - (text.endsWith('\n') ? 1 : 0) > MAX_LINES && !LONG_REASON.test(text))
      .map(({ file }) => file);
    assert.deepEqual(long, []);
  });
});
