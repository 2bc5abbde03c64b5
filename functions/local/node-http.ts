/**
 * Bridges node:http to the API's own request/response types.
 *
 * @module
 */
import type { IncomingMessage, ServerResponse } from 'node:http';
import { problemResponse } from '../../shared/api/problem.js';
import { type Api, type ApiRequest, type ApiResponse, MAX_BODY_BYTES } from '../../shared/api/types.js';
import { PayloadTooLargeError } from '../../shared/model/errors.js';

/**
 * Reads a node request into an ApiRequest, refusing (without buffering) a
 * body larger than the API takes.
 *
 * @throws PayloadTooLargeError past `MAX_BODY_BYTES`.
 */
export async function readApiRequest(req: IncomingMessage): Promise<ApiRequest> {
  const url = new URL(req.url ?? '/', 'http://localhost');
  const declared = Number(req.headers['content-length'] ?? 0);
  if (declared > MAX_BODY_BYTES) throw tooLarge();
  const chunks: Buffer[] = [];
  let size = 0;
  for await (const chunk of req) {
    size += (chunk as Buffer).length;
    if (size > MAX_BODY_BYTES) throw tooLarge();
    chunks.push(chunk as Buffer);
  }
  const headers: Record<string, string> = {};
  for (const [name, value] of Object.entries(req.headers)) {
    if (value !== undefined) headers[name] = Array.isArray(value) ? value.join(', ') : value;
  }
  return {
    method: req.method ?? 'GET',
    path: url.pathname,
    query: Object.fromEntries(url.searchParams),
    headers,
    body: size > 0 ? Buffer.concat(chunks).toString('utf8') : undefined,
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

function tooLarge(): PayloadTooLargeError {
  return new PayloadTooLargeError(`the body is over ${MAX_BODY_BYTES} bytes; split it into several requests`);
}
