/**
 * Small real HTTP servers on 127.0.0.1 for tests: a JWKS endpoint, a stand-in
 * for a cloud API.
 *
 * @module
 */
import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterAll } from 'vitest';

export interface TestServer {
  readonly url: string;
  /** Every request seen, as `METHOD path`. */
  readonly requests: string[];
}

/** Starts a server for the calling test file; `handle` gets the request with its body read. */
export async function startHttpServer(
  handle: (req: IncomingMessage, body: string, res: ServerResponse) => void,
): Promise<TestServer> {
  const requests: string[] = [];
  const server = createServer((req, res) => {
    let body = '';
    req.on('data', (chunk: Buffer) => {
      body += chunk.toString();
    });
    req.on('end', () => {
      requests.push(`${req.method} ${req.url}`);
      handle(req, body, res);
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  afterAll(() => new Promise<void>((resolve) => server.close(() => resolve())));
  return { url: `http://127.0.0.1:${(server.address() as AddressInfo).port}`, requests };
}

/** Serves `jwks()` as JSON at any path. */
export function startJwksServer(jwks: () => unknown): Promise<TestServer> {
  return startHttpServer((_req, _body, res) => {
    res.writeHead(200, { 'content-type': 'application/json' });
    res.end(JSON.stringify(jwks()));
  });
}
