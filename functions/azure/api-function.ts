/**
 * The API as an Azure Functions (v4 programming model) HTTP trigger, named
 * `weftApi`, catching every method and path (`route: '{*path}'`).
 *
 * @module
 */
import azureFunctions, {
  type HttpRequest,
  type HttpResponseInit,
  type InvocationContext,
} from '@azure/functions';
import { problemResponse } from '../../shared/api/problem.js';
import { gateRequestPath, splitTarget } from '../../shared/api/request-gate.js';
import { type Api, type ApiRequest, MAX_BODY_BYTES } from '../../shared/api/types.js';
import { PayloadTooLargeError } from '../../shared/model/errors.js';
import { composeOnFirstCall } from '../control-plane/startup.js';
import { composeAzureApi } from './composition.js';

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

azureFunctions.app.http('weftApi', {
  methods: ['GET', 'HEAD', 'POST', 'PUT', 'PATCH', 'DELETE', 'OPTIONS', 'TRACE', 'CONNECT'],
  authLevel: 'anonymous',
  route: '{*path}',
  handler: createAzureApiHandler(composeOnFirstCall(() => composeAzureApi())),
});
