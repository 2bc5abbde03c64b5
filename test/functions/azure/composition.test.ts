/**
 * The Azure composition root: its settings read and checked at once, each
 * injected part making its variable optional, and the plane composed as
 * deployed over azurite (Tables and Blob, real servers on loopback, reached
 * by one connection string as by `AzureWebJobsStorage`): state, join tokens,
 * used proofs and rate limits in their tables, the CA's public state in the
 * container, its keys in memory (Key Vault cannot run here; its adapter has
 * tests of its own), `azure_msi` attestation on with `WEFT_MSI_AUDIENCE`.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  AZURE_TABLE_NAMES,
  composeAzureApi,
  composeAzureControlPlane,
  readAzureConfig,
} from '../../../functions/azure/composition.js';
import { ensureAzureTable } from '../../../functions/azure/table-state-store.js';
import type { ApiResponse } from '../../../shared/api/types.js';
import { LocalEventBus } from '../../../shared/events/local-event-bus.js';
import { MemoryKeyRing } from '../../../shared/identity/memory-key-ring.js';
import { relayPublicKeyOf } from '../../../shared/replication/federation.js';
import { MemoryBlobStore } from '../../../shared/storage/memory-blob-store.js';
import { createTestOperators } from '../../support/api.js';
import { type Azurite, type AzuriteBlob, startAzurite, startAzuriteBlob } from '../../support/azurite.js';
import { makeCsr } from '../../support/csr.js';
import { GATEWAY_ID, meshDoc } from '../../support/identity-api.js';

const VAULT = 'https://weft-main.vault.azure.net';
const TOPIC = 'https://weft-changes.westeurope-1.eventgrid.azure.net/api/events';

describe('readAzureConfig', () => {
  it('names every missing setting at once', async () => {
    const { env } = await createTestOperators();
    expect(() => readAzureConfig(env)).toThrow(
      /WEFT_STORAGE_ACCOUNT is not set[\s\S]*WEFT_EVENT_GRID_ENDPOINT is not set[\s\S]*WEFT_KEY_VAULT_URL is not set/,
    );
    const peers = JSON.stringify([{ cloud: 'aws', url: 'https://aws.example', keys: [await awsKey()] }]);
    expect(() =>
      readAzureConfig({
        ...env,
        WEFT_STORAGE_ACCOUNT: 'weftmain',
        WEFT_EVENT_GRID_ENDPOINT: TOPIC,
        WEFT_KEY_VAULT_URL: VAULT,
        WEFT_PEERS: peers,
      }),
    ).toThrow(/WEFT_RELAY_KEY_NAME is not set/);
  });

  it('refuses malformed names and URLs', async () => {
    const { env } = await createTestOperators();
    const bad = {
      ...env,
      WEFT_STORAGE_ACCOUNT: 'Weft-Main',
      WEFT_TABLE_NAME: 'weft-state',
      WEFT_BLOB_CONTAINER: 'Weft',
      WEFT_EVENT_GRID_ENDPOINT: 'http://weft-changes.westeurope-1.eventgrid.azure.net/api/events',
      WEFT_KEY_VAULT_URL: 'weft-main.vault.azure.net',
      WEFT_RELAY_KEY_NAME: 'relay_key',
      WEFT_ROOT_CERT: 'not a certificate',
    };
    let error: (Error & { variables: string[] }) | undefined;
    try {
      readAzureConfig(bad);
    } catch (e) {
      error = e as Error & { variables: string[] };
    }
    expect(error?.variables.sort()).toEqual(
      [
        'WEFT_BLOB_CONTAINER',
        'WEFT_EVENT_GRID_ENDPOINT',
        'WEFT_KEY_VAULT_URL',
        'WEFT_RELAY_KEY_NAME',
        'WEFT_ROOT_CERT',
        'WEFT_STORAGE_ACCOUNT',
        'WEFT_TABLE_NAME',
      ].sort(),
    );
  });

  it('reads the deployment’s settings: the account by name, the topic without a key, the MSI audience', async () => {
    const { env } = await createTestOperators();
    const config = readAzureConfig({
      ...env,
      WEFT_STORAGE_ACCOUNT: 'weftmain',
      WEFT_TABLE_NAME: 'weftstate',
      WEFT_BLOB_CONTAINER: 'weft',
      WEFT_EVENT_GRID_ENDPOINT: TOPIC,
      WEFT_KEY_VAULT_URL: `${VAULT}/`,
      WEFT_RELAY_KEY_NAME: 'relay',
      WEFT_PEERS: '',
      WEFT_ROOT_CERT: '',
      WEFT_MSI_AUDIENCE: 'api://weft-agents',
      AZURE_CLIENT_ID: '5c2b4d6e-0000-4000-8000-000000000001',
    });
    expect(config).toMatchObject({
      storage: { kind: 'account', account: 'weftmain' },
      containerName: 'weft',
      eventGridEndpoint: TOPIC,
      keyVaultUrl: VAULT,
      relayKeyName: 'relay',
      peers: [],
      msiAudience: 'api://weft-agents',
      clientId: '5c2b4d6e-0000-4000-8000-000000000001',
    });
    expect(config.eventGridKey).toBeUndefined();
  });

  it('takes injected parts instead of their settings', async () => {
    const { env } = await createTestOperators();
    const keys = new MemoryKeyRing();
    const relaySigner = await keys.open('relay');
    const peers = JSON.stringify([{ cloud: 'aws', url: 'https://aws.example', keys: [await awsKey()] }]);
    const config = readAzureConfig(
      { ...env, WEFT_PEERS: peers },
      {
        createStore: () => ({}) as never,
        tables: () => ({}) as never,
        blobs: new MemoryBlobStore(),
        bus: new LocalEventBus(),
        keys,
        relaySigner,
      },
    );
    expect(config.storage).toBeUndefined();
    expect(config.peers).toHaveLength(1);
  });
});

async function awsKey() {
  return relayPublicKeyOf(await new MemoryKeyRing().open('aws-relay'), 'aws');
}

describe('composeAzureControlPlane on azurite', () => {
  let tables: Azurite;
  let blob: AzuriteBlob;
  let connectionString: string;
  // The CA's keys (Key Vault, deployed) outlive a cold start, as its state in the container does.
  const keys = new MemoryKeyRing();
  beforeAll(async () => {
    [tables, blob] = await Promise.all([startAzurite(), startAzuriteBlob()]);
    for (const name of Object.values(AZURE_TABLE_NAMES)) await ensureAzureTable(tables.client(name));
    await blob.container('weft').createIfNotExists();
    connectionString = `${tables.connectionString}BlobEndpoint=${blob.endpoint};`;
  }, 60_000);
  afterAll(async () => {
    await Promise.all([tables?.stop(), blob?.stop()]);
  });

  it('issues as provider azure: state and join tokens in the tables, the CA in the container, azure_msi on', async () => {
    const operators = await createTestOperators();
    const api = await composeAzureApi(
      {
        ...operators.env,
        AzureWebJobsStorage: connectionString,
        WEFT_EVENT_GRID_ENDPOINT: TOPIC,
        WEFT_MSI_AUDIENCE: 'api://weft-agents',
      },
      { bus: new LocalEventBus(), keys, logger: { info() {}, error() {} } },
    );
    const call = (method: string, path: string, body?: unknown, admin = false): Promise<ApiResponse> =>
      api({
        method,
        path,
        query: {},
        headers: {
          'content-type': 'application/json',
          ...(admin && { authorization: `Bearer ${operators.adminToken}` }),
        },
        body: body === undefined ? undefined : JSON.stringify(body),
        sourceIp: '203.0.113.7',
      });
    expect((await call('PUT', '/v1/meshes/default', meshDoc(), true)).status).toBe(201);
    const minted = await call('POST', '/v1/join-tokens', { spiffeId: GATEWAY_ID }, true);
    expect(minted.status, minted.body).toBe(201);
    const { token } = JSON.parse(minted.body) as { token: string };
    const csr = (await makeCsr()).csrPem;
    const attest = () => call('POST', '/v1/attest', { attestation: { type: 'join_token', token }, csr });
    const res = await attest();
    expect(res.status, res.body).toBe(200);
    expect((await attest()).status).toBe(401);

    const stored = [];
    for await (const entity of tables.client(AZURE_TABLE_NAMES.state).listEntities())
      stored.push(entity.partitionKey);
    expect(stored).toContain('Mesh');
    const caBlobs = [];
    for await (const item of blob.container('weft').listBlobsFlat()) caBlobs.push(item.name);
    expect(caBlobs.some((name) => name.startsWith('ca/'))).toBe(true);
    const limits = [];
    for await (const entity of tables.client(AZURE_TABLE_NAMES.rateLimits).listEntities())
      limits.push(entity);
    expect(limits.length).toBeGreaterThan(0);

    // The MSI attestor is wired: the Mesh has no Azure rule, and says so (not "not configured").
    const msi = await call('POST', '/v1/attest', {
      attestation: { type: 'azure_msi', token: 'e30.e30.x' },
      csr,
    });
    expect(msi.status).toBe(401);
    expect(JSON.parse(msi.body).detail).toMatch(/Azure attestation is not enabled in the Mesh/);
  });

  it('a second cold start opens the same CA from the container; without WEFT_MSI_AUDIENCE, azure_msi is off', async () => {
    const operators = await createTestOperators();
    const plane = await composeAzureControlPlane(
      { ...operators.env, WEFT_TABLES_CONNECTION_STRING: connectionString, WEFT_EVENT_GRID_ENDPOINT: TOPIC },
      { bus: new LocalEventBus(), keys, logger: { info() {}, error() {} } },
    );
    expect(plane.identity).toBeDefined();
    expect(plane.distributes).toBe(true);
    const res = await plane.api({
      method: 'POST',
      path: '/v1/attest',
      query: {},
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({
        attestation: { type: 'azure_msi', token: 'e30.e30.x' },
        csr: (await makeCsr()).csrPem,
      }),
      sourceIp: '203.0.113.8',
    });
    expect(JSON.parse(res.body).detail).toMatch(/azure_msi attestation is not configured/);
  });
});
