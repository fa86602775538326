// What the loopback test servers share: listening on a free port, closing
// with every connection cut, reading a request body, and a port that nobody
// listens on.

import type { IncomingHttpHeaders, IncomingMessage } from 'node:http';
import { createServer, type AddressInfo, type Server } from 'node:net';

/** Listens on `host`:`port` (a free port by default) and resolves with the port; a listen error rejects. */
export async function listenLocal(server: Server, host = '127.0.0.1', port = 0): Promise<number> {
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(port, host, () => {
      server.off('error', reject);
      resolve();
    });
  });
  return (server.address() as AddressInfo).port;
}

/** Closes the server, cutting its open connections first (http and https servers) so close() does not wait on keep-alive. */
export async function closeServer(server: Server & { closeAllConnections?: () => void }): Promise<void> {
  server.closeAllConnections?.();
  await new Promise<void>((resolve) => server.close(() => resolve()));
}

/** The whole request body. */
export function readBody(req: IncomingMessage): Promise<Buffer> {
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => resolve(Buffer.concat(chunks)));
    req.on('error', reject);
  });
}

/** The first value of a request header. */
export function header(h: IncomingHttpHeaders, name: string): string | undefined {
  const v = h[name];
  return Array.isArray(v) ? v[0] : v;
}

/** A port on 127.0.0.1 that nobody listens on (opened, then closed). */
export async function unusedPort(): Promise<number> {
  const s = createServer();
  const port = await listenLocal(s);
  await new Promise<void>((resolve) => s.close(() => resolve()));
  return port;
}
