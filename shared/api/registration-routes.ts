/**
 * The registration endpoint (docs/registration.md §6):
 * `GET /v1/registration`, for operators (viewer or admin): what registering
 * Workloads from cloud tags has done in this control plane, per provider:
 * totals, the last reconcile, and the latest rejected tags and conflicts.
 *
 * @module
 */
import { NotFoundError } from '../model/errors.js';
import { listRegistrationStatus } from '../registration/registration-status.js';
import type { BlobStore } from '../storage/blob-store.js';
import type { Authenticator } from './operator-auth.js';
import type { Router } from './router.js';
import { type ApiRequest, json } from './types.js';

/** What `createApi` needs to serve the registration status. */
export interface RegistrationApiOptions {
  /** Where the registrars keep their status documents (`registration/<provider>.json`). */
  readonly blobs: BlobStore;
}

const PATH = '/v1/registration';

/** Adds the endpoint; with no `options` (registration off) it answers 404, saying so. */
export function addRegistrationRoutes(
  router: Router,
  options: RegistrationApiOptions | undefined,
  ctx: { readonly authenticate: Authenticator },
): void {
  const asOperator = { before: (req: ApiRequest) => ctx.authenticate(req.headers.authorization) };
  if (!options) {
    const disabled = (req: ApiRequest): never => {
      throw new NotFoundError(
        `${req.path}: registration from cloud tags is not enabled on this control plane`,
      );
    };
    router.add(PATH, { '*': disabled }, asOperator);
    return;
  }
  const get = async () => json(200, { providers: await listRegistrationStatus(options.blobs) });
  router.add(PATH, { GET: get, HEAD: get }, asOperator);
}
