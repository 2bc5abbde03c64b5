/**
 * HTTP/1.1 proxy plumbing: which headers cross a hop (RFC 9110 §7.6.1),
 * reading a bounded request body, and answering in RFC 9457 problem
 * details, the one error shape workloads get from either gateway.
 *
 * @module
 */
import type { IncomingHttpHeaders, IncomingMessage, ServerResponse } from 'node:http';
import { PROBLEM_CONTENT_TYPE, toProblem } from '../../../shared/api/problem.js';
import { PayloadTooLargeError } from '../../../shared/model/errors.js';

/** Connection-scoped headers, plus those the next hop must compute itself. */
const HOP_BY_HOP = [
  'connection',
  'keep-alive',
  'proxy-connection',
  'proxy-authenticate',
  'proxy-authorization',
  'te',
  'trailer',
  'transfer-encoding',
  'upgrade',
  'http2-settings',
];
const REQUEST_ONLY = ['host', 'content-length', 'expect'];

/** The gateway-to-gateway header naming a caller identified by source address (see README). */
export const SOURCE_IDENTITY_HEADER = 'x-weft-source-identity';

type Headers = Record<string, string | string[]>;

function copy(incoming: IncomingHttpHeaders | Headers, drop: ReadonlySet<string>): Headers {
  const listed = String(incoming.connection ?? '')
    .split(',')
    .map((t) => t.trim().toLowerCase());
  const out: Headers = {};
  for (const [name, value] of Object.entries(incoming)) {
    if (value === undefined || drop.has(name) || listed.includes(name)) continue;
    out[name] = value;
  }
  return out;
}

const REQUEST_DROP = new Set([...HOP_BY_HOP, ...REQUEST_ONLY]);
const RESPONSE_DROP = new Set(HOP_BY_HOP);

/** Request headers for the next hop, without hop-by-hop ones and without `also` (lowercase). */
export function requestHeaders(incoming: IncomingHttpHeaders, ...also: string[]): Headers {
  const out = copy(incoming, REQUEST_DROP);
  for (const name of also) delete out[name];
  return out;
}

/** Response headers for the caller, without hop-by-hop ones. */
export function responseHeaders(incoming: Headers | IncomingHttpHeaders): Headers {
  return copy(incoming, RESPONSE_DROP);
}

/** The request's `Bearer` token from `header` (`authorization` or `proxy-authorization`). */
export function bearerToken(headers: IncomingHttpHeaders, header: string): string | undefined {
  const value = headers[header];
  if (typeof value !== 'string') return undefined;
  const m = /^Bearer[ \t]+([^ \t]+)[ \t]*$/i.exec(value);
  return m?.[1];
}

/**
 * Reads the whole request body, so a retry can send it again.
 *
 * @returns `undefined` for a request without a body.
 * @throws PayloadTooLargeError past `limit` bytes (declared or read).
 */
export async function readBody(req: IncomingMessage, limit: number): Promise<Buffer | undefined> {
  const declared = Number(req.headers['content-length'] ?? 0);
  if (declared > limit) throw new PayloadTooLargeError(`request bodies are limited to ${limit} bytes`);
  const chunks: Buffer[] = [];
  let size = 0;
  for await (const chunk of req as AsyncIterable<Buffer>) {
    size += chunk.length;
    if (size > limit) throw new PayloadTooLargeError(`request bodies are limited to ${limit} bytes`);
    chunks.push(chunk);
  }
  if (
    size === 0 &&
    req.headers['content-length'] === undefined &&
    req.headers['transfer-encoding'] === undefined
  )
    return undefined;
  return Buffer.concat(chunks, size);
}

const TITLES: Record<number, string> = { 501: 'Not Implemented', 502: 'Bad Gateway', 504: 'Gateway Timeout' };

/**
 * Answers with a problem document for `error` (a `WeftError`, else a 500
 * that says nothing of internals), plus `extensions`. A response already
 * under way is cut instead: its status line is gone.
 */
export function sendProblem(
  res: ServerResponse,
  error: unknown,
  extensions: Record<string, unknown> = {},
): number {
  const problem = { ...toProblem(error), ...extensions };
  problem.title = TITLES[problem.status] ?? problem.title;
  if (res.headersSent) {
    res.destroy();
    return problem.status;
  }
  const body = `${JSON.stringify(problem)}\n`;
  res.writeHead(problem.status, {
    'content-type': PROBLEM_CONTENT_TYPE,
    'content-length': Buffer.byteLength(body),
    'cache-control': 'no-store',
    ...(problem.status === 401 ? { 'www-authenticate': 'Bearer realm="weft"' } : {}),
    // A refused body may still be arriving: do not read it just to reuse the connection.
    ...(problem.status === 413 ? { connection: 'close' } : {}),
  });
  res.end(body);
  return problem.status;
}
