/**
 * The `ingest` function on Azure: public over HTTP (peers sign what they
 * send), on the route `v1/replication/{*path}`, where the other clouds relay
 * events, compare digests and pull records ({@link ingestOnly}); the request
 * conversion is the `api` function's. A route of its own, not a share of
 * `weftApi`'s catch-all: the Functions host matches routes in the order of
 * the functions' names, not by precedence.
 *
 * @module
 */
import type { Api } from '../../shared/api/types.js';
import { INGEST_PREFIX, ingestOnly } from '../control-plane/ingest-only.js';
import { createAzureApiHandler } from './api-function.js';
import type { AzureHttpHandler } from './event-grid-delivery.js';

/** The name the function is registered (and deployed) under. */
export const AZURE_INGEST_FUNCTION = 'weftIngest';
/** Below the host's `api/` prefix; its catch-all is the path below `/v1/replication/`. */
export const AZURE_INGEST_ROUTE = 'v1/replication/{*path}';

/**
 * `api` restricted to the replication paths, as the HTTP function of {@link AZURE_INGEST_ROUTE}.
 *
 * @example
 * app.http(AZURE_INGEST_FUNCTION, { route: AZURE_INGEST_ROUTE, methods: ['GET', 'POST'], authLevel: 'anonymous',
 *   handler: createAzureIngestHandler(api) });
 */
export function createAzureIngestHandler(api: Api): AzureHttpHandler {
  const ingest = ingestOnly(api);
  // The route's catch-all is the tail (`/events`); the API routes on the whole path.
  return createAzureApiHandler((request) =>
    ingest({ ...request, path: `${INGEST_PREFIX}${request.path.replace(/^\/+/, '')}` }),
  );
}
