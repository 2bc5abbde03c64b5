/**
 * Who a local workload is, at the egress gateway: the subject of its
 * JWT-SVID (`Authorization: Bearer`, or `Proxy-Authorization: Bearer` for
 * HTTP proxy clients that keep credentials per proxy), made out to the
 * mesh's gateways; or, only where the Mesh allows it and no token came, the
 * service registered for its source address.
 *
 * @module
 */
import type { IncomingMessage } from 'node:http';
import type { JwtSvidVerifier } from '../../../shared/identity/jwt-svid.js';
import { UnauthenticatedError } from '../../../shared/model/errors.js';
import { bearerToken } from './http-util.js';
import type { SnapshotIndex } from './snapshot-index.js';

/** An identified caller. */
export interface Caller {
  readonly spiffeId: string;
  /** The verified JWT-SVID, forwarded so the ingress checks it again. */
  readonly token?: string;
  readonly by: 'jwt-svid' | 'source-address';
}

/** `::ffff:10.0.0.1` is `10.0.0.1`: dual-stack sockets report IPv4 callers mapped. */
export function normalizeAddress(address: string | undefined): string {
  const a = (address ?? '').toLowerCase();
  return a.startsWith('::ffff:') && a.includes('.') ? a.slice(7) : a;
}

/**
 * Identifies the caller of `req`: at once when its token was verified
 * before (the common case, so no promise), else once the token verifies.
 *
 * @throws UnauthenticatedError (or rejects with it) for a token that does not verify, or no way to tell.
 */
export function identifyCaller(
  req: IncomingMessage,
  index: SnapshotIndex,
  verifier: JwtSvidVerifier,
): Caller | Promise<Caller> {
  const token = bearerToken(req.headers, 'authorization') ?? bearerToken(req.headers, 'proxy-authorization');
  if (token) {
    const known = verifier.cached(token, index.audience);
    if (known) return { spiffeId: known.spiffeId, token, by: 'jwt-svid' };
    // A bad token is refused outright, never "downgraded" to identity by address.
    return verifier
      .verify(token, index.audience)
      .then(({ spiffeId }): Caller => ({ spiffeId, token, by: 'jwt-svid' }));
  }
  const byAddress = index.sourceIdentities.get(normalizeAddress(req.socket.remoteAddress));
  if (byAddress) return { spiffeId: byAddress, by: 'source-address' };
  throw new UnauthenticatedError(
    `no JWT-SVID: send Authorization: Bearer <a JWT-SVID whose aud is ${index.audience}>`,
  );
}
