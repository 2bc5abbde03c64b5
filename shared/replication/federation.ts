/**
 * Who this control plane replicates with: its own cloud name and relay
 * signing key, and each peer cloud's ingest URL and public relay keys. The
 * keys say which cloud signed a relay event; nothing else does (no bus signs
 * payloads end to end), so a key is trusted for the one cloud it is listed
 * under and no other.
 *
 * @module
 */
import { calculateJwkThumbprint, importJWK } from 'jose';
import * as z from 'zod';
import type { JwsSigningKey } from '../contract/signed-jws.js';
import type { Signer } from '../identity/signer.js';

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

/** What a relay public key looks like on the wire (a federation file, `WEFT_PEERS`). */
export const relayPublicKeySchema = z.object({
  kid: z.string().min(1).max(128),
  kty: z.literal('EC'),
  crv: z.literal('P-256'),
  x: z.string().min(1),
  y: z.string().min(1),
});

/** A peer as configuration lists it: `{cloud, url, keys}`. */
export const relayPeerSchema = z.object({
  cloud: z.string().regex(/^[a-z][a-z0-9-]{0,62}$/),
  url: z.url({ protocol: /^https?$/ }),
  keys: z.array(relayPublicKeySchema).min(1).max(4),
});

/**
 * `cloud`'s public relay key from its signer, named `relay-<cloud>-<12 chars
 * of the RFC 7638 thumbprint>`: the same key always gets the same `kid`,
 * wherever it lives (a key file, KMS).
 */
export async function relayPublicKeyOf(signer: Signer, cloud: string): Promise<RelayPublicKey> {
  const { x, y } = await signer.publicKeyJwk();
  const jwk = { kty: 'EC' as const, crv: 'P-256' as const, x: x!, y: y! };
  return { kid: `relay-${cloud}-${(await calculateJwkThumbprint(jwk)).slice(0, 12)}`, ...jwk };
}
