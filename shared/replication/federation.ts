/**
 * Who this control plane replicates with: its own cloud name and relay
 * signing key, and each peer cloud's ingest URL and public relay keys. The
 * keys say which cloud signed a relay event; nothing else does (no bus signs
 * payloads end to end), so a key is trusted for the one cloud it is listed
 * under and no other.
 *
 * @module
 */
import { importJWK } from 'jose';
import type { JwsSigningKey } from '../contract/signed-jws.js';

/** A peer's public relay key: an EC P-256 JWK with its `kid`. */
export interface RelayPublicKey {
  readonly kid: string;
  readonly kty: 'EC';
  readonly crv: 'P-256';
  readonly x: string;
  readonly y: string;
}

/** One other cloud's control plane. */
export interface RelayPeer {
  /** Its cloud name, e.g. `gcp`: the `iss` of what it signs and the `origin` of its writes. */
  readonly cloud: string;
  /** Its API base URL; relay events go to `POST {url}/v1/replication/events`. */
  readonly url: string;
  /** Its relay keys (during a rotation, the old and the new). */
  readonly keys: readonly RelayPublicKey[];
}

export interface Federation {
  /** This cloud's name: the HLC node and `origin` of its writes. */
  readonly self: string;
  /** What this cloud signs relay events and peer requests with. */
  readonly signingKey: JwsSigningKey;
  readonly peers: readonly RelayPeer[];
}

/** The cloud whose relay key `kid` is, and the key; `undefined` for a key no peer lists. */
export function peerKey(
  federation: Federation,
  kid: unknown,
): { readonly peer: RelayPeer; readonly key: RelayPublicKey } | undefined {
  if (typeof kid !== 'string') return undefined;
  for (const peer of federation.peers) {
    const key = peer.keys.find((k) => k.kid === kid);
    if (key) return { peer, key };
  }
  return undefined;
}

const imported = new WeakMap<RelayPublicKey, ReturnType<typeof importJWK>>();

/** `key` as a verification key, imported once per key. */
export function relayVerifyKey(key: RelayPublicKey): ReturnType<typeof importJWK> {
  let verifyKey = imported.get(key);
  if (!verifyKey) {
    verifyKey = importJWK({ ...key, alg: 'ES256' }, 'ES256');
    imported.set(key, verifyKey);
  }
  return verifyKey;
}
