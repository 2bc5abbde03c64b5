/**
 * The `relay` and `ingest` functions with their native events, across two
 * clouds over real HTTP: the AWS composition (state in dynalite, blobs and
 * keys in memory: KMS and S3 are the other tests' business) relays a write,
 * handed to the relay handler as the EventBridge event its rule delivers,
 * to a gcp control plane on loopback; gcp relays back to the AWS `ingest`
 * handler behind an HTTP API stand-in, which serves only `/v1/replication/*`.
 */
import type { Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import type { EventBridgeEvent } from 'aws-lambda';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createAwsApiHandler } from '../../../functions/aws/api-handler.js';
import { composeAwsControlPlane } from '../../../functions/aws/composition.js';
import { ensureTable } from '../../../functions/aws/dynamodb-state-store.js';
import { WEFT_EVENT_SOURCE } from '../../../functions/aws/environment.js';
import { ingestOnly } from '../../../functions/aws/ingest-handler.js';
import { createAwsRelayHandler } from '../../../functions/aws/relay-handler.js';
import {
  type ControlPlane,
  composeControlPlane,
} from '../../../functions/control-plane/compose-control-plane.js';
import { type EmbeddedDynamoDb, startEmbeddedDynamoDb } from '../../../functions/local/embedded-dynamodb.js';
import { createApiServer } from '../../../functions/local/node-http.js';
import type { Api } from '../../../shared/api/types.js';
import type { CloudEvent } from '../../../shared/events/cloud-event.js';
import { LocalEventBus } from '../../../shared/events/local-event-bus.js';
import { RESOURCE_CHANGED, resourceChangedEvent } from '../../../shared/events/resource-changed.js';
import { MemoryKeyRing } from '../../../shared/identity/memory-key-ring.js';
import { relayPublicKeyOf } from '../../../shared/replication/federation.js';
import { MemoryBlobStore } from '../../../shared/storage/memory-blob-store.js';
import { MemoryStateStore } from '../../../shared/storage/memory-state-store.js';
import { createTestOperators } from '../../support/api.js';
import { doc } from '../../support/distribution.js';
import { type HttpApiGateway, lambdaContext, startHttpApiGateway } from '../../support/http-api-gateway.js';

const TABLE = 'weft-relay';
let db: EmbeddedDynamoDb;
let aws: ControlPlane;
let gcp: ControlPlane;
let gcpStore: MemoryStateStore;
let gcpServer: Server;
let ingest: HttpApiGateway;
const published: CloudEvent[] = [];

beforeAll(async () => {
  db = await startEmbeddedDynamoDb({});
  await ensureTable(db.client, TABLE);
  const operators = await createTestOperators();
  const keys = new MemoryKeyRing();
  const awsRelay = await keys.open('aws-relay');
  const gcpRelay = await keys.open('gcp-relay');
  const awsKey = await relayPublicKeyOf(awsRelay, 'aws');
  const gcpKey = await relayPublicKeyOf(gcpRelay, 'gcp');

  // gcp listens first, its API bound once it exists (each cloud's peer entry names the other's URL).
  let gcpApi: Api | undefined;
  gcpServer = createApiServer((request) => gcpApi!(request));
  await new Promise<void>((resolve) => gcpServer.listen(0, '127.0.0.1', resolve));
  const gcpUrl = `http://127.0.0.1:${(gcpServer.address() as AddressInfo).port}`;

  let awsApi: Api | undefined;
  ingest = await startHttpApiGateway([
    { prefix: '/', handler: createAwsApiHandler(ingestOnly((request) => awsApi!(request))) },
  ]);
  const bus = new LocalEventBus();
  bus.subscribe(RESOURCE_CHANGED, async (events) => {
    published.push(...events);
  });
  aws = await composeAwsControlPlane(
    {
      ...operators.env,
      WEFT_TABLE_NAME: TABLE,
      WEFT_PEERS: JSON.stringify([{ cloud: 'gcp', url: gcpUrl, keys: [gcpKey] }]),
    },
    { client: db.client, blobs: new MemoryBlobStore(), bus, keys, relaySigner: awsRelay },
  );
  awsApi = aws.api;
  gcpStore = new MemoryStateStore();
  gcp = composeControlPlane({
    cloud: 'gcp',
    store: gcpStore,
    authenticate: operators.authenticate,
    blobs: new MemoryBlobStore(),
    federation: {
      self: 'gcp',
      signingKey: { kid: gcpKey.kid, signer: gcpRelay },
      peers: [{ cloud: 'aws', url: ingest.url, keys: [awsKey] }],
    },
  });
  gcpApi = gcp.api;
}, 60_000);

afterAll(async () => {
  await ingest?.close();
  gcpServer?.closeAllConnections();
  await new Promise((resolve) => gcpServer?.close(resolve));
  await Promise.all([aws?.close(), gcp?.close(), db?.close()]);
});

/** What the relay rule hands its Lambda target. */
function asDelivered(event: CloudEvent): EventBridgeEvent<string, unknown> {
  return {
    version: '0',
    id: crypto.randomUUID(),
    'detail-type': event.type,
    source: WEFT_EVENT_SOURCE,
    account: '123456789012',
    time: new Date().toISOString(),
    region: 'us-east-1',
    resources: [],
    detail: event,
  };
}

describe('relay and ingest on AWS', () => {
  it('relays a write made at AWS to gcp, from the EventBridge event the relay rule delivers', async () => {
    await aws.resources.put(doc('Service', 'shop/orders', { ports: [{ port: 8080 }] }));
    await expect.poll(() => published.length).toBeGreaterThan(0);
    const relay = createAwsRelayHandler(() => aws);
    expect(await relay(asDelivered(published.at(-1)!), lambdaContext('weft-relay'))).toEqual({
      relayed: true,
    });
    const there = await gcpStore.get({ kind: 'Service', namespace: 'shop', name: 'orders' });
    expect(there?.origin).toBe('aws');
    expect(there?.resource).toMatchObject({ spec: { ports: [{ port: 8080 }] } });
  });

  it('takes gcp’s relayed write at the ingest handler, and serves nothing but replication there', async () => {
    const written = await gcp.resources.put(doc('Service', 'shop/payments', { ports: [{ port: 9090 }] }));
    await gcp.relay([resourceChangedEvent(written.record, '/weft/gcp')]);
    const here = await aws.resources.get({ kind: 'Service', namespace: 'shop', name: 'payments' });
    expect(here?.origin).toBe('gcp');
    const status = await fetch(`${ingest.url}/v1/replication/status`);
    await status.body?.cancel();
    expect(status.status).not.toBe(404);
    const elsewhere = await fetch(`${ingest.url}/v1/services`);
    expect(elsewhere.status).toBe(404);
    expect(((await elsewhere.json()) as { detail: string }).detail).toMatch(/not served by ingest/);
  });

  it('a relay rule event that is not a CloudEvent fails the invocation, so EventBridge dead-letters it', async () => {
    const relay = createAwsRelayHandler(() => aws);
    const bad = { ...asDelivered(published[0]!), detail: { hello: 'world' } };
    await expect(relay(bad, lambdaContext('weft-relay'))).rejects.toThrow();
  });
});
