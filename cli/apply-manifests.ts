/**
 * One `POST /v1/apply` for a batch of manifests: the API validates every
 * document before it writes any, so a batch lands whole or not at all.
 *
 * @module
 */
import type { ApiClient } from './api-client.js';
import type { Manifest } from './manifests.js';
import type { ActionResult } from './output/actions.js';

/** The API's answer to `POST /v1/apply`. */
export interface ApplyAnswer {
  readonly dryRun: boolean;
  readonly results: readonly ActionResult[];
}

/**
 * Sends the documents as one JSON array. Field errors come back as
 * `/3/spec/...`; they are traced to the file and document they came from.
 *
 * @throws RequestError when the API refuses the batch (nothing was written).
 */
export function applyManifests(
  client: ApiClient,
  manifests: readonly Manifest[],
  dryRun: boolean,
): Promise<ApplyAnswer> {
  return client.request<ApplyAnswer>('POST', '/v1/apply', {
    query: dryRun ? { dryRun: 'true' } : {},
    json: manifests.map((m) => m.document),
    locateField: (pointer) => {
      const manifest = manifests[Number(pointer.split('/')[1])];
      return manifest && `${manifest.source} document ${manifest.position}`;
    },
  });
}
