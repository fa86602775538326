// A flame graph of a CPU profile, computed from the profile itself (no
// backend needed) and rendered as plain HTML: one row per stack depth, each
// frame a box as wide as its share of the CPU time.

import { gunzipSync } from 'node:zlib';
import { Profile } from 'pprof-format';
import { int64, uint } from '../profile/codec.js';

export interface FlameNode {
  readonly name: string;
  value: number;
  readonly children: Map<string, FlameNode>;
}

export interface FlameGraph {
  readonly root: FlameNode;
  readonly total: number;
  /** What the widths measure, e.g. "cpu nanoseconds". */
  readonly unit: string;
}

/** Builds the call tree (root first) from a gzipped or raw CPU profile. */
export function buildFlameGraph(pprof: Uint8Array): FlameGraph {
  const raw = pprof[0] === 0x1f && pprof[1] === 0x8b ? gunzipSync(pprof) : pprof;
  const p = Profile.decode(raw);
  const strings = p.stringTable.strings;
  const types = p.sampleType.map((st) => `${strings[uint(st.type)] ?? ''} ${strings[uint(st.unit)] ?? ''}`.trim());
  // CPU time when there is one (Go: samples/count, cpu/nanoseconds), else the last type.
  let idx = types.findIndex((t) => t.startsWith('cpu '));
  if (idx < 0) idx = types.length - 1;
  const fnName = new Map<number, string>();
  for (const f of p.function) fnName.set(uint(f.id), strings[uint(f.name)] ?? '?');
  const locFrames = new Map<number, string[]>();
  for (const loc of p.location) {
    // line[0] is the innermost inlined frame; callers come after it.
    const frames = loc.line.map((l) => fnName.get(uint(l.functionId)) ?? '?').reverse();
    locFrames.set(uint(loc.id), frames.length > 0 ? frames : [`0x${BigInt.asUintN(64, BigInt(loc.address)).toString(16)}`]);
  }
  const root: FlameNode = { name: 'all', value: 0, children: new Map() };
  for (const s of p.sample) {
    const v = Number(int64(s.value[idx] ?? 0));
    if (v <= 0) continue;
    root.value += v;
    let node = root;
    // location_id[0] is the leaf: walk from the root end.
    for (let i = s.locationId.length - 1; i >= 0; i--) {
      for (const name of locFrames.get(uint(s.locationId[i]!)) ?? ['?']) {
        let child = node.children.get(name);
        if (!child) node.children.set(name, (child = { name, value: 0, children: new Map() }));
        child.value += v;
        node = child;
      }
    }
  }
  return { root, total: root.value, unit: types[idx] ?? '' };
}

const esc = (s: string) => s.replace(/[&<>"']/g, (c) => `&#${c.charCodeAt(0)};`);

/** The graph as HTML boxes; frames under `minShare` of the total are left out. */
export function renderFlameGraph(g: FlameGraph, opts: { minShare?: number; maxDepth?: number } = {}): string {
  if (g.total <= 0) return '<p class="flame-empty">no CPU samples in this profile</p>';
  const minShare = opts.minShare ?? 0.005;
  const maxDepth = opts.maxDepth ?? 48;
  const rows: string[][] = [];
  const walk = (node: FlameNode, depth: number, left: number) => {
    if (depth > maxDepth) return;
    const share = node.value / g.total;
    if (share < minShare) return;
    (rows[depth] ??= []).push(
      `<div class="frame" style="left:${(left * 100).toFixed(3)}%;width:${(share * 100).toFixed(3)}%" title="${esc(node.name)} ${(share * 100).toFixed(1)}%" data-name="${esc(node.name)}" data-share="${(share * 100).toFixed(1)}">${share > 0.04 ? esc(node.name) : ''}</div>`,
    );
    let x = left;
    const kids = [...node.children.values()].sort((a, b) => (a.name < b.name ? -1 : 1));
    for (const c of kids) {
      walk(c, depth + 1, x);
      x += c.value / g.total;
    }
  };
  walk(g.root, 0, 0);
  return `<div class="flame" data-unit="${esc(g.unit)}">${rows.map((r, i) => `<div class="flame-row" data-depth="${i}">${r.join('')}</div>`).join('')}</div>`;
}
