/**
 * The Azure composition root: the whole control plane over Azure Tables
 * (state, join tokens, used proofs, rate limits), Blob storage (snapshots,
 * status, the CA's public state, replication bookkeeping), an Event Grid
 * custom topic (changes) and Key Vault (every private key), wired once per
 * cold start from the Function App's settings. Every function (api, ingest,
 * compile, relay, sweep, registrar, reconcile) runs in the same app and
 * calls its part of the same plane.
 *
 * | variable | |
 * |---|---|
 * | `WEFT_TABLES_CONNECTION_STRING` or `AzureWebJobsStorage` | a storage connection string (azurite, keys) ... |
 * | `WEFT_STORAGE_ACCOUNT` | ... or the storage account, reached as the managed identity (one of them is required) |
 * | `WEFT_TABLE_NAME` | the state table (default `weftstate`); join tokens, proofs and limits have tables of their own ({@link AZURE_TABLE_NAMES}) |
 * | `WEFT_BLOB_CONTAINER` | the blob container (default `weft`) |
 * | `WEFT_EVENT_GRID_ENDPOINT` | the changes topic's endpoint, `https://<topic>.<region>-1.eventgrid.azure.net/api/events` (required) |
 * | `WEFT_EVENT_GRID_KEY` | the topic's access key (default: the managed identity, an EventGrid Data Sender) |
 * | `WEFT_KEY_VAULT_URL` | `https://<vault>.vault.azure.net`: the CA's keys are created in it on first use (required) |
 * | `WEFT_RELAY_KEY_NAME` | the vault key relay events are signed with (required with peers) |
 * | `WEFT_PEERS` | the peer clouds as JSON `[{"cloud","url","keys":[JWK with kid]}]` (default none) |
 * | `WEFT_ROOT_CERT` | a federated mesh's root certificate, PEM (default: the CA keeps its own root in Key Vault) |
 * | `WEFT_MSI_AUDIENCE` | the resource agents get managed identity tokens for: `azure_msi` attestation on (default off) |
 * | `AZURE_CLIENT_ID` | the user-assigned managed identity (default the system-assigned one) |
 * | `WEFT_OPERATOR_ISSUER`, `WEFT_OPERATOR_AUDIENCE` | operator tokens' `iss` and `aud` (required) |
 * | `WEFT_OPERATOR_JWKS_URL` or `WEFT_OPERATOR_JWKS` | their keys: an https URL, or the JWKS as JSON (one is required) |
 * | `WEFT_OPERATOR_ROLE_CLAIM` | the claim holding `admin` or `viewer` (default `role`) |
 *
 * A test injects what it runs instead (table clients, a container, a bus,
 * a key ring, a CA opener, a credential); each injected part makes its
 * variable optional. Clients are built here but reach nothing until a call;
 * `@azure/identity` is loaded on the first token asked for, never by a
 * composition that has a connection string and injected keys.
 *
 * @module
 */
import { TableClient } from '@azure/data-tables';
import { AzureKeyCredential, EventGridPublisherClient } from '@azure/eventgrid';
import type { TokenCredential } from '@azure/identity';
import { CryptographyClient, KeyClient } from '@azure/keyvault-keys';
import { BlobServiceClient, ContainerClient } from '@azure/storage-blob';
import type { Api } from '../../shared/api/types.js';
import type { RelayPeer } from '../../shared/replication/federation.js';
import type { StateStore } from '../../shared/storage/state-store.js';
import {
  assembleCloudPlane,
  type CloudCompositionOptions,
  cloudCaOpener,
  readFederation,
  readRootCert,
  requiredUnless,
} from '../control-plane/cloud-config.js';
import type { ControlPlane } from '../control-plane/compose-control-plane.js';
import {
  consoleJsonLogger,
  type Env,
  EnvConfig,
  operatorAuthFromEnv,
  type StateStoreFactory,
  stateStoreFromEnv,
} from '../control-plane/startup.js';
import { AzureBlobStore } from './azure-blob-store.js';
import { EventGridEventBus } from './event-grid-event-bus.js';
import { KeyVaultKeyRing } from './key-vault-key-ring.js';
import { KeyVaultSigner } from './key-vault-signer.js';
import { AzureTableJoinTokenStore } from './table-join-token-store.js';
import { AzureTableRateLimiter } from './table-rate-limiter.js';
import { AzureTableReplayCache } from './table-replay-cache.js';
import { AzureTableStateStore } from './table-state-store.js';

/** The tables weft uses (the deployment creates them): the state's is `WEFT_TABLE_NAME`'s default. */
export const AZURE_TABLE_NAMES = {
  state: 'weftstate',
  joinTokens: 'weftjointokens',
  replay: 'weftreplay',
  rateLimits: 'weftratelimits',
} as const;
/** `WEFT_BLOB_CONTAINER`'s default. */
export const AZURE_DEFAULT_CONTAINER = 'weft';

/** What a caller (a test, a custom build) may hand in instead of what the environment names. */
export interface AzureCompositionOptions extends CloudCompositionOptions {
  /** A client per table name. @default the storage account's (connection string or managed identity) */
  readonly tables?: (tableName: string) => TableClient;
  /** The blob container. @default `WEFT_BLOB_CONTAINER` in the storage account */
  readonly container?: ContainerClient;
  /** The changes topic's client. @default `WEFT_EVENT_GRID_ENDPOINT`, with its key or the managed identity */
  readonly eventGrid?: EventGridPublisherClient<'CloudEvent'>;
  /** The state store. @default Azure Tables, table `WEFT_TABLE_NAME` (`WEFT_STATE_BACKEND=tables`) */
  readonly createStore?: StateStoreFactory;
  /** Gets tokens for Storage, Event Grid and Key Vault. @default the managed identity (`AZURE_CLIENT_ID`) */
  readonly credential?: TokenCredential;
}

/** Where the storage account is reached: by connection string, or by name as the managed identity. */
export type AzureStorageAccess =
  | { readonly kind: 'connection-string'; readonly connectionString: string }
  | { readonly kind: 'account'; readonly account: string };

/** The Azure environment, read and checked at once, before anything is reached. */
export interface AzureConfig {
  /** The state store, built (not reached). */
  readonly store: StateStore;
  readonly storage?: AzureStorageAccess;
  readonly containerName: string;
  readonly eventGridEndpoint?: string;
  readonly eventGridKey?: string;
  readonly keyVaultUrl?: string;
  readonly relayKeyName?: string;
  readonly peers: readonly RelayPeer[];
  readonly rootCertPem?: string;
  readonly msiAudience?: string;
  readonly clientId?: string;
  readonly auth: ReturnType<typeof operatorAuthFromEnv>;
}

const TABLE = /^[A-Za-z][A-Za-z0-9]{2,62}$/;
const CONTAINER = /^(?=.{3,63}$)[a-z0-9]+(-[a-z0-9]+)*$/;
const ACCOUNT = /^[a-z0-9]{3,24}$/;
const KEY_NAME = /^[0-9A-Za-z-]{1,127}$/;

/**
 * Reads the environment (see the module comment). Does no I/O: the state
 * store is built, over `options.tables` or clients of its own.
 *
 * @throws ConfigurationError naming every missing or malformed variable.
 */
export function readAzureConfig(env: Env, options: AzureCompositionOptions = {}): AzureConfig {
  const config = new EnvConfig(env);
  const auth = operatorAuthFromEnv(config);
  const clientId = config.optional('AZURE_CLIENT_ID');
  const credential = options.credential ?? managedIdentityCredential(clientId);
  const need = (name: string, detail: string, injected: unknown) =>
    requiredUnless(config, name, detail, injected);
  const storageInjected = options.tables && (options.container || options.blobs);
  const storage = readStorage(config, storageInjected);
  const tableName = config.optional('WEFT_TABLE_NAME') ?? AZURE_TABLE_NAMES.state;
  if (!TABLE.test(tableName))
    config.invalid(
      'WEFT_TABLE_NAME',
      `must be a table name (3-63 letters and digits), got ${JSON.stringify(tableName)}`,
    );
  const tables = options.tables ?? (storage && tableClients(storage, credential));
  const backends: Record<string, StateStoreFactory> = {
    tables: () => new AzureTableStateStore({ client: tables!(tableName) }),
  };
  const store = stateStoreFromEnv(config, backends, 'tables', options.createStore);
  const containerName = config.optional('WEFT_BLOB_CONTAINER') ?? AZURE_DEFAULT_CONTAINER;
  if (!CONTAINER.test(containerName))
    config.invalid(
      'WEFT_BLOB_CONTAINER',
      `must be a container name (3-63 lowercase letters, digits and single hyphens), got ${JSON.stringify(containerName)}`,
    );
  const eventGridEndpoint = need(
    'WEFT_EVENT_GRID_ENDPOINT',
    'is not set: the Event Grid topic endpoint changes go on',
    options.bus ?? options.eventGrid,
  );
  if (eventGridEndpoint) httpsUrl(config, 'WEFT_EVENT_GRID_ENDPOINT', eventGridEndpoint);
  const eventGridKey = config.optional('WEFT_EVENT_GRID_KEY');
  const { peers, relayKey: relayKeyName } = readFederation(
    config,
    {
      name: 'WEFT_RELAY_KEY_NAME',
      detail: 'is not set: the Key Vault key relay events to the peers are signed with',
    },
    options,
  );
  const needsVault = !(options.keys ?? options.openCa) || (peers.length > 0 && !options.relaySigner);
  const keyVaultUrl = need(
    'WEFT_KEY_VAULT_URL',
    'is not set: the Key Vault of the CA keys and the relay key',
    !needsVault,
  );
  if (keyVaultUrl) httpsUrl(config, 'WEFT_KEY_VAULT_URL', keyVaultUrl);
  if (relayKeyName && !KEY_NAME.test(relayKeyName))
    config.invalid(
      'WEFT_RELAY_KEY_NAME',
      `must be a Key Vault key name, got ${JSON.stringify(relayKeyName)}`,
    );
  const rootCertPem = readRootCert(config);
  const msiAudience = config.optional('WEFT_MSI_AUDIENCE');
  config.check('weft on Azure');
  return {
    store: store!,
    ...(storage && { storage }),
    containerName,
    ...(eventGridEndpoint && { eventGridEndpoint }),
    ...(eventGridKey && { eventGridKey }),
    ...(keyVaultUrl && { keyVaultUrl: keyVaultUrl.replace(/\/+$/, '') }),
    ...(relayKeyName && { relayKeyName }),
    peers,
    ...(rootCertPem && { rootCertPem }),
    ...(msiAudience && { msiAudience }),
    ...(clientId && { clientId }),
    auth,
  };
}

/**
 * `WEFT_TABLES_CONNECTION_STRING`, else `WEFT_STORAGE_ACCOUNT` (the managed
 * identity), else the host's `AzureWebJobsStorage` connection string.
 */
function readStorage(config: EnvConfig, injected: unknown): AzureStorageAccess | undefined {
  const explicit = config.optional('WEFT_TABLES_CONNECTION_STRING');
  if (explicit) return { kind: 'connection-string', connectionString: explicit };
  const account = config.optional('WEFT_STORAGE_ACCOUNT');
  if (account) {
    if (!ACCOUNT.test(account))
      config.invalid(
        'WEFT_STORAGE_ACCOUNT',
        `must be a storage account name (3-24 lowercase letters and digits), got ${JSON.stringify(account)}`,
      );
    return { kind: 'account', account };
  }
  const host = config.optional('AzureWebJobsStorage');
  if (host) return { kind: 'connection-string', connectionString: host };
  if (!injected)
    config.invalid(
      'WEFT_STORAGE_ACCOUNT',
      'is not set (nor WEFT_TABLES_CONNECTION_STRING, nor AzureWebJobsStorage): the storage account of the tables and blobs',
    );
  return undefined;
}

function httpsUrl(config: EnvConfig, name: string, text: string): void {
  const url = URL.canParse(text) ? new URL(text) : undefined;
  const loopback = url?.hostname === '127.0.0.1' || url?.hostname === 'localhost';
  if (!(url?.protocol === 'https:' || (url?.protocol === 'http:' && loopback)))
    config.invalid(name, `must be an https URL, got ${JSON.stringify(text)}`);
}

function tableClients(storage: AzureStorageAccess, credential: TokenCredential) {
  return (tableName: string): TableClient =>
    storage.kind === 'connection-string'
      ? TableClient.fromConnectionString(storage.connectionString, tableName, {
          // A connection string that names plain HTTP (azurite, `weft up`) means it; the SDK refuses it otherwise.
          allowInsecureConnection:
            /(^|;)\s*(DefaultEndpointsProtocol=http|TableEndpoint=http:|UseDevelopmentStorage=true)/i.test(
              storage.connectionString,
            ),
        })
      : new TableClient(`https://${storage.account}.table.core.windows.net`, tableName, credential);
}

function containerClient(storage: AzureStorageAccess, name: string, credential: TokenCredential) {
  return storage.kind === 'connection-string'
    ? BlobServiceClient.fromConnectionString(storage.connectionString).getContainerClient(name)
    : new ContainerClient(`https://${storage.account}.blob.core.windows.net/${name}`, credential);
}

/**
 * The function's managed identity as a `TokenCredential`, loading
 * `@azure/identity` (MSAL and all) on the first token asked for, so a cold
 * start that needs none, or needs it later, does not pay for it up front.
 *
 * @param clientId the user-assigned identity's client ID (`AZURE_CLIENT_ID`); none: the system-assigned one.
 */
export function managedIdentityCredential(clientId?: string): TokenCredential {
  let credential: Promise<TokenCredential> | undefined;
  return {
    async getToken(scopes, options) {
      credential ??= import('@azure/identity').then(({ ManagedIdentityCredential }) =>
        clientId ? new ManagedIdentityCredential({ clientId }) : new ManagedIdentityCredential(),
      );
      return (await credential).getToken(scopes, options);
    },
  };
}

/**
 * Builds the control plane from `env`. The one I/O at a cold start is
 * reading the relay key's public half (its `kid`), and only with peers.
 *
 * @throws ConfigurationError naming every missing or malformed variable (synchronously, before any I/O).
 * @example
 * const plane = await composeAzureControlPlane(process.env);
 */
export function composeAzureControlPlane(
  env: Env = process.env,
  options: AzureCompositionOptions = {},
): Promise<ControlPlane> {
  const clientId = new EnvConfig(env).optional('AZURE_CLIENT_ID');
  const credential = options.credential ?? managedIdentityCredential(clientId);
  const config = readAzureConfig(env, { ...options, credential });
  const logger = options.logger ?? consoleJsonLogger({ cloud: 'azure' });
  const tables = options.tables ?? tableClients(config.storage!, credential);
  const blobs =
    options.blobs ??
    new AzureBlobStore({
      container: options.container ?? containerClient(config.storage!, config.containerName, credential),
    });
  const bus =
    options.bus ??
    new EventGridEventBus({
      client:
        options.eventGrid ??
        new EventGridPublisherClient(
          config.eventGridEndpoint!,
          'CloudEvent',
          config.eventGridKey ? new AzureKeyCredential(config.eventGridKey) : credential,
        ),
    });
  const vault = config.keyVaultUrl;
  const openCa = cloudCaOpener(
    'azure',
    options,
    blobs,
    () => new KeyVaultKeyRing({ keys: new KeyClient(vault!, credential), credential }),
    config.rootCertPem,
  );
  return assembleCloudPlane({
    cloud: 'azure',
    store: config.store,
    auth: config.auth,
    logger,
    openCa,
    joinTokens: new AzureTableJoinTokenStore({ client: tables(AZURE_TABLE_NAMES.joinTokens) }),
    replayCache: new AzureTableReplayCache({ client: tables(AZURE_TABLE_NAMES.replay) }),
    rateLimiter: (name, limit) =>
      new AzureTableRateLimiter({ client: tables(AZURE_TABLE_NAMES.rateLimits), name, ...limit }),
    blobs,
    bus,
    peers: config.peers,
    relaySigner: () => {
      const name = config.relayKeyName!;
      return new KeyVaultSigner({
        client: new CryptographyClient(`${vault}/keys/${name}`, credential),
        keyId: name,
      });
    },
    ...(config.msiAudience && { azureAudience: config.msiAudience }),
    injected: options,
  });
}

/**
 * Builds the API from `env`: the control plane's HTTP edge.
 *
 * @throws ConfigurationError naming every missing or malformed variable.
 * @example
 * const api = await composeAzureApi(process.env, { createStore: () => new MemoryStateStore(), tables, blobs, bus, keys });
 */
export async function composeAzureApi(
  env: Env = process.env,
  options: AzureCompositionOptions = {},
): Promise<Api> {
  return (await composeAzureControlPlane(env, options)).api;
}
