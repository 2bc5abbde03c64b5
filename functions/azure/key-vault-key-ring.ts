/**
 * The `KeyRing` on Azure Key Vault: the CA's keys (`azure-x509-3fa2c1b0d9e8`,
 * `azure-jwt-...`) are Key Vault keys named `weft-<key id>`, EC P-256 with
 * `sign`/`verify` only, created on first use with the `weft-control-plane`
 * tag.
 *
 * Key Vault has no create-if-absent on its data plane: creating a name that
 * exists adds a VERSION, and a plain `getKey` answers the latest. So two cold
 * starts opening a new id at once both create, and each would sign with its
 * own version; "re-read the latest after create" does not fix it, as the
 * first creator may read before the second has written. The ring therefore
 * always signs with the key's FIRST version, the oldest `created` (ties,
 * which Key Vault's whole-second stamps make likely in a race, broken by the
 * version id): a later version can never become first. The one gap is a
 * version created in the same second that is not yet listed, so a choice is
 * only made once that second has passed ({@link KeyVaultKeyRingOptions.settleMs}):
 * a creation waits about a second, once per key. The extra versions of a
 * lost race stay, unused (Key Vault deletes keys, not versions).
 *
 * @module
 */
import { createHash } from 'node:crypto';
import type { TokenCredential } from '@azure/identity';
import {
  CryptographyClient,
  type CryptographyClientOptions,
  type KeyClient,
  type KeyProperties,
  type KeyVaultKey,
} from '@azure/keyvault-keys';
import { KEY_ID, type KeyRing, type Signer } from '../../shared/identity/signer.js';
import { WeftError } from '../../shared/model/errors.js';
import { KeyVaultSigner, toKeyVaultError, toPublicJwk } from './key-vault-signer.js';

/** The tag on every key the ring creates (Key Vault tag names allow `-`, and weft's Azure resources use it). */
export const KEY_VAULT_CONTROL_PLANE_TAG = 'weft-control-plane';

/** Longest Key Vault object name. */
const MAX_NAME = 127;
const PREFIX = 'weft-';
const HASH_CHARS = 10;

/**
 * The Key Vault key name of a key ring id: `weft-<id>` when the id is
 * already in Key Vault's alphabet (`[0-9A-Za-z-]`) and short enough; else
 * `weft--<id with each other character as '-', cut>-<10 hex of its SHA-256>`.
 * The doubled `-` cannot start an unchanged id (they start with a letter or
 * digit), so the two forms never meet, and the hash keeps `a.b` and `a_b` apart.
 *
 * @throws TypeError for an id outside the key ring's alphabet (`KEY_ID`).
 */
export function keyVaultKeyName(keyId: string): string {
  if (!KEY_ID.test(keyId)) throw new TypeError(`bad key id ${JSON.stringify(keyId)}`);
  if (/^[0-9A-Za-z-]+$/.test(keyId) && PREFIX.length + keyId.length <= MAX_NAME) return `${PREFIX}${keyId}`;
  const hash = createHash('sha256').update(keyId).digest('hex').slice(0, HASH_CHARS);
  const room = MAX_NAME - PREFIX.length - 1 - 1 - HASH_CHARS;
  return `${PREFIX}-${keyId.replace(/[^0-9A-Za-z-]/g, '-').slice(0, room)}-${hash}`;
}

/** Configuration of {@link KeyVaultKeyRing}. */
export interface KeyVaultKeyRingOptions {
  /** A `KeyClient` on the vault (`WEFT_KEY_VAULT_URL`). */
  readonly keys: KeyClient;
  /** What each key's `CryptographyClient` authenticates with (the same identity as `keys`). */
  readonly credential: TokenCredential;
  /** Pipeline options of each `CryptographyClient` (retries, TLS). @default the SDK's */
  readonly cryptographyOptions?: CryptographyClientOptions;
  /** Value of the `weft-control-plane` tag on the keys the ring creates. @default 'true' */
  readonly keyTag?: string;
  /**
   * How long after a key version's `created` second begins the ring trusts
   * that every version of that second is listed: one second, plus room for
   * the clocks of the vault and this host to differ.
   * @default 2000
   */
  readonly settleMs?: number;
}

/**
 * @example
 * const credential = new DefaultAzureCredential();
 * const keys = new KeyVaultKeyRing({ keys: new KeyClient(process.env.WEFT_KEY_VAULT_URL!, credential), credential });
 * const signer = await keys.open('azure-jwt-3fa2c1b0d9e8'); // key weft-azure-jwt-3fa2c1b0d9e8, its first version
 */
export class KeyVaultKeyRing implements KeyRing {
  readonly #o: KeyVaultKeyRingOptions;
  readonly #open = new Map<string, Promise<KeyVaultSigner>>();

  constructor(options: KeyVaultKeyRingOptions) {
    if (!options.keys?.vaultUrl) throw new TypeError('KeyVaultKeyRing needs a KeyClient (keys)');
    if (!options.credential) throw new TypeError('KeyVaultKeyRing needs a credential');
    if (options.keyTag === '') throw new TypeError('KeyVaultKeyRing keyTag must not be empty');
    this.#o = options;
  }

  /**
   * The key of `keyId`, created on first use. The signer's `keyId` is `keyId`
   * (what the CA stores and reopens by); its `keyUrl` the version that signs.
   *
   * @throws TypeError for an id outside `[A-Za-z0-9][A-Za-z0-9._-]{0,127}`.
   * @throws UnavailableError when Key Vault cannot be reached or refuses.
   * @throws WeftError `ERR_INTERNAL` when the name holds a key that is not an enabled EC P-256 signing key.
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

  async #openOrCreate(keyId: string): Promise<KeyVaultSigner> {
    const name = keyVaultKeyName(keyId);
    const read = (await this.#get(name)) ?? (await this.#create(keyId, name));
    const first = await this.#firstVersion(name);
    const key = first.version === read.properties.version ? read : await this.#get(name, first.version);
    if (!key) throw new WeftError('ERR_INTERNAL', 500, `Key Vault key ${name} vanished while it was opened`);
    return this.#signer(keyId, key);
  }

  async #get(name: string, version?: string): Promise<KeyVaultKey | undefined> {
    try {
      return await this.#o.keys.getKey(name, version ? { version } : {});
    } catch (error) {
      if ((error as { statusCode?: number }).statusCode === 404 && !version) return undefined;
      throw toKeyVaultError(error, name);
    }
  }

  async #create(keyId: string, name: string): Promise<KeyVaultKey> {
    try {
      return await this.#o.keys.createEcKey(name, {
        curve: 'P-256',
        keyOps: ['sign', 'verify'],
        tags: { [KEY_VAULT_CONTROL_PLANE_TAG]: this.#o.keyTag ?? 'true', 'weft-key-id': keyId },
      });
    } catch (error) {
      throw toKeyVaultError(error, name);
    }
  }

  /** The version that signs: the first one made, once no other of its second can still appear. */
  async #firstVersion(name: string): Promise<KeyProperties> {
    let first = await this.#oldest(name);
    const wait = (first.createdOn?.getTime() ?? 0) + (this.#o.settleMs ?? 2000) - Date.now();
    if (wait > 0) {
      await new Promise((resolve) => setTimeout(resolve, wait));
      first = await this.#oldest(name);
    }
    return first;
  }

  async #oldest(name: string): Promise<KeyProperties> {
    let oldest: KeyProperties | undefined;
    try {
      for await (const version of this.#o.keys.listPropertiesOfKeyVersions(name)) {
        if (!oldest || isOlder(version, oldest)) oldest = version;
      }
    } catch (error) {
      throw toKeyVaultError(error, name);
    }
    if (!oldest?.version)
      throw new WeftError('ERR_INTERNAL', 500, `Key Vault lists no versions of key ${name}`);
    return oldest;
  }

  #signer(keyId: string, key: KeyVaultKey): KeyVaultSigner {
    const { id = key.name, keyOperations, properties } = key;
    toPublicJwk(key.key, id); // throws for a key that is not EC P-256
    if (properties.enabled === false || (keyOperations && !keyOperations.includes('sign'))) {
      throw new WeftError(
        'ERR_INTERNAL',
        500,
        `Key Vault key ${id} (the first version of ${key.name}) is disabled or may not sign: ` +
          'enable it, or delete the key so that the ring creates it again',
      );
    }
    // The SDK writes its user agent into the options it is given: a copy each, so that it does not grow.
    const client = new CryptographyClient(key, this.#o.credential, { ...this.#o.cryptographyOptions });
    return new KeyVaultSigner({ client, keyId, key });
  }
}

/** Earlier `created`, then the smaller version id: an order every instance computes alike. */
function isOlder(a: KeyProperties, b: KeyProperties): boolean {
  const at = a.createdOn?.getTime() ?? 0;
  const bt = b.createdOn?.getTime() ?? 0;
  return at !== bt ? at < bt : (a.version ?? '') < (b.version ?? '');
}
