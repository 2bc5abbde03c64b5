/**
 * Google Cloud end to end on the emulators: the deployed composition (state,
 * join tokens, used proofs and rate limits in Firestore, here Google's
 * Firestore emulator; snapshots, status and the CA's state in Cloud Storage,
 * the CA's keys created in Cloud KMS and every signature made by
 * `asymmetricSign`; changes on a Pub/Sub topic, here Google's Pub/Sub
 * emulator), driven through the functions as functions-framework serves them
 * on loopback, with the pushes their triggers send:
 *
 * 1. a PUT through the `weftApi` function publishes a change on the topic
 *    `weft-changes`;
 * 2. a push subscription on the emulator delivers it. The emulator pushes the
 *    Pub/Sub envelope without the OIDC token Google adds, so its push
 *    endpoint is a forwarder in this test that adds one (minted from a local
 *    key set, push-test-server.ts) and passes the body on to `weftCompile`,
 *    as Pub/Sub would;
 * 3. `weftCompile` signs the snapshot through Cloud KMS and stores it in
 *    Cloud Storage, and a real `weft agent` process attests with a join
 *    token, verifies the snapshot and applies it;
 * 4. labels on an instance and the setLabels audit-log entry pushed to
 *    `weftRegistrar` make a Workload with the instance's IP, in the agent's
 *    next snapshot; the instance deleted and its delete entry pushed, the
 *    Workload is gone from the one after.
 *
 * Fakes, where nothing real runs here: Cloud Storage (test/support/fake-gcs.ts),
 * Cloud KMS (fake-cloud-kms.ts) and the Compute Engine API (fake-compute.ts),
 * each an HTTP server at the SDK's or reader's HTTP seam. Eventarc is not
 * emulated: the audit-log entries are Google's captured ones (fixtures/),
 * pushed as Eventarc would.
 */

import { readFileSync } from 'node:fs';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { Firestore } from '@google-cloud/firestore';
import { http } from '@google-cloud/functions-framework';
import { getTestServer } from '@google-cloud/functions-framework/testing';
import { KeyManagementServiceClient } from '@google-cloud/kms';
import { PubSub } from '@google-cloud/pubsub';
import { Storage } from '@google-cloud/storage';
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import type { ControlPlane } from '../../../functions/control-plane/compose-control-plane.js';
import { GCP_FUNCTION_NAME, registerGcpApi } from '../../../functions/gcp/api-function.js';
import { createGcpCompileFunction, GCP_COMPILE_FUNCTION } from '../../../functions/gcp/compile-function.js';
import { composeGcpControlPlane } from '../../../functions/gcp/composition.js';
import { composeGcpRegistrar } from '../../../functions/gcp/registrar-composition.js';
import {
  createGcpRegistrarFunction,
  GCP_REGISTRAR_FUNCTION,
} from '../../../functions/gcp/registrar-function.js';
import {
  type AgentProcess,
  killAgents,
  startAgent,
  waitReady,
} from '../../agents/gateway/support/agent-process.js';
import { createTestOperators } from '../../support/api.js';
import { doc } from '../../support/distribution.js';
import { type FakeCloudKms, startFakeCloudKms } from '../../support/fake-cloud-kms.js';
import { type FakeCompute, startFakeCompute } from '../../support/fake-compute.js';
import { type FakeGcs, startFakeGcs } from '../../support/fake-gcs.js';
import {
  type GcloudEmulator,
  startFirestoreEmulator,
  startPubSubEmulator,
} from '../../support/gcloud-emulators.js';
import { tempDir } from '../../support/temp-dir.js';
import { createPushIssuer, type PushIssuer, push } from './push-test-server.js';

const BUCKET = 'weft-e2e-snapshots';
const TOPIC = 'weft-changes';
const KEY_RING = 'projects/weft-test/locations/europe-west1/keyRings/weft-e2e';
const TD = 'gcp-e2e.test';
const ENV = 'gcp-west';
const GW = 'edge-1';
// The instance Google's captured audit-log entries (fixtures/) are about.
const ZONE = 'europe-west1-b';
const INSTANCE = 'orders-1';
const WORKLOAD = `gce-instance-${INSTANCE}`;
const IP = '10.128.0.42';

let firestoreEmulator: GcloudEmulator;
let pubsubEmulator: GcloudEmulator;
let gcs: FakeGcs;
let kms: FakeCloudKms;
let compute: FakeCompute;
let google: PushIssuer;
let firestore: Firestore;
let pubsub: PubSub;
let kmsClient: KeyManagementServiceClient;
let plane: ControlPlane;
let api: Served;
let compile: Served;
let forwarder: Served;
let adminToken: string;
let agent: AgentProcess;
/** The status `weftCompile` answered each push the forwarder passed on with. */
const compiled: number[] = [];
const logs: Record<string, unknown>[] = [];
const logger = {
  info: (e: object) => logs.push({ ...e }),
  warn: (e: object) => logs.push({ ...e }),
  error: (e: object) => logs.push({ ...e }),
};

interface Served {
  readonly url: string;
  close(): Promise<void>;
}

beforeAll(async () => {
  vi.stubEnv('METADATA_SERVER_DETECTION', 'none');
  [firestoreEmulator, pubsubEmulator, gcs, kms, compute, google] = await Promise.all([
    startFirestoreEmulator(),
    startPubSubEmulator(),
    startFakeGcs(),
    startFakeCloudKms(),
    startFakeCompute(),
    createPushIssuer(),
  ]);
  gcs.createBucket(BUCKET);
  kms.addKeyRing(KEY_RING);
  firestore = new Firestore({
    projectId: firestoreEmulator.projectId,
    host: firestoreEmulator.host,
    ssl: false,
  });
  pubsub = new PubSub({ projectId: pubsubEmulator.projectId, apiEndpoint: pubsubEmulator.host });
  kmsClient = new KeyManagementServiceClient(kms.clientOptions());
  const operators = await createTestOperators();
  adminToken = operators.adminToken;
  plane = await composeGcpControlPlane(
    {
      ...operators.env,
      WEFT_BUCKET_NAME: BUCKET,
      WEFT_PUBSUB_TOPIC: TOPIC,
      WEFT_KMS_KEY_RING: KEY_RING,
    },
    {
      firestore,
      storage: new Storage({ apiEndpoint: gcs.endpoint, projectId: 'weft-test' }),
      kms: kmsClient,
      pubsub,
      logger,
    },
  );
  registerGcpApi(plane.api);
  http(
    GCP_COMPILE_FUNCTION,
    createGcpCompileFunction(
      () => plane,
      () => google.authenticate,
      logger,
    ),
  );
  [api, compile] = await Promise.all([
    serve(getTestServer(GCP_FUNCTION_NAME)),
    serve(getTestServer(GCP_COMPILE_FUNCTION)),
  ]);
  forwarder = await serve(createServer((req, res) => void forward(req, res)));
  // The compile trigger: a push subscription on the changes topic, its endpoint the forwarder.
  const [topic] = await pubsub.createTopic(TOPIC);
  await topic.createSubscription('weft-compile', {
    pushConfig: { pushEndpoint: `${forwarder.url}/` },
    ackDeadlineSeconds: 30,
  });
}, 90_000);

afterAll(async () => {
  await killAgents();
  await Promise.all([api?.close(), compile?.close(), forwarder?.close()]);
  await plane?.close();
  await Promise.all([firestore?.terminate(), pubsub?.close(), kmsClient?.close()]);
  await Promise.all([
    firestoreEmulator?.stop(),
    pubsubEmulator?.stop(),
    gcs?.close(),
    kms?.close(),
    compute?.close(),
  ]);
  vi.unstubAllEnvs();
}, 30_000);

/** Listens on loopback; `close` also ends kept-alive connections. */
async function serve(server: Server): Promise<Served> {
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  return {
    url: `http://127.0.0.1:${port}`,
    close: () =>
      new Promise((resolve) => {
        server.close(() => resolve());
        server.closeAllConnections();
      }),
  };
}

/**
 * What Pub/Sub adds to a push and the emulator does not: a Google OIDC token
 * for the push audience. The body (the envelope) is passed on as sent, and
 * compile's status answered, so a failed compile is retried by the emulator.
 */
async function forward(req: import('node:http').IncomingMessage, res: import('node:http').ServerResponse) {
  const chunks: Buffer[] = [];
  for await (const chunk of req) chunks.push(chunk as Buffer);
  try {
    const answer = await fetch(`${compile.url}/`, {
      method: 'POST',
      headers: {
        authorization: await google.bearer(),
        'content-type': req.headers['content-type'] ?? 'application/json',
      },
      body: Buffer.concat(chunks),
    });
    await answer.arrayBuffer();
    compiled.push(answer.status);
    res.writeHead(answer.status).end();
  } catch {
    res.writeHead(502).end();
  }
}

async function call(method: string, path: string, body?: unknown): Promise<{ status: number; body: string }> {
  const res = await fetch(`${api.url}${path}`, {
    method,
    headers: { authorization: `Bearer ${adminToken}`, 'content-type': 'application/json' },
    ...(body !== undefined && { body: JSON.stringify(body) }),
  });
  return { status: res.status, body: await res.text() };
}

async function agentConfig(): Promise<string> {
  return (await agent.get('/config')).body;
}

/** The CryptoKeys the plane opened in the key ring, found in what it asked the fake. */
function openedKeys(): string[] {
  const prefix = `GET /v1/${KEY_RING}/cryptoKeys/`;
  const ids = kms.requests
    .filter((r) => r.startsWith(prefix))
    .map((r) => r.slice(prefix.length).split('/')[0]!);
  return [...new Set(ids)].filter((id) => kms.key(`${KEY_RING}/cryptoKeys/${id}`) !== undefined);
}

describe('weft on Google Cloud, on the emulators', () => {
  it('a PUT through weftApi reaches a real agent as a snapshot signed through Cloud KMS and stored in Cloud Storage', async () => {
    const docs = [
      doc('Mesh', 'default', { trustDomain: TD, attestation: { joinToken: {} } }),
      doc('Environment', ENV, { provider: 'gcp', region: 'europe-west1' }),
      doc('Gateway', GW, { environment: ENV, address: '127.0.1.1:15443' }),
      doc('Service', 'shop/orders', { ports: [{ port: 8080 }] }),
    ];
    for (const d of docs) {
      const { kind, metadata } = d as { kind: string; metadata: { name: string; namespace?: string } };
      const plural = {
        Mesh: 'meshes',
        Environment: 'environments',
        Gateway: 'gateways',
        Service: 'services',
      }[kind];
      const path = `/v1/${plural}/${metadata.namespace ? `${metadata.namespace}/` : ''}${metadata.name}`;
      const res = await call('PUT', path, d);
      expect(res.status, res.body).toBe(201);
    }

    // The emulator pushed the changes through the forwarder, and compile took them.
    await expect
      .poll(() => compiled.filter((s) => s === 200).length, { timeout: 30_000 })
      .toBeGreaterThanOrEqual(1);
    await expect
      .poll(() => gcs.object(BUCKET, `snapshots/${ENV}/${GW}.jws`)?.body, { timeout: 30_000 })
      .toContain('"host":"orders.shop.weft.internal"');
    // The CA's keys were created in the key ring, with weft's label.
    const keys = openedKeys();
    expect(keys.some((id) => id.startsWith('gcp-jwt-'))).toBe(true);
    expect(keys.some((id) => id.startsWith('gcp-x509-'))).toBe(true);
    for (const id of keys)
      expect(kms.key(`${KEY_RING}/cryptoKeys/${id}`)?.labels).toHaveProperty('weft-control-plane');

    const minted = await call('POST', '/v1/join-tokens', { spiffeId: `spiffe://${TD}/gw/${ENV}/${GW}` });
    expect(minted.status, minted.body).toBe(201);
    agent = await startAgent({
      controlPlane: api.url,
      dataDir: await tempDir('weft-gcp-agent-'),
      joinToken: JSON.parse(minted.body).token,
      environment: ENV,
      name: GW,
      pollInterval: '300ms',
    });
    await waitReady(agent, 30_000);
    await expect.poll(agentConfig, { timeout: 15_000 }).toContain('orders');
  }, 90_000);

  it('labels on an instance register a Workload with its IP in the next snapshot; deleted, it goes', async () => {
    const registrar = await composeGcpRegistrar(
      { GOOGLE_CLOUD_PROJECT: compute.project, WEFT_DEFAULT_ENVIRONMENT: ENV },
      { plane, token: async () => compute.token, computeUrl: compute.baseUrl, logger },
    );
    http(
      GCP_REGISTRAR_FUNCTION,
      createGcpRegistrarFunction(registrar, () => google.authenticate, logger),
    );
    const deliver = async (name: string) => {
      const event = fixture(name);
      const headers = { ...event.headers, authorization: await google.bearer() };
      return push(GCP_REGISTRAR_FUNCTION, { headers, body: JSON.stringify(event.body) });
    };

    compute.put({
      zone: ZONE,
      name: INSTANCE,
      networkIP: IP,
      labels: { 'weft-service': 'orders', 'weft-namespace': 'shop', 'weft-port': '8080' },
    });
    const labelled = await deliver('audit-setlabels-first');
    expect(labelled.status, JSON.stringify(labelled.body)).toBe(200);
    const workload = await call('GET', `/v1/workloads/shop/${WORKLOAD}`);
    expect(workload.status, workload.body).toBe(200);
    expect(JSON.parse(workload.body).spec).toMatchObject({
      service: 'orders',
      environment: ENV,
      address: `${IP}:8080`,
    });
    // The Workload's change went round the topic, the emulator's push and compile, to the agent.
    await expect.poll(agentConfig, { timeout: 30_000 }).toContain(`${IP}:8080`);

    compute.remove(ZONE, INSTANCE);
    const deleted = await deliver('audit-delete-first');
    expect(deleted.status, JSON.stringify(deleted.body)).toBe(200);
    expect((await call('GET', `/v1/workloads/shop/${WORKLOAD}`)).status).toBe(404);
    await expect.poll(agentConfig, { timeout: 30_000 }).not.toContain(`${IP}:8080`);
  }, 90_000);
});

interface Fixture {
  readonly headers: Record<string, string>;
  readonly body: unknown;
}

function fixture(name: string): Fixture {
  return JSON.parse(readFileSync(new URL(`fixtures/${name}.json`, import.meta.url), 'utf8'));
}
