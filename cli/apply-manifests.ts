/**
 * One `POST /v1/apply` for a batch of manifests: the API validates every
 * document before it writes any, so a batch lands whole or not at all.
 *
 * @module
 */
import type { ApiClient } from './api-client.js';
import { describeManifest, type Manifest } from './manifests.js';
import type { ActionResult } from './output/actions.js';
import { fieldPath } from './problem-message.js';

/** The API's answer to `POST /v1/apply`. */
export interface ApplyAnswer {
  readonly dryRun: boolean;
  readonly results: readonly ActionResult[];
}

/**
 * Sends the documents as one JSON array. Field errors come back as
 * `/3/spec/ports`; they are named by the file and document they came from
 * (`mesh.yaml, document 2 (Service shop/orders): spec.ports`).
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
    locateField: (pointer) => locateInBatch(manifests, pointer),
  });
}

/** `/1/spec/ports` -> `mesh.yaml, document 2 (Service shop/orders): spec.ports`; `/1` -> the document alone. */
function locateInBatch(manifests: readonly Manifest[], pointer: string): string | undefined {
  const [, index = '', ...rest] = pointer.split('/');
  const manifest = /^\d+$/.test(index) ? manifests[Number(index)] : undefined;
  if (!manifest) return undefined;
  const field = fieldPath(rest.map((s) => `/${s}`).join(''));
  return field ? `${describeManifest(manifest)}: ${field}` : describeManifest(manifest);
}
