/**
 * The API as an Azure Functions (v4 programming model) HTTP trigger, named
 * `weftApi`, catching every method and every path but the other HTTP
 * functions' ({@link AZURE_API_ROUTE}); `functions/azure/index.ts` registers it.
 *
 * @module
 */
import type { HttpRequest, HttpResponseInit, InvocationContext } from '@azure/functions';
import { problemResponse } from '../../shared/api/problem.js';
import { gateRequestPath, splitTarget } from '../../shared/api/request-gate.js';
import { type Api, type ApiRequest, MAX_BODY_BYTES } from '../../shared/api/types.js';
import { PayloadTooLargeError } from '../../shared/model/errors.js';

/** The name the function is registered (and deployed) under. */
export const AZURE_API_FUNCTION = 'weftApi';
/**
 * Every path below the host's `api/` prefix but the webhooks' (`events/...`)
 * and ingest's (`v1/replication/...`): the Functions host tries routes in
 * the order of the functions' names, not by precedence, so a bare `{*path}`
 * in `weftApi` (first by name) would take their requests.
 */
export const AZURE_API_ROUTE = '{*path:regex(^(?!events(\\W|$)|v1\\Wreplication(\\W|$)))}';
/** Every method: the API answers 405 itself, with `Allow`. */
export const AZURE_API_METHODS = [
  'GET',
  'HEAD',
  'POST',
  'PUT',
  'PATCH',
  'DELETE',
  'OPTIONS',
  'TRACE',
  'CONNECT',
] as const;

/**
 * Wraps `api` as an HTTP handler.
 *
 * @example
 * const response = await createAzureApiHandler(api)(new HttpRequest({ method: 'GET', url }), context);
 */
export function createAzureApiHandler(api: Api) {
  // The context is part of the v4 handler signature; the API logs through its own logger.
  return async (request: HttpRequest, _context?: InvocationContext): Promise<HttpResponseInit> => {
    const response = await toApiRequest(request)
      .then(api)
      .catch((error) => problemResponse(error, splitTarget(request.url).path));
    return { status: response.status, headers: { ...response.headers }, body: response.body };
  };
}

async function toApiRequest(request: HttpRequest): Promise<ApiRequest> {
  // The host may hand the route param decoded or normalised; the path as sent
  // passes the gate first, so `..` or `%2F` never reaches the API resolved.
  const raw = splitTarget(request.url).path;
  gateRequestPath(raw);
  // Refuse before buffering; the core checks again what actually arrived.
  if (Number(request.headers.get('content-length') ?? 0) > MAX_BODY_BYTES) {
    throw new PayloadTooLargeError(
      `the body is over ${MAX_BODY_BYTES} bytes; split it into several requests`,
    );
  }
  const body = await request.text();
  return {
    method: request.method,
    // The catch-all route param is the path below the host's route prefix (`/api` by default).
    path: request.params.path !== undefined ? `/${request.params.path}` : raw,
    query: Object.fromEntries(request.query),
    headers: Object.fromEntries(request.headers),
    body: body === '' ? undefined : body,
    sourceIp: clientIp(request.headers.get('x-forwarded-for')),
  };
}

/** The first `X-Forwarded-For` hop; Azure's front end writes IPv4 as `address:port`. */
function clientIp(forwardedFor: string | null): string | undefined {
  const first = forwardedFor?.split(',')[0]?.trim();
  return first?.replace(/^(\d{1,3}(?:\.\d{1,3}){3}):\d+$/, '$1') || undefined;
}
