// The flame graph of each target's last CPU profile, drawn once per profile
// (by its id) when someone first asks for it (/api/flame, which the /targets
// page loads one at a time) and kept while it is the target's latest: a view
// of /targets never decodes a profile, and a profile nobody looks at is
// never decoded. Bounded by bytes; the least recently used go first.

import type { ProfileRecord } from '../profile/record.js';
import { buildFlameGraph, renderFlameGraph } from './flame.js';

export const FLAME_CACHE_BUDGET_BYTES = 8 * 1024 * 1024;

const esc = (s: string) => s.replace(/[&<>"']/g, (c) => `&#${c.charCodeAt(0)};`);

export class FlameCache {
  /** Profile id -> HTML and its target, least recently used first. */
  private readonly byId = new Map<string, { readonly html: string; readonly targetId: string }>();
  /** Target id -> the profile id kept for it (an older one is dropped when a newer is drawn). */
  private readonly idOfTarget = new Map<string, string>();
  private bytes = 0;
  /** Profiles drawn so far (decoded), for tests and the bench. */
  builds = 0;

  constructor(
    private readonly budgetBytes = FLAME_CACHE_BUDGET_BYTES,
    private readonly draw: (pprof: Uint8Array) => string = (pprof) => renderFlameGraph(buildFlameGraph(pprof)),
  ) {}

  /** The flame graph of a CPU profile record as HTML. */
  html(rec: ProfileRecord): string {
    const hit = this.byId.get(rec.id);
    if (hit !== undefined) {
      this.byId.delete(rec.id);
      this.byId.set(rec.id, hit);
      return hit.html;
    }
    this.builds++;
    let html: string;
    try {
      html = this.draw(rec.pprof);
    } catch (err) {
      html = `<p class="flame-empty">cannot draw this profile: ${esc((err as Error).message)}</p>`;
    }
    const older = this.idOfTarget.get(rec.targetId);
    if (older !== undefined && older !== rec.id) this.drop(older);
    this.idOfTarget.set(rec.targetId, rec.id);
    this.byId.set(rec.id, { html, targetId: rec.targetId });
    this.bytes += html.length;
    for (const id of this.byId.keys()) {
      if (this.bytes <= this.budgetBytes || id === rec.id) break;
      this.drop(id);
    }
    return html;
  }

  private drop(id: string): void {
    const e = this.byId.get(id);
    if (e === undefined) return;
    this.byId.delete(id);
    this.bytes -= e.html.length;
    if (this.idOfTarget.get(e.targetId) === id) this.idOfTarget.delete(e.targetId);
  }

  get size(): number {
    return this.byId.size;
  }
}
