/**
 * Two control planes standing in for two clouds of one mesh, as replication
 * (issue 11) will make them: two local hosts (`startLocalHost`), each with
 * its own API, bus, compiler and blob store, over the SAME state store
 * (replication reduced to its outcome: both hold the same records) and the
 * same CA, JWT and snapshot keys (the federated bundle reduced to its
 * outcome: one trust). The second host's data directory is a copy of the
 * first's CA and keys (not its blobs: it compiles its own snapshots), taken
 * once the first has opened its CA. Either host can be stopped and started
 * again on the same port.
 *
 * @module
 */
import { cp } from 'node:fs/promises';
import { basename } from 'node:path';
import { type LocalHost, startLocalHost } from '../../../../functions/local/host.js';
import { readSnapshot } from '../../../../shared/contract/signed-snapshot.js';
import type { GatewaySnapshot } from '../../../../shared/contract/snapshot.js';
import { gatewayKey } from '../../../../shared/contract/snapshot.js';
import { snapshotBlobKey } from '../../../../shared/distribution/snapshot-blobs.js';
import { MemoryStateStore } from '../../../../shared/storage/memory-state-store.js';
import { tempDir } from '../../../support/temp-dir.js';
import { ENV, GATEWAY_ID, GW, meshDocs } from './mesh-host.js';

const SILENT = { info() {}, error() {} };

/** One of the two control planes. */
export interface Cloud {
  readonly name: string;
  readonly url: string;
  readonly dataDir: string;
  /** The host running now; `undefined` while stopped. */
  readonly host: LocalHost | undefined;
  /** Applies documents here and waits until they are compiled and stored here. */
  apply(docs: readonly unknown[]): Promise<void>;
  /** The gateway's snapshot as this cloud stored it. */
  signedSnapshot(name?: string): Promise<{ snapshot: GatewaySnapshot; jws: string }>;
  /** A one-time join token, minted in this cloud's (unreplicated) join-token store. */
  joinToken(spiffeId?: string): Promise<string>;
  stop(): Promise<void>;
  /** Starts a new host on the same port, data directory and store. */
  restart(): Promise<void>;
}

export interface TwinHosts {
  readonly store: MemoryStateStore;
  readonly a: Cloud;
  readonly b: Cloud;
  close(): Promise<void>;
}

/** Cloud `a` with the agent test mesh applied, then cloud `b` over the same store and trust. */
export async function startTwinHosts(docs: readonly unknown[] = meshDocs()): Promise<TwinHosts> {
  const store = new MemoryStateStore();
  const a = await startCloud('aws', await tempDir('weft-agent-cloud-a-'), store);
  await a.apply(docs);
  const dirB = await tempDir('weft-agent-cloud-b-');
  await cp(a.dataDir, dirB, {
    recursive: true,
    filter: (source) => basename(source) !== 'blobs',
  });
  const b = await startCloud('gcp', dirB, store);
  return {
    store,
    a,
    b,
    async close() {
      await a.stop();
      await b.stop();
    },
  };
}

async function startCloud(name: string, dataDir: string, store: MemoryStateStore): Promise<Cloud> {
  let host: LocalHost | undefined = await startLocalHost({ dataDir, store, logger: SILENT });
  const url = host.url;
  const port = Number(new URL(url).port);
  const running = () => {
    if (!host) throw new Error(`cloud ${name} is stopped`);
    return host;
  };
  const post = async (path: string, body: unknown) => {
    const res = await fetch(`${url}${path}`, {
      method: 'POST',
      headers: { authorization: `Bearer ${running().adminToken}`, 'content-type': 'application/json' },
      body: JSON.stringify(body),
    });
    const text = await res.text();
    if (res.status >= 300) throw new Error(`${name} ${path}: ${res.status} ${text}`);
    return JSON.parse(text) as Record<string, unknown>;
  };
  return {
    name,
    url,
    dataDir,
    get host() {
      return host;
    },
    async apply(docs) {
      await post('/v1/apply', docs);
      await running().idle();
    },
    async signedSnapshot(gw = GW) {
      await running().idle();
      const blob = await running().blobs.get(snapshotBlobKey(gatewayKey(ENV, gw)));
      if (!blob) throw new Error(`cloud ${name} stored no snapshot for ${ENV}/${gw}`);
      return { snapshot: readSnapshot(blob.body)!, jws: blob.body };
    },
    joinToken: async (spiffeId = GATEWAY_ID) => (await post('/v1/join-tokens', { spiffeId })).token as string,
    async stop() {
      const closing = host;
      host = undefined;
      await closing?.close();
    },
    async restart() {
      if (host) throw new Error(`cloud ${name} is running`);
      host = await startLocalHost({ dataDir, store, port, logger: SILENT });
    },
  };
}
