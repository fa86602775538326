// smol-toml tells the line of a syntax error but not where each key stands.
// Error messages must say `FILE:LINE: key.path`, so this scanner walks the
// (already syntax-checked) source once and records the line of every key and
// table header. Paths use the shape the validator walks: `a.b[0].c`, with
// `[i]` after each array-of-tables element and array element.

export class KeyLines {
  constructor(private readonly lines: ReadonlyMap<string, number>) {}

  /** The line of `path`, or of its nearest ancestor that has one. */
  lineOf(path: string): number {
    let p = path;
    for (;;) {
      const line = this.lines.get(p);
      if (line !== undefined) return line;
      const cut = Math.max(p.lastIndexOf('.'), p.lastIndexOf('['));
      if (cut <= 0) return 1;
      p = p.slice(0, cut);
    }
  }

  /** Whether the path itself (not an ancestor) is written in the file. */
  has(path: string): boolean {
    return this.lines.has(path);
  }
}

/** `a[0].b[2].c` → `a.b.c`: what a user reads in a message. */
export function displayPath(path: string): string {
  return path.replace(/\[\d+\]/g, '');
}

export function joinPath(base: string, key: string): string {
  const seg = /^[A-Za-z0-9_-]+$/.test(key) ? key : JSON.stringify(key);
  return base === '' ? seg : `${base}.${seg}`;
}

/**
 * Key segments recorded per key or header. The validator reads a few levels
 * deep only; recording every prefix of `[a.a.a…]` thousands of keys long
 * made the scan quadratic (seconds for a few hundred KB). Deeper segments
 * are still read past, just not recorded: a lookup falls back to the
 * deepest recorded ancestor.
 */
const MAX_RECORDED_DEPTH = 32;

export function locateKeys(source: string): KeyLines {
  const lines = new Map<string, number>();
  const arrayCounts = new Map<string, number>();
  const src = source;
  let i = 0;
  let line = 1;
  let table = '';

  const peek = (n = 0) => src[i + n];
  const startsWith = (s: string) => src.startsWith(s, i);
  const record = (path: string, at: number) => {
    if (!lines.has(path)) lines.set(path, at);
  };

  function skipSpaces(): void {
    while (i < src.length && (src[i] === ' ' || src[i] === '\t')) i++;
  }

  function skipBlank(): void {
    while (i < src.length) {
      const c = src[i];
      if (c === ' ' || c === '\t' || c === '\r') i++;
      else if (c === '\n') {
        line++;
        i++;
      } else if (c === '#') {
        while (i < src.length && src[i] !== '\n') i++;
      } else break;
    }
  }

  function readQuoted(quote: string): string {
    // Single-line basic ("...", with escapes) or literal ('...') string.
    i++;
    let out = '';
    while (i < src.length && src[i] !== quote && src[i] !== '\n') {
      if (quote === '"' && src[i] === '\\') {
        out += src[i + 1] ?? '';
        i += 2;
        continue;
      }
      out += src[i];
      i++;
    }
    i++;
    return out;
  }

  function readKey(): string[] {
    const segs: string[] = [];
    for (;;) {
      skipSpaces();
      const c = peek();
      if (c === '"' || c === "'") segs.push(readQuoted(c));
      else {
        const start = i;
        while (i < src.length && /[A-Za-z0-9_-]/.test(src[i]!)) i++;
        segs.push(src.slice(start, i));
      }
      skipSpaces();
      if (peek() === '.') {
        i++;
        continue;
      }
      return segs;
    }
  }

  function skipMultiline(delim: string): void {
    i += 3;
    while (i < src.length && !startsWith(delim)) {
      if (src[i] === '\n') line++;
      if (delim === '"""' && src[i] === '\\') {
        if (src[i + 1] === '\n') line++;
        i += 2;
        continue;
      }
      i++;
    }
    i += 3;
    // Up to two quotes right before the closing delimiter belong to the content.
    for (let k = 0; k < 2 && src[i] === delim[0]; k++) i++;
  }

  function skipValue(path: string): void {
    skipSpaces();
    if (startsWith('"""') || startsWith("'''")) return skipMultiline(src.slice(i, i + 3));
    const c = peek();
    if (c === '"' || c === "'") {
      readQuoted(c);
      return;
    }
    if (c === '[') {
      i++;
      let idx = 0;
      for (;;) {
        skipBlank();
        if (i >= src.length) return;
        if (peek() === ']') {
          i++;
          return;
        }
        const start = i;
        record(`${path}[${idx}]`, line);
        skipValue(`${path}[${idx}]`);
        idx++;
        skipBlank();
        if (peek() === ',') i++;
        else if (i === start) i++; // never loop in place on text not understood here
      }
    }
    if (c === '{') {
      // TOML 1.1 (which smol-toml reads) lets an inline table span lines,
      // with comments and a trailing comma.
      i++;
      for (;;) {
        skipBlank();
        if (i >= src.length) return;
        if (peek() === '}') {
          i++;
          return;
        }
        const start = i;
        keyValue(path);
        skipBlank();
        if (peek() === ',') i++;
        else if (i === start) i++;
      }
    }
    while (i < src.length && !',]}\n#'.includes(src[i]!)) i++;
  }

  /** `a.b = value` under `base`: records a, a.b at this line, then skips the value. */
  function keyValue(base: string): void {
    const at = line;
    let p = base;
    for (const s of readKey().slice(0, MAX_RECORDED_DEPTH)) {
      p = joinPath(p, s);
      record(p, at);
    }
    skipSpaces();
    if (peek() === '=') i++;
    skipValue(p);
  }

  function resolveHeader(segs: string[], isArray: boolean): string {
    let resolved = '';
    segs.forEach((seg, k) => {
      resolved = joinPath(resolved, seg);
      const last = k === segs.length - 1;
      if (last && isArray) {
        const n = (arrayCounts.get(resolved) ?? 0) + 1;
        arrayCounts.set(resolved, n);
        resolved = `${resolved}[${n - 1}]`;
      } else {
        const n = arrayCounts.get(resolved);
        if (n !== undefined) resolved = `${resolved}[${n - 1}]`;
      }
    });
    return resolved;
  }

  while (i < src.length) {
    skipBlank();
    if (i >= src.length) break;
    const at = line;
    if (peek() === '[') {
      const isArray = peek(1) === '[';
      i += isArray ? 2 : 1;
      const segs = readKey();
      i += isArray ? 2 : 1;
      table = resolveHeader(segs.slice(0, MAX_RECORDED_DEPTH), isArray && segs.length <= MAX_RECORDED_DEPTH);
      record(table, at);
      // Implicit parents written only through this header get its line too,
      // and so does the array itself of [[a.b]] (`a.b` as well as `a.b[0]`).
      let parent = table;
      for (;;) {
        const cut = Math.max(parent.lastIndexOf('.'), parent.lastIndexOf('['));
        if (cut <= 0) break;
        parent = parent.slice(0, cut);
        record(parent, at);
      }
      continue;
    }
    keyValue(table);
    // Whatever is left on the line (a trailing comment) is skipped by skipBlank.
    while (i < src.length && src[i] !== '\n' && src[i] !== '#') i++;
  }
  return new KeyLines(lines);
}
