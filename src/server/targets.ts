// The status routes: /targets (HTML, targets-page.ts), /api/targets (JSON),
// /api/flame (a target's last CPU profile as a flame graph, drawn once per
// profile) and /api/profile (the last shipped profile of a target and type,
// for download). /targets and /api/targets take the same query (service,
// health, page, per_page: target-query.ts); /api/targets without one lists all.

import type { ServerResponse } from 'node:http';
import { FlameCache } from './flame-cache.js';
import type { Route } from './http.js';
import { DEFAULT_PER_PAGE, parseTargetQuery } from './target-query.js';
import { esc, renderTargetsPage, type StatusSource } from './targets-page.js';

export { renderTargetsPage, type StatusSource } from './targets-page.js';

const TEXT = 'text/plain; charset=utf-8';

function badQuery(res: ServerResponse, error: string): void {
  res.writeHead(400, { 'content-type': TEXT }).end(`${error}\n`);
}

export function statusRoutes(src: StatusSource, flames = new FlameCache()): Record<string, Route> {
  return {
    '/targets': (_req, res, url) => {
      const q = parseTargetQuery(url.searchParams, DEFAULT_PER_PAGE);
      if ('error' in q) return badQuery(res, q.error);
      res.writeHead(200, { 'content-type': 'text/html; charset=utf-8', 'cache-control': 'no-store' }).end(renderTargetsPage(src, q));
    },
    '/': (_req, res) => {
      res.writeHead(302, { location: '/targets' }).end();
    },
    '/api/targets': (_req, res, url) => {
      const q = parseTargetQuery(url.searchParams, Infinity);
      if ('error' in q) return badQuery(res, q.error);
      const p = src.page(q);
      const paging = { matched: p.matched, total: p.total, page: p.page, pages: p.pages, ...(Number.isFinite(p.perPage) ? { perPage: p.perPage } : {}) };
      const body = JSON.stringify({ targets: p.targets, ...paging, outputs: src.outputStats(), about: src.about() }, null, 2);
      res.writeHead(200, { 'content-type': 'application/json; charset=utf-8', 'cache-control': 'no-store' }).end(body);
    },
    '/api/flame': (_req, res, url) => {
      const rec = src.lastProfiles.get(url.searchParams.get('target') ?? '', 'cpu');
      if (!rec) {
        res.writeHead(404, { 'content-type': 'text/html; charset=utf-8' }).end('<p class="flame-empty">no CPU profile is kept for this target</p>');
        return;
      }
      const when = new Date(Number(rec.endNs / 1_000_000n)).toISOString();
      const html = `<h3>CPU, last profile <small>(${esc(when)}, click a frame)</small></h3>${flames.html(rec)}`;
      res.writeHead(200, { 'content-type': 'text/html; charset=utf-8', 'cache-control': 'no-store' }).end(html);
    },
    '/api/profile': (_req, res, url) => {
      const id = url.searchParams.get('target') ?? '';
      const type = url.searchParams.get('type') ?? '';
      const rec = src.lastProfiles.get(id, type);
      if (!rec) {
        res.writeHead(404, { 'content-type': TEXT }).end('no profile kept for this target and type\n');
        return;
      }
      const name = `${rec.service.replace(/[^A-Za-z0-9._-]/g, '_')}-${rec.type}-${rec.id}.pb.gz`;
      res
        .writeHead(200, {
          'content-type': 'application/octet-stream',
          'content-disposition': `attachment; filename="${name}"`,
          'content-length': String(rec.pprof.length),
        })
        .end(rec.pprof);
    },
  };
}
