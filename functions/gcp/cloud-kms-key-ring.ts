/**
 * The `KeyRing` on Cloud KMS: the CA's keys (`gcp-x509-3fa2c1b0d9e8`,
 * `gcp-jwt-...`) are crypto keys of one key ring, `<keyRing>/cryptoKeys/<key
 * id>`, created on first use (`ASYMMETRIC_SIGN`, `EC_SIGN_P256_SHA256`,
 * `SOFTWARE`, labelled `weft-control-plane`). Their version 1 signs.
 *
 * Cloud KMS names keys by the id the caller chooses, so a creation race has
 * one winner and no spare key: two cold starts opening a new id at once both
 * try `createCryptoKey`, the loser gets `ALREADY_EXISTS` and reads the
 * winner's key. A new key's first version is `PENDING_GENERATION` for a
 * moment; {@link CloudKmsKeyRing.open} waits until it is `ENABLED`.
 *
 * @module
 */
import { setTimeout as sleep } from 'node:timers/promises';
import { type KeyManagementServiceClient, protos } from '@google-cloud/kms';
import type { KeyRing, Signer } from '../../shared/identity/signer.js';
import { UnavailableError, WeftError } from '../../shared/model/errors.js';
import { CloudKmsSigner, isEnum, kmsStatus, toKmsError } from './cloud-kms-signer.js';

const { CryptoKey, CryptoKeyVersion } = protos.google.cloud.kms.v1;
type ICryptoKey = protos.google.cloud.kms.v1.ICryptoKey;

/** Crypto key ids Cloud KMS accepts. */
const CLOUD_KMS_KEY_ID = /^[a-zA-Z0-9_-]{1,63}$/;
const KEY_RING = /^projects\/[a-z0-9.:-]+\/locations\/[a-z0-9-]+\/keyRings\/([a-zA-Z0-9_-]{1,63})$/;
/** A label value: lowercase letters, digits, `_` and `-`, at most 63. */
const LABEL_VALUE = /^[a-z0-9_-]{0,63}$/;

/** The label on every key the ring creates. */
export const WEFT_CONTROL_PLANE_LABEL = 'weft-control-plane';

/** Configuration of {@link CloudKmsKeyRing}. */
export interface CloudKmsKeyRingOptions {
  readonly client: KeyManagementServiceClient;
  /** `WEFT_KMS_KEY_RING`: `projects/P/locations/L/keyRings/R`; it must exist (the deployment makes it). */
  readonly keyRing: string;
  /** The `weft-control-plane` label value of the keys this ring creates. @default the key ring's id, lower-cased */
  readonly label?: string;
  /** How long `open` waits for a new key's version 1 to leave `PENDING_GENERATION`. @default 60_000 */
  readonly generationTimeoutMs?: number;
}

/**
 * @example
 * const client = new KeyManagementServiceClient({ fallback: true });
 * const keys = new CloudKmsKeyRing({ client, keyRing: process.env.WEFT_KMS_KEY_RING! });
 * const signer = await keys.open('gcp-jwt-3fa2c1b0d9e8'); // signer.keyId === 'gcp-jwt-3fa2c1b0d9e8'
 */
export class CloudKmsKeyRing implements KeyRing {
  readonly #client: KeyManagementServiceClient;
  readonly #keyRing: string;
  readonly #label: string;
  readonly #timeoutMs: number;
  readonly #open = new Map<string, Promise<CloudKmsSigner>>();

  constructor(options: CloudKmsKeyRingOptions) {
    const ringId = KEY_RING.exec(options.keyRing ?? '')?.[1];
    if (!ringId) {
      throw new TypeError(
        `Cloud KMS key ring ${JSON.stringify(options.keyRing)} must be projects/<project>/locations/<location>/keyRings/<id>`,
      );
    }
    const label = options.label ?? ringId.toLowerCase();
    if (!LABEL_VALUE.test(label))
      throw new TypeError(`bad ${WEFT_CONTROL_PLANE_LABEL} label ${JSON.stringify(label)}`);
    this.#client = options.client;
    this.#keyRing = options.keyRing;
    this.#label = label;
    this.#timeoutMs = options.generationTimeoutMs ?? 60_000;
  }

  /** The crypto key a key id names. */
  keyNameOf(keyId: string): string {
    return `${this.#keyRing}/cryptoKeys/${keyId}`;
  }

  /**
   * The key of `keyId`, created on first use. The signer's `keyId` is `keyId`
   * (what the CA stores and reopens by); its `keyVersion` the key's version 1.
   *
   * @throws TypeError for an id outside `[a-zA-Z0-9_-]{1,63}`.
   * @throws UnavailableError when KMS cannot be reached or refuses, or version 1 stays pending.
   * @throws WeftError `ERR_INTERNAL` when the key is not an enabled P-256 signing key.
   */
  open(keyId: string): Promise<Signer> {
    let signer = this.#open.get(keyId);
    if (!signer) {
      signer = this.#openOrCreate(keyId);
      signer.catch(() => this.#open.delete(keyId));
      this.#open.set(keyId, signer);
    }
    return signer;
  }

  async #openOrCreate(keyId: string): Promise<CloudKmsSigner> {
    if (!CLOUD_KMS_KEY_ID.test(keyId)) throw new TypeError(`bad Cloud KMS key id ${JSON.stringify(keyId)}`);
    const name = this.keyNameOf(keyId);
    const key = (await this.#get(name)) ?? (await this.#create(keyId, name));
    if (
      !isEnum(key.purpose, CryptoKey.CryptoKeyPurpose, 'ASYMMETRIC_SIGN') ||
      !isEnum(
        key.versionTemplate?.algorithm,
        CryptoKeyVersion.CryptoKeyVersionAlgorithm,
        'EC_SIGN_P256_SHA256',
      )
    ) {
      throw new WeftError(
        'ERR_INTERNAL',
        500,
        `Cloud KMS key ${name} is ${key.purpose} ${key.versionTemplate?.algorithm}, not an ASYMMETRIC_SIGN ` +
          'EC_SIGN_P256_SHA256 key: delete it from the CA state or use another key ring',
      );
    }
    const keyVersion = `${name}/cryptoKeyVersions/1`;
    await this.#enabled(keyVersion);
    return new CloudKmsSigner({ client: this.#client, keyVersion, keyId });
  }

  async #get(name: string): Promise<ICryptoKey | undefined> {
    try {
      return (await this.#client.getCryptoKey({ name }))[0];
    } catch (error) {
      if (kmsStatus(error) === 'NOT_FOUND') return undefined;
      throw toKmsError(error, name);
    }
  }

  async #create(keyId: string, name: string): Promise<ICryptoKey> {
    try {
      const [key] = await this.#client.createCryptoKey({
        parent: this.#keyRing,
        cryptoKeyId: keyId,
        cryptoKey: {
          purpose: 'ASYMMETRIC_SIGN',
          versionTemplate: { algorithm: 'EC_SIGN_P256_SHA256', protectionLevel: 'SOFTWARE' },
          labels: { [WEFT_CONTROL_PLANE_LABEL]: this.#label },
        },
      });
      return key;
    } catch (error) {
      if (kmsStatus(error) !== 'ALREADY_EXISTS') throw toKmsError(error, name);
      // Another instance created it first: use its key.
      const winner = await this.#get(name);
      if (!winner) throw toKmsError(error, name);
      return winner;
    }
  }

  /** Waits while the version is `PENDING_GENERATION` (seconds at most, for a software key). */
  async #enabled(name: string): Promise<void> {
    const deadline = Date.now() + this.#timeoutMs;
    const { CryptoKeyVersionState } = CryptoKeyVersion;
    for (let delay = 50; ; delay = Math.min(delay * 2, 2000)) {
      let state: unknown;
      try {
        [{ state }] = await this.#client.getCryptoKeyVersion({ name });
      } catch (error) {
        throw toKmsError(error, name);
      }
      if (isEnum(state, CryptoKeyVersionState, 'ENABLED')) return;
      if (!isEnum(state, CryptoKeyVersionState, 'PENDING_GENERATION')) {
        throw new WeftError(
          'ERR_INTERNAL',
          500,
          `Cloud KMS key version ${name} is ${state}, not ENABLED: restore or enable it`,
        );
      }
      if (Date.now() + delay > deadline) {
        throw new UnavailableError(`Cloud KMS key version ${name} is still PENDING_GENERATION: retry later`);
      }
      await sleep(delay);
    }
  }
}
