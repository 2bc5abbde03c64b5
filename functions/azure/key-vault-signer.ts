/**
 * The `Signer` on Azure Key Vault: an EC P-256 key whose private half never
 * leaves the vault. Key Vault signs a DIGEST, not a message, so the message
 * is hashed here (SHA-256) and `sign('ES256', digest)` goes to the vault,
 * which answers the JWS form `r || s` (64 bytes), not DER: nothing to
 * convert, only to check. A digest is 32 bytes whatever was signed, so the
 * signer has no {@link Signer.maxMessageBytes}.
 *
 * `CryptographyClient` does some operations locally when it holds the
 * public key, but its only local provider is RSA (and AES), whose local
 * `sign` throws: an `ES256` sign always goes to the vault. A client over a
 * bare `JsonWebKey` (local-only mode, no vault) is refused up front.
 *
 * @module
 */
import type { webcrypto } from 'node:crypto';
import type { CryptographyClient, JsonWebKey, KeyVaultKey } from '@azure/keyvault-keys';
import { type Signer, sha256 } from '../../shared/identity/signer.js';
import { UnavailableError, WeftError } from '../../shared/model/errors.js';

/** Configuration of {@link KeyVaultSigner}. */
export interface KeyVaultSignerOptions {
  /**
   * A vault-backed client for the key (built from its URL or its `KeyVaultKey`,
   * with a credential). A versionless URL signs with the key's latest version
   * while the public key is read once: a new version of such a key takes a
   * restart to publish, so a versioned URL (or a `KeyVaultKey`) is the safer.
   */
  readonly client: CryptographyClient;
  /**
   * The signer's {@link Signer.keyId}: the key ring id it was opened by (what
   * the CA stores and reopens by), or the key's name for a key used directly
   * (the relay key, `WEFT_RELAY_KEY_NAME`).
   */
  readonly keyId: string;
  /**
   * The key as `KeyClient.getKey` read it, when the caller has it: its public
   * half is published without asking the vault again.
   * @default read once through `client` (the read it makes before its first operation)
   */
  readonly key?: KeyVaultKey;
}

/**
 * Signs with one Key Vault key version. The public key is read once per instance.
 *
 * @example
 * const credential = new DefaultAzureCredential();
 * const keyUrl = `${process.env.WEFT_KEY_VAULT_URL}/keys/${process.env.WEFT_RELAY_KEY_NAME}`;
 * const relaySigner = new KeyVaultSigner({
 *   client: new CryptographyClient(keyUrl, credential),
 *   keyId: process.env.WEFT_RELAY_KEY_NAME!,
 * });
 * const jws = await signCompactJws(relaySigner, { kid }, payload);
 */
export class KeyVaultSigner implements Signer {
  readonly algorithm = 'ES256' as const;
  readonly keyId: string;
  readonly #client: CryptographyClient;
  readonly #key: KeyVaultKey | undefined;
  #publicJwk: Promise<webcrypto.JsonWebKey> | undefined;

  constructor(options: KeyVaultSignerOptions) {
    if (!options.keyId) throw new TypeError('KeyVaultSigner needs a keyId');
    if (!options.client.vaultUrl) {
      throw new TypeError(
        'KeyVaultSigner needs a CryptographyClient for a Key Vault key (its URL or KeyVaultKey and a credential), ' +
          'not one over a local JsonWebKey',
      );
    }
    this.#client = options.client;
    this.#key = options.key;
    this.keyId = options.keyId;
  }

  /** The Key Vault key identifier `sign` is called on (`https://<vault>/keys/<name>[/<version>]`). */
  get keyUrl(): string {
    return this.#key?.id ?? this.#client.keyID ?? '';
  }

  /** @throws UnavailableError when Key Vault cannot be reached or refuses; WeftError `ERR_INTERNAL` for a key that is not EC P-256. */
  publicKeyJwk(): Promise<webcrypto.JsonWebKey> {
    if (!this.#publicJwk) {
      this.#publicJwk = this.#readPublicKey();
      this.#publicJwk.catch(() => {
        this.#publicJwk = undefined;
      });
    }
    return this.#publicJwk.then((jwk) => ({ ...jwk }));
  }

  /**
   * @throws UnavailableError when Key Vault cannot be reached, throttles or refuses.
   * @throws WeftError `ERR_INTERNAL` when the key may not sign or the answer is not a 64-byte `r || s`.
   */
  async sign(message: Uint8Array): Promise<Uint8Array> {
    let signature: Uint8Array;
    try {
      ({ result: signature } = await this.#client.sign('ES256', sha256(message)));
    } catch (error) {
      throw toKeyVaultError(error, this.keyUrl);
    }
    if (signature?.length !== 64) {
      throw new WeftError(
        'ERR_INTERNAL',
        500,
        `Key Vault answered ${signature?.length ?? 0} bytes for an ES256 signature by ${this.keyUrl}, not r||s (64)`,
      );
    }
    return signature;
  }

  async #readPublicKey(): Promise<webcrypto.JsonWebKey> {
    let jwk: JsonWebKey | undefined;
    if (this.#key) jwk = this.#key.key;
    else {
      try {
        jwk = await keyMaterialOf(this.#client);
      } catch (error) {
        throw toKeyVaultError(error, this.keyUrl);
      }
      if (!jwk) {
        throw new UnavailableError(
          `Key Vault key ${this.keyUrl} cannot be read: the identity needs keys/get (Key Vault Crypto User)`,
        );
      }
    }
    return toPublicJwk(jwk, this.keyUrl);
  }
}

/**
 * The key `client` holds, read through the client itself: it fetches it
 * (`GET /keys/<name>/<version>`) before its first operation anyway and keeps
 * it, but exposes no public getter. `undefined` when it may not read it (403).
 */
async function keyMaterialOf(client: CryptographyClient): Promise<JsonWebKey | undefined> {
  const read = (
    client as unknown as { getKeyMaterial?: (options: object) => Promise<JsonWebKey | undefined> }
  ).getKeyMaterial;
  if (typeof read !== 'function') {
    throw new WeftError(
      'ERR_INTERNAL',
      500,
      'this @azure/keyvault-keys CryptographyClient cannot give its key: pass KeyVaultSigner the key read by KeyClient.getKey',
    );
  }
  return read.call(client, {});
}

/**
 * A Key Vault JSON Web Key (byte arrays) as a standard public JWK
 * (`kty: EC`, `crv: P-256`, base64url `x` and `y`), without `d`.
 *
 * @throws WeftError `ERR_INTERNAL` when it is not an EC P-256 key with both coordinates.
 */
export function toPublicJwk(key: JsonWebKey | undefined, keyUrl: string): webcrypto.JsonWebKey {
  const { kty, crv, x, y } = key ?? {};
  if ((kty !== 'EC' && kty !== 'EC-HSM') || crv !== 'P-256' || x?.length !== 32 || y?.length !== 32) {
    throw new WeftError(
      'ERR_INTERNAL',
      500,
      `Key Vault key ${keyUrl} is ${kty ?? 'no key'} ${crv ?? ''}, not an EC P-256 key: weft signs ES256 only`,
    );
  }
  const b64url = (bytes: Uint8Array) => Buffer.from(bytes).toString('base64url');
  return { kty: 'EC', crv: 'P-256', x: b64url(x), y: b64url(y) };
}

interface RestErrorLike extends Error {
  readonly statusCode?: number;
  readonly code?: string;
}

/** The SDK's `RestError`, by name, as `@azure/core-rest-pipeline`'s own `isRestError` tells it. */
function isRestError(error: unknown): error is RestErrorLike {
  return error instanceof Error && error.name === 'RestError';
}

/**
 * Key Vault failures as core errors: no answer, throttling (429), a 5xx,
 * credentials refused (401, 403) or a key missing (404) are
 * `UnavailableError`s naming the key; a key that may not sign (the SDK checks
 * `key_ops` before calling) is WeftError `ERR_INTERNAL`; anything else (a
 * malformed request: a bug) is returned unchanged.
 */
export function toKeyVaultError(error: unknown, key: string): unknown {
  if (isRestError(error)) {
    const status = error.statusCode;
    const code = error.code ?? status;
    if (status === undefined) {
      // Refused, reset, DNS, TLS or a timeout on the way: no service answered.
      return new UnavailableError(
        `cannot reach Key Vault (${code ?? error.message}): check the vault URL and network`,
        {
          cause: error,
        },
      );
    }
    if (status === 408 || status === 429 || status >= 500) {
      return new UnavailableError(`Key Vault is throttling or failing (${code}): retry later`, {
        cause: error,
      });
    }
    if (status === 401 || status === 403 || status === 404) {
      return new UnavailableError(
        `Key Vault key ${key} cannot be used (${code}): check that it exists and the identity has Key Vault Crypto User on it`,
        { cause: error },
      );
    }
    return error;
  }
  if (error instanceof Error && /^Operation \w+ is not supported on key /.test(error.message)) {
    return new WeftError(
      'ERR_INTERNAL',
      500,
      `Key Vault key ${key} may not sign (its key_ops): ${error.message}`,
      {
        cause: error,
      },
    );
  }
  if (error instanceof Error && /^Key .* (expired at|can't be used before) /.test(error.message)) {
    return new UnavailableError(`Key Vault key ${key} is outside its validity: ${error.message}`, {
      cause: error,
    });
  }
  return error;
}
