/**
 * The config distribution endpoints (docs/distribution.md §3, §5):
 *
 * - `GET /v1/gateways/{env}/{name}/snapshot` and `POST .../status`: the
 *   gateway agent, by its JWT-SVID (`gateway-auth.ts`);
 * - `GET .../status` and `GET /v1/changes/{version}/convergence`: operators
 *   (viewer or admin).
 *
 * @module
 */

import { peekSnapshot } from '../contract/signed-snapshot.js';
import { gatewayKey } from '../contract/snapshot.js';
import { convergence } from '../distribution/convergence.js';
import { parseStatusReport, readGatewayStatus, writeGatewayStatus } from '../distribution/gateway-status.js';
import type { GatewayTrust, MeshAuthority } from '../distribution/mesh-authority.js';
import { newerServedVersion, restampSnapshot } from '../distribution/served-version.js';
import { snapshotBlobKey } from '../distribution/snapshot-blobs.js';
import { SIGNED_MANIFEST_MEDIA_TYPE } from '../identity/signed-manifest.js';
import { NotFoundError, UnsupportedMediaTypeError, ValidationError, WeftError } from '../model/errors.js';
import { parseHlc } from '../model/hlc.js';
import { DNS1123_LABEL } from '../model/names.js';
import type { BlobStore } from '../storage/blob-store.js';
import { bodyFormat } from './body.js';
import { createGatewayAuthenticator } from './gateway-auth.js';
import { matchesEtag } from './http-semantics.js';
import type { Authenticator } from './operator-auth.js';
import type { Handler, Params, Router } from './router.js';
import { type ApiRequest, json } from './types.js';

/** What `createApi` needs to serve config distribution. */
export interface DistributionApiOptions {
  /** Where the compiler stores snapshots and the watermark, and status reports go. */
  readonly blobs: BlobStore;
  /** The trust domain and bundle gateway JWT-SVIDs are checked against (`meshTrust`). */
  readonly trust: GatewayTrust;
  /**
   * Gateways' applied versions as other clouds hold them (a federated mesh):
   * convergence then counts every gateway, wherever it reported. @default none
   */
  readonly elsewhere?: (gateways: readonly string[]) => Promise<ReadonlyMap<string, string>>;
  /**
   * Signs snapshots anew: a stored snapshot whose content is still current
   * at a newer state version is served at that version (`served-version.ts`).
   * @default snapshots are served as stored
   */
  readonly authority?: MeshAuthority;
}

/** What {@link addDistributionRoutes} needs besides {@link DistributionApiOptions}. */
export interface DistributionRouteContext {
  readonly authenticate: Authenticator;
  /** @default Date.now */
  readonly now?: () => number;
}

const PATHS = [
  '/v1/gateways/:environment/:name/snapshot',
  '/v1/gateways/:environment/:name/status',
  '/v1/changes/:version/convergence',
];

/**
 * Adds these endpoints to `router`; with no `options` (distribution not
 * enabled) each of their paths answers 404, saying so.
 */
export function addDistributionRoutes(
  router: Router,
  options: DistributionApiOptions | undefined,
  ctx: DistributionRouteContext,
): void {
  if (!options) {
    const disabled = (req: ApiRequest): never => {
      throw new NotFoundError(`${req.path}: config distribution is not enabled on this control plane`);
    };
    for (const path of PATHS) router.add(path, { '*': disabled });
    return;
  }
  const { blobs } = options;
  const { authenticate } = ctx;
  const now = ctx.now ?? Date.now;
  const gatewayAuth = createGatewayAuthenticator(options.trust);

  const convergenceOf: Handler = async (req, { version }) => {
    await authenticate(req.headers.authorization);
    if (!parseHlc(version!)) {
      throw new ValidationError(`${version} is not a version; use the version a write returned`, [
        { pointer: '/version', detail: 'must be an HLC version such as 1700000000000-000000-local' },
      ]);
    }
    return json(200, await convergence(blobs, version!, options.elsewhere));
  };

  /** The gateway the path names, and whether its names are valid labels. */
  const named = ({ environment, name }: Params) => ({
    gateway: gatewayKey(environment!, name!),
    valid: DNS1123_LABEL.test(environment!) && DNS1123_LABEL.test(name!),
  });

  const readStatus: Handler = async (req, params) => {
    await authenticate(req.headers.authorization);
    const { gateway, valid } = named(params);
    const status = valid ? await readGatewayStatus(blobs, gateway) : undefined;
    if (!status) throw new NotFoundError(`gateway ${gateway} has not reported a status`);
    return json(200, status);
  };

  /** Authenticates the gateway the path names, so the names are its own, valid labels. */
  const asGateway = async (req: ApiRequest, params: Params) => {
    const spiffeId = await gatewayAuth(req.headers.authorization, params.environment!, params.name!);
    const { gateway, valid } = named(params);
    if (!valid) throw new NotFoundError(`no gateway ${gateway}`);
    return { spiffeId, gateway };
  };

  const writeStatus: Handler = async (req, params) => {
    const { spiffeId, gateway } = await asGateway(req, params);
    if (bodyFormat(req.headers['content-type']) !== 'json')
      throw new UnsupportedMediaTypeError('a status report is JSON: send application/json');
    const report = parseStatusReport(req.body);
    await writeGatewayStatus(blobs, gateway, {
      ...report,
      gateway: spiffeId,
      reportedAt: new Date(now()).toISOString(),
    });
    return { status: 204, headers: { 'cache-control': 'no-store' }, body: '' };
  };

  const snapshot: Handler = async (req, params) => {
    const { gateway } = await asGateway(req, params);
    const blob = await blobs.get(snapshotBlobKey(gateway));
    if (!blob)
      throw new NotFoundError(
        `no snapshot compiled for gateway ${gateway} yet; is there a Mesh and its Environment?`,
      );
    const header = peekSnapshot(blob.body);
    if (!header) throw new WeftError('ERR_INTERNAL', 500, `the stored snapshot of ${gateway} is unreadable`);
    const etag = `"${header.hash}"`;
    const newer = options.authority && (await newerServedVersion(blobs, gateway, header));
    const version = newer ?? header.version;
    const headers = { etag, 'x-weft-version': version, 'cache-control': 'no-store' };
    if (matchesEtag(req.headers['if-none-match'], etag)) return { status: 304, headers, body: '' };
    const body = newer ? await restampSnapshot(blob.body, newer, options.authority!) : blob.body;
    return { status: 200, headers: { ...headers, 'content-type': SIGNED_MANIFEST_MEDIA_TYPE }, body };
  };

  router
    .add(PATHS[0]!, { GET: snapshot, HEAD: snapshot })
    .add(PATHS[1]!, { GET: readStatus, HEAD: readStatus, POST: writeStatus })
    .add(PATHS[2]!, { GET: convergenceOf, HEAD: convergenceOf });
}
