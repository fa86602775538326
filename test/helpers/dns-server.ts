// A tiny authoritative DNS server for tests: UDP on 127.0.0.1, answering A,
// AAAA and SRV questions from a mutable in-memory zone. The wire format is
// written here by hand (RFC 1035 header, question, answers; RFC 2782 SRV
// rdata), so nothing but node:dgram is involved.
//
//   - a name in the zone with records of the asked type: NOERROR + answers
//   - a name in the zone without that type: NOERROR, no answers (NODATA)
//   - a name not in the zone: NXDOMAIN
//   - mode 'silent': queries are read and never answered (a dead server)
//   - mode 'servfail': every query gets SERVFAIL
//
// Answers carry TTL 0 unless `ttl` says otherwise, so a caching stub resolver
// (c-ares caches by TTL) asks again every time.

import { createSocket, type RemoteInfo, type Socket } from 'node:dgram';
import { isIPv4, isIPv6 } from 'node:net';

export interface SrvRecord {
  readonly priority: number;
  readonly weight: number;
  readonly port: number;
  readonly target: string;
}

export interface ZoneEntry {
  A?: string[];
  AAAA?: string[];
  SRV?: SrvRecord[];
}

export type DnsMode = 'answer' | 'silent' | 'servfail';

const TYPE_A = 1;
const TYPE_AAAA = 28;
const TYPE_SRV = 33;
const CLASS_IN = 1;
const RCODE_NOERROR = 0;
const RCODE_FORMERR = 1;
const RCODE_SERVFAIL = 2;
const RCODE_NXDOMAIN = 3;
const RCODE_NOTIMP = 4;

export interface ReceivedQuery {
  readonly name: string;
  readonly type: number;
}

/** "Foo.Example." and "foo.example" are the same name. */
export function normalizeName(name: string): string {
  return name.replace(/\.$/, '').toLowerCase();
}

/** A name in uncompressed wire form: length-prefixed labels, then 0. */
export function encodeName(name: string): Buffer {
  const labels = normalizeName(name) === '' ? [] : name.replace(/\.$/, '').split('.');
  const parts: Buffer[] = [];
  for (const label of labels) {
    const b = Buffer.from(label, 'ascii');
    if (b.length === 0 || b.length > 63) throw new Error(`bad DNS label "${label}" in "${name}"`);
    parts.push(Buffer.from([b.length]), b);
  }
  parts.push(Buffer.from([0]));
  return Buffer.concat(parts);
}

function ipv4Bytes(ip: string): Buffer {
  if (!isIPv4(ip)) throw new Error(`not an IPv4 address: ${ip}`);
  return Buffer.from(ip.split('.').map(Number));
}

function ipv6Bytes(ip: string): Buffer {
  if (!isIPv6(ip)) throw new Error(`not an IPv6 address: ${ip}`);
  let text = ip;
  // A dotted IPv4 tail ("::ffff:1.2.3.4") becomes two hex groups.
  const v4 = /(\d+\.\d+\.\d+\.\d+)$/.exec(text);
  if (v4) {
    const b = ipv4Bytes(v4[1]!);
    text = text.slice(0, -v4[1]!.length) + `${b.readUInt16BE(0).toString(16)}:${b.readUInt16BE(2).toString(16)}`;
  }
  const [head, tail] = text.includes('::') ? text.split('::') : [text, undefined];
  const h = head ? head.split(':') : [];
  const t = tail ? tail.split(':') : [];
  const groups = tail === undefined ? h : [...h, ...Array<string>(8 - h.length - t.length).fill('0'), ...t];
  if (groups.length !== 8) throw new Error(`cannot expand IPv6 address ${ip}`);
  const out = Buffer.alloc(16);
  groups.forEach((g, i) => out.writeUInt16BE(parseInt(g, 16), i * 2));
  return out;
}

/** Reads an uncompressed name from a query; returns it and the offset after it. */
function readQuestionName(msg: Buffer, offset: number): { name: string; end: number } {
  const labels: string[] = [];
  let o = offset;
  for (let guard = 0; guard < 128; guard++) {
    if (o >= msg.length) throw new Error('name runs past the message');
    const len = msg[o]!;
    if (len === 0) return { name: labels.join('.'), end: o + 1 };
    if ((len & 0xc0) !== 0) throw new Error('compressed name in a question');
    if (o + 1 + len > msg.length) throw new Error('label runs past the message');
    labels.push(msg.subarray(o + 1, o + 1 + len).toString('ascii'));
    o += 1 + len;
  }
  throw new Error('too many labels');
}

function header(id: number, flags: number, qd: number, an: number): Buffer {
  const h = Buffer.alloc(12);
  h.writeUInt16BE(id, 0);
  h.writeUInt16BE(flags, 2);
  h.writeUInt16BE(qd, 4);
  h.writeUInt16BE(an, 6);
  h.writeUInt16BE(0, 8); // NSCOUNT
  h.writeUInt16BE(0, 10); // ARCOUNT
  return h;
}

/** One answer for the question's name: compression pointer 0xc00c to offset 12. */
function answer(type: number, ttl: number, rdata: Buffer): Buffer {
  const a = Buffer.alloc(12);
  a.writeUInt16BE(0xc00c, 0);
  a.writeUInt16BE(type, 2);
  a.writeUInt16BE(CLASS_IN, 4);
  a.writeUInt32BE(ttl, 6);
  a.writeUInt16BE(rdata.length, 10);
  return Buffer.concat([a, rdata]);
}

function srvRdata(r: SrvRecord): Buffer {
  const fixed = Buffer.alloc(6);
  fixed.writeUInt16BE(r.priority, 0);
  fixed.writeUInt16BE(r.weight, 2);
  fixed.writeUInt16BE(r.port, 4);
  return Buffer.concat([fixed, encodeName(r.target)]);
}

export class TestDnsServer {
  /** name (normalized) → records; edit freely between queries. */
  readonly zone = new Map<string, ZoneEntry>();
  mode: DnsMode = 'answer';
  ttl = 0;
  /** Every question received, in order (also while silent). */
  readonly queries: ReceivedQuery[] = [];
  private socket: Socket | null = null;
  private portNo = 0;

  get port(): number {
    return this.portNo;
  }

  /** "127.0.0.1:PORT", for Resolver.setServers and configs. */
  get address(): string {
    return `127.0.0.1:${this.portNo}`;
  }

  /** Replaces a name's records (creating the name). */
  set(name: string, entry: ZoneEntry): void {
    this.zone.set(normalizeName(name), entry);
  }

  /** Removes the name: it answers NXDOMAIN from now on. */
  delete(name: string): void {
    this.zone.delete(normalizeName(name));
  }

  async start(): Promise<this> {
    const s = createSocket('udp4');
    s.on('message', (msg, rinfo) => this.onMessage(s, msg, rinfo));
    s.on('error', () => undefined);
    await new Promise<void>((resolve, reject) => {
      s.once('error', reject);
      s.bind(0, '127.0.0.1', () => {
        s.off('error', reject);
        resolve();
      });
    });
    this.socket = s;
    this.portNo = s.address().port;
    return this;
  }

  async close(): Promise<void> {
    const s = this.socket;
    this.socket = null;
    if (s) await new Promise<void>((resolve) => s.close(() => resolve()));
  }

  private onMessage(s: Socket, msg: Buffer, rinfo: RemoteInfo): void {
    let reply: Buffer;
    try {
      reply = this.respond(msg);
    } catch {
      if (msg.length < 2) return;
      // Unparseable: FORMERR with the query's id and no question.
      reply = header(msg.readUInt16BE(0), 0x8000 | RCODE_FORMERR, 0, 0);
    }
    if (reply.length > 0) s.send(reply, rinfo.port, rinfo.address);
  }

  /** The answer to one query (empty: say nothing). Exported for tests of the helper itself. */
  respond(msg: Buffer): Buffer {
    if (msg.length < 12) throw new Error('short message');
    const id = msg.readUInt16BE(0);
    const qflags = msg.readUInt16BE(2);
    const qdcount = msg.readUInt16BE(4);
    if ((qflags & 0x8000) !== 0) return Buffer.alloc(0); // a response, not a query
    if (qdcount !== 1) throw new Error('expected exactly one question');
    const { name, end } = readQuestionName(msg, 12);
    if (end + 4 > msg.length) throw new Error('question runs past the message');
    const qtype = msg.readUInt16BE(end);
    const qclass = msg.readUInt16BE(end + 2);
    // The question goes back byte for byte (case included: DNS 0x20 resolvers compare it).
    const question = msg.subarray(12, end + 4);
    this.queries.push({ name: normalizeName(name), type: qtype });
    if (this.mode === 'silent') return Buffer.alloc(0);

    const opcode = (qflags >> 11) & 0xf;
    const rd = qflags & 0x0100;
    // QR, AA, RD as asked, RA.
    const flags = (rcode: number) => 0x8000 | 0x0400 | rd | 0x0080 | rcode;
    if (this.mode === 'servfail') return Buffer.concat([header(id, flags(RCODE_SERVFAIL), 1, 0), question]);
    if (opcode !== 0 || qclass !== CLASS_IN) return Buffer.concat([header(id, flags(RCODE_NOTIMP), 1, 0), question]);

    const entry = this.zone.get(normalizeName(name));
    if (!entry) return Buffer.concat([header(id, flags(RCODE_NXDOMAIN), 1, 0), question]);
    const answers: Buffer[] = [];
    if (qtype === TYPE_A) for (const ip of entry.A ?? []) answers.push(answer(TYPE_A, this.ttl, ipv4Bytes(ip)));
    if (qtype === TYPE_AAAA) for (const ip of entry.AAAA ?? []) answers.push(answer(TYPE_AAAA, this.ttl, ipv6Bytes(ip)));
    if (qtype === TYPE_SRV) for (const r of entry.SRV ?? []) answers.push(answer(TYPE_SRV, this.ttl, srvRdata(r)));
    return Buffer.concat([header(id, flags(RCODE_NOERROR), 1, answers.length), question, ...answers]);
  }
}
