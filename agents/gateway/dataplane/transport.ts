/**
 * The gateway-to-gateway transport: one keep-alive undici `Pool` per remote
 * gateway, over mutual TLS 1.3 with this gateway's X.509-SVID as client
 * certificate, the peer's chain verified against the trust bundle, and the
 * peer's SPIFFE ID (its one URI SAN) required to equal the gateway the
 * snapshot says lives at that address. Host names play no part: a gateway
 * is who its SVID says, wherever it is.
 *
 * A transport is immutable in its credentials. Rotation builds a new one
 * and `close()`s the old, which lets its in-flight calls finish.
 *
 * @module
 */
import { type Dispatcher, Pool } from 'undici';
import type { EnvironmentGateway } from '../../../shared/contract/snapshot.js';
import type { CredentialMaterial } from './credentials.js';
import { peerSpiffeIds } from './credentials.js';
import { PeerIdentityError } from './errors.js';

/** Options of {@link GatewayTransport}. */
export interface TransportOptions {
  /** Connections per remote gateway. @default 64 */
  readonly connections?: number;
  /** Idle keep-alive, capped by what the peer announces. @default 60_000 */
  readonly keepAliveTimeoutMs?: number;
  /** TCP + TLS handshake budget. @default 5_000 */
  readonly connectTimeoutMs?: number;
}

const key = (g: EnvironmentGateway) => `${g.spiffeId} ${g.address}`;

/** Pools to remote gateways, all dialled with one set of credentials. */
export class GatewayTransport {
  readonly #material: CredentialMaterial;
  readonly #options: TransportOptions;
  readonly #pools = new Map<string, Pool>();
  #closed = false;

  constructor(material: CredentialMaterial, options: TransportOptions = {}) {
    this.#material = material;
    this.#options = options;
  }

  /** The pool to `gateway`, dialled on first use. */
  pool(gateway: EnvironmentGateway): Dispatcher {
    if (this.#closed) throw new TypeError('this transport was closed by a credential rotation');
    const k = key(gateway);
    let pool = this.#pools.get(k);
    if (!pool) {
      pool = this.#open(gateway);
      this.#pools.set(k, pool);
    }
    return pool;
  }

  /** Closes (gracefully) the pools to gateways no longer in the snapshot. */
  retain(gateways: Iterable<EnvironmentGateway>): void {
    const keep = new Set([...gateways].map(key));
    for (const [k, pool] of this.#pools) {
      if (keep.has(k)) continue;
      this.#pools.delete(k);
      void pool.close().catch(() => pool.destroy());
    }
  }

  /** Stops taking calls; resolves once every in-flight call has finished. */
  async close(): Promise<void> {
    this.#closed = true;
    await Promise.allSettled([...this.#pools.values()].map((p) => p.close()));
  }

  /** Stops at once, failing what is in flight. */
  async destroy(): Promise<void> {
    this.#closed = true;
    await Promise.allSettled([...this.#pools.values()].map((p) => p.destroy()));
  }

  #open(gateway: EnvironmentGateway): Pool {
    const { keyPem, certPem, caPem } = this.#material;
    const expected = gateway.spiffeId;
    return new Pool(`https://${gateway.address}`, {
      connections: this.#options.connections ?? 64,
      keepAliveTimeout: this.#options.keepAliveTimeoutMs ?? 60_000,
      connect: {
        key: keyPem,
        cert: certPem,
        ca: [...caPem],
        minVersion: 'TLSv1.3',
        rejectUnauthorized: true,
        timeout: this.#options.connectTimeoutMs ?? 5_000,
        // Called only once the chain verified; replaces the host-name check entirely.
        checkServerIdentity: (_host, certificate) => {
          const ids = peerSpiffeIds(certificate);
          return ids.length === 1 && ids[0] === expected ? undefined : new PeerIdentityError(expected, ids);
        },
      },
    });
  }
}
