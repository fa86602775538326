// The collector's version (package.json), and how it names itself to
// targets and backends.

import { readFileSync } from 'node:fs';

export const VERSION: string = (JSON.parse(readFileSync(new URL('../../package.json', import.meta.url), 'utf8')) as { version: string }).version;

/** The User-Agent of every scrape and upload. */
export const USER_AGENT = `pprof-pull-collector/${VERSION}`;
