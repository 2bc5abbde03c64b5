/**
 * Test helpers: the API on the in-memory store, called in process.
 */

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

/** Calls an API served over real HTTP at `baseUrl`. */
export function httpCaller(baseUrl: string): ApiTarget['call'] {
  return async (method, path, options = {}) => {
    const res = await fetch(new URL(path, baseUrl), {
      method,
      headers: options.headers ?? {},
      ...(options.body !== undefined && { body: options.body }),
    });
    return { status: res.status, headers: Object.fromEntries(res.headers), body: await res.text() };
  };
}
