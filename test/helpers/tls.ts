// Throwaway TLS material for tests, made with the `openssl` CLI (OpenSSL 3)
// in a temp dir: a CA, a server certificate for 127.0.0.1 / localhost signed
// by it, a client certificate signed by it, and a second, unrelated CA.
// Offline, each openssl call bounded by a timeout.
//
// Also two loopback servers for TLS tests:
// - startHttpsReplayTarget: serves the recorded profiles in fixtures/profiles
//   the way net/http/pprof does (pprofReplay of scripts/replay-target.ts), over
//   node:https, optionally demanding a client certificate; it records every
//   request it answered.
// - startTlsProxy: terminates TLS and pipes the plain bytes to an http
//   server on loopback (puts any http test double, e.g. the DataKit intake,
//   behind https without touching it).

import { spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { createServer as createHttpsServer, type Server as HttpsServer } from 'node:https';
import { connect as netConnect, type Socket } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createServer as createTlsServer, type TLSSocket } from 'node:tls';
import { pprofReplay } from '../../scripts/replay-target.js';
import { closeServer, listenLocal } from './servers.js';

export const OPENSSL = '/usr/bin/openssl';
const OPENSSL_TIMEOUT_MS = 20_000;

export interface TlsMaterial {
  /** The temp dir holding every file below; `remove()` deletes it. */
  readonly dir: string;
  /** Our CA: PEM certificate path (what `tls_ca` names). */
  readonly caCert: string;
  /** The server certificate (SAN IP:127.0.0.1, DNS:localhost), signed by our CA. */
  readonly serverCert: string;
  readonly serverKey: string;
  /** A client certificate (extendedKeyUsage clientAuth), signed by our CA. */
  readonly clientCert: string;
  readonly clientKey: string;
  /** A second CA that signed nothing here. */
  readonly otherCaCert: string;
  remove(): void;
}

function openssl(args: readonly string[], cwd: string): void {
  const res = spawnSync(OPENSSL, args, {
    cwd,
    encoding: 'utf8',
    timeout: OPENSSL_TIMEOUT_MS,
    stdio: ['ignore', 'pipe', 'pipe'],
    // No user or system openssl.cnf surprises; RANDFILE off.
    env: { PATH: process.env.PATH ?? '/usr/bin:/bin', HOME: cwd, RANDFILE: '' },
  });
  if (res.error) throw new Error(`openssl ${args.join(' ')}: ${res.error.message}`);
  if (res.status !== 0) throw new Error(`openssl ${args.join(' ')} exited ${res.status}:\n${res.stderr}`);
}

/** An EC P-256 key and a self-signed CA certificate. */
function makeCa(dir: string, name: string): { cert: string; key: string } {
  const key = join(dir, `${name}.key`);
  const cert = join(dir, `${name}.crt`);
  openssl(['genpkey', '-algorithm', 'EC', '-pkeyopt', 'ec_paramgen_curve:P-256', '-out', key], dir);
  // The CA extensions are the [v3] section of our minimal config.
  openssl(['req', '-x509', '-new', '-key', key, '-sha256', '-days', '2', '-subj', `/CN=pprof-collector test ${name}`, '-config', minimalConf(dir), '-extensions', 'v3', '-out', cert], dir);
  return { cert, key };
}

/** A minimal openssl config (no system openssl.cnf) with a [v3] CA section. */
function minimalConf(dir: string): string {
  const file = join(dir, 'openssl.cnf');
  writeFileSync(
    file,
    [
      '[req]',
      'distinguished_name = dn',
      'prompt = no',
      '[dn]',
      '[v3]',
      'basicConstraints = critical, CA:TRUE',
      'keyUsage = critical, keyCertSign, cRLSign',
      'subjectKeyIdentifier = hash',
      '',
    ].join('\n'),
  );
  return file;
}

/** A leaf key and certificate signed by `ca`, with the given extensions. */
function makeLeaf(dir: string, name: string, cn: string, ca: { cert: string; key: string }, extensions: readonly string[], serial: string): { cert: string; key: string } {
  const key = join(dir, `${name}.key`);
  const csr = join(dir, `${name}.csr`);
  const cert = join(dir, `${name}.crt`);
  const ext = join(dir, `${name}.ext`);
  writeFileSync(ext, `${extensions.join('\n')}\n`);
  openssl(['genpkey', '-algorithm', 'EC', '-pkeyopt', 'ec_paramgen_curve:P-256', '-out', key], dir);
  openssl(['req', '-new', '-key', key, '-subj', `/CN=${cn}`, '-config', minimalConf(dir), '-out', csr], dir);
  openssl(['x509', '-req', '-in', csr, '-CA', ca.cert, '-CAkey', ca.key, '-set_serial', serial, '-sha256', '-days', '2', '-extfile', ext, '-out', cert], dir);
  return { cert, key };
}

/** Makes the whole set in a new temp dir (a few hundred ms). */
export function makeTlsMaterial(): TlsMaterial {
  const dir = mkdtempSync(join(tmpdir(), 'pprof-tls-'));
  try {
    const ca = makeCa(dir, 'ca');
    const other = makeCa(dir, 'other-ca');
    const server = makeLeaf(
      dir,
      'server',
      '127.0.0.1',
      ca,
      ['basicConstraints = critical, CA:FALSE', 'keyUsage = critical, digitalSignature', 'extendedKeyUsage = serverAuth', 'subjectAltName = IP:127.0.0.1, DNS:localhost'],
      '0x1001',
    );
    const client = makeLeaf(
      dir,
      'client',
      'pprof-collector test client',
      ca,
      ['basicConstraints = critical, CA:FALSE', 'keyUsage = critical, digitalSignature', 'extendedKeyUsage = clientAuth'],
      '0x1002',
    );
    return {
      dir,
      caCert: ca.cert,
      serverCert: server.cert,
      serverKey: server.key,
      clientCert: client.cert,
      clientKey: client.key,
      otherCaCert: other.cert,
      remove: () => rmSync(dir, { recursive: true, force: true }),
    };
  } catch (err) {
    rmSync(dir, { recursive: true, force: true });
    throw err;
  }
}

// ---------------------------------------------------------------------------
// An HTTPS stand-in for a Go service: recorded profiles, served like net/http/pprof.

export interface ServedRequest {
  readonly path: string;
  readonly query: string;
  readonly status: number;
  /** The TLS peer presented a certificate our CA verified (requestCert servers only). */
  readonly clientAuthorized: boolean;
  readonly clientCn: string | undefined;
  readonly authorization: string | undefined;
}

export interface HttpsReplayOptions {
  readonly key: string;
  readonly cert: string;
  /** Demand a client certificate signed by this CA (requestCert + rejectUnauthorized). */
  readonly clientCa?: string;
}

export interface HttpsReplayTarget {
  /** https://127.0.0.1:PORT */
  readonly url: string;
  readonly requests: ServedRequest[];
  /** TLS handshakes the server saw fail (client refused our certificate, or sent none when one is required). */
  readonly tlsErrors: string[];
  close(): Promise<void>;
}

export async function startHttpsReplayTarget(opts: HttpsReplayOptions): Promise<HttpsReplayTarget> {
  const replay = pprofReplay();
  const requests: ServedRequest[] = [];
  const tlsErrors: string[] = [];

  const server: HttpsServer = createHttpsServer(
    {
      key: readFileSync(opts.key),
      cert: readFileSync(opts.cert),
      ...(opts.clientCa ? { ca: readFileSync(opts.clientCa), requestCert: true, rejectUnauthorized: true } : {}),
    },
    (req, res) => {
      const u = new URL(req.url ?? '/', 'https://replay');
      const sock = req.socket as TLSSocket;
      const peer = opts.clientCa ? sock.getPeerCertificate() : undefined;
      replay.answer(req, res, (status) =>
        requests.push({
          path: u.pathname,
          query: u.search,
          status,
          clientAuthorized: sock.authorized === true,
          clientCn: peer && typeof peer.subject?.CN === 'string' ? peer.subject.CN : undefined,
          authorization: req.headers.authorization,
        }),
      );
    },
  );
  server.on('tlsClientError', (err: NodeJS.ErrnoException) => tlsErrors.push(err.code ?? err.message));
  const port = await listenLocal(server);
  return {
    url: `https://127.0.0.1:${port}`,
    requests,
    tlsErrors,
    close: async () => {
      replay.stop();
      await closeServer(server);
    },
  };
}

// ---------------------------------------------------------------------------
// A TLS terminator in front of a plain http server on loopback.

export interface TlsProxy {
  /** https://127.0.0.1:PORT */
  readonly origin: string;
  /** Connections whose TLS handshake completed and were piped upstream. */
  handshakes: number;
  /** TLS handshakes that failed (e.g. the client did not trust our certificate). */
  readonly tlsErrors: string[];
  close(): Promise<void>;
}

export async function startTlsProxy(upstreamPort: number, opts: { key: string; cert: string }): Promise<TlsProxy> {
  const sockets = new Set<Socket>();
  const track = (s: Socket) => {
    sockets.add(s);
    s.once('close', () => sockets.delete(s));
    s.on('error', () => s.destroy());
  };
  const proxy: TlsProxy = {
    origin: '',
    handshakes: 0,
    tlsErrors: [],
    close: async () => undefined,
  };
  const server = createTlsServer({ key: readFileSync(opts.key), cert: readFileSync(opts.cert) }, (tlsSock) => {
    proxy.handshakes++;
    track(tlsSock);
    const up = netConnect(upstreamPort, '127.0.0.1');
    track(up);
    tlsSock.pipe(up);
    up.pipe(tlsSock);
    tlsSock.once('close', () => up.destroy());
    up.once('close', () => tlsSock.destroy());
  });
  server.on('tlsClientError', (err: NodeJS.ErrnoException) => proxy.tlsErrors.push(err.code ?? err.message));
  const port = await listenLocal(server);
  return Object.assign(proxy, {
    origin: `https://127.0.0.1:${port}`,
    close: () =>
      new Promise<void>((resolve) => {
        for (const s of sockets) s.destroy();
        server.close(() => resolve());
      }),
  });
}
