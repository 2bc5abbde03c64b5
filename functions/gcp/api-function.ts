/**
 * The API as a Cloud Run function (functions-framework), registered as
 * `weftApi`. Deploy with `--entry-point weftApi`.
 *
 * @module
 */
import { type HttpFunction, http, type Request } from '@google-cloud/functions-framework';
import { readCappedBody } from '../../shared/api/body.js';
import { problemResponse } from '../../shared/api/problem.js';
import { splitTarget } from '../../shared/api/request-gate.js';
import type { Api, ApiRequest } from '../../shared/api/types.js';
import { composeOnFirstCall } from '../control-plane/startup.js';
import { composeGcpApi } from './composition.js';

/** The name the function is registered (and deployed) under. */
export const GCP_FUNCTION_NAME = 'weftApi';

/**
 * Wraps `api` as a functions-framework HTTP function.
 *
 * @example
 * http('weftApi', createGcpApiHandler(api));
 */
export function createGcpApiHandler(api: Api): HttpFunction {
  return async (req, res) => {
    const response = await toApiRequest(req)
      .then(api)
      .catch((error) => problemResponse(error, req.path));
    // writeHead, not res.set: Express would append a charset to the media types.
    res.writeHead(response.status, response.headers).end(response.body);
  };
}

async function toApiRequest(req: Request): Promise<ApiRequest> {
  // As sent, not `new URL`'s normalised form: the API's gate refuses dot-segments.
  const { path, query } = splitTarget(req.originalUrl);
  const headers: Record<string, string> = {};
  for (const [name, value] of Object.entries(req.headers)) {
    if (value !== undefined) headers[name] = Array.isArray(value) ? value.join(', ') : value;
  }
  return {
    method: req.method,
    path,
    // Not req.query: Express's extended parser turns `a[b]=c` into objects.
    query,
    headers,
    body: await readBody(req),
    sourceIp: req.ip,
  };
}

/**
 * The body exactly as sent. The framework has already parsed JSON, text and
 * forms into `req.body`, but keeps the bytes in `req.rawBody`; the API parses
 * (and reports errors) itself. With no `Content-Type` nothing was read yet.
 */
function readBody(req: Request): Promise<string | undefined> {
  return readCappedBody(req.readable ? req : undefined, req.headers['content-length'], req.rawBody);
}

/**
 * Registers the function; `api` defaults to the deployment's own, composed
 * from the environment on the first request of each instance.
 */
export function registerGcpApi(api: Api = composeOnFirstCall(() => composeGcpApi())): void {
  http(GCP_FUNCTION_NAME, createGcpApiHandler(api));
}

registerGcpApi();
