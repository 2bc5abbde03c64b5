/**
 * Bridges node:http to the API's own request/response types.
 *
 * @module
 */
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { Duplex } from 'node:stream';
import { readCappedBody } from '../../shared/api/body.js';
import { problemResponse } from '../../shared/api/problem.js';
import { splitTarget } from '../../shared/api/request-gate.js';
import type { Api, ApiRequest, ApiResponse } from '../../shared/api/types.js';
import { MalformedError, WeftError } from '../../shared/model/errors.js';
import { toProblem } from '../../shared/model/problem.js';

/**
 * Reads a node request into an ApiRequest, refusing (without buffering) a
 * body larger than the API takes.
 *
 * @throws PayloadTooLargeError past `MAX_BODY_BYTES`.
 */
export async function readApiRequest(req: IncomingMessage): Promise<ApiRequest> {
  // As sent, not `new URL`'s normalised form: the API's gate refuses dot-segments.
  const { path, query } = splitTarget(req.url ?? '/');
  const body = await readCappedBody(req, req.headers['content-length']);
  const headers: Record<string, string> = {};
  for (const [name, value] of Object.entries(req.headers)) {
    if (value !== undefined) headers[name] = Array.isArray(value) ? value.join(', ') : value;
  }
  return {
    method: req.method ?? 'GET',
    path,
    query,
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
      if (req.rawHeaders.length / 2 > MAX_HEADERS) throw tooManyHeaders();
      response = await api(await readApiRequest(req));
    } catch (error) {
      response = problemResponse(error, req.url);
      // Stop reading an oversized body: answer and close the connection.
      res.setHeader('connection', 'close');
    }
    writeApiResponse(res, response);
  };
}

/** The most header bytes a request may carry (Node's default, stated so the docs can say it). */
export const MAX_HEADER_BYTES = 16 * 1024;
/** The most header lines a request may carry. */
export const MAX_HEADERS = 100;

/**
 * An HTTP server for `api` whose own parser refusals (headers too large or
 * too many, a malformed `Content-Length`, a request that is not HTTP) are
 * answered as problem+json, like everything else the API says.
 */
export function createApiServer(api: Api): Server {
  const server = createServer({ maxHeaderSize: MAX_HEADER_BYTES }, nodeListener(api));
  // Past this, Node drops headers silently; a request that long is refused instead.
  server.maxHeadersCount = MAX_HEADERS + 1;
  server.on('clientError', answerClientError);
  return server;
}

const tooManyHeaders = () =>
  new WeftError('ERR_VALIDATION', 431, `the request has over ${MAX_HEADERS} headers; send fewer`);

const CLIENT_ERRORS: Record<string, () => WeftError> = {
  HPE_HEADER_OVERFLOW: () =>
    new WeftError(
      'ERR_VALIDATION',
      431,
      `the request's headers are over ${MAX_HEADER_BYTES / 1024} KiB; send fewer or shorter headers`,
    ),
  HPE_INVALID_CONTENT_LENGTH: () =>
    new MalformedError('Content-Length must be one number of bytes, such as Content-Length: 42'),
  HPE_UNEXPECTED_CONTENT_LENGTH: () =>
    new MalformedError('send either Content-Length or Transfer-Encoding: chunked, not both'),
};

/**
 * Answers what Node's parser refused, then stops reading. The rest of the
 * request is read and dropped for a moment first: closing a socket with
 * unread data resets it, and the client would see the reset, not the answer.
 */
export function answerClientError(error: NodeJS.ErrnoException, socket: Duplex): void {
  if (error.code === 'ECONNRESET' || !socket.writable) {
    socket.destroy();
    return;
  }
  const refusal =
    CLIENT_ERRORS[error.code ?? '']?.() ??
    new MalformedError(`the request is not HTTP/1.1 this server can read (${error.code ?? 'unknown'})`);
  const body = `${JSON.stringify(toProblem(refusal), null, 2)}\n`;
  socket.on('data', () => {});
  socket.on('error', () => socket.destroy());
  socket.end(
    [
      `HTTP/1.1 ${refusal.status} ${toProblem(refusal).title}`,
      'content-type: application/problem+json',
      'cache-control: no-store',
      `content-length: ${Buffer.byteLength(body)}`,
      'connection: close',
      '',
      body,
    ].join('\r\n'),
  );
  setTimeout(() => socket.destroy(), 2000).unref();
}
