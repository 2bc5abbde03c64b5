/**
 * The demo mesh's workloads as tiny in-process HTTP servers, one per
 * Workload address. Each answers every request with what arrived
 * (`{service, environment, path, headers}`), so a call routed through the
 * gateways shows where it landed and what the data plane passed on (or
 * stripped, like the JWT-SVID). In process, not children: they hold no
 * state, and they cannot outlive `weft up`.
 *
 * @module
 */
import { createServer, type Server } from 'node:http';
import type { Running } from '../process/stack.js';
import type { DemoService } from './local-mesh.js';
import { bindError } from './loopback.js';

/** What a demo service answers. */
export interface DemoAnswer {
  readonly service: string;
  readonly namespace: string;
  readonly environment: string;
  readonly method: string;
  readonly path: string;
  readonly headers: Record<string, string | string[] | undefined>;
}

/** The demo services, listening. */
export interface DemoServices extends Running {
  /** One per address served. */
  readonly listening: readonly DemoService[];
}

/**
 * Starts one server per distinct address (two Workloads on one address
 * share the first one's server).
 *
 * @throws CliError when an address cannot be bound (see `loopback.ts`);
 *   servers already started are closed first.
 */
export async function startDemoServices(services: readonly DemoService[]): Promise<DemoServices> {
  const servers: Server[] = [];
  const listening: DemoService[] = [];
  const close = () => Promise.all(servers.map(closeServer)).then(() => undefined);
  const seen = new Set<string>();
  for (const demo of services) {
    const address = `${demo.host}:${demo.port}`;
    if (seen.has(address)) continue;
    seen.add(address);
    try {
      servers.push(await listen(demo));
    } catch (error) {
      await close();
      throw bindError(error, demo.host, demo.port, `the demo service ${demo.service} in ${demo.environment}`);
    }
    listening.push(demo);
  }
  return { name: 'demo services', listening, close };
}

function listen(demo: DemoService): Promise<Server> {
  const server = createServer((req, res) => {
    const answer: DemoAnswer = {
      service: demo.service,
      namespace: demo.namespace,
      environment: demo.environment,
      method: req.method ?? 'GET',
      path: req.url ?? '/',
      headers: req.headers,
    };
    // Drain the body so a POST completes; its content is not part of the answer.
    req.resume();
    req.on('end', () => {
      res.writeHead(200, { 'content-type': 'application/json' }).end(`${JSON.stringify(answer)}\n`);
    });
  });
  return new Promise((resolve, reject) => {
    server.once('error', reject);
    server.listen(demo.port, demo.host, () => {
      server.off('error', reject);
      resolve(server);
    });
  });
}

function closeServer(server: Server): Promise<void> {
  return new Promise((resolve) => {
    server.close(() => resolve());
    server.closeAllConnections();
  });
}
