/**
 * The ingress gateway: a TLS 1.3 listener that only other gateways of the
 * mesh can talk to. The handshake requires a client X.509-SVID chaining to
 * the trust bundle (plain TCP, TLS without a client certificate, or a
 * foreign CA's certificate get no HTTP at all), and a connection whose
 * client SVID is not a gateway ID (`spiffe://<td>/gw/...`) is dropped
 * before a request is read: workloads come through their own gateway.
 *
 * Credential rotation swaps the secure context: new handshakes use the new
 * SVID and bundle, established connections finish on theirs.
 *
 * @module
 */
import { createServer, type Server } from 'node:https';
import type { SecureContextOptions, TLSSocket } from 'node:tls';
import { parseSpiffeId } from '../../../shared/model/names.js';
import type { DataPlaneContext } from './context.js';
import type { CredentialMaterial } from './credentials.js';
import { peerSpiffeIds } from './credentials.js';
import { sendProblem } from './http-util.js';
import { gatewayPeers, handleInbound } from './ingress-handler.js';
import type { RefusalReason } from './metrics.js';

/** The TLS settings of the ingress listener for `material`. */
export function ingressSecureContext(material: CredentialMaterial): SecureContextOptions {
  return {
    key: material.keyPem,
    cert: material.certPem,
    ca: [...material.caPem],
    minVersion: 'TLSv1.3',
  };
}

/** Is `ids` exactly one gateway SPIFFE ID of `trustDomain`? */
export function isGatewayPeer(ids: readonly string[], trustDomain: string): boolean {
  if (ids.length !== 1) return false;
  const parsed = parseSpiffeId(ids[0]!);
  return parsed?.trustDomain === trustDomain && /^\/gw\/[^/]+\/[^/]+$/.test(parsed.path);
}

/** The ingress listener (not yet listening). */
export function createIngressServer(ctx: DataPlaneContext, material: CredentialMaterial): Server {
  const server = createServer(
    {
      ...ingressSecureContext(material),
      requestCert: true,
      rejectUnauthorized: true,
      // Longer than the egress pools' idle timeout, so the client side always closes first.
      keepAliveTimeout: 65_000,
      requestTimeout: 0,
    },
    (req, res) => {
      handleInbound(ctx, req, res).catch((error: unknown) => {
        ctx.logger.error({ err: error }, 'ingress handler failed');
        sendProblem(res, error);
      });
    },
  );
  server.on('secureConnection', (socket: TLSSocket) => {
    const ids = peerSpiffeIds(socket.getPeerCertificate());
    if (isGatewayPeer(ids, ctx.index().snapshot.mesh.trustDomain)) {
      gatewayPeers.set(socket, ids[0]!);
      return;
    }
    ctx.logger.warn({ peer: ids }, 'ingress refused a peer that is not a mesh gateway');
    ctx.telemetry.refused('not-a-gateway', { peer: ids });
    socket.destroy();
  });
  server.on('tlsClientError', (error: NodeJS.ErrnoException, socket: TLSSocket) => {
    const reason = refusalReason(error, socket.authorizationError);
    ctx.telemetry.refused(reason, {
      err: socket.authorizationError ?? error.message,
      from: socket.remoteAddress,
    });
  });
  return server;
}

/**
 * Why a handshake failed, as {@link RefusalReason}. A client chain that does
 * not verify is refused by Node once the handshake is done, with nothing but
 * "socket hang up" for an error: the verification result is on the socket.
 */
export function refusalReason(
  error: NodeJS.ErrnoException,
  authorizationError?: Error | string | null,
): RefusalReason {
  if (authorizationError) return 'untrusted-certificate';
  switch (error.code) {
    case 'ERR_SSL_HTTP_REQUEST':
    case 'ERR_SSL_WRONG_VERSION_NUMBER':
      return 'not-tls';
    case 'ERR_SSL_UNSUPPORTED_PROTOCOL':
    case 'ERR_SSL_NO_PROTOCOLS_AVAILABLE':
      return 'tls-version';
    case 'ERR_SSL_PEER_DID_NOT_RETURN_A_CERTIFICATE':
      return 'no-client-certificate';
    default:
      return 'handshake';
  }
}
