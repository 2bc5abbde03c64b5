/**
 * The `ingest` function on AWS: the HTTP API routes `/v1/replication/*` here,
 * where the other clouds relay events, compare digests and pull records. A
 * function of its own so a flood from a peer cannot take the operators'
 * API's concurrency, and so its role holds only what ingest needs. It
 * serves the same API as `api` but answers 404 for every other path.
 *
 * @module
 */
import { problemResponse } from '../../shared/api/problem.js';
import type { Api } from '../../shared/api/types.js';
import { NotFoundError } from '../../shared/model/errors.js';
import { composeOnFirstCall } from '../control-plane/startup.js';
import { createAwsApiHandler } from './api-handler.js';
import { composeAwsApi } from './composition.js';

/** The replication paths a peer calls; everything else is the `api` function's. */
const INGEST_PREFIX = '/v1/replication/';

/** `api` restricted to the replication paths. */
export function ingestOnly(api: Api): Api {
  return async (request) =>
    request.path.startsWith(INGEST_PREFIX)
      ? api(request)
      : problemResponse(
          new NotFoundError(`${request.path} is not served by ingest; only ${INGEST_PREFIX}* is`),
          request.path,
        );
}

/** The deployed ingest function. */
export const handler = createAwsApiHandler(ingestOnly(composeOnFirstCall(() => composeAwsApi())));
