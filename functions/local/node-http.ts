/**
 * Bridges node:http to the API's own request/response types.
 *
 * @module
 */
import type { IncomingMessage, ServerResponse } from 'node:http';
import { readCappedBody } from '../../shared/api/body.js';
import { problemResponse } from '../../shared/api/problem.js';
import type { Api, ApiRequest, ApiResponse } from '../../shared/api/types.js';

/**
 * Reads a node request into an ApiRequest, refusing (without buffering) a
 * body larger than the API takes.
 *
 * @throws PayloadTooLargeError past `MAX_BODY_BYTES`.
 */
export async function readApiRequest(req: IncomingMessage): Promise<ApiRequest> {
  const url = new URL(req.url ?? '/', 'http://localhost');
  const body = await readCappedBody(req, req.headers['content-length']);
  const headers: Record<string, string> = {};
  for (const [name, value] of Object.entries(req.headers)) {
    if (value !== undefined) headers[name] = Array.isArray(value) ? value.join(', ') : value;
  }
  return {
    method: req.method ?? 'GET',
    path: url.pathname,
    query: Object.fromEntries(url.searchParams),
    headers,
    body,
    sourceIp: req.socket.remoteAddress,
  };
}

export function writeApiResponse(res: ServerResponse, response: ApiResponse): void {
  res.writeHead(response.status, { ...response.headers, 'content-length': Buffer.byteLength(response.body) });
  res.end(response.body);
}

/** A node:http request listener serving `api`. */
export function nodeListener(api: Api) {
  return async (req: IncomingMessage, res: ServerResponse): Promise<void> => {
    let response: ApiResponse;
    try {
      response = await api(await readApiRequest(req));
    } catch (error) {
      response = problemResponse(error, req.url);
      // Stop reading an oversized body: answer and close the connection.
      res.setHeader('connection', 'close');
    }
    writeApiResponse(res, response);
  };
}
