/**
 * The `Signer` on AWS KMS: an ECC_NIST_P256 `SIGN_VERIFY` key whose private
 * half never leaves KMS. `kms:Sign` takes the whole message
 * (`MessageType: RAW`, at most 4096 bytes, which the port's
 * `maxMessageBytes` says so that nothing larger is sent) and answers a DER
 * `ECDSA-Sig-Value`, which {@link derToJoseSignature} turns into JOSE's
 * fixed 64-byte `r || s`.
 *
 * @module
 */
import { createPublicKey, type webcrypto } from 'node:crypto';
import { GetPublicKeyCommand, type KMSClient, KMSServiceException, SignCommand } from '@aws-sdk/client-kms';
import { derToJoseSignature } from '../../shared/identity/der-signature.js';
import { KMS_MAX_MESSAGE_BYTES, type Signer } from '../../shared/identity/signer.js';
import { UnavailableError, WeftError } from '../../shared/model/errors.js';
import { unreachable } from './aws-errors.js';

/** Moved to `shared/identity/der-signature.ts` (Cloud KMS answers the same DER); re-exported for existing callers. */
export { derToJoseSignature };

/** Configuration of {@link KmsSigner}. */
export interface KmsSignerOptions {
  readonly client: KMSClient;
  /**
   * The KMS key `kms:Sign` is called with: a key ARN, key id or `alias/...`
   * (the relay key: `WEFT_RELAY_KEY_ARN`). Also the signer's
   * {@link Signer.keyId}, unless `ringId` is given.
   */
  readonly keyId: string;
  /** The key ring id the key was opened by (what the CA stores and reopens by): the signer's `keyId` then. */
  readonly ringId?: string;
}

/**
 * Signs with one KMS key. The public key is fetched once per instance.
 *
 * @example
 * const relaySigner = new KmsSigner({ client: new KMSClient({}), keyId: process.env.WEFT_RELAY_KEY_ARN! });
 * const jws = await signCompactJws(relaySigner, { kid }, payload);
 */
export class KmsSigner implements Signer {
  readonly algorithm = 'ES256' as const;
  readonly maxMessageBytes = KMS_MAX_MESSAGE_BYTES;
  readonly keyId: string;
  /** The key `kms:Sign` and `kms:GetPublicKey` are called with. */
  readonly keyArn: string;
  readonly #client: KMSClient;
  #publicJwk: Promise<webcrypto.JsonWebKey> | undefined;

  constructor(options: KmsSignerOptions) {
    if (!options.keyId) throw new TypeError('KmsSigner needs a keyId (a KMS key ARN)');
    this.#client = options.client;
    this.keyArn = options.keyId;
    this.keyId = options.ringId ?? options.keyId;
  }

  /** @throws UnavailableError when KMS cannot be reached or refuses; WeftError `ERR_INTERNAL` for a key that is not P-256. */
  publicKeyJwk(): Promise<webcrypto.JsonWebKey> {
    if (!this.#publicJwk) {
      this.#publicJwk = this.#fetchPublicKey();
      this.#publicJwk.catch(() => {
        this.#publicJwk = undefined;
      });
    }
    return this.#publicJwk.then((jwk) => ({ ...jwk }));
  }

  async sign(message: Uint8Array): Promise<Uint8Array> {
    let signature: Uint8Array | undefined;
    try {
      ({ Signature: signature } = await this.#client.send(
        new SignCommand({
          KeyId: this.keyArn,
          Message: message,
          MessageType: 'RAW',
          SigningAlgorithm: 'ECDSA_SHA_256',
        }),
      ));
    } catch (error) {
      throw toKmsError(error, this.keyArn);
    }
    if (!signature) throw new UnavailableError(`KMS answered no signature for ${this.keyArn}`);
    return derToJoseSignature(signature);
  }

  async #fetchPublicKey(): Promise<webcrypto.JsonWebKey> {
    let der: Uint8Array | undefined;
    try {
      ({ PublicKey: der } = await this.#client.send(new GetPublicKeyCommand({ KeyId: this.keyArn })));
    } catch (error) {
      throw toKmsError(error, this.keyArn);
    }
    if (!der) throw new UnavailableError(`KMS answered no public key for ${this.keyArn}`);
    const jwk = createPublicKey({ key: Buffer.from(der), format: 'der', type: 'spki' }).export({
      format: 'jwk',
    });
    if (jwk.kty !== 'EC' || jwk.crv !== 'P-256') {
      throw new WeftError('ERR_INTERNAL', 500, `KMS key ${this.keyArn} is not ECC_NIST_P256`);
    }
    return { kty: 'EC', crv: 'P-256', x: jwk.x, y: jwk.y };
  }
}

const THROTTLED = new Set(['ThrottlingException', 'LimitExceededException', 'KMSInternalException']);
const NOT_USABLE = new Set([
  'DisabledException',
  'KMSInvalidStateException',
  'KeyUnavailableException',
  'NotFoundException',
  'AccessDeniedException',
  'UnrecognizedClientException',
  'ExpiredTokenException',
]);

/**
 * KMS failures as core errors: throttling, a key disabled, pending deletion,
 * missing or not allowed, and the network, are `UnavailableError`s naming
 * the key; anything else (a malformed request: a bug) is returned unchanged.
 */
export function toKmsError(error: unknown, key: string): unknown {
  if (error instanceof KMSServiceException) {
    if (THROTTLED.has(error.name) || error.$fault === 'server' || error.$retryable) {
      return new UnavailableError(`KMS is throttling or failing (${error.name}): retry later`, {
        cause: error,
      });
    }
    if (NOT_USABLE.has(error.name)) {
      return new UnavailableError(
        `KMS key ${key} cannot be used (${error.name}): check that it exists, is enabled and the role may use it`,
        { cause: error },
      );
    }
    return error;
  }
  return unreachable('KMS', error) ?? error;
}
