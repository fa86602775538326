// The Datadog sites an [[outputs.datadog]] `site` may name, and the
// agentless profile intake of each, as dd-trace-go builds it
// (profiler/options.go: https://intake.profile.<site>/v1/input).
//
// The API key goes to that host, so a site must be one of Datadog's own
// domains: a typo (`datadoghq.con`) is an error, not a request to whoever
// owns that name. A new region of those domains is accepted with a notice.

/** The sites Datadog lists (docs.datadoghq.com/getting_started/site). */
export const DATADOG_SITES: readonly string[] = [
  'datadoghq.com',
  'us3.datadoghq.com',
  'us5.datadoghq.com',
  'datadoghq.eu',
  'ap1.datadoghq.com',
  'ap2.datadoghq.com',
  'ddog-gov.com',
  'us2.ddog-gov.com',
];

/** The domains every Datadog site is, or is a region of. */
export const DATADOG_DOMAINS: readonly string[] = ['datadoghq.com', 'datadoghq.eu', 'ddog-gov.com'];

/** The agentless intake of a site, as dd-trace-go builds it. */
export function datadogIntakeUrl(site: string): string {
  return `https://intake.profile.${site}/v1/input`;
}

/** 'known', 'region' (a host name under a Datadog domain, not in the list), or 'foreign'. */
export function datadogSiteKind(site: string): 'known' | 'region' | 'foreign' {
  if (DATADOG_SITES.includes(site)) return 'known';
  const label = /^[a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?$/;
  for (const d of DATADOG_DOMAINS) {
    if (!site.endsWith(`.${d}`)) continue;
    const sub = site.slice(0, -d.length - 1).split('.');
    if (sub.every((l) => label.test(l))) return 'region';
  }
  return 'foreign';
}
