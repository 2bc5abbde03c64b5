/**
 * The three control planes of `weft up`: aws, gcp and azure, each a
 * `weft serve --mesh` child process on its own port (7070, 7071, 7072),
 * with its own store, keys and CA under `DATA/<cloud>/`, all on one mesh
 * root (`DATA/root/`) and one operator key (`DATA/admin-token` is valid at
 * every cloud). The first start makes the root, each cloud's CA and relay
 * key and `DATA/federation.json` (functions/local/federation.ts); later ones
 * keep them. One cloud can be stopped and started while the others run.
 *
 * @module
 */
import { readFile } from 'node:fs/promises';
import { type AddressInfo, createServer } from 'node:net';
import { join } from 'node:path';
import { initRoot, prepareCloud, writeFederationFile } from '../functions/local/federation.js';
import type { Running } from '../process/stack.js';
import type { Provider } from '../shared/model/specs.js';
import { type ControlPlaneChild, startControlPlaneChild } from './control-plane-child.js';

/** The clouds `weft up` runs, in the order of their ports. */
export const UP_CLOUDS = ['aws', 'gcp', 'azure'] as const satisfies readonly Provider[];
export type UpCloud = (typeof UP_CLOUDS)[number];

export interface FederatedControlPlanesOptions {
  readonly meshDir: string;
  readonly trustDomain: string;
  /** aws's port; gcp and azure take the next two. 0: three free ports. */
  readonly basePort: number;
  readonly progress: (line: string) => void;
  readonly onUnexpectedExit: (cloud: UpCloud, code: number | null, signal: NodeJS.Signals | null) => void;
  readonly signal?: AbortSignal;
  /** @default 2s: a local mesh repairs quickly */
  readonly antiEntropyInterval?: string;
}

export interface FederatedControlPlanes extends Running {
  readonly urls: Readonly<Record<UpCloud, string>>;
  readonly adminToken: string;
  readonly adminTokenFile: string;
  /** The running child of `cloud`, if it runs. */
  running(cloud: UpCloud): ControlPlaneChild | undefined;
  /** Stops `cloud`'s control plane (the others keep running). */
  stop(cloud: UpCloud): Promise<void>;
  /** Starts `cloud`'s control plane again; it catches up by anti-entropy. */
  start(cloud: UpCloud): Promise<void>;
  kill(): void;
}

/**
 * Prepares the mesh's identity if needed, then starts every cloud's control plane.
 *
 * @throws CliError when one does not start (the others are stopped first).
 */
export async function startFederatedControlPlanes(
  o: FederatedControlPlanesOptions,
): Promise<FederatedControlPlanes> {
  const rootDir = join(o.meshDir, 'root');
  const { created } = await initRoot(rootDir, o.trustDomain);
  if (created) o.progress(`made the mesh root for ${o.trustDomain} in ${rootDir} (its key stays there)`);
  // Port 0: three free ports, picked now, since each cloud's peers must know them.
  const ports =
    o.basePort === 0 ? await Promise.all(UP_CLOUDS.map(freePort)) : UP_CLOUDS.map((_, i) => o.basePort + i);
  const urls = Object.fromEntries(UP_CLOUDS.map((c, i) => [c, `http://127.0.0.1:${ports[i]}`])) as Record<
    UpCloud,
    string
  >;
  const clouds = [];
  for (const cloud of UP_CLOUDS) {
    const relayKey = await prepareCloud({ rootDir, cloudDir: join(o.meshDir, cloud), cloud });
    clouds.push({ cloud, url: urls[cloud], relayKey });
  }
  await writeFederationFile(join(o.meshDir, 'federation.json'), { trustDomain: o.trustDomain, clouds });

  const children = new Map<UpCloud, ControlPlaneChild>();
  const startOne = async (cloud: UpCloud) => {
    o.progress(`control plane ${cloud}: starting on ${urls[cloud]}`);
    const child = await startControlPlaneChild({
      meshDir: o.meshDir,
      cloud,
      url: urls[cloud],
      antiEntropyInterval: o.antiEntropyInterval ?? '2s',
      onUnexpectedExit: (code, signal) => {
        if (children.get(cloud) === child) children.delete(cloud);
        o.onUnexpectedExit(cloud, code, signal);
      },
      ...(o.signal && { signal: o.signal }),
    });
    children.set(cloud, child);
    o.progress(`control plane ${cloud}: ready (pid ${child.pid})`);
  };
  const started = await Promise.allSettled(UP_CLOUDS.map(startOne));
  const failed = started.find((r) => r.status === 'rejected');
  if (failed) {
    await Promise.allSettled([...children.values()].map((c) => c.close()));
    throw failed.reason;
  }
  const adminTokenFile = join(o.meshDir, 'admin-token');
  const adminToken = (await readFile(adminTokenFile, 'utf8')).trim();
  return {
    name: 'control planes',
    urls,
    adminToken,
    adminTokenFile,
    running: (cloud) => children.get(cloud),
    async stop(cloud) {
      const child = children.get(cloud);
      children.delete(cloud);
      await child?.close();
    },
    async start(cloud) {
      if (!children.has(cloud)) await startOne(cloud);
    },
    kill() {
      for (const child of children.values()) child.kill();
    },
    async close() {
      const closing = [...children.values()];
      children.clear();
      const closed = await Promise.allSettled(closing.map((c) => c.close()));
      const failures = closed.flatMap((c, i) => (c.status === 'rejected' ? [closing[i]!.name] : []));
      if (failures.length > 0) throw new Error(`${failures.join(', ')} did not stop cleanly`);
    },
  };
}

/** A loopback port that was free a moment ago. */
function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = createServer().listen(0, '127.0.0.1', () => {
      const { port } = server.address() as AddressInfo;
      server.close(() => resolve(port));
    });
    server.on('error', reject);
  });
}
