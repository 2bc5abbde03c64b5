/**
 * The API with workload identity, in process: the in-memory store, an
 * in-memory CA (created three hours ago, so tests can hold SVIDs that have
 * expired since), and an agent's side of the flows (join token, attest,
 * proofs).
 *
 * @module
 */
import { createApi } from '../../shared/api/create-api.js';
import type { ApiResponse } from '../../shared/api/types.js';
import { MemoryJoinTokenStore } from '../../shared/identity/attestation/join-token-store.js';
import { MeshCa } from '../../shared/identity/ca.js';
import { MemoryCaStore } from '../../shared/identity/ca-store.js';
import { IdentityService, type IdentityServiceOptions } from '../../shared/identity/identity-service.js';
import { MemoryKeyRing } from '../../shared/identity/memory-key-ring.js';
import { HybridLogicalClock } from '../../shared/model/hlc.js';
import { MemoryStateStore } from '../../shared/storage/memory-state-store.js';
import { createTestOperators } from './api.js';

export const TD = 'acme.test';
export const GATEWAY_ID = `spiffe://${TD}/gw/aws-us/gw-1`;

/** A Mesh document; `spec` overrides the defaults (join tokens on). */
export const meshDoc = (spec: Record<string, unknown> = {}) => ({
  apiVersion: 'weft.dev/v1',
  kind: 'Mesh',
  metadata: { name: 'default' },
  spec: { trustDomain: TD, attestation: { joinToken: {} }, ...spec },
});

export type IdentityTestOptions = Partial<Omit<IdentityServiceOptions, 'store' | 'openCa' | 'provider'>> & {
  /** @default true */
  readonly withIdentity?: boolean;
};

/** Creates the API with identity; `call` sends JSON as the admin unless `headers` say otherwise. */
export async function createIdentityApiForTest(options: IdentityTestOptions = {}) {
  const operators = await createTestOperators();
  const store = new MemoryStateStore();
  const caStore = new MemoryCaStore();
  const keys = new MemoryKeyRing();
  let opened: MeshCa | undefined;
  const openCa = async (trustDomain: string) => {
    opened = await MeshCa.open({
      trustDomain,
      store: caStore,
      keys,
      providers: ['local'],
      now: () => new Date(Date.now() - 3 * 3_600_000),
    });
    return opened;
  };
  const identity = new IdentityService({
    store,
    provider: 'local',
    openCa,
    joinTokens: new MemoryJoinTokenStore(),
    ...options,
  });
  const api = createApi({
    store,
    hlc: new HybridLogicalClock('local'),
    authenticate: operators.authenticate,
    ...(options.withIdentity !== false && { identity }),
  });
  const admin = { authorization: `Bearer ${operators.adminToken}` };
  const call = (
    method: string,
    path: string,
    body?: unknown,
    headers: Record<string, string> = admin,
    sourceIp = '192.0.2.1',
  ): Promise<ApiResponse> =>
    api({
      method,
      path,
      query: {},
      headers: { 'content-type': 'application/json', ...headers },
      body: body === undefined ? undefined : typeof body === 'string' ? body : JSON.stringify(body),
      sourceIp,
    });
  const putMesh = async (spec?: Record<string, unknown>) => {
    const res = await call('PUT', '/v1/meshes/default', meshDoc(spec));
    if (res.status >= 300) throw new Error(`PUT mesh: ${res.status} ${res.body}`);
  };
  const joinToken = async (spiffeId = GATEWAY_ID): Promise<string> => {
    const res = await call('POST', '/v1/join-tokens', { spiffeId });
    if (res.status !== 201) throw new Error(`join token: ${res.status} ${res.body}`);
    return (JSON.parse(res.body) as { token: string }).token;
  };
  return { api, call, putMesh, joinToken, operators, ca: () => opened, caStore, keys };
}

/** The parsed body of a response. */
export const body = <T = Record<string, unknown>>(res: ApiResponse): T => JSON.parse(res.body) as T;

/** The `/v1/attest` and `/v1/svid/x509` answer. */
export interface IssuedBody {
  spiffeId: string;
  x509Svid: { certChain: [string, string]; expiresAt: string };
  jwtSvid?: { token: string; audience: string; expiresAt: string };
  bundle: unknown;
}
