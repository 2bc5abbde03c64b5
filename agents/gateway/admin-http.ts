/**
 * The small HTTP vocabulary of the admin server: a response value, RFC 9457
 * problems, a bounded body reader and `host:port` parsing. Handlers return
 * values; only `admin-server.ts` touches node:http.
 *
 * @module
 */
import type { IncomingMessage } from 'node:http';

/** What a handler answers. */
export interface AdminResponse {
  readonly status: number;
  readonly headers: Readonly<Record<string, string>>;
  readonly body: string;
}

const TITLES: Readonly<Record<number, string>> = {
  400: 'Bad Request',
  401: 'Unauthorized',
  403: 'Forbidden',
  404: 'Not Found',
  405: 'Method Not Allowed',
  413: 'Content Too Large',
  415: 'Unsupported Media Type',
  500: 'Internal Server Error',
  503: 'Service Unavailable',
};

/** An `application/problem+json` answer. */
export function problem(status: number, detail: string, headers: Record<string, string> = {}): AdminResponse {
  const body = { type: 'about:blank', title: TITLES[status] ?? 'Error', status, detail };
  return {
    status,
    headers: { ...headers, 'content-type': 'application/problem+json' },
    body: `${JSON.stringify(body)}\n`,
  };
}

/** A JSON answer. */
export function json(status: number, value: unknown, headers: Record<string, string> = {}): AdminResponse {
  return {
    status,
    headers: { ...headers, 'content-type': 'application/json' },
    body: `${JSON.stringify(value)}\n`,
  };
}

/** The body as text, or `undefined` past `limit` bytes (the rest is not read). */
export async function readBody(req: IncomingMessage, limit: number): Promise<string | undefined> {
  const chunks: Buffer[] = [];
  let size = 0;
  for await (const chunk of req as AsyncIterable<Buffer>) {
    size += chunk.length;
    if (size > limit) return undefined;
    chunks.push(chunk);
  }
  return Buffer.concat(chunks).toString('utf8');
}

/** `host:port`, host IPv4, a name or bracketed IPv6; port 0 picks a free one. */
export function parseHostPort(text: string): { host: string; port: number } | undefined {
  const m = /^(\[[0-9a-fA-F:.]+\]|[A-Za-z0-9.-]+):(\d{1,5})$/.exec(text);
  const port = Number(m?.[2]);
  if (!m || port > 65535) return undefined;
  return { host: m[1]!.replace(/^\[|\]$/g, ''), port };
}
