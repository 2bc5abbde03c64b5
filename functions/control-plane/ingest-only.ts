/**
 * The `ingest` function every cloud deploys beside `api`: the routes peer
 * clouds call (`/v1/replication/*`: relayed events, digests, pulls), in a
 * function of its own so a flood from a peer cannot take the operators'
 * API's concurrency, and so its identity holds only what ingest needs. It
 * serves the same API as `api` but answers 404 for every other path.
 *
 * @module
 */
import { problemResponse } from '../../shared/api/problem.js';
import type { Api } from '../../shared/api/types.js';
import { NotFoundError } from '../../shared/model/errors.js';

/** The replication paths a peer calls; everything else is the `api` function's. */
export const INGEST_PREFIX = '/v1/replication/';

/**
 * `api` restricted to the replication paths.
 *
 * @example
 * export const handler = createAwsApiHandler(ingestOnly(api));
 */
export function ingestOnly(api: Api): Api {
  return async (request) =>
    request.path.startsWith(INGEST_PREFIX)
      ? api(request)
      : problemResponse(
          new NotFoundError(`${request.path} is not served by ingest; only ${INGEST_PREFIX}* is`),
          request.path,
        );
}
