/**
 * The gateway agents of the local mesh, started together and stopped
 * together. Each keeps its key, SVID, trust bundle and last-known-good
 * config in `DATA/agents/<environment>` and logs to
 * `DATA/agents/<environment>.log`, so the next `weft up` resumes it without
 * a new join token.
 *
 * @module
 */
import { mkdir } from 'node:fs/promises';
import { join } from 'node:path';
import type { ApiClient } from '../cli/api-client.js';
import type { Running } from '../process/stack.js';
import { type AgentChild, startAgentChild } from './agent-child.js';
import { hasUsableSvid, mintJoinToken } from './agent-identity.js';
import type { LocalGateway } from './local-mesh.js';

export interface StartGatewaysOptions {
  readonly gateways: readonly LocalGateway[];
  readonly client: ApiClient;
  readonly controlPlaneUrl: string;
  /**
   * A federated mesh: each gateway's home control plane (its join token is
   * minted there) and the others, in order. @default `client` and `controlPlaneUrl` for all
   */
  readonly homeOf?: (gateway: LocalGateway) => {
    readonly client: ApiClient;
    readonly urls: readonly string[];
  };
  readonly trustDomain: string;
  readonly dataDir: string;
  /** One progress line. */
  readonly progress: (line: string) => void;
  readonly onUnexpectedExit: (agent: string, code: number | null, signal: NodeJS.Signals | null) => void;
  readonly signal?: AbortSignal;
}

/** A started agent, with what the summary shows of it. */
export interface StartedGateway {
  readonly gateway: LocalGateway;
  readonly child: AgentChild;
  readonly dataDir: string;
  readonly logFile: string;
}

/** All agents, as one part of the stack: they stop in parallel, before the API. */
export interface Gateways extends Running {
  readonly started: readonly StartedGateway[];
  kill(): void;
}

/**
 * Starts every agent at once and waits for all to be ready.
 *
 * @throws the first failure, after stopping the agents that did start.
 */
export async function startGateways(o: StartGatewaysOptions): Promise<Gateways> {
  await mkdir(join(o.dataDir, 'agents'), { recursive: true, mode: 0o700 });
  const results = await Promise.allSettled(o.gateways.map((g) => startOne(g, o)));
  const started = results.flatMap((r) => (r.status === 'fulfilled' ? [r.value] : []));
  const gateways: Gateways = {
    name: 'gateway agents',
    started,
    kill: () => {
      for (const s of started) s.child.kill();
    },
    async close() {
      const closed = await Promise.allSettled(started.map((s) => s.child.close()));
      const failed = closed.flatMap((c, i) => (c.status === 'rejected' ? [started[i]!.child.name] : []));
      if (failed.length > 0) throw new Error(`${failed.join(', ')} did not stop cleanly`);
    },
  };
  const failure = results.find((r) => r.status === 'rejected');
  if (failure) {
    await gateways.close().catch(() => {});
    throw failure.reason;
  }
  return gateways;
}

async function startOne(gateway: LocalGateway, o: StartGatewaysOptions): Promise<StartedGateway> {
  const { environment, name, adminAddress } = gateway;
  const who = `gateway ${environment}/${name}`;
  const dataDir = join(o.dataDir, 'agents', environment);
  const logFile = join(o.dataDir, 'agents', `${environment}.log`);
  const spiffeId = `spiffe://${o.trustDomain}/gw/${environment}/${name}`;
  const home = o.homeOf?.(gateway) ?? { client: o.client, urls: [o.controlPlaneUrl] };
  const start = (joinToken: string | undefined) =>
    startAgentChild({
      environment,
      name,
      adminAddress,
      dataDir,
      logFile,
      controlPlaneUrl: home.urls[0]!,
      peerControlPlaneUrls: home.urls.slice(1),
      ...(joinToken && { joinToken }),
      onUnexpectedExit: (code, signal) => o.onUnexpectedExit(who, code, signal),
      ...(o.signal && { signal: o.signal }),
    });
  const resumes = await hasUsableSvid(dataDir, spiffeId);
  o.progress(
    `${who}: starting, admin ${adminAddress}, ${resumes ? 'resuming its identity' : 'with a new join token'}`,
  );
  let child: AgentChild;
  try {
    child = await start(resumes ? undefined : await mintJoinToken(home.client, spiffeId));
  } catch (error) {
    // The agent is the judge of its SVID (its chain, its bundle); if it wants a token after all, it gets one.
    if (!resumes || !/join token/i.test((error as Error).message)) throw error;
    o.progress(`${who}: its stored identity was refused; starting again with a new join token`);
    child = await start(await mintJoinToken(home.client, spiffeId));
  }
  o.progress(`${who}: ready (pid ${child.pid})`);
  return { gateway, child, dataDir, logFile };
}
