// The query string of /targets and /api/targets: service (part of the name),
// health (down, skipped, pending, up), page and per_page; and the links that
// keep a query while changing one part of it.

import { HEALTHS, type Health, type TargetQuery } from './target-status.js';

/** /targets shows this many targets a page unless per_page says otherwise. */
export const DEFAULT_PER_PAGE = 50;
export const MAX_PER_PAGE = 1000;
const MAX_SERVICE_CHARS = 200;

/** The query, or what is wrong with it (for a 400). `perPage` is the default when per_page is absent. */
export function parseTargetQuery(params: URLSearchParams, perPage: number): TargetQuery | { error: string } {
  const service = (params.get('service') ?? '').trim();
  if (service.length > MAX_SERVICE_CHARS) return { error: `service: at most ${MAX_SERVICE_CHARS} characters` };
  const health = params.get('health') ?? '';
  if (health !== '' && !(HEALTHS as readonly string[]).includes(health)) return { error: `health must be one of ${HEALTHS.join(', ')} (or empty for any), got "${health.slice(0, 40)}"` };
  const page = whole(params.get('page'), 1, Number.MAX_SAFE_INTEGER);
  if (page === null) return { error: 'page must be a whole number from 1' };
  const per = whole(params.get('per_page'), 1, MAX_PER_PAGE);
  if (per === null) return { error: `per_page must be a whole number from 1 to ${MAX_PER_PAGE}` };
  return {
    ...(service !== '' ? { service } : {}),
    ...(health !== '' ? { health: health as Health } : {}),
    page: page ?? 1,
    perPage: per ?? perPage,
  };
}

/** undefined when absent or empty, null when not a whole number in range. */
function whole(v: string | null, min: number, max: number): number | undefined | null {
  if (v === null || v === '') return undefined;
  if (!/^\d{1,16}$/.test(v)) return null;
  const n = Number(v);
  return n >= min && n <= max ? n : null;
}

/** /targets with `q` changed by `change` (page back to 1 unless given); only what differs from the defaults is written. */
export function targetsHref(q: TargetQuery, change: Partial<{ service: string | undefined; health: Health | undefined; page: number; perPage: number }>): string {
  const next = { service: q.service, health: q.health, perPage: q.perPage, page: 1, ...change };
  const p = new URLSearchParams();
  if (next.service) p.set('service', next.service);
  if (next.health) p.set('health', next.health);
  if (next.perPage !== DEFAULT_PER_PAGE && Number.isFinite(next.perPage)) p.set('per_page', String(next.perPage));
  if (next.page > 1) p.set('page', String(next.page));
  const s = p.toString();
  return s ? `/targets?${s}` : '/targets';
}
