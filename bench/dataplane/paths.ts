/**
 * The paths the benchmark compares, each started on loopback and checked
 * with one request before it is measured: the direct call to the service
 * and nginx's two hops here; weft's two hops in `weft.ts`, the bare-Node
 * floor in `floor.ts`. Every path gets the same request: `GET /`, `Host:
 * svc.bench.weft.internal`, `Authorization: Bearer <workload JWT-SVID>`.
 *
 * @module
 */
import { request } from 'undici';
import type { Materials } from './materials.js';
import { freePort, type NginxInstance, startNginx } from './nginx.js';
import { gatewayAConfig, gatewayBConfig, serviceConfig } from './nginx-config.js';
import type { NodeGateway } from './node-gateway.js';
import type { ProcessGroup } from './proc.js';
import { SERVICE_HOST } from './snapshots.js';
import type { Target } from './wrk.js';

/** `floor`: the same two hops in bare Node (see `floor.ts`). */
export type PathName = 'direct' | 'nginx' | 'floor' | 'weft';

/** A path ready to measure. */
export interface PathUnderTest {
  readonly name: PathName;
  readonly target: Target;
  /** The gateways' processes (none for the direct call). */
  readonly groups: readonly ProcessGroup[];
  /** weft and floor: the gateway processes (to profile). */
  readonly gateways?: readonly NodeGateway<unknown>[];
  stop(): Promise<void>;
}

/** One gateway of a two-hop path: its processes, and how to stop it. */
export interface Hop {
  readonly group: ProcessGroup;
  stop(): Promise<unknown>;
}

/** How {@link startTwoHops} starts a path's gateways. */
export interface TwoHops<B extends Hop, A extends Hop> {
  startB(): Promise<B>;
  /** Starts A pointed at `b`. */
  startA(b: B): Promise<A>;
  /** Where requests go in: A's listener, as `http://host:port`. */
  origin(a: A): string;
}

const isNodeGateway = (hop: Hop): hop is NodeGateway<unknown> => 'startProfile' in hop;

/**
 * Starts B, then A pointed at it (stopping B if A fails to start): the path
 * through both, A's processes listed first; stopping it stops A, then B.
 * Node gateways are also its `gateways`, to profile.
 */
export async function startTwoHops<B extends Hop, A extends Hop>(
  name: PathName,
  m: Materials,
  hops: TwoHops<B, A>,
): Promise<PathUnderTest> {
  const b = await hops.startB();
  try {
    const a = await hops.startA(b);
    return {
      name,
      target: { origin: hops.origin(a), headers: requestHeaders(m) },
      groups: [a.group, b.group],
      ...(isNodeGateway(a) && isNodeGateway(b) && { gateways: [a, b] }),
      stop: async () => {
        await a.stop();
        await b.stop();
      },
    };
  } catch (error) {
    await b.stop();
    throw error;
  }
}

/** What every path's requests carry; capitalized, as wrk adds its own `Host` unless given exactly that. */
export const requestHeaders = (m: Materials) => ({ Host: SERVICE_HOST, Authorization: `Bearer ${m.jwt}` });

/** One request through `target`; throws unless it is the service's `200 ok`. */
export async function checkPath(name: string, target: Target): Promise<void> {
  const res = await request(`${target.origin}/`, { headers: target.headers, headersTimeout: 10_000 });
  const body = await res.body.text();
  if (res.statusCode !== 200 || body !== 'ok\n')
    throw new Error(`${name}: expected 200 ok, got ${res.statusCode} ${body.slice(0, 500)}`);
}

/** The service every path ends at: nginx `return 200`, so it costs each path the same and little. */
export async function startService(nginx: string, dir: string): Promise<NginxInstance> {
  const port = await freePort();
  return startNginx(nginx, 'service', dir, serviceConfig(dir, port), port);
}

export function directPath(m: Materials, service: NginxInstance): PathUnderTest {
  return {
    name: 'direct',
    target: { origin: `http://127.0.0.1:${service.port}`, headers: requestHeaders(m) },
    groups: [],
    stop: async () => undefined,
  };
}

export async function startNginxPath(
  nginx: string,
  dir: string,
  m: Materials,
  service: NginxInstance,
): Promise<PathUnderTest> {
  const [portA, portB] = [await freePort(), await freePort()];
  return startTwoHops('nginx', m, {
    startB: () =>
      startNginx(nginx, 'nginx-b', dir, gatewayBConfig(dir, m, portB, `127.0.0.1:${service.port}`), portB),
    startA: () =>
      startNginx(nginx, 'nginx-a', dir, gatewayAConfig(dir, m, portA, `127.0.0.1:${portB}`), portA),
    origin: () => `http://127.0.0.1:${portA}`,
  });
}
