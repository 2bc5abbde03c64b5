/**
 * The API as a Lambda behind an API Gateway HTTP API (payload format 2.0).
 *
 * @module
 */
import middy from '@middy/core';
import type { APIGatewayProxyEventV2, APIGatewayProxyStructuredResultV2 } from 'aws-lambda';
import { problemResponse } from '../../shared/api/problem.js';
import type { Api, ApiRequest } from '../../shared/api/types.js';
import { composeOnFirstCall } from '../control-plane/startup.js';
import { composeAwsApi } from './composition.js';

/**
 * Wraps `api` as a middy Lambda handler: event in, `api` called, result out.
 *
 * @example
 * const handler = createAwsApiHandler(createApi({ store, hlc, authenticate }));
 * const result = await handler(event, context);
 */
export function createAwsApiHandler(api: Api) {
  return middy<APIGatewayProxyEventV2, APIGatewayProxyStructuredResultV2>().handler(async (event) => {
    // The core answers every request itself; this catches only a deployment that failed to compose.
    const response = await api(toApiRequest(event)).catch((error) => problemResponse(error, event.rawPath));
    return { statusCode: response.status, headers: { ...response.headers }, body: response.body };
  });
}

function toApiRequest(event: APIGatewayProxyEventV2): ApiRequest {
  const headers: Record<string, string> = {};
  // API Gateway lower-cases names already; a test event or a REST-style proxy may not.
  for (const [name, value] of Object.entries(event.headers ?? {})) {
    if (value !== undefined) headers[name.toLowerCase()] = value;
  }
  const { body, isBase64Encoded } = event;
  return {
    method: event.requestContext.http.method,
    path: event.rawPath,
    query: { ...event.queryStringParameters },
    headers,
    // Binary media types arrive base64-encoded; the API reads UTF-8 text.
    body: body !== undefined && isBase64Encoded ? Buffer.from(body, 'base64').toString('utf8') : body,
    sourceIp: event.requestContext.http.sourceIp,
  };
}

/** The deployed handler: composed from the environment on the first invocation of each cold start. */
export const handler = createAwsApiHandler(composeOnFirstCall(() => composeAwsApi()));
