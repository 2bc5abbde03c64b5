/**
 * The floor under weft's gateways: the same two hops in bare Node, nothing
 * but `node:http(s)` and undici, as a child process:
 * `node --import tsx bench/dataplane/floor-process.ts <config.json>`.
 * Role `a` takes plain HTTP and forwards over mTLS 1.3 (the SVID, the
 * bundle's authorities, the peer's URI SAN checked) to `upstream`; role `b`
 * requires a client certificate and forwards to the service. No JWT-SVID,
 * routing, policy, metrics or logs: what is left is what Node costs. Serves
 * the control channel of `control.ts` (`ready` has its `address`).
 *
 * @module
 */
import { readFileSync } from 'node:fs';
import { createServer as createHttpServer, type IncomingMessage, type ServerResponse } from 'node:http';
import { createServer as createHttpsServer } from 'node:https';
import type { AddressInfo } from 'node:net';
import { Pool } from 'undici';
import { serveControl } from './control.js';

/** What the parent writes for one floor proxy. */
export interface FloorProcessConfig {
  readonly role: 'a' | 'b';
  readonly keyPath: string;
  readonly chainPath: string;
  readonly bundlePemPath: string;
  /** `host:port` to forward to. */
  readonly upstream: string;
  /** Role `a`: the URI SAN the upstream must present. */
  readonly upstreamSpiffeId?: string;
}

const config = JSON.parse(readFileSync(process.argv[2] ?? '', 'utf8')) as FloorProcessConfig;
const tls = {
  key: readFileSync(config.keyPath, 'utf8'),
  cert: readFileSync(config.chainPath, 'utf8'),
  ca: readFileSync(config.bundlePemPath, 'utf8'),
  minVersion: 'TLSv1.3' as const,
};
const pool =
  config.role === 'a'
    ? new Pool(`https://${config.upstream}`, {
        connections: 64,
        connect: {
          ...tls,
          rejectUnauthorized: true,
          checkServerIdentity: (_host, cert) =>
            cert.subjectaltname === `URI:${config.upstreamSpiffeId}` ? undefined : new Error('wrong peer'),
        },
      })
    : new Pool(`http://${config.upstream}`, { connections: 64 });

const HOP = new Set(['connection', 'keep-alive', 'transfer-encoding', 'te', 'upgrade', 'proxy-connection']);

function forward(req: IncomingMessage, res: ServerResponse): void {
  const headers: Record<string, string | string[]> = {};
  for (const [k, v] of Object.entries(req.headers)) if (v !== undefined && !HOP.has(k)) headers[k] = v;
  pool.request({ method: req.method ?? 'GET', path: req.url ?? '/', headers }).then(
    (up) => {
      const out: Record<string, string | string[]> = {};
      for (const [k, v] of Object.entries(up.headers)) if (v !== undefined && !HOP.has(k)) out[k] = v;
      res.writeHead(up.statusCode, out);
      up.body.pipe(res);
    },
    () => {
      res.writeHead(502).end();
    },
  );
}

const server =
  config.role === 'a'
    ? createHttpServer({ keepAliveTimeout: 65_000 }, forward)
    : createHttpsServer(
        { ...tls, requestCert: true, rejectUnauthorized: true, keepAliveTimeout: 65_000 },
        forward,
      );
server.listen(0, '127.0.0.1', () => {
  const { port } = server.address() as AddressInfo;
  serveControl({
    ready: { address: `127.0.0.1:${port}` },
    close: async () => {
      server.closeAllConnections();
      server.close();
      await pool.destroy();
    },
  });
});
