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
import { type PathUnderTest, requestHeaders } from './paths.js';

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
  const b = await startNodeGateway<Ready>(
    'floor-b',
    dir,
    'floor-process',
    config('b', `127.0.0.1:${service.port}`),
  );
  try {
    const a = await startNodeGateway<Ready>('floor-a', dir, 'floor-process', config('a', b.ready.address));
    return {
      name: 'floor',
      target: { origin: `http://${a.ready.address}`, headers: requestHeaders(m) },
      groups: [
        { label: a.label, pids: [a.pid] },
        { label: b.label, pids: [b.pid] },
      ],
      gateways: [a, b],
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
