// Who may read the status server ([agent.web]): basic auth users with bcrypt
// hashes (as in Prometheus's basic_auth_users) and/or a bearer token.
//
// A bcrypt check costs about 60 ms of this (main) thread at cost 10, so:
// a user and password that passed once are remembered (a scrape every few
// seconds costs a hash lookup, not a bcrypt); checks run one at a time; and
// at most a few unremembered checks a second are made (a password guesser
// gets 429, the scrape schedule keeps its thread). An unknown user is
// checked against a hash too, so timing does not tell which users exist.

import { createHash, randomBytes, timingSafeEqual } from 'node:crypto';
import bcrypt from 'bcryptjs';
import type { WebConfig } from '../config/types.js';

export type AuthResult = 'ok' | 'unauthorized' | 'throttled';

export interface WebAuthOptions {
  /** Milliseconds, for the rate of bcrypt checks. */
  readonly now?: () => number;
  /** bcrypt's compare; a test counts the calls. */
  readonly compare?: (password: string, hash: string) => Promise<boolean>;
  /** Unremembered checks allowed at once (burst) and added back per second. */
  readonly burst?: number;
  readonly perSecond?: number;
}

/** Remembered successes; past this many, forgotten all at once (a leak would need that many passwords that work). */
const CACHE_MAX = 1024;

const sha256 = (s: string) => createHash('sha256').update(s).digest();

export class WebAuth {
  private readonly users: ReadonlyMap<string, string>;
  private readonly token?: Buffer;
  private readonly passed = new Set<string>();
  private readonly now: () => number;
  private readonly compare: (password: string, hash: string) => Promise<boolean>;
  private readonly burst: number;
  private readonly perSecond: number;
  private tokens: number;
  private refilledAt: number;
  private queue: Promise<unknown> = Promise.resolve();
  private dummyHash?: string;

  constructor(web: WebConfig | undefined, opts: WebAuthOptions = {}) {
    this.users = new Map(Object.entries(web?.basicAuthUsers ?? {}));
    if (web?.bearerToken !== undefined) this.token = sha256(web.bearerToken);
    this.now = opts.now ?? Date.now;
    this.compare = opts.compare ?? ((p, h) => bcrypt.compare(p, h));
    this.burst = opts.burst ?? 5;
    this.perSecond = opts.perSecond ?? 2;
    this.tokens = this.burst;
    this.refilledAt = this.now();
  }

  /** Whether anything is asked of a client. */
  get required(): boolean {
    return this.users.size > 0 || this.token !== undefined;
  }

  /** The WWW-Authenticate header of a 401: Basic (a browser then asks for a password) when users are set. */
  challenge(): string {
    return this.users.size > 0 ? 'Basic realm="pprof collector", charset="UTF-8"' : 'Bearer realm="pprof collector"';
  }

  /** Checks an Authorization header. */
  async check(authorization: string | undefined): Promise<AuthResult> {
    if (!this.required) return 'ok';
    if (authorization === undefined) return 'unauthorized';
    const bearer = /^Bearer +(\S+) *$/i.exec(authorization);
    if (bearer) return this.token && timingSafeEqual(sha256(bearer[1]!), this.token) ? 'ok' : 'unauthorized';
    const basic = /^Basic +([A-Za-z0-9+/=]+) *$/i.exec(authorization);
    if (!basic || this.users.size === 0) return 'unauthorized';
    const decoded = Buffer.from(basic[1]!, 'base64').toString('utf8');
    const colon = decoded.indexOf(':');
    if (colon < 0) return 'unauthorized';
    return this.checkPassword(decoded.slice(0, colon), decoded.slice(colon + 1));
  }

  private async checkPassword(user: string, password: string): Promise<AuthResult> {
    const key = sha256(`${user}\u0000${password}`).toString('hex');
    if (this.passed.has(key)) return 'ok';
    if (!this.take()) return 'throttled';
    const hash = this.users.get(user) ?? this.dummy();
    const run = this.queue.then(() => this.compare(password, hash));
    this.queue = run.catch(() => undefined);
    const ok = (await run.catch(() => false)) && this.users.has(user);
    if (!ok) return 'unauthorized';
    if (this.passed.size >= CACHE_MAX) this.passed.clear();
    this.passed.add(key);
    return 'ok';
  }

  /** A hash of a random password with the cost of the configured ones, for unknown users. */
  private dummy(): string {
    if (this.dummyHash === undefined) {
      const cost = Number(/^\$2[aby]\$(\d\d)\$/.exec([...this.users.values()][0] ?? '')?.[1] ?? 10);
      this.dummyHash = bcrypt.hashSync(randomBytes(16).toString('hex'), cost);
    }
    return this.dummyHash;
  }

  /** Token bucket of unremembered checks. */
  private take(): boolean {
    const now = this.now();
    this.tokens = Math.min(this.burst, this.tokens + ((now - this.refilledAt) / 1000) * this.perSecond);
    this.refilledAt = now;
    if (this.tokens < 1) return false;
    this.tokens -= 1;
    return true;
  }
}

/** The status server's protection in words, for --check and the start log. */
export function describeWeb(web: WebConfig | undefined): string {
  const parts: string[] = [web?.tls ? `https (${web.tls.certFile})` : 'http'];
  const auth: string[] = [];
  const users = Object.keys(web?.basicAuthUsers ?? {});
  if (users.length > 0) auth.push(`basic auth (${users.length} user${users.length === 1 ? '' : 's'}: ${users.join(', ')})`);
  if (web?.bearerToken !== undefined) auth.push('bearer token');
  parts.push(auth.length > 0 ? `${auth.join(' or ')} for everything but /healthz and /readyz` : 'no authentication');
  return parts.join(', ');
}
