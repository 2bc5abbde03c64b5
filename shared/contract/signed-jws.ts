/**
 * What signed snapshots and signed notifications share: the refusal error
 * with its reason code, and checking a compact JWS of one `typ` against the
 * `jwt-svid` keys of a trust bundle (ES256 only, `kid` lookup). Pure: no
 * I/O, so the agent runs it on every snapshot it receives.
 *
 * @module
 */
import { compactVerify, decodeProtectedHeader, importJWK, type ProtectedHeaderParameters } from 'jose';
import type { ParsedBundle } from '../identity/bundle.js';
import type { Signer } from '../identity/signer.js';
import { WeftError } from '../model/errors.js';

/**
 * Why a snapshot or notification was refused:
 * - `malformed`: not a compact JWS (a snapshot: not a signed manifest), not ES256, another `typ`, or a payload or content that is not what the `typ` says;
 * - `unknown-key`: its `kid` is not a `jwt-svid` key of the trust bundle;
 * - `signature`: the signature does not verify;
 * - `wrong-gateway`: it is addressed to another gateway;
 * - `stale-version`: its version is not greater than the applied one;
 * - `hash`: the content is not the one its manifest names, or does not hash to its `hash`.
 */
export type RefusalReason =
  | 'signature'
  | 'unknown-key'
  | 'wrong-gateway'
  | 'stale-version'
  | 'hash'
  | 'malformed';

/** A snapshot or notification an agent must not act on; `reason` says why. */
export class SnapshotRefusedError extends WeftError {
  readonly reason: RefusalReason;
  /**
   * `stale-version` only: the version equals the applied one and so does the
   * hash (when the caller gave one): nothing to do, and nothing to count.
   */
  readonly unchanged: boolean;

  constructor(reason: RefusalReason, message: string, options?: { cause?: unknown; unchanged?: boolean }) {
    super('ERR_VALIDATION', 422, `${reason}: ${message}`, options);
    this.name = 'SnapshotRefusedError';
    this.reason = reason;
    this.unchanged = options?.unchanged ?? false;
  }
}

/** The key a control plane signs with: `MeshCa.jwtSigningKey(provider)` returns one. */
export interface JwsSigningKey {
  /** The `kid` the trust bundle lists the public key under. */
  readonly kid: string;
  readonly signer: Signer;
}

/**
 * Largest JWS accepted. What weft signs is small (large content travels
 * beside a signed manifest, `identity/signed-manifest.ts`), so this only
 * bounds what a verifier reads before refusing it.
 */
export const MAX_JWS_CHARS = 64 * 1024;

type ImportedKey = Awaited<ReturnType<typeof importJWK>>;
const imported = new WeakMap<object, Promise<ImportedKey>>();

/**
 * Checks `jws`'s header (`alg` ES256, `typ` exactly `typ`), finds its `kid`
 * in `bundle` and verifies the signature.
 *
 * @returns the protected header and the payload text.
 * @throws SnapshotRefusedError `malformed`, `unknown-key` or `signature`.
 */
export async function verifyTypedJws(
  jws: string,
  bundle: ParsedBundle,
  typ: string,
): Promise<{ header: ProtectedHeaderParameters; payload: string }> {
  if (typeof jws !== 'string' || jws.length > MAX_JWS_CHARS || jws.split('.').length !== 3)
    throw new SnapshotRefusedError('malformed', 'not a compact JWS');
  let header: ProtectedHeaderParameters;
  try {
    header = decodeProtectedHeader(jws);
  } catch (cause) {
    throw new SnapshotRefusedError('malformed', 'the JWS header is not readable', { cause });
  }
  if (header.alg !== 'ES256')
    throw new SnapshotRefusedError('malformed', `alg ${String(header.alg)} is not ES256`);
  if (header.typ !== typ)
    throw new SnapshotRefusedError('malformed', `typ ${String(header.typ)} is not ${typ}`);
  const jwk = typeof header.kid === 'string' ? bundle.jwtKeys.get(header.kid) : undefined;
  if (!jwk)
    throw new SnapshotRefusedError(
      'unknown-key',
      `kid ${JSON.stringify(header.kid)} is not in the trust bundle`,
    );
  let key = imported.get(jwk);
  if (!key) {
    key = importJWK({ ...jwk, alg: 'ES256' }, 'ES256');
    imported.set(jwk, key);
  }
  try {
    const { payload } = await compactVerify(jws, await key, { algorithms: ['ES256'] });
    return { header, payload: new TextDecoder().decode(payload) };
  } catch (cause) {
    throw new SnapshotRefusedError('signature', `the signature does not verify with key ${header.kid}`, {
      cause,
    });
  }
}

/** Parses a JSON object (a JWS payload, a manifest's content), or refuses it as `malformed`. */
export function parsePayload(
  text: string,
  what: string,
  part: 'payload' | 'content' = 'payload',
): Record<string, unknown> {
  try {
    const value: unknown = JSON.parse(text);
    if (value !== null && typeof value === 'object' && !Array.isArray(value))
      return value as Record<string, unknown>;
  } catch (cause) {
    throw new SnapshotRefusedError('malformed', `the ${part} is not JSON`, { cause });
  }
  throw new SnapshotRefusedError('malformed', `the ${part} is not a ${what}`);
}

/**
 * Refuses a version that does not move forward from `applied`.
 *
 * @throws SnapshotRefusedError `stale-version`, `unchanged` when equal and `sameContent`.
 */
export function requireNewer(version: string, applied: string | undefined, sameContent: boolean): void {
  if (applied === undefined || version > applied) return;
  const unchanged = version === applied && sameContent;
  throw new SnapshotRefusedError(
    'stale-version',
    `version ${version} does not move forward from ${applied}`,
    {
      unchanged,
    },
  );
}
