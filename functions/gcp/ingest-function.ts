/**
 * The `ingest` function on Google Cloud: public over HTTP (peers sign what
 * they send), serving only `/v1/replication/*`, where the other clouds relay
 * events, compare digests and pull records ({@link ingestOnly}); the request
 * conversion is the `api` function's.
 *
 * @module
 */
import type { HttpFunction } from '@google-cloud/functions-framework';
import type { Api } from '../../shared/api/types.js';
import { ingestOnly } from '../control-plane/ingest-only.js';
import { createGcpApiHandler } from './api-function.js';

/** The name the function is registered (and deployed) under. */
export const GCP_INGEST_FUNCTION = 'weftIngest';

/**
 * `api` restricted to the replication paths, as a functions-framework HTTP function.
 *
 * @example
 * http(GCP_INGEST_FUNCTION, createGcpIngestFunction(api));
 */
export function createGcpIngestFunction(api: Api): HttpFunction {
  return createGcpApiHandler(ingestOnly(api));
}
