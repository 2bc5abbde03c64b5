/**
 * The `Signer` port and what the identity core builds on it: ES256 compact
 * JWS and X.509 signatures. A signer signs a whole MESSAGE (ES256: SHA-256,
 * then ECDSA P-256), so a local key signs with `node:crypto` at the
 * machine's speed and AWS KMS signs with `MessageType: RAW`. KMS takes raw
 * messages of at most 4 KiB, so a signer may say {@link Signer.maxMessageBytes}
 * and weft keeps what it signs small: large content (a snapshot, a relayed
 * record) is named by its hash in a small signed manifest.
 *
 * @module
 */
import 'reflect-metadata';
import { createHash, webcrypto } from 'node:crypto';
import { WeftError } from '../model/errors.js';

/** One ECDSA P-256 private key, wherever it lives. */
export interface Signer {
  /** Stable name of the key in its backend (file name, KMS key ARN, Key Vault key id). */
  readonly keyId: string;
  readonly algorithm: 'ES256';
  /** The largest message this key signs (AWS KMS: 4096 bytes). @default no limit */
  readonly maxMessageBytes?: number;
  /** The public half as a JWK (`kty: EC`, `crv: P-256`, `x`, `y`), without `d`. */
  publicKeyJwk(): Promise<webcrypto.JsonWebKey>;
  /** Signs `message` with ES256 (SHA-256, ECDSA P-256); returns the raw `r || s` signature (64 bytes). */
  sign(message: Uint8Array): Promise<Uint8Array>;
}

/** Opens (creating on first use) signers by key id: what the CA needs to rotate keys. */
export interface KeyRing {
  open(keyId: string): Promise<Signer>;
}

/** Key ids are file names in the embedded key ring: keep them to a safe alphabet. */
export const KEY_ID = /^[A-Za-z0-9][A-Za-z0-9._-]{0,127}$/;

/** SHA-256 of `data`. */
export function sha256(data: Uint8Array | string): Uint8Array {
  return new Uint8Array(createHash('sha256').update(data).digest());
}

/** The limit a signer with no {@link Signer.maxMessageBytes} of its own is held to by tests that stand in for KMS. */
export const KMS_MAX_MESSAGE_BYTES = 4096;

async function signChecked(signer: Signer, data: Uint8Array | string): Promise<Uint8Array> {
  const message = typeof data === 'string' ? new TextEncoder().encode(data) : data;
  if (signer.maxMessageBytes !== undefined && message.length > signer.maxMessageBytes) {
    // A bug, not bad input: what weft signs is designed to stay small (see the module comment).
    throw new WeftError(
      'ERR_INTERNAL',
      500,
      `signer ${signer.keyId} signs at most ${signer.maxMessageBytes} bytes; asked to sign ${message.length}`,
    );
  }
  const signature = await signer.sign(message);
  if (signature.length !== 64) {
    throw new WeftError(
      'ERR_INTERNAL',
      500,
      `signer ${signer.keyId} returned ${signature.length} bytes, not r||s (64)`,
    );
  }
  return signature;
}

const b64url = (data: Uint8Array | string) => Buffer.from(data).toString('base64url');

/**
 * Produces an ES256 compact JWS (RFC 7515) whose signature comes from
 * {@link Signer.sign} over the signing input. `alg` is
 * always `ES256`; everything else in `header` (`kid`, `typ`) is kept.
 *
 * @example
 * const jws = await signCompactJws(signer, { kid, typ: 'JWT' }, JSON.stringify(claims));
 * await jose.compactVerify(jws, publicKey); // verifies
 */
export async function signCompactJws(
  signer: Signer,
  header: Record<string, unknown>,
  payload: Uint8Array | string,
): Promise<string> {
  const input = `${b64url(JSON.stringify({ ...header, alg: 'ES256' }))}.${b64url(payload)}`;
  const signature = await signChecked(signer, input);
  return `${input}.${b64url(signature)}`;
}

/** What @peculiar/x509 needs to treat a {@link Signer} as a `CryptoKey`. */
export const SIGNER_KEY_ALGORITHM = { name: 'ECDSA', namedCurve: 'P-256' } as const;

/**
 * A WebCrypto-shaped provider for @peculiar/x509 whose `subtle.sign` goes
 * through `signer.sign`, so certificates are signed by the same port a
 * KMS implements. Everything else (digests for key identifiers, key export)
 * is Node's WebCrypto. Pass it with {@link signerCryptoKey} as `signingKey`.
 */
export function signerCrypto(signer: Signer): webcrypto.Crypto {
  const subtle = webcrypto.subtle;
  const wrapped = new Proxy(subtle, {
    get(target, prop) {
      if (prop === 'sign') {
        return async (
          algorithm: webcrypto.EcdsaParams,
          _key: unknown,
          data: ArrayBuffer | ArrayBufferView,
        ) => {
          const hash = typeof algorithm.hash === 'string' ? algorithm.hash : algorithm.hash?.name;
          if (algorithm.name !== 'ECDSA' || hash !== 'SHA-256') {
            throw new TypeError(
              `signer ${signer.keyId} signs ECDSA with SHA-256 only, not ${algorithm.name}/${hash}`,
            );
          }
          const bytes = ArrayBuffer.isView(data)
            ? new Uint8Array(data.buffer, data.byteOffset, data.byteLength)
            : new Uint8Array(data);
          return (await signChecked(signer, bytes)).slice().buffer;
        };
      }
      const value = Reflect.get(target, prop, target);
      return typeof value === 'function' ? value.bind(target) : value;
    },
  });
  return {
    subtle: wrapped,
    getRandomValues: webcrypto.getRandomValues.bind(webcrypto),
    randomUUID: webcrypto.randomUUID.bind(webcrypto),
  } as webcrypto.Crypto;
}

/** A stand-in `CryptoKey` naming the signer's algorithm; only {@link signerCrypto} accepts it. */
export function signerCryptoKey(signer: Signer): webcrypto.CryptoKey {
  return {
    algorithm: { ...SIGNER_KEY_ALGORITHM },
    extractable: false,
    type: 'private',
    usages: ['sign'],
    keyId: signer.keyId,
  } as unknown as webcrypto.CryptoKey;
}
