// /targets (HTML), /api/targets (JSON) and /api/profile (the last shipped
// profile of a target and type, for download). Server-rendered; the page's
// only script is a few lines for auto-refresh and frame details, and it
// loads nothing from the network.

import type { IncomingMessage, ServerResponse } from 'node:http';
import type { TargetStatus, TypeStatus } from './target-status.js';
import type { QueueStats } from '../output/queue.js';
import { PROFILE_TYPES, isProfileTypeName } from '../profile/types.js';
import { buildFlameGraph, renderFlameGraph } from './flame.js';
import type { Route } from './http.js';
import type { LastProfiles } from './last-profiles.js';

export interface StatusSource {
  status(): TargetStatus[];
  outputStats(): Record<string, QueueStats>;
  readonly lastProfiles: LastProfiles;
  /** Config file and when it was loaded, for the header. */
  about(): { configFile: string; version: string; startedAtMs: number };
  now(): number;
}

const esc = (s: unknown) => String(s ?? '').replace(/[&<>"']/g, (c) => `&#${c.charCodeAt(0)};`);

function ago(ms: number | undefined, now: number): string {
  if (ms === undefined) return '-';
  const d = Math.round((now - ms) / 1000);
  // Within half a second either way: "now", not "0s ago" for a slot about to fire.
  return d > 0 ? `${d}s ago` : d < 0 ? `in ${-d}s` : 'now';
}

/** Flame graphs are computed once per profile id. */
const flameCache = new Map<string, string>();
function flameHtml(id: string, pprof: Uint8Array): string {
  let html = flameCache.get(id);
  if (html === undefined) {
    try {
      html = renderFlameGraph(buildFlameGraph(pprof));
    } catch (err) {
      html = `<p class="flame-empty">cannot draw this profile: ${esc((err as Error).message)}</p>`;
    }
    if (flameCache.size > 256) flameCache.clear();
    flameCache.set(id, html);
  }
  return html;
}

function typeRow(t: TargetStatus, s: TypeStatus, now: number): string {
  const problem = s.error ? `<div class="err">${esc(s.error.message)}</div>` : '';
  const hint = s.hint ? `<div class="hint">${esc(s.hint)}</div>` : '';
  const dl = s.profile
    ? `<a href="/api/profile?target=${encodeURIComponent(t.id)}&amp;type=${s.type}" download>${(s.profile.bytes / 1024).toFixed(1)} KiB</a>`
    : '-';
  return `<tr class="type-row health-${s.health}" data-type="${s.type}" data-health="${s.health}">
<td>${s.type}</td><td><span class="badge ${s.health}">${s.health}</span>${s.consecutiveFailures > 1 ? ` <small>${s.consecutiveFailures}× in a row</small>` : ''}</td>
<td>${ago(s.lastScrapeAtMs, now)}</td><td>${s.durationMs !== undefined ? `${(s.durationMs / 1000).toFixed(2)}s` : '-'}</td>
<td>${ago(s.nextScrapeAtMs, now)}</td><td>${s.samples ?? '-'}</td><td>${s.bytes ?? '-'}</td><td>${dl}</td>
<td class="problem">${problem}${hint}</td></tr>`;
}

export function renderTargetsPage(src: StatusSource): string {
  const now = src.now();
  const targets = src.status();
  const about = src.about();
  const all = targets.flatMap((t) => t.types);
  const up = all.filter((s) => s.health === 'up').length;
  const down = all.filter((s) => s.health === 'down').length;
  const outputs = Object.entries(src.outputStats())
    .map(([name, q]) => `<tr><td>${esc(name)}</td><td>${q.sent}</td><td>${q.retried}</td><td>${q.dropped}</td><td>${q.depth + q.inFlight}</td></tr>`)
    .join('');
  const sections = targets
    .map((t) => {
      const cpu = t.types.find((s) => s.type === 'cpu');
      const rec = cpu?.profile ? src.lastProfiles.get(t.id, 'cpu') : undefined;
      const flame = rec
        ? `<h3>CPU, last profile <small>(${esc(new Date(Number(rec.endNs / 1_000_000n)).toISOString())}, click a frame)</small></h3>${flameHtml(rec.id, rec.pprof)}<p class="caption" data-for="${esc(t.id)}"></p>`
        : '';
      const tags = Object.entries(t.tags)
        .map(([k, v]) => `<span class="tag">${esc(k)}=${esc(v)}</span>`)
        .join(' ');
      return `<section class="target" data-target-id="${esc(t.id)}" data-service="${esc(t.service)}">
<h2>${esc(t.service)} <small>${esc(t.url)}</small></h2><p>${tags}</p>
<table><thead><tr><th>type</th><th>health</th><th>last scrape</th><th>took</th><th>next</th><th>samples</th><th>bytes</th><th>last profile</th><th>problem and what to do</th></tr></thead>
<tbody>${t.types.map((s) => typeRow(t, s, now)).join('')}</tbody></table>${flame}</section>`;
    })
    .join('\n');
  return `<!doctype html><html lang="en"><head><meta charset="utf-8"><title>collector: targets</title>
<meta name="viewport" content="width=device-width, initial-scale=1">
<style>
body{font:14px/1.4 system-ui,sans-serif;margin:1.5em;color:#222}
table{border-collapse:collapse;margin:.5em 0 1em}th,td{border-bottom:1px solid #ddd;padding:.25em .6em;text-align:left;vertical-align:top}
.badge{padding:0 .5em;border-radius:.6em;color:#fff;font-size:12px}.badge.up{background:#2a7}.badge.down{background:#c33}.badge.skipped{background:#c80}.badge.pending{background:#888}
.err{color:#a22}.hint{color:#555;font-style:italic}.tag{background:#eef;border-radius:3px;padding:0 .3em;font-size:12px}
section.target{border-top:2px solid #ccc;padding-top:.5em}
.flame{position:relative;font:11px monospace;max-width:1100px}.flame-row{position:relative;height:17px}
.frame{position:absolute;top:0;height:16px;overflow:hidden;white-space:nowrap;background:#f2a65a;border-right:1px solid #fff;box-sizing:border-box;padding:0 2px;cursor:pointer}
.frame:hover{background:#e5823a}.caption{font-family:monospace;min-height:1.2em}
</style></head><body>
<h1>Targets</h1>
<p>${esc(about.configFile)} · collector ${esc(about.version)} · up ${Math.round((now - about.startedAtMs) / 1000)}s · <b>${up}</b> up, <b>${down}</b> down, ${all.length} jobs ·
<label><input type="checkbox" id="refresh"> refresh every 10s</label> · <a href="/api/targets">JSON</a> · <a href="/metrics">metrics</a></p>
<h2>Outputs</h2><table><thead><tr><th>output</th><th>sent</th><th>retried</th><th>dropped</th><th>waiting</th></tr></thead><tbody>${outputs}</tbody></table>
${sections}
<script>
(function(){
  var box=document.getElementById('refresh');
  box.checked=location.hash==='#refresh';
  box.addEventListener('change',function(){location.hash=box.checked?'refresh':'';});
  setInterval(function(){if(box.checked)location.reload();},10000);
  document.addEventListener('click',function(e){
    var f=e.target.closest&&e.target.closest('.frame');if(!f)return;
    var sec=f.closest('section');var cap=sec&&sec.querySelector('.caption');
    if(cap)cap.textContent=f.getAttribute('data-name')+' — '+f.getAttribute('data-share')+'% of CPU time';
  });
})();
</script></body></html>`;
}

export function statusRoutes(src: StatusSource): Record<string, Route> {
  return {
    '/targets': (_req: IncomingMessage, res: ServerResponse) => {
      res.writeHead(200, { 'content-type': 'text/html; charset=utf-8', 'cache-control': 'no-store' }).end(renderTargetsPage(src));
    },
    '/': (_req, res) => {
      res.writeHead(302, { location: '/targets' }).end();
    },
    '/api/targets': (_req, res) => {
      const body = JSON.stringify({ targets: src.status(), outputs: src.outputStats(), about: src.about() }, null, 2);
      res.writeHead(200, { 'content-type': 'application/json; charset=utf-8', 'cache-control': 'no-store' }).end(body);
    },
    '/api/profile': (_req, res, url) => {
      const id = url.searchParams.get('target') ?? '';
      const type = url.searchParams.get('type') ?? '';
      const rec = isProfileTypeName(type) ? src.lastProfiles.get(id, type) : undefined;
      if (!rec) {
        res.writeHead(404, { 'content-type': 'text/plain; charset=utf-8' }).end('no profile kept for this target and type\n');
        return;
      }
      const name = `${rec.service.replace(/[^A-Za-z0-9._-]/g, '_')}-${PROFILE_TYPES[rec.type].name}-${rec.id}.pb.gz`;
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
