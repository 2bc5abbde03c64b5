/**
 * The agent's admin port (Envoy's admin, Linkerd's 4191): `/healthz` (the
 * process is alive, and which control plane it talks to: home or a peer), `/readyz` (200 once a config is applied and the
 * credentials are valid, else 503 saying why), `/metrics` (Prometheus text),
 * `/config` (the applied snapshot: routes, policies, endpoints and the
 * public trust bundle; no key or token is ever in it) and `POST /notify`
 * (the control plane's webhook). Bind it to loopback or a private
 * interface: `/config` shows the mesh's whole service catalogue.
 *
 * @module
 */
import { createServer, type IncomingMessage, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { type AdminResponse, json, parseHostPort, problem, readBody } from './admin-http.js';
import type { Applied } from './applied-config.js';
import type { ControlPlaneStatus } from './failover-client.js';
import { type Logger, reason } from './log.js';
import type { AgentMetrics } from './metrics.js';

/** Largest notification accepted: a compact JWS of a few hundred bytes fits many times over. */
const MAX_NOTIFY_BYTES = 64 * 1024;

/** Options of {@link startAdminServer}. */
export interface AdminServerOptions {
  /** `host:port`; port 0 picks a free one. */
  readonly address: string;
  readonly metrics: AgentMetrics;
  /** Why the agent is not ready; empty when it is. */
  readonly unready: () => readonly string[];
  readonly config: () => Applied | undefined;
  /** Which control plane the agent talks to now. */
  readonly controlPlane?: () => ControlPlaneStatus;
  /** Handles `POST /notify`; `undefined` until the agent has an identity to verify with. */
  readonly notify: () =>
    | ((body: string, contentType: string | undefined) => Promise<AdminResponse>)
    | undefined;
  readonly logger: Logger;
}

/** A listening admin server. */
export interface AdminServer {
  /** `host:port` actually bound (port 0 resolved). */
  readonly address: string;
  close(): Promise<void>;
}

/**
 * Binds the admin server.
 *
 * @throws the listen error (`EADDRINUSE`...): a bad address fails start-up.
 */
export async function startAdminServer(options: AdminServerOptions): Promise<AdminServer> {
  const target = parseHostPort(options.address);
  if (!target) throw new TypeError(`admin address must be host:port, got ${options.address}`);
  const server = createServer((req, res) => {
    route(req, options)
      .catch((error: unknown): AdminResponse => {
        options.logger.error({ path: req.url, why: reason(error) }, 'admin request failed');
        return problem(500, 'unexpected error; see the agent log');
      })
      .then(({ status, headers, body }) => {
        res
          .writeHead(status, { ...headers, 'cache-control': 'no-store' })
          .end(req.method === 'HEAD' ? '' : body);
      });
  });
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(target.port, target.host, () => {
      server.off('error', reject);
      resolve();
    });
  });
  const { address, port } = server.address() as AddressInfo;
  return {
    address: `${address.includes(':') ? `[${address}]` : address}:${port}`,
    close: () => close(server),
  };
}

async function route(req: IncomingMessage, o: AdminServerOptions): Promise<AdminResponse> {
  const path = new URL(req.url ?? '/', 'http://admin').pathname;
  const method = req.method ?? 'GET';
  const reads = method === 'GET' || method === 'HEAD';
  switch (path) {
    case '/healthz':
      if (!reads) return notAllowed('GET');
      return json(200, { status: 'alive', ...(o.controlPlane && { controlPlane: o.controlPlane() }) });
    case '/readyz': {
      if (!reads) return notAllowed('GET');
      const reasons = o.unready();
      const version = o.config()?.snapshot.version ?? null;
      return reasons.length === 0
        ? json(200, { status: 'ready', version })
        : json(503, { status: 'not ready', version, reasons });
    }
    case '/metrics':
      if (!reads) return notAllowed('GET');
      return {
        status: 200,
        headers: { 'content-type': o.metrics.registry.contentType },
        body: await o.metrics.text(),
      };
    case '/config': {
      if (!reads) return notAllowed('GET');
      const applied = o.config();
      if (!applied) return problem(503, 'no config applied yet; see /readyz');
      return json(200, applied.snapshot, {
        etag: `"${applied.snapshot.hash}"`,
        'x-weft-version': applied.snapshot.version,
        'x-weft-config-source': applied.source,
      });
    }
    case '/notify': {
      if (method !== 'POST') return notAllowed('POST');
      const handle = o.notify();
      if (!handle) return problem(503, 'the agent has no identity yet to verify notifications with');
      const body = await readBody(req, MAX_NOTIFY_BYTES);
      if (body === undefined) return problem(413, `a notification is at most ${MAX_NOTIFY_BYTES} bytes`);
      return handle(body, req.headers['content-type']);
    }
    default:
      return problem(404, `no such endpoint: ${path} (try /healthz, /readyz, /metrics, /config)`);
  }
}

function notAllowed(allow: string): AdminResponse {
  return problem(405, `use ${allow}`, { allow });
}

function close(server: Server): Promise<void> {
  return new Promise((resolve) => {
    server.close(() => resolve());
    server.closeAllConnections();
  });
}
