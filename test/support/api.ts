/**
 * Test helpers: the API on the in-memory store, called in process.
 */

import { request } from 'node:http';
import { createOperatorKey, LOCAL_AUDIENCE, LOCAL_ISSUER } from '../../functions/local/operator-key.js';
import { createApi } from '../../shared/api/create-api.js';
import { createOperatorAuthenticator } from '../../shared/api/operator-auth.js';
import type { ApiResponse } from '../../shared/api/types.js';
import { HybridLogicalClock } from '../../shared/model/hlc.js';
import { MemoryStateStore } from '../../shared/storage/memory-state-store.js';
import type { StateStore } from '../../shared/storage/state-store.js';

export async function createLocalApiForTest(store: StateStore = new MemoryStateStore()) {
  const { key, adminToken, viewerToken, authenticate } = await createTestOperators();
  const api = createApi({ store, hlc: new HybridLogicalClock('local'), authenticate });
  const call = (
    method: string,
    path: string,
    body?: unknown,
    headers: Record<string, string> = {},
  ): Promise<ApiResponse> =>
    api({
      method,
      path,
      query: {},
      headers: { authorization: `Bearer ${adminToken}`, 'content-type': 'application/json', ...headers },
      body: body === undefined ? undefined : typeof body === 'string' ? body : JSON.stringify(body),
    });
  return { api, store, call, adminToken, viewerToken, key };
}

/** What a target answers: header names lower-cased. */
export interface TargetResponse {
  readonly status: number;
  readonly headers: Record<string, string>;
  readonly body: string;
}

export interface CallOptions {
  readonly body?: string;
  readonly headers?: Record<string, string>;
}

/** One deployment of the API as the contract suite drives it: over HTTP, an event, or a request object. */
export interface ApiTarget {
  /** `path` may carry a query string. */
  call(method: string, path: string, options?: CallOptions): Promise<TargetResponse>;
  readonly adminToken: string;
  readonly viewerToken: string;
  close(): Promise<void>;
}

/**
 * An operator key with an admin and a viewer token, the environment a
 * cloud composition root reads to trust them, and the authenticator an
 * in-process API trusts them with.
 */
export async function createTestOperators() {
  const key = await createOperatorKey();
  return {
    key,
    authenticate: createOperatorAuthenticator({
      jwks: key.jwks,
      issuer: LOCAL_ISSUER,
      audience: LOCAL_AUDIENCE,
    }),
    adminToken: await key.mint('test-admin', 'admin'),
    viewerToken: await key.mint('test-viewer', 'viewer'),
    env: {
      WEFT_OPERATOR_ISSUER: LOCAL_ISSUER,
      WEFT_OPERATOR_AUDIENCE: LOCAL_AUDIENCE,
      WEFT_OPERATOR_JWKS: JSON.stringify(key.jwks),
    },
  };
}

/** An admin token with the right issuer and audience, signed by a key no target trusts. */
export async function foreignAdminToken(): Promise<string> {
  return (await createOperatorKey()).mint('intruder', 'admin');
}

/**
 * Calls an API served over real HTTP at `baseUrl`. The path goes out exactly
 * as given (node:http, not fetch, whose URL parsing resolves `..` and would
 * test the client instead of the server).
 */
export function httpCaller(baseUrl: string): ApiTarget['call'] {
  const { hostname, port } = new URL(baseUrl);
  return (method, path, options = {}) =>
    new Promise((resolve, reject) => {
      const headers: Record<string, string> = { ...options.headers };
      const names = new Set(Object.keys(headers).map((h) => h.toLowerCase()));
      if (options.body !== undefined) {
        // What fetch would add for a string body.
        if (!names.has('content-type')) headers['content-type'] = 'text/plain;charset=UTF-8';
        if (!names.has('content-length')) headers['content-length'] = String(Buffer.byteLength(options.body));
      }
      const req = request({ host: hostname.replace(/^\[|\]$/g, ''), port, method, path, headers }, (res) => {
        const chunks: Buffer[] = [];
        res.on('data', (chunk: Buffer) => chunks.push(chunk));
        res.on('error', reject);
        res.on('end', () => {
          const headers: Record<string, string> = {};
          for (const [name, value] of Object.entries(res.headers)) {
            if (value !== undefined) headers[name] = Array.isArray(value) ? value.join(', ') : value;
          }
          resolve({ status: res.statusCode ?? 0, headers, body: Buffer.concat(chunks).toString('utf8') });
        });
      });
      req.on('error', reject);
      req.end(options.body);
    });
}
