/**
 * One weft gateway as its own process, for the data plane benchmark:
 * `node --import tsx bench/dataplane/gateway-process.ts <config.json>`.
 * It creates the data plane with the SVID, bundle and snapshot the config
 * names (authorization, routing and metrics as the agent runs them; its
 * loggers as the agent builds them, events written synchronously and
 * access lines in batches, both to one file where the agent uses stdout),
 * listens, and serves the control channel of `control.ts` (`ready` with
 * its `ingress` and `egress` addresses; `stats` add the calls
 * `weft_requests_total` counted, by status).
 *
 * @module
 */
import { readFileSync } from 'node:fs';
import { pino } from 'pino';
import { Registry } from 'prom-client';
import { createAccessLog } from '../../agents/gateway/access-log.js';
import { createDataPlane } from '../../agents/gateway/dataplane/index.js';
import { createAgentLogger } from '../../agents/gateway/log.js';
import type { GatewaySnapshot } from '../../shared/contract/snapshot.js';
import { serveControl } from './control.js';

/** What the parent writes for one gateway. */
export interface GatewayProcessConfig {
  readonly keyPath: string;
  readonly chainPath: string;
  readonly bundleJsonPath: string;
  readonly snapshot: GatewaySnapshot;
  readonly logPath: string;
  /** `silent` turns the access log off (an ablation, not how the agent runs). @default 'info' */
  readonly logLevel?: string;
  /** @default '127.0.0.1:0' */
  readonly ingressAddress?: string;
  /** @default '127.0.0.1:0' */
  readonly egressAddress?: string;
}

const config = JSON.parse(readFileSync(process.argv[2] ?? '', 'utf8')) as GatewayProcessConfig;
const chain = readFileSync(config.chainPath, 'utf8').match(
  /-----BEGIN CERTIFICATE-----[^-]+-----END CERTIFICATE-----\n?/g,
);
const credentials = {
  keyPem: readFileSync(config.keyPath, 'utf8'),
  certChainPem: chain ?? [],
  bundle: readFileSync(config.bundleJsonPath, 'utf8'),
};
const registry = new Registry();
const { environment, name } = config.snapshot.gateway;
const level = config.logLevel ?? 'info';
const logger = createAgentLogger({
  gateway: `${environment}/${name}`,
  level,
  destination: pino.destination({ dest: config.logPath, sync: true }),
});
const access = createAccessLog({ gateway: `${environment}/${name}`, level, dest: config.logPath });
const plane = createDataPlane({
  environment,
  gatewayName: name,
  credentials: () => credentials,
  snapshot: () => config.snapshot,
  registry,
  logger,
  accessLogger: access.logger,
  drainMs: 1_000,
});

const bound = await plane.listen({
  ingressAddress: config.ingressAddress ?? '127.0.0.1:0',
  egressAddress: config.egressAddress ?? '127.0.0.1:0',
});
serveControl({
  ready: { ...bound },
  extraStats: async () => {
    const byStatus: Record<string, number> = {};
    const counted = await registry.getSingleMetric('weft_requests_total')?.get();
    for (const v of counted?.values ?? []) {
      const code = String(v.labels.response_code);
      byStatus[code] = (byStatus[code] ?? 0) + v.value;
    }
    return { byStatus };
  },
  close: async () => {
    await plane.close();
    access.close();
  },
});
