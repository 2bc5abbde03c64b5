/**
 * A small client for the weft HTTP API: bearer token, JSON in and out, and
 * every failure (refused, unreachable, not JSON) as a one-line `RequestError`.
 *
 * @module
 */
import type { Connection } from './connection.js';
import { RequestError } from './errors.js';
import { type HttpAnswer, httpRequest } from './http-request.js';
import { type ProblemBody, problemError } from './problem-message.js';

export interface RequestOptions {
  readonly query?: Readonly<Record<string, string | undefined>>;
  /** A JSON body: serialised and sent as `application/json`. */
  readonly json?: unknown;
  /** Where the user wrote the field a problem names, if known. */
  readonly locateField?: (pointer: string) => string | undefined;
  /** What to do after a 404. */
  readonly notFoundHint?: string;
}

/** How long one request may take before the CLI gives up. */
const TIMEOUT_MS = 30_000;

/**
 * @example
 * const client = new ApiClient(await resolveConnection(values, ctx, 'get'));
 * const list = await client.request<ResourceList>('GET', '/v1/services');
 */
export class ApiClient {
  readonly connection: Connection;

  constructor(connection: Connection) {
    this.connection = connection;
  }

  /**
   * Sends one request and returns the parsed JSON answer.
   *
   * @throws RequestError when the API cannot be reached or answers with an error.
   */
  async request<T>(method: string, path: string, options: RequestOptions = {}): Promise<T> {
    const url = new URL(this.connection.server + path);
    for (const [name, value] of Object.entries(options.query ?? {})) {
      if (value !== undefined) url.searchParams.set(name, value);
    }
    const headers: Record<string, string> = { accept: 'application/json, application/problem+json' };
    if (this.connection.token) headers.authorization = `Bearer ${this.connection.token}`;
    if (options.json !== undefined) headers['content-type'] = 'application/json';
    let response: HttpAnswer;
    try {
      response = await httpRequest(url, {
        method,
        headers,
        ...(options.json !== undefined && { body: JSON.stringify(options.json) }),
        timeoutMs: TIMEOUT_MS,
      });
    } catch (cause) {
      throw this.unreachable(cause);
    }
    const body = parseJson(response.body);
    const ok = response.status >= 200 && response.status < 300;
    if (ok && body !== undefined) return body as T;
    if (ok) {
      throw new RequestError(
        `${this.connection.server} answered ${response.status} without JSON: is --server a weft API?`,
      );
    }
    throw problemError(response.status, (isObject(body) ? body : {}) as ProblemBody, {
      connection: this.connection,
      locateField: options.locateField,
      notFoundHint: options.notFoundHint,
    });
  }

  private unreachable(cause: unknown): RequestError {
    const { server } = this.connection;
    if ((cause as Error)?.name === 'TimeoutError') {
      return new RequestError(`the weft API at ${server} did not answer within ${TIMEOUT_MS / 1000}s`, [], {
        cause,
      });
    }
    return new RequestError(
      `cannot reach the weft API at ${server}: start it with \`weft serve\` (or \`npm start\`), or pass --server`,
      [],
      { cause },
    );
  }
}

function parseJson(text: string): unknown {
  try {
    return text === '' ? undefined : JSON.parse(text);
  } catch {
    return undefined;
  }
}

function isObject(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}
