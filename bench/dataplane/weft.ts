/**
 * weft's two hops as a path: gateway B (`gateway-process.ts`) with the
 * service behind its ingress, then gateway A whose egress routes
 * `svc.bench.weft.internal` to B. Each its own process; the access log of
 * each in the temp dir.
 *
 * @module
 */
import { join } from 'node:path';
import type { GatewayProcessConfig } from './gateway-process.js';
import type { Materials } from './materials.js';
import type { NginxInstance } from './nginx.js';
import { startNodeGateway } from './node-gateway.js';
import { type PathUnderTest, startTwoHops } from './paths.js';
import { benchSnapshot, type SnapshotInput } from './snapshots.js';

type Ready = { ingress: string; egress: string };

/** One weft gateway process for `role`, its snapshot built from `input`. */
export function startWeftGateway(
  label: string,
  dir: string,
  m: Materials,
  input: SnapshotInput,
  extra: Partial<GatewayProcessConfig> = {},
) {
  const config: GatewayProcessConfig = {
    keyPath: m[input.role].keyPath,
    chainPath: m[input.role].chainPath,
    bundleJsonPath: m.bundleJsonPath,
    logPath: join(dir, `${label}-access.log`),
    snapshot: benchSnapshot(input),
    ...extra,
  };
  return startNodeGateway<Ready>(label, dir, 'gateway-process', config);
}

/** Starts weft's B, then A pointed at it. */
export async function startWeftPath(
  dir: string,
  m: Materials,
  service: NginxInstance,
): Promise<PathUnderTest> {
  const serviceAddress = `127.0.0.1:${service.port}`;
  return startTwoHops('weft', m, {
    startB: () => startWeftGateway('weft-b', dir, m, { role: 'b', bIngress: '127.0.0.1:0', serviceAddress }),
    startA: (b) => startWeftGateway('weft-a', dir, m, { role: 'a', bIngress: b.ready.ingress }),
    origin: (a) => `http://${a.ready.egress}`,
  });
}
