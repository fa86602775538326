// One paginated pod list: `limit` pods per page, `continue` to the next, page
// after page until the server says there is no more. A cluster-sized list
// must not hold the event loop (scrapes time out behind it): each page is
// parsed alone, and the loop gets a turn after every page and every few
// pods, so the longest stretch without one is a page's JSON.parse (about
// 10-75 ms for 500 real pods; measured in test/discovery/kubernetes/list.test.ts).
//
// A continue token outlives neither an etcd compaction nor the server's
// patience (410 Gone, reason Expired): the list then starts over from its
// first page, at once, so what it returns is one consistent snapshot, and
// the watch that follows starts from that snapshot's resourceVersion.

import { readCapped } from '../../core/body.js';
import { GoneError, type KubeApi } from './api.js';
import { isObj, str } from './json.js';

/** A list that restarts more often than this (each time a later page expires) gives up; the provider retries with backoff. */
export const MAX_LIST_RESTARTS = 3;

export interface PodListOptions {
  /** Pods per page (`limit`). */
  readonly pageSize: number;
  /** A page larger than this is refused. */
  readonly maxPageBytes: number;
  /** Pods handled between two turns of the event loop. */
  readonly podsPerTurn: number;
  /** Gives the event loop a turn (a macrotask: timers and I/O run). */
  readonly yieldTurn: () => Promise<void>;
  /** Told when a page's continue token expired and the list starts over. */
  readonly onRestart?: (why: string) => void;
}

export interface PodListResult {
  readonly resourceVersion: string;
  readonly pods: number;
  readonly pages: number;
  readonly restarts: number;
}

/** setImmediate as a promise: a macrotask, after pending I/O. */
export const nextTurn = (): Promise<void> => new Promise((resolve) => setImmediate(resolve));

/**
 * Lists every pod of `path` (with `query`: selectors) page by page. `begin`
 * is called when an attempt starts (again after a restart: what an earlier
 * attempt gathered is to be dropped) and returns what takes each pod.
 */
export async function listPods(
  api: KubeApi,
  path: string,
  query: Readonly<Record<string, string>>,
  begin: () => (pod: unknown) => void,
  o: PodListOptions,
): Promise<PodListResult> {
  let restarts = 0;
  let pages = 0;
  for (;;) {
    const take = begin();
    let cont = '';
    let rv = '';
    let pods = 0;
    try {
      for (let page = 0; page < 1_000_000; page++) {
        const res = await api.get(path, { ...query, limit: String(o.pageSize), ...(cont ? { continue: cont } : {}) }, false);
        const body = await readCapped(res.body, o.maxPageBytes);
        if (body === null) throw new Error(`a page of the pod list is larger than ${o.maxPageBytes / 1048576} MiB; lower the page size`);
        pages++;
        const doc = JSON.parse(body.toString('utf8')) as unknown;
        if (!isObj(doc) || !Array.isArray(doc.items) || !isObj(doc.metadata)) throw new Error(`GET ${path}: not a PodList`);
        const items: unknown[] = doc.items;
        for (let i = 0; i < items.length; i++) {
          if (i > 0 && i % o.podsPerTurn === 0) await o.yieldTurn();
          take(items[i]);
          pods++;
        }
        rv = str(doc.metadata, 'resourceVersion') ?? rv;
        cont = str(doc.metadata, 'continue') ?? '';
        if (!cont) break;
        await o.yieldTurn();
      }
    } catch (err) {
      // Only a later page's token can expire; a 410 on the first page is the provider's to handle.
      if (!(err instanceof GoneError) || !cont || restarts >= MAX_LIST_RESTARTS) throw err;
      restarts++;
      o.onRestart?.(err.message);
      await o.yieldTurn();
      continue;
    }
    if (!rv) throw new Error(`GET ${path}: the list has no resourceVersion`);
    return { resourceVersion: rv, pods, pages, restarts };
  }
}
