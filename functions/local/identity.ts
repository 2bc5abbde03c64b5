/**
 * Workload identity for the local host: the mesh CA on disk under the data
 * directory (`ca/state.json` and `keys/*.pem`, files 0600 in 0700
 * directories), issuing as provider `local`; join-token hashes in the
 * embedded DynamoDB through the AWS adapter, so they survive a restart; the
 * replay cache and rate limiters in memory (one process serves everything).
 *
 * @module
 */
import { join } from 'node:path';
import type { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import type { ApiLogger } from '../../shared/api/create-api.js';
import {
  type JoinTokenStore,
  MemoryJoinTokenStore,
} from '../../shared/identity/attestation/join-token-store.js';
import { FixedWindowRateLimiter } from '../../shared/identity/attestation/rate-limiter.js';
import type { MeshCa } from '../../shared/identity/ca.js';
import { IdentityService } from '../../shared/identity/identity-service.js';
import { MeshStateError } from '../../shared/identity/mesh-identity.js';
import type { StateStore } from '../../shared/storage/state-store.js';
import { DynamoDbJoinTokenStore } from '../aws/dynamodb-join-token-store.js';
import { localCaOpener } from './ca.js';

/** Options of {@link startLocalIdentity}. */
export interface LocalIdentityOptions {
  readonly dataDir: string;
  /** Where the Mesh is read from. */
  readonly store: StateStore;
  /** The embedded DynamoDB and its table; without it (an injected store) join tokens live in memory. */
  readonly dynamoDb?: { readonly client: DynamoDBClient; readonly tableName: string };
  /** `POST /v1/attest` attempts per source address. @default 60 a minute */
  readonly attestRateLimit?: { readonly limit: number; readonly windowMs: number };
  readonly logger?: ApiLogger;
  /** Opens the CA of a trust domain; pass the host's, to share it. @default `localCaOpener(dataDir)` */
  readonly openCa?: (trustDomain: string) => Promise<MeshCa>;
}

/**
 * Builds the identity service and, when a Mesh is already stored, opens (on
 * the very first start: creates) its CA, so a damaged key directory stops
 * the start rather than the first agent.
 *
 * @throws WeftError `ERR_INTERNAL` when a key file is missing, unreadable or too open.
 */
export async function startLocalIdentity(options: LocalIdentityOptions): Promise<IdentityService> {
  const { dataDir, logger } = options;
  const joinTokens: JoinTokenStore = options.dynamoDb
    ? new DynamoDbJoinTokenStore(options.dynamoDb)
    : new MemoryJoinTokenStore();
  const limit = options.attestRateLimit;
  const identity = new IdentityService({
    store: options.store,
    provider: 'local',
    openCa: options.openCa ?? localCaOpener(dataDir),
    joinTokens,
    ...(limit && { attestLimiter: new FixedWindowRateLimiter(limit) }),
  });
  const where = { ca: join(dataDir, 'ca'), keys: join(dataDir, 'keys') };
  try {
    const trustDomain = await identity.warmUp();
    logger?.info(
      trustDomain
        ? { msg: 'identity: CA ready', trustDomain, ...where }
        : { msg: 'identity: no Mesh yet; the CA is created when one is applied (PUT /v1/meshes/default)' },
    );
  } catch (error) {
    // A changed trust domain is the operator's to settle through the API, which must stay up for it.
    if (!(error instanceof MeshStateError)) throw error;
    logger?.error({ msg: 'identity: not issuing', detail: error.message, ...where });
  }
  return identity;
}
