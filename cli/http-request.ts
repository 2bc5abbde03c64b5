/**
 * One HTTP request with node:http(s), not fetch: fetch loads its bundled
 * undici on first use and keeps the connection alive afterwards, which
 * together cost a short command (`weft get`) more than all its own work.
 *
 * @module
 */
import type { IncomingHttpHeaders } from 'node:http';

export interface HttpAnswer {
  readonly status: number;
  readonly headers: IncomingHttpHeaders;
  readonly body: string;
}

export interface HttpRequestOptions {
  readonly method: string;
  readonly headers: Readonly<Record<string, string>>;
  readonly body?: string;
  /** The whole exchange; past it the request fails with an error named `TimeoutError`. */
  readonly timeoutMs: number;
}

/**
 * Sends `options` to `url` on a connection of its own, closed after.
 *
 * @throws the socket's error when the server cannot be reached, or a `TimeoutError`.
 */
export async function httpRequest(url: URL, options: HttpRequestOptions): Promise<HttpAnswer> {
  const { request } = url.protocol === 'https:' ? await import('node:https') : await import('node:http');
  const body = options.body === undefined ? undefined : Buffer.from(options.body, 'utf8');
  return new Promise((resolve, reject) => {
    const req = request(url, {
      method: options.method,
      headers: { ...options.headers, ...(body && { 'content-length': String(body.length) }) },
      agent: false,
    });
    const timer = setTimeout(() => {
      const error = new Error(`no answer within ${options.timeoutMs} ms`);
      error.name = 'TimeoutError';
      req.destroy(error);
    }, options.timeoutMs);
    req.on('error', (error) => {
      clearTimeout(timer);
      reject(error);
    });
    req.on('response', (res) => {
      const chunks: Buffer[] = [];
      res.on('data', (chunk: Buffer) => chunks.push(chunk));
      res.on('error', reject);
      res.on('end', () => {
        clearTimeout(timer);
        resolve({
          status: res.statusCode ?? 0,
          headers: res.headers,
          body: Buffer.concat(chunks).toString('utf8'),
        });
      });
    });
    req.end(body);
  });
}
