/**
 * What every attestor shares: the `Attestor` shape, its result, and the
 * schema parse that turns an untrusted proof into a typed one.
 *
 * @module
 */
import { createRemoteJWKSet, customFetch, errors, type RemoteJWKSetOptions } from 'jose';
import type { z } from 'zod';
import type { AttestationRules } from '../../model/attestation-rules.js';
import { UnauthenticatedError, UnavailableError, ValidationError } from '../../model/errors.js';

/** Node attestation methods, named as SPIRE names its plugins. */
export type AttestationMethod = 'join_token' | 'aws_iam' | 'gcp_iit' | 'azure_msi';

/** Who the proof showed the caller to be. */
export interface AttestationResult {
  readonly method: AttestationMethod;
  /** The one Gateway or Service SPIFFE ID the Mesh's rules grant. */
  readonly spiffeId: string;
  /** What was proven, as SPIRE-style `type:key:value` selectors, for audit logs. */
  readonly selectors: readonly string[];
}

/**
 * Proves where an agent runs. Rules come with each call so that a stateless
 * function can read them from the current Mesh.
 *
 * @throws ValidationError when the proof does not even have the right shape.
 * @throws UnauthenticatedError when it is forged, expired, for another
 *   audience, replayed, or matches no rule.
 */
export interface Attestor {
  readonly method: AttestationMethod;
  attest(proof: unknown, rules: AttestationRules): Promise<AttestationResult>;
}

/** Parses an untrusted proof, pointing at the offending field under `/proof`. */
export function parseProof<T extends z.ZodType>(
  schema: T,
  proof: unknown,
  method: AttestationMethod,
): z.infer<T> {
  const parsed = schema.safeParse(proof);
  if (parsed.success) return parsed.data;
  const issues = parsed.error.issues.map((i) => ({
    pointer: `/proof${i.path.map((p) => `/${String(p)}`).join('')}`,
    detail: i.message,
  }));
  throw new ValidationError(`malformed ${method} proof`, issues);
}

/** Decodes a JWT's payload without verifying it, to learn which keys to verify it with. */
export function peekJwtPayload(token: string): Record<string, unknown> | undefined {
  try {
    const payload = JSON.parse(Buffer.from(token.split('.')[1] ?? '', 'base64url').toString('utf8'));
    return payload !== null && typeof payload === 'object' && !Array.isArray(payload) ? payload : undefined;
  } catch {
    return undefined;
  }
}

/** A remote JWKS via jose (cached, rate-limited refetch), optionally through an injected `fetch`. */
export function remoteJwks(
  url: string,
  fetchImpl?: typeof globalThis.fetch,
): ReturnType<typeof createRemoteJWKSet> {
  const options: RemoteJWKSetOptions = {
    timeoutDuration: 5000,
    cooldownDuration: 30_000,
    cacheMaxAge: 600_000,
  };
  if (fetchImpl) options[customFetch] = (input, init) => fetchImpl(input, init);
  return createRemoteJWKSet(new URL(url), options);
}

/** Turns a jose verification failure into a clear {@link UnauthenticatedError}. */
export function jwtRefusal(what: string, error: unknown): UnauthenticatedError | UnavailableError {
  let why = 'is invalid';
  if (error instanceof errors.JWTExpired) why = 'has expired';
  else if (error instanceof errors.JWTClaimValidationFailed) {
    why =
      error.claim === 'aud' ? 'is for another audience' : `has a bad ${error.claim} claim (${error.reason})`;
  } else if (
    error instanceof errors.JWSSignatureVerificationFailed ||
    error instanceof errors.JWKSNoMatchingKey
  ) {
    why = 'has a signature that does not verify';
  } else if (error instanceof errors.JOSEAlgNotAllowed) why = 'uses an algorithm that is not allowed';
  else if (
    error instanceof errors.JWKSTimeout ||
    error instanceof errors.JWKSInvalid ||
    !(error instanceof errors.JOSEError)
  ) {
    return new UnavailableError(`the keys to check the ${what} could not be fetched`, { cause: error });
  }
  return new UnauthenticatedError(`${what} ${why}`, { cause: error });
}
