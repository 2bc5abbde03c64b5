/**
 * Workload identity for the local host: the mesh CA on disk under the data
 * directory (`ca/state.json` and `keys/*.pem`, files 0600 in 0700
 * directories), issuing as provider `local`; join-token hashes in the
 * embedded DynamoDB through the AWS adapter, so they survive a restart; the
 * replay cache and rate limiters in memory (one process serves everything).
 * The service itself is built by `composeControlPlane`; this file picks the
 * join-token store and warms the CA up at start.
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
import type { IdentityService } from '../../shared/identity/identity-service.js';
import { MeshStateError } from '../../shared/identity/mesh-identity.js';
import { DynamoDbJoinTokenStore } from '../aws/dynamodb-join-token-store.js';

/** Join tokens in the embedded DynamoDB; without it (an injected store) in memory. */
export function localJoinTokens(dynamoDb?: {
  readonly client: DynamoDBClient;
  readonly tableName: string;
}): JoinTokenStore {
  return dynamoDb ? new DynamoDbJoinTokenStore(dynamoDb) : new MemoryJoinTokenStore();
}

/**
 * Opens the CA of the stored Mesh, if any, and says where it lives. A Mesh
 * whose trust domain changed is logged, not thrown: the operator settles it
 * through the API, which must stay up for it.
 */
export async function warmUpLocalIdentity(
  identity: IdentityService,
  dataDir: string,
  logger: ApiLogger | undefined,
): Promise<void> {
  const where = { ca: join(dataDir, 'ca'), keys: join(dataDir, 'keys') };
  try {
    const trustDomain = await identity.warmUp();
    logger?.info(
      trustDomain
        ? { msg: 'identity: CA ready', trustDomain, ...where }
        : { msg: 'identity: no Mesh yet; the CA is created when one is applied (PUT /v1/meshes/default)' },
    );
  } catch (error) {
    if (!(error instanceof MeshStateError)) throw error;
    logger?.error({ msg: 'identity: not issuing', detail: error.message, ...where });
  }
}
