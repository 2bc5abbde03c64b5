/**
 * The `relay` and `ingest` functions on Google Cloud, across two clouds
 * over real HTTP: the Google Cloud composition (Firestore's client built
 * but never called, state, blobs and keys in memory: the adapters are the
 * other tests' business) relays a write, pushed to the relay function as
 * Eventarc's `messagePublished` CloudEvent (push-test-server.ts), to an aws
 * control plane on loopback; aws relays back to the `ingest` function
 * (functions-framework's test server), which serves only `/v1/replication/*`.
 */
import type { Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { Firestore } from '@google-cloud/firestore';
import { http } from '@google-cloud/functions-framework';
import { getTestServer } from '@google-cloud/functions-framework/testing';
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import {
  type ControlPlane,
  composeControlPlane,
} from '../../../functions/control-plane/compose-control-plane.js';
import { composeGcpControlPlane } from '../../../functions/gcp/composition.js';
import { createGcpIngestFunction, GCP_INGEST_FUNCTION } from '../../../functions/gcp/ingest-function.js';
import { createGcpRelayFunction, GCP_RELAY_FUNCTION } from '../../../functions/gcp/relay-function.js';
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
import { createPushIssuer, eventarcPubSubPush, type PushIssuer, push } from './push-test-server.js';

const SILENT = { info() {}, warn() {}, error() {} };
let google: PushIssuer;
let gcp: ControlPlane;
let aws: ControlPlane;
let gcpStore: MemoryStateStore;
let awsStore: MemoryStateStore;
let awsServer: Server;
let ingest: Server;
const published: CloudEvent[] = [];

const listen = async (server: Server) => {
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
};
const close = (server: Server | undefined) =>
  new Promise<void>((resolve) => {
    server?.closeAllConnections();
    server ? server.close(() => resolve()) : resolve();
  });

beforeAll(async () => {
  vi.stubEnv('METADATA_SERVER_DETECTION', 'none');
  google = await createPushIssuer();
  const operators = await createTestOperators();
  const keys = new MemoryKeyRing();
  const gcpRelay = await keys.open('gcp-relay');
  const awsRelay = await keys.open('aws-relay');
  const gcpKey = await relayPublicKeyOf(gcpRelay, 'gcp');
  const awsKey = await relayPublicKeyOf(awsRelay, 'aws');

  // Each cloud's peer entry names the other's URL: both listen before either plane exists.
  let gcpApi: Api | undefined;
  http(
    GCP_INGEST_FUNCTION,
    createGcpIngestFunction((request) => gcpApi!(request)),
  );
  ingest = getTestServer(GCP_INGEST_FUNCTION);
  const ingestUrl = await listen(ingest);
  let awsApi: Api | undefined;
  awsServer = createApiServer((request) => awsApi!(request));
  const awsUrl = await listen(awsServer);

  gcpStore = new MemoryStateStore();
  gcp = await composeGcpControlPlane(
    { ...operators.env, WEFT_PEERS: JSON.stringify([{ cloud: 'aws', url: awsUrl, keys: [awsKey] }]) },
    {
      firestore: new Firestore({ projectId: 'weft-test' }),
      createStore: () => gcpStore,
      blobs: new MemoryBlobStore(),
      bus: {
        publish: async (events) => {
          published.push(...events);
        },
        subscribe: () => () => {},
      },
      keys,
      relaySigner: gcpRelay,
      logger: SILENT,
    },
  );
  gcpApi = gcp.api;
  awsStore = new MemoryStateStore();
  aws = composeControlPlane({
    cloud: 'aws',
    store: awsStore,
    authenticate: operators.authenticate,
    blobs: new MemoryBlobStore(),
    federation: {
      self: 'aws',
      signingKey: { kid: awsKey.kid, signer: awsRelay },
      peers: [{ cloud: 'gcp', url: ingestUrl, keys: [gcpKey] }],
    },
  });
  awsApi = aws.api;
  http(
    GCP_RELAY_FUNCTION,
    createGcpRelayFunction(
      () => gcp,
      () => google.authenticate,
    ),
  );
});

afterAll(async () => {
  await Promise.all([close(ingest), close(awsServer)]);
  await Promise.all([gcp?.close(), aws?.close()]);
});

describe('relay and ingest on Google Cloud', () => {
  it('relays a write made at gcp to aws, from the push Eventarc delivers', async () => {
    await gcp.resources.put(doc('Service', 'shop/orders', { ports: [{ port: 8080 }] }));
    expect(published).toHaveLength(1);
    const res = await push(GCP_RELAY_FUNCTION, await eventarcPubSubPush(google, published[0], 'weft-relay'));
    expect(res).toMatchObject({ status: 200, body: { relayed: true } });
    const there = await awsStore.get({ kind: 'Service', namespace: 'shop', name: 'orders' });
    expect(there?.origin).toBe('gcp');
    expect(there?.resource).toMatchObject({ spec: { ports: [{ port: 8080 }] } });
  });

  it('takes aws’s relayed write at the ingest function, and serves nothing but replication there', async () => {
    const written = await aws.resources.put(doc('Service', 'shop/payments', { ports: [{ port: 9090 }] }));
    await aws.relay([resourceChangedEvent(written.record, '/weft/aws')]);
    const here = await gcpStore.get({ kind: 'Service', namespace: 'shop', name: 'payments' });
    expect(here?.origin).toBe('aws');
    const url = `http://127.0.0.1:${(ingest.address() as AddressInfo).port}`;
    const status = await fetch(`${url}/v1/replication/status`);
    await status.body?.cancel();
    expect(status.status).not.toBe(404);
    const elsewhere = await fetch(`${url}/v1/services`);
    expect(elsewhere.status).toBe(404);
    expect(((await elsewhere.json()) as { detail: string }).detail).toMatch(/not served by ingest/);
  });

  it('fails a push that holds no weft CloudEvent, and one without a token, relaying nothing', async () => {
    const bad = await push(GCP_RELAY_FUNCTION, await eventarcPubSubPush(google, { hello: 'world' }));
    expect(bad.status).toBe(422);
    const request = await eventarcPubSubPush(google, published[0]);
    const { authorization: _token, ...headers } = request.headers;
    expect((await push(GCP_RELAY_FUNCTION, { headers, body: request.body })).status).toBe(401);
  });
});
