/**
 * The `relay` and `ingest` functions on Azure, across two clouds over real
 * HTTP: the Azure composition (table clients built but never called; state,
 * blobs and keys in memory: the adapters are the other tests' business)
 * relays a write, delivered to the relay webhook as Event Grid delivers it
 * (one CloudEvent in structured mode, an Entra ID token minted from a local
 * key set), to an aws control plane on loopback; aws relays back to the
 * `ingest` function (on loopback as the Functions host serves it, route
 * `v1/replication/{*path}`), which serves only `/v1/replication/*`.
 */
import { TableClient } from '@azure/data-tables';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { composeAzureControlPlane } from '../../../functions/azure/composition.js';
import { createAzureIngestHandler } from '../../../functions/azure/ingest-function.js';
import { createAzureRelayHandler } from '../../../functions/azure/relay-function.js';
import {
  type ControlPlane,
  composeControlPlane,
} from '../../../functions/control-plane/compose-control-plane.js';
import { createApiServer } from '../../../functions/local/node-http.js';
import type { Api } from '../../../shared/api/types.js';
import type { CloudEvent } from '../../../shared/events/cloud-event.js';
import { resourceChangedEvent } from '../../../shared/events/resource-changed.js';
import { MemoryKeyRing } from '../../../shared/identity/memory-key-ring.js';
import { relayPublicKeyOf } from '../../../shared/replication/federation.js';
import { MemoryBlobStore } from '../../../shared/storage/memory-blob-store.js';
import { MemoryStateStore } from '../../../shared/storage/memory-state-store.js';
import { createTestOperators } from '../../support/api.js';
import { doc } from '../../support/distribution.js';
import { createEntraIssuer, deliver, type EntraIssuer, serveAzure } from './webhook-test-server.js';

const SILENT = { info() {}, warn() {}, error() {} };
const UNREACHED =
  'DefaultEndpointsProtocol=http;AccountName=devstoreaccount1;AccountKey=Eby8vdM02xNOcqFlqUwJPLlmEtlCDXJ1OUzFT50uSRZ6IFsuFq2UVErCz4I6tq/K1SZFPTOtr/KBHBeksoGMGw==;TableEndpoint=http://127.0.0.1:1/devstoreaccount1;';

let entra: EntraIssuer;
let azure: ControlPlane;
let aws: ControlPlane;
let azureStore: MemoryStateStore;
let awsStore: MemoryStateStore;
let awsServer: ReturnType<typeof createApiServer>;
let ingest: Awaited<ReturnType<typeof serveAzure>>;
const published: CloudEvent[] = [];

beforeAll(async () => {
  entra = await createEntraIssuer();
  const operators = await createTestOperators();
  const keys = new MemoryKeyRing();
  const azureRelay = await keys.open('azure-relay');
  const awsRelay = await keys.open('aws-relay');
  const azureKey = await relayPublicKeyOf(azureRelay, 'azure');
  const awsKey = await relayPublicKeyOf(awsRelay, 'aws');

  // Each cloud's peer entry names the other's URL: both listen before either plane exists.
  let azureApi: Api | undefined;
  ingest = await serveAzure({
    'v1/replication/*': createAzureIngestHandler((request) => azureApi!(request)),
  });
  let awsApi: Api | undefined;
  awsServer = createApiServer((request) => awsApi!(request));
  await new Promise<void>((resolve) => awsServer.listen(0, '127.0.0.1', resolve));
  const awsUrl = `http://127.0.0.1:${(awsServer.address() as { port: number }).port}`;

  azureStore = new MemoryStateStore();
  azure = await composeAzureControlPlane(
    { ...operators.env, WEFT_PEERS: JSON.stringify([{ cloud: 'aws', url: awsUrl, keys: [awsKey] }]) },
    {
      createStore: () => azureStore,
      tables: (name) => TableClient.fromConnectionString(UNREACHED, name),
      blobs: new MemoryBlobStore(),
      bus: {
        publish: async (events) => {
          published.push(...events);
        },
        subscribe: () => () => {},
      },
      keys,
      relaySigner: azureRelay,
      logger: SILENT,
    },
  );
  azureApi = azure.api;
  awsStore = new MemoryStateStore();
  aws = composeControlPlane({
    cloud: 'aws',
    store: awsStore,
    authenticate: operators.authenticate,
    blobs: new MemoryBlobStore(),
    federation: {
      self: 'aws',
      signingKey: { kid: awsKey.kid, signer: awsRelay },
      // The Functions host serves every route below `api/`.
      peers: [{ cloud: 'azure', url: `${ingest.url}/api`, keys: [azureKey] }],
    },
  });
  awsApi = aws.api;
});

afterAll(async () => {
  await ingest?.close();
  await new Promise<void>((resolve) => {
    awsServer?.closeAllConnections();
    awsServer ? awsServer.close(() => resolve()) : resolve();
  });
  await Promise.all([azure?.close(), aws?.close()]);
});

const relay = () =>
  createAzureRelayHandler(
    () => azure,
    () => entra.authenticate,
    SILENT,
  );

describe('relay and ingest on Azure', () => {
  it('relays a write made at azure to aws, from the event Event Grid delivers', async () => {
    await azure.resources.put(doc('Service', 'shop/orders', { ports: [{ port: 8080 }] }));
    expect(published).toHaveLength(1);
    const res = await deliver(relay(), {
      path: '/api/events/relay',
      headers: { authorization: await entra.bearer() },
      body: published[0],
    });
    expect(res).toMatchObject({ status: 200, body: { relayed: true } });
    const there = await awsStore.get({ kind: 'Service', namespace: 'shop', name: 'orders' });
    expect(there?.origin).toBe('azure');
    expect(there?.resource).toMatchObject({ spec: { ports: [{ port: 8080 }] } });
  });

  it('takes aws’s relayed write at the ingest function, and serves nothing but replication there', async () => {
    const written = await aws.resources.put(doc('Service', 'shop/payments', { ports: [{ port: 9090 }] }));
    await aws.relay([resourceChangedEvent(written.record, '/weft/aws')]);
    const here = await azureStore.get({ kind: 'Service', namespace: 'shop', name: 'payments' });
    expect(here?.origin).toBe('aws');
    const status = await fetch(`${ingest.url}/api/v1/replication/status`);
    await status.body?.cancel();
    expect(status.status).not.toBe(404);
    // The route's catch-all is the tail below /v1/replication/: the API is handed the whole path.
    const seen: string[] = [];
    const handler = createAzureIngestHandler(async (request) => {
      seen.push(request.path);
      return { status: 204, headers: {}, body: '' };
    });
    const tail = await deliver(handler, {
      method: 'GET',
      path: '/api/v1/replication/digest',
      params: { path: 'digest' },
    });
    expect(tail.status).toBe(204);
    expect(seen).toEqual(['/v1/replication/digest']);
  });

  it('fails a delivery that holds no weft CloudEvent, and one without a token, relaying nothing', async () => {
    const before = (await awsStore.changedSince(undefined)).length;
    const bad = await deliver(relay(), {
      headers: { authorization: await entra.bearer() },
      body: {
        specversion: '1.0',
        id: 'x',
        source: '/elsewhere',
        type: 'x',
        data: { hello: 'world' },
        Bad: 1,
      },
    });
    expect(bad.status).toBe(422);
    const unsigned = await deliver(relay(), { body: published[0] });
    expect(unsigned.status).toBe(401);
    expect((await awsStore.changedSince(undefined)).length).toBe(before);
  });
});
