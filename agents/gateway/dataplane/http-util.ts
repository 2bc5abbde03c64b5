/**
 * HTTP/1.1 proxy plumbing: which headers cross a hop (RFC 9110 §7.6.1),
 * reading a bounded request body, and answering in RFC 9457 problem
 * details, the one error shape workloads get from either gateway.
 *
 * @module
 */
import type { IncomingHttpHeaders, IncomingMessage, ServerResponse } from 'node:http';
import { PayloadTooLargeError } from '../../../shared/model/errors.js';
import { PROBLEM_CONTENT_TYPE, toProblem } from '../../../shared/model/problem.js';
import { formatTraceparent, type TraceContext } from './trace-context.js';

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

/** The names a `Connection` header lists, lowercase (they are hop-by-hop too). */
function connectionTokens(value: string | string[]): string[] {
  return String(value)
    .split(',')
    .map((t) => t.trim().toLowerCase());
}

const REQUEST_DROP = new Set([...HOP_BY_HOP, ...REQUEST_ONLY]);
const RESPONSE_DROP = new Set(HOP_BY_HOP);
/** What `Connection` lists most of the time, and names no header of its own. */
const PLAIN_CONNECTION = new Set(['keep-alive', 'close']);

/**
 * Request headers for the next hop, as undici's flat `[name, value, ...]`
 * list: without hop-by-hop ones, `host`, `content-length`, `expect` and
 * `drop` (lowercase names). One pass, no intermediate objects: it runs on
 * every call at both hops.
 */
export function forwardHeaders(incoming: IncomingHttpHeaders, drop: ReadonlySet<string>): string[] {
  const connection = incoming.connection;
  const listed =
    connection === undefined || PLAIN_CONNECTION.has(connection) ? undefined : connectionTokens(connection);
  const out: string[] = [];
  for (const name in incoming) {
    const value = incoming[name];
    if (value === undefined || REQUEST_DROP.has(name) || drop.has(name) || listed?.includes(name)) continue;
    if (typeof value === 'string') out.push(name, value);
    else for (const v of value) out.push(name, v);
  }
  return out;
}

/**
 * An upstream answer's headers for the caller, from undici's raw list,
 * without hop-by-hop ones: a flat list `writeHead` takes as is. Bytes stay
 * as they came (latin1 both ways), repeated fields stay repeated.
 */
export function answerHeaders(raw: readonly Buffer[]): string[] {
  const out: string[] = [];
  let listed: string[] | undefined;
  for (let i = 0; i + 1 < raw.length; i += 2) {
    const name = raw[i]!.toString('latin1');
    const lower = name.toLowerCase();
    if (!RESPONSE_DROP.has(lower)) {
      out.push(name, raw[i + 1]!.toString('latin1'));
      continue;
    }
    if (lower !== 'connection') continue;
    const tokens = connectionTokens(raw[i + 1]!.toString('latin1')).filter((t) => !PLAIN_CONNECTION.has(t));
    if (tokens.length) listed = [...(listed ?? []), ...tokens];
  }
  if (!listed) return out;
  const keep: string[] = [];
  for (let i = 0; i < out.length; i += 2)
    if (!listed.includes(out[i]!.toLowerCase())) keep.push(out[i]!, out[i + 1]!);
  return keep;
}

/** The request's `Bearer` token from `header` (`authorization` or `proxy-authorization`). */
export function bearerToken(headers: IncomingHttpHeaders, header: string): string | undefined {
  const value = headers[header];
  if (typeof value !== 'string') return undefined;
  const m = /^Bearer[ \t]+([^ \t]+)[ \t]*$/i.exec(value);
  return m?.[1];
}

/**
 * The header list a hop sends on: the incoming headers less `drop` and the
 * hop-by-hop ones, then the service's host and this hop's `traceparent`.
 * The caller appends what its hop adds.
 */
export function hopHeaders(
  incoming: IncomingHttpHeaders,
  drop: ReadonlySet<string>,
  host: string,
  trace: TraceContext,
): string[] {
  const headers = forwardHeaders(incoming, drop);
  headers.push('host', host, 'traceparent', formatTraceparent(trace));
  return headers;
}

/** Does the request carry a body? Neither header means none in HTTP/1.1 (RFC 9112 §6.3). */
export function hasBody(req: IncomingMessage): boolean {
  return req.headers['content-length'] !== undefined || req.headers['transfer-encoding'] !== undefined;
}

/**
 * Reads the whole request body, so a retry can send it again.
 *
 * @returns `undefined` for a request without a body.
 * @throws PayloadTooLargeError past `limit` bytes (declared or read).
 */
export async function readBody(req: IncomingMessage, limit: number): Promise<Buffer | undefined> {
  if (!hasBody(req)) return undefined;
  const declared = Number(req.headers['content-length'] ?? 0);
  if (declared > limit) throw new PayloadTooLargeError(`request bodies are limited to ${limit} bytes`);
  const chunks: Buffer[] = [];
  let size = 0;
  for await (const chunk of req as AsyncIterable<Buffer>) {
    size += chunk.length;
    if (size > limit) throw new PayloadTooLargeError(`request bodies are limited to ${limit} bytes`);
    chunks.push(chunk);
  }
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
