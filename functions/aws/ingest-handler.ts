/**
 * The `ingest` function on AWS: the HTTP API routes `/v1/replication/*` here,
 * where the other clouds relay events, compare digests and pull records
 * ({@link ingestOnly}: the same API as `api`, 404 for every other path), so
 * its role holds only what ingest needs.
 *
 * @module
 */
import { ingestOnly } from '../control-plane/ingest-only.js';
import { composeOnFirstCall } from '../control-plane/startup.js';
import { createAwsApiHandler } from './api-handler.js';
import { composeAwsApi } from './composition.js';

export { ingestOnly } from '../control-plane/ingest-only.js';

/** The deployed ingest function. */
export const handler = createAwsApiHandler(ingestOnly(composeOnFirstCall(() => composeAwsApi())));
