import { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import type { APIGatewayProxyEventV2, APIGatewayProxyStructuredResultV2, Context } from 'aws-lambda';
import { afterEach, describe, expect, it, vi } from 'vitest';
import { createAwsApiHandler, handler } from '../../../functions/aws/api-handler.js';
import { composeAwsApi, readAwsConfig } from '../../../functions/aws/composition.js';

/** Every AWS resource variable, pointing at nothing: composition does no I/O. */
const AWS_RESOURCES = {
  WEFT_TABLE_NAME: 'weft',
  WEFT_BUCKET_NAME: 'weft-bucket',
  WEFT_EVENT_BUS_NAME: 'weft-bus',
  WEFT_KMS_ALIAS_PREFIX: 'alias/weft/test',
  WEFT_KMS_KEY_TAG: 'test',
};

import { ConfigurationError } from '../../../functions/control-plane/startup.js';
import type { ApiRequest } from '../../../shared/api/types.js';
import { describeApiContract } from '../../contract/api.js';
import { type CallOptions, createLocalApiForTest, createTestOperators } from '../../support/api.js';

const context = {
  functionName: 'weft-api',
  awsRequestId: 'c0ffee',
  getRemainingTimeInMillis: () => 30_000,
} as unknown as Context;

/**
 * An API Gateway HTTP API (payload 2.0) event. Header names go in Title-Case,
 * as a hand-written event may carry them; bodies that are not JSON arrive
 * base64-encoded, as API Gateway sends binary media types.
 */
function httpApiEvent(
  method: string,
  pathAndQuery: string,
  options: CallOptions = {},
): APIGatewayProxyEventV2 {
  // The path as sent, never normalised (`new URL` would resolve `..`): what rawPath carries.
  const [rawPath = '', search = ''] = pathAndQuery.split(/\?(.*)/s);
  const url = {
    pathname: rawPath,
    search: search && `?${search}`,
    searchParams: new URLSearchParams(search),
  };
  const headers: Record<string, string> = {
    host: 'api.weft.test',
    'user-agent': 'contract',
    ...options.headers,
  };
  const titleCase = (name: string) =>
    name.replace(/(^|-)([a-z])/g, (_m, dash, c: string) => dash + c.toUpperCase());
  const binary = options.body !== undefined && !/^application\/json\b/.test(headers['content-type'] ?? '');
  return {
    version: '2.0',
    routeKey: '$default',
    rawPath: url.pathname,
    rawQueryString: url.search.slice(1),
    headers: Object.fromEntries(Object.entries(headers).map(([k, v]) => [titleCase(k), v])),
    ...(url.search && { queryStringParameters: Object.fromEntries(url.searchParams) }),
    requestContext: {
      accountId: '123456789012',
      apiId: 'weft',
      domainName: 'api.weft.test',
      domainPrefix: 'api',
      http: {
        method,
        path: url.pathname,
        protocol: 'HTTP/1.1',
        sourceIp: '203.0.113.7',
        userAgent: 'contract',
      },
      requestId: 'r1',
      routeKey: '$default',
      stage: '$default',
      time: '24/Nov/2025:09:00:00 +0000',
      timeEpoch: 1_763_974_800_000,
    },
    ...(options.body !== undefined && {
      body: binary ? Buffer.from(options.body).toString('base64') : options.body,
    }),
    isBase64Encoded: binary,
  };
}

function fromResult(result: APIGatewayProxyStructuredResultV2) {
  const headers = Object.fromEntries(
    Object.entries(result.headers ?? {}).map(([k, v]) => [k.toLowerCase(), String(v)]),
  );
  return { status: result.statusCode ?? 200, headers, body: result.body ?? '' };
}

describeApiContract('AWS Lambda (API Gateway v2 events)', async () => {
  const { api, adminToken, viewerToken } = await createLocalApiForTest();
  const lambda = createAwsApiHandler(api);
  return {
    call: async (method, path, options) =>
      fromResult(await lambda(httpApiEvent(method, path, options), context)),
    adminToken,
    viewerToken,
    close: async () => {},
  };
});

describe('createAwsApiHandler', () => {
  it('hands the API the request as API Gateway described it', async () => {
    const seen: ApiRequest[] = [];
    const lambda = createAwsApiHandler(async (req) => {
      seen.push(req);
      return { status: 202, headers: { 'x-weft': 'yes' }, body: 'ok' };
    });
    const event = httpApiEvent('PUT', '/v1/services/shop/web?dryRun=true', {
      body: 'kind: Service',
      headers: { 'content-type': 'application/yaml', authorization: 'Bearer t' },
    });
    const result = await lambda(event, context);
    expect(result).toEqual({ statusCode: 202, headers: { 'x-weft': 'yes' }, body: 'ok' });
    expect(seen[0]).toMatchObject({
      method: 'PUT',
      path: '/v1/services/shop/web',
      query: { dryRun: 'true' },
      headers: { 'content-type': 'application/yaml', authorization: 'Bearer t', host: 'api.weft.test' },
      body: 'kind: Service',
      sourceIp: '203.0.113.7',
    });
  });

  it('decodes a base64 body as UTF-8', async () => {
    const { api, adminToken } = await createLocalApiForTest();
    const lambda = createAwsApiHandler(api);
    const doc = {
      apiVersion: 'weft.dev/v1',
      kind: 'Environment',
      metadata: { name: 'cafe', annotations: { note: 'café ☕ 東京' } },
      spec: { provider: 'aws', region: 'ap-northeast-1' },
    };
    const event = {
      ...httpApiEvent('PUT', '/v1/environments/cafe', {
        headers: { authorization: `Bearer ${adminToken}`, 'content-type': 'application/json' },
      }),
      body: Buffer.from(JSON.stringify(doc), 'utf8').toString('base64'),
      isBase64Encoded: true,
    };
    const result = fromResult(await lambda(event, context));
    expect(result.status, result.body).toBe(201);
    expect(JSON.parse(result.body).metadata.annotations.note).toBe('café ☕ 東京');
  });
});

describe('composeAwsApi', () => {
  afterEach(() => {
    vi.restoreAllMocks();
  });

  it('names every missing variable at once', () => {
    const error = (() => {
      try {
        readAwsConfig({});
      } catch (e) {
        return e as ConfigurationError;
      }
      throw new Error('readAwsConfig({}) did not throw');
    })();
    expect(error).toBeInstanceOf(ConfigurationError);
    expect(error.variables).toEqual([
      'WEFT_TABLE_NAME',
      'WEFT_BUCKET_NAME',
      'WEFT_EVENT_BUS_NAME',
      'WEFT_KMS_ALIAS_PREFIX',
      'WEFT_KMS_KEY_TAG',
      'WEFT_OPERATOR_ISSUER',
      'WEFT_OPERATOR_AUDIENCE',
      'WEFT_OPERATOR_JWKS_URL',
    ]);
    expect(error.message).toMatch(/^weft on AWS cannot start/);
  });

  it('refuses a plain-http JWKS URL, malformed inline keys, or both at once', async () => {
    const base = { ...AWS_RESOURCES, WEFT_OPERATOR_ISSUER: 'i', WEFT_OPERATOR_AUDIENCE: 'a' };
    expect(() => readAwsConfig({ ...base, WEFT_OPERATOR_JWKS_URL: 'http://idp.example/jwks' })).toThrow(
      /WEFT_OPERATOR_JWKS_URL must be an https URL/,
    );
    expect(() => readAwsConfig({ ...base, WEFT_OPERATOR_JWKS: '{"keys": 1}' })).toThrow(
      /WEFT_OPERATOR_JWKS must be a JWKS/,
    );
    expect(() =>
      readAwsConfig({
        ...base,
        WEFT_OPERATOR_JWKS: '{}',
        WEFT_OPERATOR_JWKS_URL: 'https://idp.example/jwks',
      }),
    ).toThrow(/both set/);
  });

  it('refuses malformed peers, a relay key missing with peers, a bad alias prefix and a root that is no PEM', () => {
    const base = {
      ...AWS_RESOURCES,
      WEFT_OPERATOR_ISSUER: 'i',
      WEFT_OPERATOR_AUDIENCE: 'a',
      WEFT_OPERATOR_JWKS_URL: 'https://idp.example/jwks',
    };
    expect(() => readAwsConfig({ ...base, WEFT_PEERS: 'gcp' })).toThrow(/WEFT_PEERS must be JSON/);
    expect(() => readAwsConfig({ ...base, WEFT_PEERS: '[{"cloud":"gcp"}]' })).toThrow(
      /WEFT_PEERS is not a peer list/,
    );
    const peer = {
      cloud: 'gcp',
      url: 'https://gcp.example',
      keys: [{ kid: 'relay-gcp-1', kty: 'EC', crv: 'P-256', x: 'x', y: 'y' }],
    };
    expect(() => readAwsConfig({ ...base, WEFT_PEERS: JSON.stringify([peer]) })).toThrow(
      /WEFT_RELAY_KEY_ARN is not set/,
    );
    expect(
      readAwsConfig({
        ...base,
        WEFT_PEERS: JSON.stringify([peer]),
        WEFT_RELAY_KEY_ARN: 'arn:aws:kms:us-east-1:1:key/k',
      }).peers,
    ).toEqual([peer]);
    expect(() => readAwsConfig({ ...base, WEFT_KMS_ALIAS_PREFIX: 'weft' })).toThrow(
      /WEFT_KMS_ALIAS_PREFIX must look like alias/,
    );
    expect(() => readAwsConfig({ ...base, WEFT_ROOT_CERT: 'root' })).toThrow(/WEFT_ROOT_CERT must be/);
  });

  it('composes without I/O from a complete environment', async () => {
    const { env } = await createTestOperators();
    const client = new DynamoDBClient({ region: 'local', endpoint: 'http://127.0.0.1:9' });
    const api = await composeAwsApi({ ...env, ...AWS_RESOURCES }, { client });
    expect((await api({ method: 'GET', path: '/healthz', query: {}, headers: {} })).status).toBe(200);
    client.destroy();
  });

  it('the deployed handler composes on first use and answers a bad configuration with a logged 500', async () => {
    const logged = vi.spyOn(console, 'error').mockImplementation(() => {});
    const result = fromResult(await handler(httpApiEvent('GET', '/healthz'), context));
    expect(result.status).toBe(500);
    expect(result.headers['content-type']).toBe('application/problem+json');
    expect(String(logged.mock.calls[0]?.[0])).toMatch(/weft failed to start.*WEFT_TABLE_NAME/s);
  });
});
