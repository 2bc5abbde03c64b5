/**
 * The bare-Node floor as a path: two `floor-process.ts` children (B, then A
 * pointed at B), measured like the others, so the gap between it and weft
 * is what weft's own work costs and the gap between it and nginx is what
 * Node costs.
 *
 * @module
 */
import type { FloorProcessConfig } from './floor-process.js';
import type { Materials } from './materials.js';
import type { NginxInstance } from './nginx.js';
import { startNodeGateway } from './node-gateway.js';
import { type PathUnderTest, startTwoHops } from './paths.js';

type Ready = { address: string };

/** Starts the floor's B and A. */
export async function startFloorPath(
  dir: string,
  m: Materials,
  service: NginxInstance,
): Promise<PathUnderTest> {
  const config = (role: 'a' | 'b', upstream: string): FloorProcessConfig => ({
    role,
    keyPath: m[role].keyPath,
    chainPath: m[role].chainPath,
    bundlePemPath: m.bundlePemPath,
    upstream,
    ...(role === 'a' ? { upstreamSpiffeId: m.b.spiffeId } : {}),
  });
  const start = (role: 'a' | 'b', upstream: string) =>
    startNodeGateway<Ready>(`floor-${role}`, dir, 'floor-process', config(role, upstream));
  return startTwoHops('floor', m, {
    startB: () => start('b', `127.0.0.1:${service.port}`),
    startA: (b) => start('a', b.ready.address),
    origin: (a) => `http://${a.ready.address}`,
  });
}
