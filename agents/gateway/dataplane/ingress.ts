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
    socket.destroy();
  });
  server.on('tlsClientError', (error) => {
    ctx.logger.debug({ err: error.message }, 'ingress refused a TLS handshake');
  });
  return server;
}
