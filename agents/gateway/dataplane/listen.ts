/**
 * Binding and unbinding the two listeners: `host:port` parsing (IPv6 in
 * brackets), listening with the bound address reported back (port 0 picks
 * one), and a graceful close that stops accepting, lets in-flight answers
 * finish for a while, then cuts what is left.
 *
 * @module
 */
import type { Server as HttpServer } from 'node:http';
import type { Server as HttpsServer } from 'node:https';
import type { AddressInfo } from 'node:net';

type Server = HttpServer | HttpsServer;

/** Splits `host:port` (or `[v6]:port`). @throws TypeError when it is neither. */
export function parseAddress(address: string): { host: string; port: number } {
  const m = /^(?:\[([0-9a-fA-F:.]+)\]|([^:[\]]+)):(\d{1,5})$/.exec(address);
  const port = Number(m?.[3]);
  if (!m || port > 65535) throw new TypeError(`not a host:port address: ${JSON.stringify(address)}`);
  return { host: m[1] ?? m[2]!, port };
}

/** Formats a bound address back as `host:port`. */
export function formatAddress(info: AddressInfo): string {
  return info.family === 'IPv6' ? `[${info.address}]:${info.port}` : `${info.address}:${info.port}`;
}

/** Listens on `address`; resolves with the address actually bound. */
export function listenOn(server: Server, address: string): Promise<string> {
  const { host, port } = parseAddress(address);
  return new Promise((resolve, reject) => {
    server.once('error', reject);
    server.listen(port, host, () => {
      server.off('error', reject);
      resolve(formatAddress(server.address() as AddressInfo));
    });
  });
}

/**
 * Stops accepting and closes idle keep-alive connections at once; calls in
 * flight get `drainMs` to finish before their connections are cut.
 */
export async function closeServer(server: Server, drainMs: number): Promise<void> {
  if (!server.listening) return;
  const closed = new Promise<void>((resolve) => server.close(() => resolve()));
  server.closeIdleConnections();
  let timer: NodeJS.Timeout | undefined;
  const cut = new Promise<void>((resolve) => {
    timer = setTimeout(() => {
      server.closeAllConnections();
      resolve();
    }, drainMs);
  });
  await Promise.race([closed, cut]);
  clearTimeout(timer);
  await closed;
}
