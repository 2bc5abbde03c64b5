/**
 * The `KeyRing` on AWS KMS: the CA's keys (`aws-x509-3fa2c1b0d9e8`,
 * `aws-jwt-...`) are KMS keys found by alias, `<aliasPrefix>/<key id>`,
 * created on first use with the control plane's tag (what the role's IAM
 * conditions match). Two cold starts opening a new id at once both create a
 * key, but only one alias can be made: the loser reads the alias again,
 * uses the winner's key, and schedules its own for deletion.
 *
 * @module
 */
import {
  AlreadyExistsException,
  CreateAliasCommand,
  CreateKeyCommand,
  DescribeKeyCommand,
  type KeyMetadata,
  type KMSClient,
  NotFoundException,
  ScheduleKeyDeletionCommand,
} from '@aws-sdk/client-kms';
import type { KeyRing, Signer } from '../../shared/identity/signer.js';
import { WeftError } from '../../shared/model/errors.js';
import { WEFT_CONTROL_PLANE_TAG } from './environment.js';
import { KmsSigner, toKmsError } from './kms-signer.js';

/** Key ids KMS can name in an alias (its alphabet has no `.`). */
const KMS_KEY_ID = /^[A-Za-z0-9][A-Za-z0-9_-]{0,127}$/;

/** Configuration of {@link KmsKeyRing}. */
export interface KmsKeyRingOptions {
  readonly client: KMSClient;
  /** `WEFT_KMS_ALIAS_PREFIX`, e.g. `alias/weft/prod`: keys are `<aliasPrefix>/<key id>`. */
  readonly aliasPrefix: string;
  /** `WEFT_KMS_KEY_TAG`: the `weft:control-plane` tag value of the keys this ring creates. */
  readonly keyTag: string;
  /** Waiting period of a key that lost a creation race (7 to 30). @default 7 */
  readonly pendingWindowInDays?: number;
}

/**
 * @example
 * const keys = new KmsKeyRing({ client: new KMSClient({}), aliasPrefix: 'alias/weft/prod', keyTag: 'prod' });
 * const signer = await keys.open('aws-jwt-3fa2c1b0d9e8'); // signer.keyId === 'aws-jwt-3fa2c1b0d9e8'
 */
export class KmsKeyRing implements KeyRing {
  readonly #o: KmsKeyRingOptions;
  readonly #open = new Map<string, Promise<KmsSigner>>();

  constructor(options: KmsKeyRingOptions) {
    const { aliasPrefix, keyTag } = options;
    if (!/^alias\/[A-Za-z0-9/_-]+[A-Za-z0-9_-]$/.test(aliasPrefix) || /^alias\/aws(\/|$)/.test(aliasPrefix)) {
      throw new TypeError(
        `KMS alias prefix ${JSON.stringify(aliasPrefix)} must be alias/<name> (not alias/aws), without a trailing /`,
      );
    }
    if (!keyTag) throw new TypeError('KmsKeyRing needs a keyTag');
    this.#o = options;
  }

  /** The alias a key id is found by. */
  aliasOf(keyId: string): string {
    return `${this.#o.aliasPrefix}/${keyId}`;
  }

  /**
   * The key of `keyId`, created on first use. The signer's `keyId` is `keyId`
   * (what the CA stores and reopens by); its `keyArn` the KMS key's ARN.
   *
   * @throws TypeError for an id outside `[A-Za-z0-9][A-Za-z0-9_-]{0,127}`.
   * @throws UnavailableError when KMS cannot be reached or refuses.
   * @throws WeftError `ERR_INTERNAL` when the alias names a key that is not an enabled P-256 signing key.
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

  async #openOrCreate(keyId: string): Promise<KmsSigner> {
    if (!KMS_KEY_ID.test(keyId)) throw new TypeError(`bad KMS key id ${JSON.stringify(keyId)}`);
    const alias = this.aliasOf(keyId);
    const existing = await this.#describe(alias);
    if (existing) return this.#signer(keyId, alias, existing);
    const created = await this.#create(keyId, alias);
    try {
      await this.#o.client.send(new CreateAliasCommand({ AliasName: alias, TargetKeyId: created }));
    } catch (error) {
      if (!(error instanceof AlreadyExistsException)) throw toKmsError(error, alias);
      // Another instance made the alias first: use its key, retire ours.
      const winner = await this.#describe(alias);
      if (!winner) throw toKmsError(error, alias);
      await this.#retire(created);
      return this.#signer(keyId, alias, winner);
    }
    return this.#signer(keyId, alias, await this.#describe(alias));
  }

  async #describe(alias: string): Promise<KeyMetadata | undefined> {
    try {
      return (await this.#o.client.send(new DescribeKeyCommand({ KeyId: alias }))).KeyMetadata;
    } catch (error) {
      if (error instanceof NotFoundException) return undefined;
      throw toKmsError(error, alias);
    }
  }

  async #create(keyId: string, alias: string): Promise<string> {
    try {
      const { KeyMetadata } = await this.#o.client.send(
        new CreateKeyCommand({
          KeySpec: 'ECC_NIST_P256',
          KeyUsage: 'SIGN_VERIFY',
          Description: `weft mesh CA key ${keyId} (${alias})`,
          Tags: [{ TagKey: WEFT_CONTROL_PLANE_TAG, TagValue: this.#o.keyTag }],
        }),
      );
      if (!KeyMetadata?.KeyId) throw new WeftError('ERR_INTERNAL', 500, 'KMS CreateKey answered no key id');
      return KeyMetadata.KeyId;
    } catch (error) {
      throw toKmsError(error, alias);
    }
  }

  /** Best effort: a lost race leaves a tagged, unaliased key that an operator can delete too. */
  async #retire(kmsKeyId: string): Promise<void> {
    try {
      await this.#o.client.send(
        new ScheduleKeyDeletionCommand({
          KeyId: kmsKeyId,
          PendingWindowInDays: this.#o.pendingWindowInDays ?? 7,
        }),
      );
    } catch {
      // Deleting a spare key is housekeeping; the signer we return is the alias's, which works.
    }
  }

  #signer(keyId: string, alias: string, key: KeyMetadata | undefined): KmsSigner {
    if (!key?.Arn) throw new WeftError('ERR_INTERNAL', 500, `KMS alias ${alias} names no key`);
    if (key.KeySpec !== 'ECC_NIST_P256' || key.KeyUsage !== 'SIGN_VERIFY' || key.KeyState !== 'Enabled') {
      throw new WeftError(
        'ERR_INTERNAL',
        500,
        `KMS alias ${alias} names key ${key.Arn} (${key.KeySpec}, ${key.KeyUsage}, ${key.KeyState}), ` +
          'not an enabled ECC_NIST_P256 SIGN_VERIFY key: point the alias at one, or cancel its deletion',
      );
    }
    return new KmsSigner({ client: this.#o.client, keyId: key.Arn, ringId: keyId });
  }
}
