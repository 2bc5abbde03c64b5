/**
 * An environment's gateway as the mesh tests start it: `gw-<env>` with a
 * join token for its SPIFFE ID, its data under the test's directory, its
 * admin server on the environment's loopback host, its ingress where its
 * Gateway document says.
 *
 * @module
 */
import { type AgentArgs, type AgentProcess, startAgent } from './agent-process.js';
import type { MeshHost } from './mesh-host.js';

/** Options of {@link startGatewayAgent}: an environment's gateway `gw-<env>` in a mesh test. */
export interface GatewayAgentArgs
  extends Omit<AgentArgs, 'controlPlane' | 'dataDir' | 'joinToken' | 'environment' | 'name'> {
  readonly env: string;
  /** The mesh's trust domain: the join token is for `spiffe://<trustDomain>/gw/<env>/gw-<env>`. */
  readonly trustDomain: string;
  /** The agent's data goes to `<dir>/<env>`. */
  readonly dir: string;
  /** The environment's loopback host: the admin server listens on `<host>:0`. */
  readonly host: string;
  /** `false`: no join token, as on a restart with the SVID it saved. @default true */
  readonly join?: boolean;
}

/**
 * Starts the gateway of `args.env` against `cp`, ingress on the address its
 * Gateway declares unless `ingressAddress` says otherwise; the other
 * {@link AgentArgs} pass through.
 */
export async function startGatewayAgent(
  cp: Pick<MeshHost, 'url' | 'joinToken'>,
  args: GatewayAgentArgs,
): Promise<AgentProcess> {
  const { env, trustDomain, dir, host, join = true, ...rest } = args;
  const name = `gw-${env}`;
  return startAgent({
    environment: env,
    name,
    controlPlane: cp.url,
    dataDir: `${dir}/${env}`,
    ...(join && { joinToken: await cp.joinToken(`spiffe://${trustDomain}/gw/${env}/${name}`) }),
    adminAddress: `${host}:0`,
    ingressAddress: null,
    ...rest,
  });
}
