/**
 * Operator authentication: `Authorization: Bearer <JWT>` verified by jose
 * against a configured JWKS (a URL or inline keys), with a role claim.
 * `admin` may write; `viewer` may read.
 *
 * @module
 */
import {
  createLocalJWKSet,
  createRemoteJWKSet,
  type JSONWebKeySet,
  type JWTVerifyGetKey,
  errors as joseErrors,
  jwtVerify,
} from 'jose';
import { ForbiddenError, UnauthenticatedError } from '../model/errors.js';

export type OperatorRole = 'admin' | 'viewer';

export interface Operator {
  readonly subject: string;
  readonly role: OperatorRole;
}

export interface OperatorAuthOptions {
  /** Where the signing keys are: a JWKS URL, or the key set itself. */
  readonly jwks: URL | JSONWebKeySet;
  readonly issuer: string;
  readonly audience: string;
  /** @default 'role' */
  readonly roleClaim?: string;
}

/** Turns an `Authorization` header into an operator, or throws 401. */
export type Authenticator = (authorization: string | undefined) => Promise<Operator>;

const ALGORITHMS = ['ES256', 'ES384', 'RS256', 'PS256', 'EdDSA'];

/**
 * @example
 * const authenticate = createOperatorAuthenticator({
 *   jwks: new URL('https://idp.example/.well-known/jwks.json'), issuer: 'https://idp.example', audience: 'weft' });
 * const operator = await authenticate(request.headers.authorization);
 */
export function createOperatorAuthenticator(options: OperatorAuthOptions): Authenticator {
  const keys: JWTVerifyGetKey =
    options.jwks instanceof URL ? createRemoteJWKSet(options.jwks) : createLocalJWKSet(options.jwks);
  const roleClaim = options.roleClaim ?? 'role';
  return async (authorization) => {
    const token = /^Bearer\s+([A-Za-z0-9_.~+/=-]+)\s*$/i.exec(authorization ?? '')?.[1];
    if (!token) {
      throw new UnauthenticatedError(
        authorization
          ? 'the Authorization header is not "Bearer <token>"'
          : 'this endpoint needs an operator token: send Authorization: Bearer <token> (locally: .weft/admin-token)',
      );
    }
    let payload: Record<string, unknown>;
    try {
      ({ payload } = await jwtVerify(token, keys, {
        issuer: options.issuer,
        audience: options.audience,
        algorithms: ALGORITHMS,
      }));
    } catch (cause) {
      throw new UnauthenticatedError(`the operator token was refused: ${reason(cause)}`, { cause });
    }
    const role = payload[roleClaim];
    if (role !== 'admin' && role !== 'viewer') {
      throw new UnauthenticatedError(`the operator token has no "${roleClaim}" claim of admin or viewer`);
    }
    return { subject: String(payload.sub ?? 'unknown'), role };
  };
}

/** Throws 403 unless the operator may write. */
export function requireAdmin(operator: Operator): void {
  if (operator.role !== 'admin') {
    throw new ForbiddenError(`${operator.subject} has role ${operator.role}; writing needs role admin`);
  }
}

function reason(error: unknown): string {
  if (error instanceof joseErrors.JWTExpired) return 'it has expired; get a new one';
  if (error instanceof joseErrors.JWTClaimValidationFailed)
    return `claim "${error.claim}" is wrong (${error.reason})`;
  if (error instanceof joseErrors.JWSSignatureVerificationFailed) return 'its signature does not verify';
  if (error instanceof joseErrors.JWKSNoMatchingKey) return 'no key in the configured JWKS matches it';
  if (error instanceof joseErrors.JOSEError) return error.message;
  return 'it could not be verified';
}
