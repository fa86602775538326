// Reads the table `collector --once` prints (src/once.ts renderOnceTable).

import assert from 'node:assert/strict';

export const HEADER = ['TARGET', 'TYPE', 'RESULT', 'SAMPLES', 'BYTES', 'DELIVERED', 'ERROR / HINT'];

export interface Row {
  readonly target: string;
  readonly type: string;
  readonly result: string;
  readonly samples: string;
  readonly bytes: string;
  readonly delivered: string;
  readonly problem: string;
  readonly line: string;
}

/**
 * Reads the table by its header: every column but the last starts where its
 * header starts (the columns are padded to the widest cell).
 */
export function parseTable(stdout: string): { rows: Row[]; summary: string } {
  const lines = stdout.split('\n');
  const h = lines.findIndex((l) => l.startsWith('TARGET'));
  assert.ok(h >= 0, `no table header in:\n${stdout}`);
  const header = lines[h]!;
  const starts = HEADER.map((name) => header.indexOf(name));
  assert.ok(starts.every((s, i) => s >= 0 && (i === 0 || s > starts[i - 1]!)), `header columns in order: ${header}`);
  const rows: Row[] = [];
  let i = h + 1;
  for (; i < lines.length && lines[i]!.startsWith('http'); i++) {
    const l = lines[i]!;
    const cell = (k: number) => (k === starts.length - 1 ? l.slice(starts[k]) : l.slice(starts[k], starts[k + 1])).trim();
    rows.push({ target: cell(0), type: cell(1), result: cell(2), samples: cell(3), bytes: cell(4), delivered: cell(5), problem: cell(6), line: l });
  }
  return { rows, summary: lines.slice(i).join('\n').trim() };
}
