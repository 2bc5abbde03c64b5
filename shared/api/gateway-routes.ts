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
import type { GatewayTrust } from '../distribution/mesh-authority.js';
import { snapshotBlobKey } from '../distribution/snapshot-blobs.js';
import { NotFoundError, UnsupportedMediaTypeError, ValidationError, WeftError } from '../model/errors.js';
import { parseHlc } from '../model/hlc.js';
import { DNS1123_LABEL } from '../model/names.js';
import type { BlobStore } from '../storage/blob-store.js';
import { bodyFormat } from './body.js';
import { createGatewayAuthenticator } from './gateway-auth.js';
import { allowMethod, matchesEtag } from './http-semantics.js';
import type { Authenticator } from './operator-auth.js';
import { type ApiRequest, type ApiResponse, json } from './types.js';

/** What `createApi` needs to serve config distribution. */
export interface DistributionApiOptions {
  /** Where the compiler stores snapshots and the watermark, and status reports go. */
  readonly blobs: BlobStore;
  /** The trust domain and bundle gateway JWT-SVIDs are checked against (`meshTrust`). */
  readonly trust: GatewayTrust;
}

/** Whether `parts` (the path split on `/`) is one of these endpoints. */
export function isDistributionPath(parts: readonly string[]): boolean {
  if (parts[0] !== 'v1') return false;
  if (parts[1] === 'gateways')
    return parts.length === 5 && (parts[4] === 'snapshot' || parts[4] === 'status');
  return parts[1] === 'changes' && parts.length === 4 && parts[3] === 'convergence';
}

/** The handler of every path {@link isDistributionPath} accepts. */
export function createDistributionRoutes(
  options: DistributionApiOptions & { readonly authenticate: Authenticator; readonly now?: () => number },
): (req: ApiRequest, parts: readonly string[]) => Promise<ApiResponse> {
  const { blobs, authenticate } = options;
  const now = options.now ?? Date.now;
  const gatewayAuth = createGatewayAuthenticator(options.trust);

  return async (req, parts) => {
    const method = req.method.toUpperCase();
    if (parts[1] === 'changes') {
      allowMethod(method, ['GET', 'HEAD']);
      await authenticate(req.headers.authorization);
      const version = parts[2]!;
      if (!parseHlc(version)) {
        throw new ValidationError(`${version} is not a version; use the version a write returned`, [
          { pointer: '/version', detail: 'must be an HLC version such as 1700000000000-000000-local' },
        ]);
      }
      return json(200, await convergence(blobs, version));
    }
    const [environment, name, what] = [parts[2]!, parts[3]!, parts[4]!];
    const gateway = gatewayKey(environment, name);
    const named = DNS1123_LABEL.test(environment) && DNS1123_LABEL.test(name);
    if (what === 'status' && method !== 'POST') {
      allowMethod(method, ['GET', 'HEAD', 'POST']);
      await authenticate(req.headers.authorization);
      const status = named ? await readGatewayStatus(blobs, gateway) : undefined;
      if (!status) throw new NotFoundError(`gateway ${gateway} has not reported a status`);
      return json(200, status);
    }
    allowMethod(method, what === 'status' ? ['POST'] : ['GET', 'HEAD']);
    const spiffeId = await gatewayAuth(req.headers.authorization, environment, name);
    // Authenticated as the gateway the path names, so the names are its own, valid labels.
    if (!named) throw new NotFoundError(`no gateway ${gateway}`);
    if (what === 'status') {
      if (bodyFormat(req.headers['content-type']) !== 'json')
        throw new UnsupportedMediaTypeError('a status report is JSON: send application/json');
      const report = parseStatusReport(req.body);
      await writeGatewayStatus(blobs, gateway, {
        ...report,
        gateway: spiffeId,
        reportedAt: new Date(now()).toISOString(),
      });
      return { status: 204, headers: { 'cache-control': 'no-store' }, body: '' };
    }
    const blob = await blobs.get(snapshotBlobKey(gateway));
    if (!blob)
      throw new NotFoundError(
        `no snapshot compiled for gateway ${gateway} yet; is there a Mesh and its Environment?`,
      );
    const header = peekSnapshot(blob.body);
    if (!header) throw new WeftError('ERR_INTERNAL', 500, `the stored snapshot of ${gateway} is unreadable`);
    const etag = `"${header.hash}"`;
    const headers = { etag, 'x-weft-version': header.version, 'cache-control': 'no-store' };
    if (matchesEtag(req.headers['if-none-match'], etag)) return { status: 304, headers, body: '' };
    return { status: 200, headers: { ...headers, 'content-type': 'application/jose' }, body: blob.body };
  };
}
