/**
 * Plain HTTP services standing behind an ingress gateway: each answers with
 * who it is and what it received, and keeps every request's headers, so a
 * test can see what crossed the mesh (and what did not).
 *
 * @module
 */
import { createServer, type IncomingHttpHeaders } from 'node:http';
import type { AddressInfo } from 'node:net';

/** One request as the service saw it. */
export interface Seen {
  readonly method: string;
  readonly url: string;
  readonly headers: IncomingHttpHeaders;
  readonly body: string;
}

export interface TestService {
  /** `127.0.0.1:<port>`. */
  readonly address: string;
  readonly seen: Seen[];
  close(): Promise<void>;
}

/** How a service misbehaves, when a test wants it to. */
export interface Behaviour {
  /** @default 200 */
  readonly status?: number;
  /** Wait this long before answering. */
  readonly delayMs?: number;
}

/** Starts a service that answers `{ name, method, url, body }` as JSON. */
export async function startService(name: string, behaviour: Behaviour = {}): Promise<TestService> {
  const seen: Seen[] = [];
  const server = createServer(async (req, res) => {
    let body = '';
    for await (const chunk of req) body += chunk;
    seen.push({ method: req.method ?? '', url: req.url ?? '', headers: req.headers, body });
    if (behaviour.delayMs) await new Promise((resolve) => setTimeout(resolve, behaviour.delayMs));
    if (res.destroyed) return;
    const answer = JSON.stringify({ name, method: req.method, url: req.url, body });
    res.writeHead(behaviour.status ?? 200, {
      'content-type': 'application/json',
      'content-length': Buffer.byteLength(answer),
    });
    res.end(answer);
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return {
    address: `127.0.0.1:${(server.address() as AddressInfo).port}`,
    seen,
    close: () =>
      new Promise((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
}
