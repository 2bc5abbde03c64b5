/**
 * What `weft up` runs next to the control plane, read from the mesh file it
 * applies: one gateway agent per Gateway, its admin port where the Gateway's
 * webhook points (so the control plane's notifications reach it), and one
 * demo service per Workload on a loopback address. The file is the single
 * source of truth: edit an address there and `weft up` binds the new one.
 *
 * @module
 */

import { CliError, EXIT } from '../cli/errors.js';
import { parseResource, type Resource } from '../shared/model/resource.js';
import { splitAddress } from './loopback.js';

/** A gateway agent `weft up` starts. */
export interface LocalGateway {
  readonly environment: string;
  readonly name: string;
  /** `host:port` of its admin server: the host and port of `spec.webhook`. */
  readonly adminAddress: string;
  /** Where its data plane listens: mTLS ingress (`spec.address`) and egress (`spec.egressAddress`, else admin host :15001). */
  readonly ingressAddress: string;
  readonly egressAddress: string;
}

/** A demo service `weft up` serves in process, where a Workload says it runs. */
export interface DemoService {
  readonly service: string;
  readonly namespace: string;
  readonly environment: string;
  readonly host: string;
  readonly port: number;
}

export interface LocalMesh {
  readonly gateways: readonly LocalGateway[];
  readonly services: readonly DemoService[];
  /** Workloads left out because their address is not loopback (they run elsewhere). */
  readonly skipped: readonly string[];
}

/** `127.x.y.z`: every one of them is loopback on Linux, so each environment gets its own. */
export const isLoopbackHost = (host: string) => /^127\.\d{1,3}\.\d{1,3}\.\d{1,3}$/.test(host);

/**
 * Plans the local mesh from the documents `weft up` applies. Documents that
 * do not validate are passed over here; the apply reports them with their
 * file and position.
 *
 * @throws CliError when a Gateway has no loopback webhook ending in `/notify`
 *   (nowhere to run its agent), or an environment has two gateways (each
 *   agent keeps its state in `DATA/agents/<environment>`).
 */
export function planLocalMesh(documents: readonly unknown[]): LocalMesh {
  const gateways: LocalGateway[] = [];
  const services: DemoService[] = [];
  const skipped: string[] = [];
  for (const resource of documents.map(tryParse)) {
    if (resource?.kind === 'Gateway') {
      const { name } = resource.metadata;
      const { environment, webhook } = resource.spec;
      const admin = webhook ? adminAddressOf(webhook) : undefined;
      if (!admin) {
        throw new CliError(
          `gateway ${name}: weft up runs its agent on this machine and needs spec.webhook http://127.x.y.z:PORT/notify (the agent's admin port); got ${webhook ?? 'none'}`,
          EXIT.failed,
        );
      }
      const twin = gateways.find((g) => g.environment === environment);
      if (twin) {
        throw new CliError(
          `gateways ${twin.name} and ${name} share environment ${environment}: weft up runs one gateway per environment`,
          EXIT.failed,
        );
      }
      const egressAddress = resource.spec.egressAddress ?? `${splitAddress(admin).host}:15001`;
      gateways.push({
        environment,
        name,
        adminAddress: admin,
        ingressAddress: resource.spec.address,
        egressAddress,
      });
    } else if (resource?.kind === 'Workload') {
      const { host, port } = splitAddress(resource.spec.address);
      const namespace = resource.metadata.namespace ?? 'default';
      if (!isLoopbackHost(host)) {
        skipped.push(`${namespace}/${resource.metadata.name} (${resource.spec.address})`);
        continue;
      }
      const { service, environment } = resource.spec;
      services.push({ service, namespace, environment, host, port });
    }
  }
  return { gateways, services, skipped };
}

/** The admin `host:port` a webhook URL names, when it is a loopback `http://.../notify`. */
export function adminAddressOf(webhook: string): string | undefined {
  const url = URL.canParse(webhook) ? new URL(webhook) : undefined;
  if (url?.protocol !== 'http:' || url.pathname !== '/notify' || !isLoopbackHost(url.hostname))
    return undefined;
  return `${url.hostname}:${url.port || '80'}`;
}

function tryParse(document: unknown): Resource | undefined {
  try {
    return parseResource(document);
  } catch {
    return undefined;
  }
}
