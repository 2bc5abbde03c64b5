/**
 * Data planes under test: each created with a placeholder snapshot, bound
 * to 127.0.0.1 on free ports, with its own metrics registry and an
 * in-memory access log. Once every plane's address is known the test builds
 * the real mesh and applies it, as a control loop would. Most tests call
 * across the same two: A in `aws-us`, B in `gcp-eu` in front of `orders`.
 *
 * @module
 */
import { pino } from 'pino';
import { Registry } from 'prom-client';
import { Pool } from 'undici';
import { createDataPlane } from '../../../../../agents/gateway/dataplane/data-plane.js';
import type { DataPlane, DataPlaneOptions } from '../../../../../agents/gateway/dataplane/options.js';
import type { AuthorizationPolicy } from '../../../../../shared/contract/snapshot.js';
import type { TestIdentity } from './identity.js';
import { startService, type TestService } from './services.js';
import { snapshotFor, type TestMesh } from './snapshots.js';

export interface TestPlane {
  readonly environment: string;
  readonly name: string;
  readonly plane: DataPlane;
  readonly registry: Registry;
  /** Every log line, parsed. */
  readonly logs: Record<string, unknown>[];
  /** Raw log text, to search for what must never appear. */
  readonly rawLogs: string[];
  readonly ingress: string;
  readonly egress: string;
  /** A keep-alive client to this plane's egress listener. */
  readonly client: Pool;
  /** Applies the snapshot of this gateway in `mesh`. */
  apply(mesh: TestMesh, version: string): void;
  close(): Promise<void>;
}

/** Starts one data plane for gateway `environment/name`. */
export async function startPlane(
  identity: TestIdentity,
  environment: string,
  name: string,
  extra: Partial<DataPlaneOptions> = {},
): Promise<TestPlane> {
  const placeholder: TestMesh = {
    environments: [{ name: environment, gateways: { [name]: '127.0.0.1:0' } }],
    services: [],
  };
  let snapshot = snapshotFor(placeholder, environment, name, '0');
  const credentials = await identity.gateway(environment, name);
  const registry = new Registry();
  const logs: Record<string, unknown>[] = [];
  const rawLogs: string[] = [];
  const write = (line: string) => {
    rawLogs.push(line);
    logs.push(JSON.parse(line));
  };
  const logger = pino({ level: 'info' }, { write });
  const plane = createDataPlane({
    environment,
    gatewayName: name,
    credentials: () => credentials,
    snapshot: () => snapshot,
    registry,
    logger,
    drainMs: 200,
    ...extra,
  });
  const bound = await plane.listen({ ingressAddress: '127.0.0.1:0', egressAddress: '127.0.0.1:0' });
  const client = new Pool(`http://${bound.egress}`, { connections: 32 });
  let closing: Promise<void> | undefined;
  return {
    environment,
    name,
    plane,
    registry,
    logs,
    rawLogs,
    ingress: bound.ingress,
    egress: bound.egress,
    client,
    apply(mesh, version) {
      snapshot = snapshotFor(mesh, environment, name, version);
      plane.applySnapshot();
    },
    close() {
      closing ??= client.close().then(() => plane.close());
      return closing;
    },
  };
}

/** The service the two-plane tests call, behind B. */
export const ORDERS = { namespace: 'shop', name: 'orders' };

/** Options of {@link startTwoPlanes}. */
export interface TwoPlanesOptions {
  /** What both planes get besides the defaults (an OTLP endpoint, say). */
  readonly extra?: Partial<DataPlaneOptions>;
  /** @default 'deny' */
  readonly defaultAction?: 'allow' | 'deny';
  /** Authorization policies on {@link ORDERS}. @default none */
  readonly policies?: readonly AuthorizationPolicy[];
}

/** A workload's gateway A, the far gateway B, and the `orders` service behind B. */
export interface TwoPlanes {
  readonly a: TestPlane;
  readonly b: TestPlane;
  readonly orders: TestService;
}

/**
 * Starts A (`aws-us/gw-a`), B (`gcp-eu/gw-b`) and `orders`, then applies to
 * both the mesh (version '1') where orders has its one endpoint in gcp-eu.
 */
export async function startTwoPlanes(
  identity: TestIdentity,
  options: TwoPlanesOptions = {},
): Promise<TwoPlanes> {
  const [a, b, orders] = await Promise.all([
    startPlane(identity, 'aws-us', 'gw-a', options.extra),
    startPlane(identity, 'gcp-eu', 'gw-b', options.extra),
    startService('orders'),
  ]);
  const mesh: TestMesh = {
    ...(options.defaultAction && { defaultAction: options.defaultAction }),
    environments: [
      { name: 'aws-us', gateways: { 'gw-a': a.ingress } },
      { name: 'gcp-eu', gateways: { 'gw-b': b.ingress } },
    ],
    services: [
      {
        ...ORDERS,
        endpoints: { 'gcp-eu': [{ address: orders.address, weight: 1 }] },
        ...(options.policies && { policies: options.policies }),
      },
    ],
  };
  a.apply(mesh, '1');
  b.apply(mesh, '1');
  return { a, b, orders };
}
