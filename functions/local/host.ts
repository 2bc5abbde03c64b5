/**
 * The local API host: the very API the cloud functions serve, on node:http,
 * over dynalite on disk (driven by the same DynamoDB adapter as AWS), with
 * workload identity from a CA under the data directory (`identity.ts`) and
 * config distribution in process (`distribution.ts`): every write compiled,
 * signed and stored under `<dataDir>/blobs`, webhooks notified.
 * What `weft serve` and `npm start` run.
 *
 * @module
 */
import { chmod, mkdir, writeFile } from 'node:fs/promises';
import type { Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { join } from 'node:path';
import type { ApiLogger } from '../../shared/api/create-api.js';
import { createOperatorAuthenticator } from '../../shared/api/operator-auth.js';
import type { JoinTokenStore } from '../../shared/identity/attestation/join-token-store.js';
import type { Provider } from '../../shared/model/specs.js';
import type { Federation } from '../../shared/replication/federation.js';
import type { BlobStore } from '../../shared/storage/blob-store.js';
import type { StateStore } from '../../shared/storage/state-store.js';
import { DynamoDbStateStore, ensureTable } from '../aws/dynamodb-state-store.js';
import { composeControlPlane } from '../control-plane/compose-control-plane.js';
import { localCaOpener } from './ca.js';
import { type LocalDistribution, localBus, runLocalDistribution } from './distribution.js';
import { startEmbeddedDynamoDb } from './embedded-dynamodb.js';
import { FsBlobStore } from './fs-blob-store.js';
import { localJoinTokens, warmUpLocalIdentity } from './identity.js';
import { createApiServer } from './node-http.js';
import { LOCAL_AUDIENCE, LOCAL_ISSUER, loadOperatorKey } from './operator-key.js';

export const LOCAL_TABLE = 'weft-state';

export interface LocalHostOptions {
  /** Where state, the CA and its keys, and the admin token live. */
  readonly dataDir: string;
  /** @default '127.0.0.1' */
  readonly host?: string;
  /** @default 0 (any free port) */
  readonly port?: number;
  /** @default dynalite on disk under `dataDir/state` */
  readonly store?: StateStore;
  readonly logger?: ApiLogger;
  /** `POST /v1/attest` attempts per source address. @default 60 a minute */
  readonly attestRateLimit?: { readonly limit: number; readonly windowMs: number };
  /** How webhook notifications are POSTed. @default globalThis.fetch */
  readonly fetch?: typeof fetch;
  /** How often the sweep republishes writes whose publication a crash lost. @default 10 s */
  readonly sweepIntervalMs?: number;
  /** Which cloud this host stands for: its HLC node, issuing provider and origin. @default 'local' */
  readonly cloud?: Provider;
  /** Its relay key and peers: replication on. @default none */
  readonly federation?: Federation;
  /** @default 30 s */
  readonly antiEntropyIntervalMs?: number;
  /** A federated mesh's root certificate: this cloud's CA installs its intermediate instead of making a root. */
  readonly caRoot?: { readonly certPem: string };
  /** Where join-token hashes live. @default DynamoDB on the embedded store; in memory with a `store` of the caller's */
  readonly joinTokens?: JoinTokenStore;
  /** Where the operator key and the admin token live (one for several clouds). @default `dataDir` */
  readonly operatorDir?: string;
}

export interface LocalHost {
  readonly url: string;
  readonly adminToken: string;
  /** Where the admin token was written (mode 0600). */
  readonly adminTokenFile: string;
  readonly store: StateStore;
  /** Signed snapshots, status reports and watermarks (`<dataDir>/blobs`). */
  readonly blobs: BlobStore;
  /** Resolves once every write so far is compiled and its webhooks notified (for tests and scripts). */
  idle(): Promise<void>;
  close(): Promise<void>;
}

/** Starts the API on the embedded store. Resumes from whatever `dataDir` holds. */
export async function startLocalHost(options: LocalHostOptions): Promise<LocalHost> {
  await mkdir(options.dataDir, { recursive: true, mode: 0o700 });
  const embedded = options.store
    ? undefined
    : await startEmbeddedDynamoDb({ dataDir: join(options.dataDir, 'state') });
  let store = options.store;
  if (embedded) {
    await ensureTable(embedded.client, LOCAL_TABLE);
    store = new DynamoDbStateStore({ client: embedded.client, tableName: LOCAL_TABLE });
  }
  const operatorDir = options.operatorDir ?? options.dataDir;
  const key = await loadOperatorKey(operatorDir);
  const adminToken = await key.mint('local-admin', 'admin');
  const adminTokenFile = join(operatorDir, 'admin-token');
  await writeFile(adminTokenFile, `${adminToken}\n`, { mode: 0o600 });
  await chmod(adminTokenFile, 0o600);

  // A damaged key directory stops the start; let go of the state directory so a fixed retry can open it.
  const blobs = new FsBlobStore(join(options.dataDir, 'blobs'));
  const bus = localBus(options.logger);
  const plane = composeControlPlane({
    cloud: options.cloud ?? 'local',
    ...(options.federation && { federation: options.federation }),
    store: store!,
    openCa: localCaOpener(options.dataDir, options.cloud ?? 'local', options.caRoot),
    joinTokens:
      options.joinTokens ?? localJoinTokens(embedded && { client: embedded.client, tableName: LOCAL_TABLE }),
    blobs,
    bus,
    authenticate: createOperatorAuthenticator({
      jwks: key.jwks,
      issuer: LOCAL_ISSUER,
      audience: LOCAL_AUDIENCE,
    }),
    ...(options.attestRateLimit && { attestRateLimit: options.attestRateLimit }),
    ...(options.logger && { logger: options.logger }),
    ...(options.fetch && { fetch: options.fetch }),
  });
  let distribution: LocalDistribution;
  try {
    await warmUpLocalIdentity(plane.identity!, options.dataDir, options.logger);
    distribution = await runLocalDistribution({
      plane,
      bus,
      ...(options.logger && { logger: options.logger }),
      ...(options.sweepIntervalMs && { sweepIntervalMs: options.sweepIntervalMs }),
      ...(options.antiEntropyIntervalMs && { antiEntropyIntervalMs: options.antiEntropyIntervalMs }),
    });
  } catch (error) {
    await embedded?.close();
    throw error;
  }
  const api = plane.api;
  const server = createApiServer(api);
  try {
    await listen(server, options.port ?? 0, options.host ?? '127.0.0.1');
  } catch (error) {
    // Release the store's files, or the next start finds the directory locked.
    await distribution.close();
    await embedded?.close();
    throw error;
  }
  const { address, port } = server.address() as AddressInfo;
  const host = address.includes(':') ? `[${address}]` : address;

  return {
    url: `http://${host}:${port}`,
    adminToken,
    adminTokenFile,
    store: store!,
    blobs,
    idle: () => distribution.idle(),
    async close() {
      await new Promise<void>((resolve) => {
        server.close(() => resolve());
        server.closeAllConnections();
      });
      // Compiles in flight read the store: let them finish before it closes.
      await distribution.close();
      await embedded?.close();
    },
  };
}

function listen(server: Server, port: number, host: string): Promise<void> {
  return new Promise((resolve, reject) => {
    server.once('error', reject);
    server.listen(port, host, () => {
      server.off('error', reject);
      resolve();
    });
  });
}
