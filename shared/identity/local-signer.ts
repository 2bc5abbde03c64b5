/**
 * What the embedded signers share: a P-256 private key held as a
 * `node:crypto` key object, signing messages with ES256 in one native call
 * (no pure-JavaScript curve, no digest round trip).
 *
 * @module
 */
import { type KeyObject, sign, type webcrypto } from 'node:crypto';
import { WeftError } from '../model/errors.js';
import type { Signer } from './signer.js';

/** A {@link Signer} over a private key in this process. */
export class LocalKeySigner implements Signer {
  readonly algorithm = 'ES256' as const;
  readonly #key: KeyObject;
  readonly #publicJwk: webcrypto.JsonWebKey;

  /**
   * @param where names the key in the error when it is not P-256 (a file path, say).
   * @param maxMessageBytes holds this key to a KMS's limit (tests that stand in for KMS).
   */
  constructor(
    readonly keyId: string,
    key: KeyObject,
    where: string,
    readonly maxMessageBytes?: number,
  ) {
    const jwk = key.export({ format: 'jwk' });
    if (key.type !== 'private' || jwk.kty !== 'EC' || jwk.crv !== 'P-256') {
      throw new WeftError('ERR_INTERNAL', 500, `${where} is not an EC P-256 private key`);
    }
    this.#key = key;
    this.#publicJwk = { kty: 'EC', crv: 'P-256', x: jwk.x, y: jwk.y };
  }

  async publicKeyJwk(): Promise<webcrypto.JsonWebKey> {
    return { ...this.#publicJwk };
  }

  async sign(message: Uint8Array): Promise<Uint8Array> {
    // ieee-p1363 is JOSE's r||s; node:crypto adds its own randomness to the nonce.
    return new Uint8Array(sign('sha256', message, { key: this.#key, dsaEncoding: 'ieee-p1363' }));
  }
}
