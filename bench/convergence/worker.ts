/**
 * A process hosting many gateway agents' control loops (`startGatewayAgent`,
 * the library entry `weft agent` runs), for gateway counts no machine would
 * run as separate processes. Each agent keeps everything of its own: data
 * directory, admin server on its own loopback address (where its webhook
 * points), and its own source address towards the control plane (an undici
 * Agent bound to it), as if it ran on its own host. Logs are off.
 *
 * Driven over IPC by `agents.ts`: `start` a batch, answered `started`;
 * `stop` closes every agent and exits.
 *
 * @module
 */
import { join } from 'node:path';
import { pino } from 'pino';
import { Agent, fetch as undiciFetch } from 'undici';
import { type GatewayAgent, startGatewayAgent } from '../../agents/gateway/main.js';

export interface StartBatch {
  readonly type: 'start';
  readonly controlPlaneUrl: string;
  readonly dataRoot: string;
  readonly agents: readonly {
    name: string;
    environment: string;
    ip: string;
    adminAddress: string;
    joinToken: string;
  }[];
}

const running: GatewayAgent[] = [];
const silent = pino({ level: 'silent' });
/** When each agent here applied each version from the control plane (epoch ms), to split convergence into apply and report. */
const appliedAt = new Map<string, number[]>();

async function startBatch(batch: StartBatch): Promise<void> {
  // A few at a time: each attests (key generation, CSR) and fetches its first snapshot.
  const queue = [...batch.agents];
  const worker = async () => {
    for (let a = queue.shift(); a; a = queue.shift()) {
      const dispatcher = new Agent({ connect: { localAddress: a.ip }, keepAliveTimeout: 60_000 });
      const fetchFrom = ((input: string, init?: object) =>
        undiciFetch(input, { ...init, dispatcher })) as unknown as typeof fetch;
      const agent = await startGatewayAgent({
        environment: a.environment,
        name: a.name,
        controlPlaneUrl: batch.controlPlaneUrl,
        joinToken: a.joinToken,
        dataDir: join(batch.dataRoot, a.name),
        adminAddress: a.adminAddress,
        logger: silent,
        fetch: fetchFrom,
        // The control loop alone: what is measured is distribution, not traffic.
        dataPlane: false,
      });
      agent.config.subscribe(({ snapshot, source }) => {
        if (source !== 'control-plane') return;
        const times = appliedAt.get(snapshot.version) ?? [];
        appliedAt.set(snapshot.version, [...times, Date.now()]);
      });
      running.push(agent);
    }
  };
  await Promise.all(Array.from({ length: 8 }, worker));
}

/** Asks how many agents here applied `version`, and when the last one did. */
export interface AppliedQuery {
  readonly type: 'applied';
  readonly version: string;
}

process.on('message', (message: StartBatch | AppliedQuery | { type: 'stop' }) => {
  if (message.type === 'applied') {
    const times = appliedAt.get(message.version) ?? [];
    process.send!({ type: 'applied', count: times.length, lastAt: Math.max(0, ...times) });
  } else if (message.type === 'start') {
    startBatch(message).then(
      () => process.send!({ type: 'started', count: running.length }),
      (error: unknown) => process.send!({ type: 'failed', error: String(error) }),
    );
  } else {
    Promise.all(running.map((a) => a.close())).finally(() => process.exit(0));
  }
});
process.on('disconnect', () => process.exit(0));
