/**
 * The in-memory {@link KeyRing}: P-256 keys that live as long as the process.
 * For tests and benchmarks only; a CA whose keys vanish at exit issues
 * certificates nobody can renew after a restart.
 *
 * @module
 */
import { generateKeyPairSync, type webcrypto } from 'node:crypto';
import { p256 } from '@noble/curves/nist.js';
import type { KeyRing, Signer } from './signer.js';

class MemorySigner implements Signer {
  readonly algorithm = 'ES256' as const;
  readonly #secret: Uint8Array;
  readonly #publicJwk: webcrypto.JsonWebKey;

  constructor(readonly keyId: string) {
    const jwk = generateKeyPairSync('ec', { namedCurve: 'P-256' }).privateKey.export({ format: 'jwk' });
    this.#secret = new Uint8Array(Buffer.from(jwk.d!, 'base64url'));
    this.#publicJwk = { kty: 'EC', crv: 'P-256', x: jwk.x, y: jwk.y };
  }

  async publicKeyJwk(): Promise<webcrypto.JsonWebKey> {
    return { ...this.#publicJwk };
  }

  async signDigest(digest: Uint8Array): Promise<Uint8Array> {
    if (digest.length !== 32)
      throw new TypeError(`signDigest takes a SHA-256 digest (32 bytes), got ${digest.length}`);
    return p256.sign(digest, this.#secret, { prehash: false, extraEntropy: true });
  }
}

/** Keys by id, generated on first use, gone at exit. */
export class MemoryKeyRing implements KeyRing {
  readonly #keys = new Map<string, Signer>();

  async open(keyId: string): Promise<Signer> {
    let signer = this.#keys.get(keyId);
    if (!signer) {
      signer = new MemorySigner(keyId);
      this.#keys.set(keyId, signer);
    }
    return signer;
  }
}
