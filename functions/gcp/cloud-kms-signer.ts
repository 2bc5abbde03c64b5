/**
 * The `Signer` on Cloud KMS: an `EC_SIGN_P256_SHA256` key version whose
 * private half never leaves KMS. Cloud KMS signs a digest, not a message, so
 * the SHA-256 is taken here and there is no message limit. Each request and
 * answer carries a CRC32C, checked as Google's data-integrity guide says:
 * the digest's (`digestCrc32c`, which KMS confirms with
 * `verifiedDigestCrc32c`), the signature's (`signatureCrc32c`) and the public
 * key's (`pemCrc32c`). A mismatch is corruption in transit: an
 * `UnavailableError`, so the caller retries. KMS answers a DER
 * `ECDSA-Sig-Value`, which {@link derToJoseSignature} turns into `r || s`.
 *
 * @module
 */
import { createPublicKey, type webcrypto } from 'node:crypto';
import { type KeyManagementServiceClient, protos } from '@google-cloud/kms';
import { derToJoseSignature } from '../../shared/identity/der-signature.js';
import { type Signer, sha256 } from '../../shared/identity/signer.js';
import { UnavailableError, WeftError } from '../../shared/model/errors.js';

const { CryptoKeyVersionAlgorithm } = protos.google.cloud.kms.v1.CryptoKeyVersion;

/** A full key version name: `projects/P/locations/L/keyRings/R/cryptoKeys/K/cryptoKeyVersions/V`. */
const KEY_VERSION =
  /^projects\/[^/]+\/locations\/[^/]+\/keyRings\/[^/]+\/cryptoKeys\/[^/]+\/cryptoKeyVersions\/[0-9]+$/;

/** Configuration of {@link CloudKmsSigner}. */
export interface CloudKmsSignerOptions {
  readonly client: KeyManagementServiceClient;
  /** The full crypto key version name (the relay key: `WEFT_RELAY_KEY_VERSION`). */
  readonly keyVersion: string;
  /** The signer's {@link Signer.keyId}: the key ring id it was opened by. @default keyVersion */
  readonly keyId?: string;
}

/**
 * Signs with one Cloud KMS key version. The public key is fetched once per instance.
 *
 * @example
 * const client = new KeyManagementServiceClient({ fallback: true });
 * const relaySigner = new CloudKmsSigner({ client, keyVersion: process.env.WEFT_RELAY_KEY_VERSION! });
 * const jws = await signCompactJws(relaySigner, { kid }, payload);
 */
export class CloudKmsSigner implements Signer {
  readonly algorithm = 'ES256' as const;
  readonly keyId: string;
  /** The key version `asymmetricSign` and `getPublicKey` are called with. */
  readonly keyVersion: string;
  readonly #client: KeyManagementServiceClient;
  #publicJwk: Promise<webcrypto.JsonWebKey> | undefined;

  constructor(options: CloudKmsSignerOptions) {
    if (!KEY_VERSION.test(options.keyVersion ?? '')) {
      throw new TypeError(
        `CloudKmsSigner needs a full key version name (projects/P/locations/L/keyRings/R/cryptoKeys/K/cryptoKeyVersions/V), not ${JSON.stringify(options.keyVersion)}`,
      );
    }
    this.#client = options.client;
    this.keyVersion = options.keyVersion;
    this.keyId = options.keyId ?? options.keyVersion;
  }

  /** @throws UnavailableError when KMS cannot be reached, refuses, or the key arrives corrupted; WeftError `ERR_INTERNAL` for a key that is not P-256. */
  publicKeyJwk(): Promise<webcrypto.JsonWebKey> {
    if (!this.#publicJwk) {
      this.#publicJwk = this.#fetchPublicKey();
      this.#publicJwk.catch(() => {
        this.#publicJwk = undefined;
      });
    }
    return this.#publicJwk.then((jwk) => ({ ...jwk }));
  }

  /** @throws UnavailableError when KMS cannot be reached or refuses, or the request or answer was corrupted in transit. */
  async sign(message: Uint8Array): Promise<Uint8Array> {
    const name = this.keyVersion;
    const digest = sha256(message);
    let response: protos.google.cloud.kms.v1.IAsymmetricSignResponse;
    try {
      [response] = await this.#client.asymmetricSign({
        name,
        digest: { sha256: digest },
        digestCrc32c: { value: crc32c(digest) },
      });
    } catch (error) {
      throw toKmsError(error, name);
    }
    if (response.name !== name) throw corrupted(name, `the answer names ${response.name}`);
    if (response.verifiedDigestCrc32c !== true) throw corrupted(name, 'KMS did not verify the digest CRC32C');
    const signature = bytes(response.signature);
    if (int64(response.signatureCrc32c) !== crc32c(signature))
      throw corrupted(name, 'signature CRC32C mismatch');
    try {
      return derToJoseSignature(signature);
    } catch (error) {
      throw new WeftError(
        'ERR_INTERNAL',
        500,
        `Cloud KMS key ${name} answered a signature that is not P-256 DER`,
        {
          cause: error,
        },
      );
    }
  }

  async #fetchPublicKey(): Promise<webcrypto.JsonWebKey> {
    const name = this.keyVersion;
    let key: protos.google.cloud.kms.v1.IPublicKey;
    try {
      [key] = await this.#client.getPublicKey({ name });
    } catch (error) {
      throw toKmsError(error, name);
    }
    if (key.name !== name) throw corrupted(name, `the public key names ${key.name}`);
    if (!isEnum(key.algorithm, CryptoKeyVersionAlgorithm, 'EC_SIGN_P256_SHA256')) {
      throw new WeftError(
        'ERR_INTERNAL',
        500,
        `Cloud KMS key ${name} is ${key.algorithm}, not EC_SIGN_P256_SHA256`,
      );
    }
    const pem = key.pem ?? '';
    if (int64(key.pemCrc32c) !== crc32c(new TextEncoder().encode(pem)))
      throw corrupted(name, 'PEM CRC32C mismatch');
    const jwk = createPublicKey({ key: pem, format: 'pem' }).export({ format: 'jwk' });
    if (jwk.kty !== 'EC' || jwk.crv !== 'P-256') {
      throw new WeftError('ERR_INTERNAL', 500, `Cloud KMS key ${name} has no P-256 public key`);
    }
    return { kty: 'EC', crv: 'P-256', x: jwk.x, y: jwk.y };
  }
}

function corrupted(name: string, why: string): UnavailableError {
  return new UnavailableError(
    `Cloud KMS key ${name}: ${why}; the request or answer was corrupted in transit: retry`,
  );
}

/** Whether an enum field (a name over REST and gRPC alike, a number if a client asks for numbers) is `name`. */
export function isEnum(value: unknown, values: object, name: string): boolean {
  return value === name || value === (values as Record<string, unknown>)[name];
}

function bytes(value: Uint8Array | string | null | undefined): Uint8Array {
  if (typeof value === 'string') return Buffer.from(value, 'base64');
  return value ?? new Uint8Array();
}

/** An `Int64Value` (`{ value }`, its value a string, number or Long); NaN when absent. */
function int64(wrapper: { value?: unknown } | null | undefined): number {
  const value = wrapper?.value;
  return value === undefined || value === null ? Number.NaN : Number(String(value));
}

let table: Uint32Array | undefined;

/** CRC32C (Castagnoli, reflected 0x82F63B78): the checksum Cloud KMS and Cloud Storage use. */
export function crc32c(data: Uint8Array): number {
  if (!table) {
    table = new Uint32Array(256);
    for (let n = 0; n < 256; n++) {
      let c = n;
      for (let k = 0; k < 8; k++) c = c & 1 ? 0x82f63b78 ^ (c >>> 1) : c >>> 1;
      table[n] = c >>> 0;
    }
  }
  let crc = 0xffffffff;
  for (const byte of data) crc = table[(crc ^ byte) & 0xff]! ^ (crc >>> 8);
  return (crc ^ 0xffffffff) >>> 0;
}

/** The canonical status names of `google.rpc.Code`, by number. */
const CODES = [
  'OK',
  'CANCELLED',
  'UNKNOWN',
  'INVALID_ARGUMENT',
  'DEADLINE_EXCEEDED',
  'NOT_FOUND',
  'ALREADY_EXISTS',
  'PERMISSION_DENIED',
  'RESOURCE_EXHAUSTED',
  'FAILED_PRECONDITION',
  'ABORTED',
  'OUT_OF_RANGE',
  'UNIMPLEMENTED',
  'INTERNAL',
  'UNAVAILABLE',
  'DATA_LOSS',
  'UNAUTHENTICATED',
] as const;

/** A status name; `TRANSPORT` when no answer came (a socket error, a timeout). */
export type KmsStatus = (typeof CODES)[number] | 'TRANSPORT';

/** Google's HTTP mapping (AIP-193), for an error body without its `status`. */
const BY_HTTP: Readonly<Record<number, KmsStatus>> = {
  400: 'INVALID_ARGUMENT',
  401: 'UNAUTHENTICATED',
  403: 'PERMISSION_DENIED',
  404: 'NOT_FOUND',
  409: 'ALREADY_EXISTS',
  429: 'RESOURCE_EXHAUSTED',
  499: 'CANCELLED',
  500: 'INTERNAL',
  501: 'UNIMPLEMENTED',
  503: 'UNAVAILABLE',
  504: 'DEADLINE_EXCEEDED',
};

/**
 * The canonical status of what the client threw. Over gRPC it is a
 * `GoogleError` whose `code` is the status number; over REST (google-gax 5
 * with gaxios 7) a `GaxiosError` whose `status` is the HTTP status and whose
 * message is Google's JSON error body, `{ error: { code, message, status } }`.
 */
export function kmsStatus(error: unknown): KmsStatus | undefined {
  if (!(error instanceof Error)) return undefined;
  const { code, status } = error as { code?: unknown; status?: unknown };
  if (typeof status === 'number') {
    const named = errorBodyStatus(error);
    return named ?? BY_HTTP[status] ?? (status >= 500 ? 'UNAVAILABLE' : 'UNKNOWN');
  }
  if (typeof code === 'number') return CODES[code] ?? BY_HTTP[code] ?? 'UNKNOWN';
  if (typeof code === 'string' || error.name === 'AbortError' || error.name === 'TimeoutError')
    return 'TRANSPORT';
  return undefined;
}

function errorBodyStatus(error: Error): KmsStatus | undefined {
  const data = (error as { response?: { data?: unknown } }).response?.data;
  let body: unknown = typeof data === 'object' ? data : undefined;
  if (!body) {
    try {
      body = JSON.parse(error.message);
    } catch {
      return undefined;
    }
  }
  const named = (body as { error?: { status?: unknown } } | null)?.error?.status;
  return CODES.find((c) => c === named);
}

const RETRY_LATER = new Set<KmsStatus>([
  'CANCELLED',
  'UNKNOWN',
  'DEADLINE_EXCEEDED',
  'RESOURCE_EXHAUSTED',
  'ABORTED',
  'INTERNAL',
  'UNAVAILABLE',
]);
const NOT_USABLE = new Set<KmsStatus>([
  'NOT_FOUND',
  'PERMISSION_DENIED',
  'UNAUTHENTICATED',
  'FAILED_PRECONDITION',
]);

/**
 * Cloud KMS failures as core errors: the network, throttling, a key or key
 * ring missing, disabled or not allowed, are `UnavailableError`s naming the
 * key; anything else (a malformed request: a bug) is returned unchanged.
 */
export function toKmsError(error: unknown, key: string): unknown {
  const status = kmsStatus(error);
  if (status === undefined) return error;
  const detail = error instanceof Error ? error.message.slice(0, 300) : String(error);
  if (status === 'TRANSPORT') {
    return new UnavailableError(
      `cannot reach Cloud KMS (${(error as { code?: string }).code ?? (error as Error).name}): check the endpoint and network`,
      { cause: error },
    );
  }
  if (RETRY_LATER.has(status)) {
    return new UnavailableError(`Cloud KMS is throttling or failing (${status}): retry later`, {
      cause: error,
    });
  }
  if (NOT_USABLE.has(status)) {
    return new UnavailableError(
      `Cloud KMS key ${key} cannot be used (${status}: ${detail}): check that it exists and is enabled, and that the ` +
        "function's service account may use it (cloudkms.cryptoKeyVersions.useToSign and viewPublicKey; on the " +
        'key ring also cloudkms.cryptoKeys.get and create, cloudkms.cryptoKeyVersions.get)',
      { cause: error },
    );
  }
  return error;
}
