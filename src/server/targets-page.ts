// The /targets page: server-rendered HTML of one page of targets (filtered
// by service and health, see target-query.ts), with a form to filter and
// links to page. Each target's CPU flame graph is not in the page: its slot
// is filled by the page's script from /api/flame, one at a time, so a view
// costs the same whatever the profiles. Nothing is loaded from elsewhere.

import type { QueueStats } from '../output/queue.js';
import type { LastProfiles } from './last-profiles.js';
import { DEFAULT_PER_PAGE, targetsHref } from './target-query.js';
import { HEALTHS, type TargetPage, type TargetQuery, type TargetStatus, type TypeStatus } from './target-status.js';

export interface StatusSource {
  /** The targets that match, one page of them built. */
  page(q: TargetQuery): TargetPage;
  outputStats(): Record<string, QueueStats>;
  readonly lastProfiles: LastProfiles;
  /** Config file and when it was loaded, for the header. */
  about(): { configFile: string; version: string; startedAtMs: number };
  now(): number;
}

export const esc = (s: unknown) => String(s ?? '').replace(/[&<>"']/g, (c) => `&#${c.charCodeAt(0)};`);

function ago(ms: number | undefined, now: number): string {
  if (ms === undefined) return '-';
  const d = Math.round((now - ms) / 1000);
  // Within half a second either way: "now", not "0s ago" for a slot about to fire.
  return d > 0 ? `${d}s ago` : d < 0 ? `in ${-d}s` : 'now';
}

function typeRow(t: TargetStatus, s: TypeStatus, now: number): string {
  const problem = s.error ? `<div class="err">${esc(s.error.message)}</div>` : '';
  const hint = s.hint ? `<div class="hint">${esc(s.hint)}</div>` : '';
  const dl = s.profile
    ? `<a href="/api/profile?target=${encodeURIComponent(t.id)}&amp;type=${s.type}" download>${(s.profile.bytes / 1024).toFixed(1)} KiB</a>`
    : '-';
  return `<tr class="type-row health-${s.health}" data-type="${s.type}" data-health="${s.health}">
<td>${s.type}</td><td><span class="badge ${s.health}"${s.outcome ? ` title="${esc(s.outcome)}"` : ''}>${s.health}</span>${s.health === 'skipped' && s.outcome ? ` <small class="outcome">${esc(s.outcome)}</small>` : ''}${s.consecutiveFailures > 1 ? ` <small>${s.consecutiveFailures}× in a row</small>` : ''}</td>
<td>${ago(s.lastScrapeAtMs, now)}</td><td>${s.durationMs !== undefined ? `${(s.durationMs / 1000).toFixed(2)}s` : '-'}</td>
<td>${ago(s.nextScrapeAtMs, now)}</td><td>${s.samples ?? '-'}</td><td>${s.bytes ?? '-'}</td><td>${dl}</td>
<td class="problem">${problem}${hint}</td></tr>`;
}

function section(t: TargetStatus, now: number): string {
  const cpu = t.types.find((s) => s.type === 'cpu');
  // The slot names the profile it will show: /api/flame draws that one once.
  const flame = cpu?.profile
    ? `<div class="flame-slot" data-src="/api/flame?target=${encodeURIComponent(t.id)}&amp;profile=${encodeURIComponent(cpu.profile.id)}"><noscript><a href="/api/flame?target=${encodeURIComponent(t.id)}">CPU flame graph</a></noscript></div><p class="caption" data-for="${esc(t.id)}"></p>`
    : '';
  const tags = Object.entries(t.tags)
    .map(([k, v]) => `<span class="tag">${esc(k)}=${esc(v)}</span>`)
    .join(' ');
  return `<section class="target" data-target-id="${esc(t.id)}" data-service="${esc(t.service)}">
<h2>${esc(t.service)} <small>${esc(t.url)}</small></h2><p>${tags}</p>
<table><thead><tr><th>type</th><th>health</th><th>last scrape</th><th>took</th><th>next</th><th>samples</th><th>bytes</th><th>last profile</th><th>problem and what to do</th></tr></thead>
<tbody>${t.types.map((s) => typeRow(t, s, now)).join('')}</tbody></table>${flame}</section>`;
}

function filterForm(p: TargetPage, q: TargetQuery): string {
  const any = `<option value=""${q.health === undefined ? ' selected' : ''}>any (${p.total})</option>`;
  const healthOptions = any + HEALTHS.map((h) => `<option value="${h}"${q.health === h ? ' selected' : ''}>${h} (${p.targetsByHealth[h]})</option>`).join('');
  const sizes = [...new Set([10, 25, DEFAULT_PER_PAGE, 100, 250, 500, ...(Number.isFinite(q.perPage) ? [q.perPage] : [])])].sort((a, b) => a - b);
  const perPage = sizes.map((n) => `<option${n === q.perPage ? ' selected' : ''}>${n}</option>`).join('');
  const links = HEALTHS.map((h) => `<a class="health-link" data-health="${h}" href="${esc(targetsHref(q, { health: h }))}">${h} ${p.targetsByHealth[h]}</a>`).join(' · ');
  return `<form class="filter" method="get" action="/targets">
<label>service <input name="service" value="${esc(q.service ?? '')}" placeholder="part of the name"></label>
<label>health <select name="health">${healthOptions}</select></label>
<label>per page <select name="per_page">${perPage}</select></label>
<button type="submit">show</button> · targets by health: ${links} · <a href="${esc(targetsHref(q, { health: undefined, service: undefined }))}">all</a></form>`;
}

function pager(p: TargetPage, q: TargetQuery): string {
  const first = p.matched === 0 ? 0 : Number.isFinite(p.perPage) ? (p.page - 1) * p.perPage + 1 : 1;
  const last = first === 0 ? 0 : first + p.targets.length - 1;
  const link = (page: number, rel: string, text: string) =>
    page >= 1 && page <= p.pages && page !== p.page ? `<a rel="${rel}" href="${esc(targetsHref(q, { page }))}">${text}</a>` : `<span class="off">${text}</span>`;
  return `<p class="pager" data-page="${p.page}" data-pages="${p.pages}" data-matched="${p.matched}">targets ${first}–${last} of ${p.matched} shown (${p.total} in all) · ${link(1, 'first', '« first')} ${link(p.page - 1, 'prev', '‹ prev')} page ${p.page} of ${p.pages} ${link(p.page + 1, 'next', 'next ›')} ${link(p.pages, 'last', 'last »')}</p>`;
}

export function renderTargetsPage(src: StatusSource, q: TargetQuery = { page: 1, perPage: DEFAULT_PER_PAGE }): string {
  const now = src.now();
  const p = src.page(q);
  const about = src.about();
  const jobs = HEALTHS.reduce((n, h) => n + p.jobsByHealth[h], 0);
  const outputs = Object.entries(src.outputStats())
    .map(([name, o]) => `<tr><td>${esc(name)}</td><td>${o.sent}</td><td>${o.retried}</td><td>${o.dropped}</td><td>${o.depth + o.inFlight}</td></tr>`)
    .join('');
  const sections = p.targets.map((t) => section(t, now)).join('\n');
  const none = p.matched === 0 ? `<p class="none">${p.total === 0 ? 'no targets' : 'no target matches: <a href="/targets">show all</a>'}</p>` : '';
  return `<!doctype html><html lang="en"><head><meta charset="utf-8"><title>collector: targets</title>
<meta name="viewport" content="width=device-width, initial-scale=1">
<style>
body{font:14px/1.4 system-ui,sans-serif;margin:1.5em;color:#222}
table{border-collapse:collapse;margin:.5em 0 1em}th,td{border-bottom:1px solid #ddd;padding:.25em .6em;text-align:left;vertical-align:top}
.badge{padding:0 .5em;border-radius:.6em;color:#fff;font-size:12px}.badge.up{background:#2a7}.badge.down{background:#c33}.badge.skipped{background:#c80}.badge.pending{background:#888}
.err{color:#a22}.hint{color:#555;font-style:italic}.tag{background:#eef;border-radius:3px;padding:0 .3em;font-size:12px}
section.target{border-top:2px solid #ccc;padding-top:.5em}form.filter{margin:.5em 0}.pager .off{color:#aaa}
.flame{position:relative;font:11px monospace;max-width:1100px}.flame-row{position:relative;height:17px}
.frame{position:absolute;top:0;height:16px;overflow:hidden;white-space:nowrap;background:#f2a65a;border-right:1px solid #fff;box-sizing:border-box;padding:0 2px;cursor:pointer}
.frame:hover{background:#e5823a}.caption{font-family:monospace;min-height:1.2em}
</style></head><body>
<h1>Targets</h1>
<p>${esc(about.configFile)} · collector ${esc(about.version)} · up ${Math.round((now - about.startedAtMs) / 1000)}s · <b>${p.jobsByHealth.up}</b> up, <b>${p.jobsByHealth.down}</b> down, ${jobs} jobs ·
<label><input type="checkbox" id="refresh"> refresh every 10s</label> · <a href="/api/targets">JSON</a> · <a href="/metrics">metrics</a></p>
<h2>Outputs</h2><table><thead><tr><th>output</th><th>sent</th><th>retried</th><th>dropped</th><th>waiting</th></tr></thead><tbody>${outputs}</tbody></table>
${filterForm(p, q)}
${pager(p, q)}
${none}${sections}
${p.pages > 1 ? pager(p, q) : ''}
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
  var slots=document.querySelectorAll('.flame-slot[data-src]'),i=0;
  (function next(){
    var s=slots[i++];if(!s)return;
    fetch(s.getAttribute('data-src'),{credentials:'same-origin'}).then(function(r){return r.text();}).then(function(h){s.innerHTML=h;},function(){}).then(next);
  })();
})();
</script></body></html>`;
}
