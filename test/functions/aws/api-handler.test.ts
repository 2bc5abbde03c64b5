import { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import type { APIGatewayProxyEventV2, APIGatewayProxyStructuredResultV2, Context } from 'aws-lambda';
import { afterEach, describe, expect, it, vi } from 'vitest';
import { createAwsApiHandler, handler } from '../../../functions/aws/api-handler.js';
import { composeAwsApi } from '../../../functions/aws/composition.js';
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
        composeAwsApi({});
      } catch (e) {
        return e as ConfigurationError;
      }
      throw new Error('composeAwsApi({}) did not throw');
    })();
    expect(error).toBeInstanceOf(ConfigurationError);
    expect(error.variables).toEqual([
      'WEFT_TABLE_NAME',
      'WEFT_OPERATOR_ISSUER',
      'WEFT_OPERATOR_AUDIENCE',
      'WEFT_OPERATOR_JWKS_URL',
    ]);
    expect(error.message).toMatch(/^weft on AWS cannot start/);
  });

  it('refuses a plain-http JWKS URL, malformed inline keys, or both at once', async () => {
    const base = { WEFT_TABLE_NAME: 't', WEFT_OPERATOR_ISSUER: 'i', WEFT_OPERATOR_AUDIENCE: 'a' };
    expect(() => composeAwsApi({ ...base, WEFT_OPERATOR_JWKS_URL: 'http://idp.example/jwks' })).toThrow(
      /WEFT_OPERATOR_JWKS_URL must be an https URL/,
    );
    expect(() => composeAwsApi({ ...base, WEFT_OPERATOR_JWKS: '{"keys": 1}' })).toThrow(
      /WEFT_OPERATOR_JWKS must be a JWKS/,
    );
    expect(() =>
      composeAwsApi({
        ...base,
        WEFT_OPERATOR_JWKS: '{}',
        WEFT_OPERATOR_JWKS_URL: 'https://idp.example/jwks',
      }),
    ).toThrow(/both set/);
  });

  it('composes without I/O from a complete environment', async () => {
    const { env } = await createTestOperators();
    const client = new DynamoDBClient({ region: 'local', endpoint: 'http://127.0.0.1:9' });
    const api = composeAwsApi({ ...env, WEFT_TABLE_NAME: 'weft' }, { client });
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
