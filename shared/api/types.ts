/**
 * The API's own request and response: what every cloud edge translates its
 * native event into and out of. Plain data, so a handler is a dozen lines.
 *
 * @module
 */

export interface ApiRequest {
  readonly method: string;
  /** The path without query string, e.g. `/v1/services/shop/orders`. */
  readonly path: string;
  readonly query: Readonly<Record<string, string | undefined>>;
  /** Header names lower-cased. */
  readonly headers: Readonly<Record<string, string | undefined>>;
  /** The body as UTF-8 text, if any. */
  readonly body?: string | undefined;
  /** The caller's address as the edge saw it, for rate limits and logs. */
  readonly sourceIp?: string | undefined;
}

export interface ApiResponse {
  readonly status: number;
  readonly headers: Readonly<Record<string, string>>;
  readonly body: string;
}

/** The whole API as one function. */
export type Api = (request: ApiRequest) => Promise<ApiResponse>;

/** Largest body the API reads; edges should stop reading past it too. */
export const MAX_BODY_BYTES = 1024 * 1024;

/** Most documents one `POST /v1/apply` takes. */
export const MAX_APPLY_DOCUMENTS = 1000;

export function json(status: number, value: unknown, headers: Record<string, string> = {}): ApiResponse {
  return {
    status,
    headers: { 'content-type': 'application/json', 'cache-control': 'no-store', ...headers },
    body: `${JSON.stringify(value, null, 2)}\n`,
  };
}
