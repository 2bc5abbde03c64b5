/**
 * Data planes under test: each created with a placeholder snapshot, bound
 * to 127.0.0.1 on free ports, with its own metrics registry and an
 * in-memory access log. Once every plane's address is known the test builds
 * the real mesh and applies it, as a control loop would.
 *
 * @module
 */
import { pino } from 'pino';
import { Registry } from 'prom-client';
import { Pool } from 'undici';
import { createDataPlane } from '../../../../../agents/gateway/dataplane/data-plane.js';
import type { DataPlane, DataPlaneOptions } from '../../../../../agents/gateway/dataplane/options.js';
import type { TestIdentity } from './identity.js';
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
