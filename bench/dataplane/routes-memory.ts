/**
 * What a gateway holds in memory for its routes: gateway A started idle
 * with one egress service (and route rule), then with `routes`, each
 * measured the same way once started (RSS and PSS after a settle). weft: a
 * fresh gateway process whose snapshot has them; nginx: a fresh master and
 * worker with one `server` block (`server_name` plus a proxying `location`)
 * per service host, the same TLS settings as the benchmark's gateway A.
 *
 * @module
 */
import { join } from 'node:path';
import { round } from '../harness.js';
import { startChild } from './children.js';
import type { Materials } from './materials.js';
import { freePort, startNginx } from './nginx.js';
import { gatewayAConfig } from './nginx-config.js';
import { memory, type ProcessGroup } from './proc.js';
import { startWeftGateway } from './weft.js';

/** Resident memory of an idle gateway A, MiB. */
export interface RoutesMemory {
  readonly routes: number;
  readonly rssMiB: number;
  readonly pssMiB: number;
}

const SETTLE_MS = 1_500;
/** Nothing listens here: an idle gateway never dials B. */
const NOWHERE = '127.0.0.1:9';

async function settled(group: ProcessGroup, routes: number): Promise<RoutesMemory> {
  await new Promise((r) => setTimeout(r, SETTLE_MS));
  const m = memory(group);
  return { routes, rssMiB: round(m.rssMiB, 1), pssMiB: round(m.pssMiB, 1) };
}

/** weft gateway A, idle, with `routes` egress services. */
export async function weftRoutesMemory(dir: string, m: Materials, routes: number): Promise<RoutesMemory> {
  const gateway = await startWeftGateway(`weft-a-${routes}-routes`, dir, m, {
    role: 'a',
    bIngress: NOWHERE,
    routes,
  });
  try {
    return await settled({ label: gateway.label, pids: [gateway.pid] }, routes);
  } finally {
    await gateway.stop();
  }
}

/** nginx gateway A, idle, with `routes` server blocks. */
export async function nginxRoutesMemory(
  nginx: string,
  dir: string,
  m: Materials,
  routes: number,
): Promise<RoutesMemory> {
  const port = await freePort();
  const label = `nginx-a-${routes}-routes`;
  const config = gatewayAConfig(dir, m, port, NOWHERE, routes, label);
  const instance = await startNginx(nginx, label, dir, config, port);
  try {
    return await settled(instance.group, routes);
  } finally {
    await instance.stop();
  }
}

/** The runtime alone, idle: `node`, and `node --import tsx` (how `bin/weft.js` runs the agent). */
export async function runtimeMemory(): Promise<{ node: RoutesMemory; nodeWithTsx: RoutesMemory }> {
  const idle = async (label: string, args: string[]) => {
    const script = "console.log('ready'); setInterval(() => {}, 1000)";
    const child = startChild(label, process.execPath, [...args, '--input-type=module', '-e', script], {
      cwd: join(import.meta.dirname, '..', '..'),
    });
    try {
      await child.waitForLine((line) => (line === 'ready' ? true : undefined), 30_000);
      return await settled({ label, pids: [child.pid] }, 0);
    } finally {
      await child.stop(2_000);
    }
  };
  return { node: await idle('node', []), nodeWithTsx: await idle('node-tsx', ['--import', 'tsx']) };
}
