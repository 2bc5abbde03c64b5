import type { Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { Firestore } from '@google-cloud/firestore';
import { getTestServer } from '@google-cloud/functions-framework/testing';
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import { ConfigurationError, type EnvConfig } from '../../../functions/control-plane/startup.js';
import { GCP_FUNCTION_NAME, registerGcpApi } from '../../../functions/gcp/api-function.js';
import {
  composeGcpApi,
  composeGcpControlPlane,
  type GcpCompositionOptions,
} from '../../../functions/gcp/composition.js';
import type { ApiRequest } from '../../../shared/api/types.js';
import { MemoryKeyRing } from '../../../shared/identity/memory-key-ring.js';
import { relayPublicKeyOf } from '../../../shared/replication/federation.js';
import { MemoryBlobStore } from '../../../shared/storage/memory-blob-store.js';
import { MemoryStateStore } from '../../../shared/storage/memory-state-store.js';
import { describeApiContract } from '../../contract/api.js';
import { createTestOperators, httpCaller } from '../../support/api.js';

const SILENT = { info() {}, error() {} };

// Google clients are built (never called) here: no metadata server lookups.
vi.stubEnv('METADATA_SERVER_DETECTION', 'none');

/** What the deployment's environment names, the other parts in memory. */
function inMemory(store = new MemoryStateStore()): GcpCompositionOptions {
  return {
    firestore: new Firestore({ projectId: 'weft-test' }),
    createStore: () => store,
    blobs: new MemoryBlobStore(),
    bus: { publish: async () => {}, subscribe: () => () => {} },
    keys: new MemoryKeyRing(),
    logger: SILENT,
  };
}

const GCP_ENV = {
  WEFT_BUCKET_NAME: 'weft-test-state',
  WEFT_PUBSUB_TOPIC: 'weft-changes',
  WEFT_KMS_KEY_RING: 'projects/weft-test/locations/europe-west1/keyRings/weft',
};

/** Serves whatever is registered as `weftApi` on loopback, as `functions-framework --target` would. */
async function serve(): Promise<{ url: string; close(): Promise<void> }> {
  const server: Server = getTestServer(GCP_FUNCTION_NAME);
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

describeApiContract(
  'GCP Cloud Run function (functions-framework over HTTP)',
  async () => {
    const { env, adminToken, viewerToken } = await createTestOperators();
    const store = new MemoryStateStore();
    registerGcpApi(await composeGcpApi(env, inMemory(store)));
    const server = await serve();
    return { call: httpCaller(server.url), adminToken, viewerToken, close: server.close };
  },
  {
    knownFailures: {
      'rejects malformed JSON with 400':
        'functions-framework parses application/json before the function runs and answers a parse ' +
        'error itself, as text/html (GoogleCloudPlatform/functions-framework-nodejs#686)',
    },
  },
);

describe('createGcpApiHandler', () => {
  const seen: ApiRequest[] = [];
  let server: { url: string; close(): Promise<void> };
  beforeAll(async () => {
    registerGcpApi(async (req) => {
      seen.push(req);
      return { status: 200, headers: { 'content-type': 'application/problem+json' }, body: 'ok' };
    });
    server = await serve();
  });
  afterAll(() => server.close());

  it('hands the API the raw body, not the one the framework parsed', async () => {
    const body = '{ "kind" :  "Service",\n  "spec": {} }';
    const res = await fetch(`${server.url}/v1/services/shop/web?dryRun=true&a[b]=c`, {
      method: 'PUT',
      headers: {
        'content-type': 'application/json',
        authorization: 'Bearer t',
        'x-forwarded-for': '198.51.100.4',
      },
      body,
    });
    expect(res.status).toBe(200);
    expect(res.headers.get('content-type')).toBe('application/problem+json');
    expect(seen.at(-1)).toMatchObject({
      method: 'PUT',
      path: '/v1/services/shop/web',
      query: { dryRun: 'true', 'a[b]': 'c' },
      headers: { 'content-type': 'application/json', authorization: 'Bearer t' },
      body,
      sourceIp: '198.51.100.4',
    });
  });

  it('reads a body sent without Content-Type, which the framework leaves unread', async () => {
    const body = 'kind: Service\n';
    await fetch(`${server.url}/v1/apply`, { method: 'POST', body: new TextEncoder().encode(body) });
    expect(seen.at(-1)?.headers['content-type']).toBeUndefined();
    expect(seen.at(-1)?.body).toBe(body);
  });

  it('refuses a body over 1 MiB before the API sees it', async () => {
    const count = seen.length;
    const res = await fetch(`${server.url}/v1/apply`, {
      method: 'POST',
      headers: { 'content-type': 'application/yaml' },
      body: 'x'.repeat(1024 * 1024 + 1),
    });
    expect(res.status).toBe(413);
    expect(res.headers.get('content-type')).toBe('application/problem+json');
    expect(seen.length).toBe(count);
  });
});

describe('composeGcpControlPlane', () => {
  it('composes over Firestore, Cloud Storage, Pub/Sub and Cloud KMS by default, without any I/O', async () => {
    const { env } = await createTestOperators();
    const plane = await composeGcpControlPlane({ ...env, ...GCP_ENV });
    expect(plane.identity).toBeDefined();
    expect(plane.distributes).toBe(true);
    expect(plane.replication).toBeUndefined();
    expect(typeof (await composeGcpApi({ ...env, ...GCP_ENV }))).toBe('function');
  });

  it('replicates with the peers WEFT_PEERS names, signing with the relay key (its kid read at start)', async () => {
    const { env } = await createTestOperators();
    const keys = new MemoryKeyRing();
    const relaySigner = await keys.open('gcp-relay');
    const aws = await relayPublicKeyOf(await keys.open('aws-relay'), 'aws');
    const peers = JSON.stringify([{ cloud: 'aws', url: 'https://aws.example', keys: [aws] }]);
    const plane = await composeGcpControlPlane({ ...env, WEFT_PEERS: peers }, { ...inMemory(), relaySigner });
    expect(plane.replication).toBeDefined();
  });

  it('refuses a backend it does not have, synchronously', async () => {
    const { env } = await createTestOperators();
    const spanner = { ...env, ...GCP_ENV, WEFT_STATE_BACKEND: 'spanner' };
    expect(() => composeGcpControlPlane(spanner)).toThrow(ConfigurationError);
    await expect(composeGcpApi(spanner)).rejects.toThrow(/WEFT_STATE_BACKEND/);
  });

  it('names every missing variable with the store factory’s, and none an injected part makes optional', () => {
    const createStore = (config: EnvConfig) => {
      config.require('WEFT_COLLECTION');
      return new MemoryStateStore();
    };
    const variables = (env: Record<string, string>, options: GcpCompositionOptions) => {
      try {
        composeGcpControlPlane(env, options);
      } catch (error) {
        return (error as ConfigurationError).variables;
      }
      return [];
    };
    const operators = ['WEFT_OPERATOR_ISSUER', 'WEFT_OPERATOR_AUDIENCE', 'WEFT_OPERATOR_JWKS_URL'];
    expect(variables({}, { createStore })).toEqual([
      ...operators,
      'WEFT_COLLECTION',
      'WEFT_BUCKET_NAME',
      'WEFT_PUBSUB_TOPIC',
      'WEFT_KMS_KEY_RING',
    ]);
    expect(variables({}, { ...inMemory(), createStore })).toEqual([...operators, 'WEFT_COLLECTION']);
  });

  it('refuses malformed names of the key ring, the topic, the relay key and the root, and peers without a relay key', async () => {
    const { env } = await createTestOperators();
    const aws = await relayPublicKeyOf(await new MemoryKeyRing().open('aws-relay'), 'aws');
    try {
      composeGcpControlPlane({
        ...env,
        ...GCP_ENV,
        WEFT_KMS_KEY_RING: 'weft',
        WEFT_PUBSUB_TOPIC: 'projects/p/subscriptions/s',
        WEFT_ROOT_CERT: 'not a certificate',
        WEFT_PEERS: JSON.stringify([{ cloud: 'aws', url: 'https://aws.example', keys: [aws] }]),
      });
      expect.unreachable();
    } catch (error) {
      expect((error as ConfigurationError).variables).toEqual([
        'WEFT_PUBSUB_TOPIC',
        'WEFT_KMS_KEY_RING',
        'WEFT_RELAY_KEY_VERSION',
        'WEFT_ROOT_CERT',
      ]);
    }
    expect(() =>
      composeGcpControlPlane({ ...env, ...GCP_ENV, WEFT_RELAY_KEY_VERSION: 'projects/p/cryptoKeys/relay' }),
    ).toThrow(/WEFT_RELAY_KEY_VERSION must be a full key version name/);
  });
});
