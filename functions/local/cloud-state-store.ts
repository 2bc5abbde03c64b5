/**
 * Which state store one cloud of a local federated mesh runs on: its own
 * cloud's adapter where an emulator that `npm ci` installs can serve it, the
 * embedded default otherwise. The embedded default (dynalite under
 * `dataDir/state`, which `startLocalHost` opens) is AWS's own adapter, so aws
 * needs nothing here; azure gets the Azure Tables adapter on azurite under
 * `dataDir/azurite`; gcp (Firestore has no emulator on npm) keeps the default.
 *
 * @module
 */
import { join } from 'node:path';
import type { ApiLogger } from '../../shared/api/create-api.js';
import type { JoinTokenStore } from '../../shared/identity/attestation/join-token-store.js';
import type { Provider } from '../../shared/model/specs.js';
import type { StateStore } from '../../shared/storage/state-store.js';
import { AzureTableJoinTokenStore } from '../azure/table-join-token-store.js';
import { AzureTableStateStore, ensureAzureTable } from '../azure/table-state-store.js';
import { startEmbeddedAzurite } from './embedded-azurite.js';

/** The state table on azurite: the name the Azure deployment uses by default (Azure table names are alphanumeric). */
export const LOCAL_AZURE_TABLE = 'weftstate';
/** Join-token hashes, beside it. */
export const LOCAL_AZURE_JOIN_TOKEN_TABLE = 'weftjointokens';

export interface CloudStateStoreOptions {
  readonly cloud: Provider;
  /** The cloud's data directory (`MESH/CLOUD`). */
  readonly dataDir: string;
  readonly logger?: ApiLogger;
}

export interface CloudStateStore {
  readonly store: StateStore;
  /** Join-token hashes, in the same emulator (a table of their own). */
  readonly joinTokens: JoinTokenStore;
  /** Where it keeps its data. */
  readonly dir: string;
  /** Stops the emulator behind the store, leaving its files for the next start. Idempotent. */
  close(): Promise<void>;
}

/**
 * Starts `cloud`'s own state store, if it has one here.
 *
 * @returns `undefined` for the embedded default: pass no `store` to `startLocalHost`.
 * @throws UnavailableError when another weft process holds the store's directory.
 */
export async function startCloudStateStore(
  options: CloudStateStoreOptions,
): Promise<CloudStateStore | undefined> {
  if (options.cloud !== 'azure') return undefined;
  const dir = join(options.dataDir, 'azurite');
  const azurite = await startEmbeddedAzurite({ dataDir: dir });
  if (!azurite) {
    options.logger?.info({
      msg: 'state: azurite is not installed (an install without devDependencies); azure keeps its state in the embedded store',
      dir: join(options.dataDir, 'state'),
    });
    return undefined;
  }
  const client = azurite.client(LOCAL_AZURE_TABLE);
  const tokens = azurite.client(LOCAL_AZURE_JOIN_TOKEN_TABLE);
  try {
    await ensureAzureTable(client, { timeoutMs: 5000 });
    await ensureAzureTable(tokens, { timeoutMs: 5000 });
  } catch (error) {
    await azurite.close();
    throw error;
  }
  options.logger?.info({ msg: 'state: Azure Tables on azurite', dir, endpoint: azurite.endpoint });
  return {
    store: new AzureTableStateStore({ client }),
    joinTokens: new AzureTableJoinTokenStore({ client: tokens }),
    dir,
    close: () => azurite.close(),
  };
}
