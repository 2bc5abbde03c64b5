import type { Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { getTestServer } from '@google-cloud/functions-framework/testing';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ConfigurationError, type EnvConfig } from '../../../functions/control-plane/startup.js';
import { GCP_FUNCTION_NAME, registerGcpApi } from '../../../functions/gcp/api-function.js';
import { composeGcpApi } from '../../../functions/gcp/composition.js';
import type { ApiRequest } from '../../../shared/api/types.js';
import { MemoryStateStore } from '../../../shared/storage/memory-state-store.js';
import { describeApiContract } from '../../contract/api.js';
import { createTestOperators, httpCaller } from '../../support/api.js';

const SILENT = { info() {}, error() {} };

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
    registerGcpApi(composeGcpApi(env, { createStore: () => store, logger: SILENT }));
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

describe('composeGcpApi', () => {
  it('composes over Firestore by default, without any I/O', async () => {
    const { env } = await createTestOperators();
    expect(typeof composeGcpApi(env)).toBe('function');
  });

  it('refuses a backend it does not have', async () => {
    const { env } = await createTestOperators();
    expect(() => composeGcpApi({ ...env, WEFT_STATE_BACKEND: 'spanner' })).toThrow(ConfigurationError);
    expect(() => composeGcpApi({ ...env, WEFT_STATE_BACKEND: 'spanner' })).toThrow(/WEFT_STATE_BACKEND/);
  });

  it('reports the store factory’s missing variables with the rest', () => {
    try {
      const createStore = (config: EnvConfig) => {
        config.require('WEFT_COLLECTION');
        return new MemoryStateStore();
      };
      composeGcpApi({}, { createStore });
      expect.unreachable();
    } catch (error) {
      expect((error as ConfigurationError).variables).toEqual([
        'WEFT_OPERATOR_ISSUER',
        'WEFT_OPERATOR_AUDIENCE',
        'WEFT_OPERATOR_JWKS_URL',
        'WEFT_COLLECTION',
      ]);
    }
  });
});
