/**
 * Test helpers: the API on the in-memory store, called in process.
 */

import { createOperatorKey, LOCAL_AUDIENCE, LOCAL_ISSUER } from '../../functions/local/operator-key.js';
import { createApi } from '../../shared/api/create-api.js';
import { createOperatorAuthenticator } from '../../shared/api/operator-auth.js';
import type { ApiResponse } from '../../shared/api/types.js';
import { HybridLogicalClock } from '../../shared/state/hlc.js';
import { MemoryStateStore } from '../../shared/state/memory-state-store.js';
import type { StateStore } from '../../shared/state/state-store.js';

export async function createLocalApiForTest(store: StateStore = new MemoryStateStore()) {
  const key = await createOperatorKey();
  const adminToken = await key.mint('test-admin', 'admin');
  const viewerToken = await key.mint('test-viewer', 'viewer');
  const api = createApi({
    store,
    hlc: new HybridLogicalClock('local'),
    authenticate: createOperatorAuthenticator({
      jwks: key.jwks,
      issuer: LOCAL_ISSUER,
      audience: LOCAL_AUDIENCE,
    }),
  });
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
