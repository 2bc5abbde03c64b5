/**
 * Who may deliver events to a function: a bus's push (Pub/Sub through
 * Eventarc, Cloud Scheduler, Event Grid) carries an OIDC token its cloud
 * signed for a configured audience and identity, and the function checks
 * it before it reads the event. The platform in front may check too
 * (Cloud Run's invoker IAM); this check is weft's own, so a function
 * deployed public by mistake still takes events from its bus only.
 *
 * Cloud-agnostic: Google's and Entra ID's tokens differ only in issuer,
 * keys and which claim names the sender, which each cloud's composition
 * says ({@link googlePushAuth}, {@link entraPushAuth}).
 *
 * @module
 */
import { timingSafeEqual } from 'node:crypto';
import { createLocalJWKSet, type JSONWebKeySet, type JWTVerifyGetKey, jwtVerify } from 'jose';
import { jwtRefusal, remoteJwks } from '../../shared/identity/attestation/attestor.js';
import { UnauthenticatedError } from '../../shared/model/errors.js';

/** What a delivery must carry. */
export interface PushAuthOptions {
  /** The issuer's keys: a JWKS URL, or the key set itself (tests). */
  readonly jwks: URL | JSONWebKeySet;
  /** Accepted `iss` values. */
  readonly issuers: readonly string[];
  /** Accepted `aud` values (one is enough). */
  readonly audiences: readonly string[];
  /** Claims that must be present with exactly one of these values (`email`, `tid`, `appid`). */
  readonly claims?: Readonly<Record<string, readonly (string | boolean)[]>>;
  /** Used to fetch a JWKS URL. @default globalThis.fetch */
  readonly fetch?: typeof globalThis.fetch;
  /** @default 60 seconds */
  readonly clockToleranceSeconds?: number;
}

/** The request parts a check reads. */
export interface PushRequest {
  /** Lower-cased header names. */
  readonly headers: Readonly<Record<string, string | undefined>>;
}

/**
 * Checks one delivery; resolves with the token's claims.
 *
 * @throws UnauthenticatedError (401) naming what is wrong, never the token.
 */
export type PushAuthenticator = (request: PushRequest) => Promise<Record<string, unknown>>;

const ALGORITHMS = ['RS256', 'ES256'];

/**
 * @example
 * const check = createPushAuthenticator(googlePushAuth({ audiences: [url], serviceAccount: 'weft-push@p.iam.gserviceaccount.com' }));
 * await check({ headers: { authorization: req.headers.authorization } });
 */
export function createPushAuthenticator(options: PushAuthOptions): PushAuthenticator {
  if (options.audiences.length === 0) throw new TypeError('push auth needs at least one audience');
  if (options.issuers.length === 0) throw new TypeError('push auth needs at least one issuer');
  const keys: JWTVerifyGetKey =
    options.jwks instanceof URL
      ? remoteJwks(options.jwks.href, options.fetch)
      : createLocalJWKSet(options.jwks);
  return async (request) => {
    const token = /^Bearer\s+([A-Za-z0-9_.~+/=-]+)\s*$/i.exec(request.headers.authorization ?? '')?.[1];
    if (!token) {
      throw new UnauthenticatedError(
        'this function takes events only from its bus: send Authorization: Bearer <OIDC token>',
      );
    }
    let payload: Record<string, unknown>;
    try {
      ({ payload } = await jwtVerify(token, keys, {
        issuer: [...options.issuers],
        audience: [...options.audiences],
        algorithms: ALGORITHMS,
        clockTolerance: options.clockToleranceSeconds ?? 60,
        requiredClaims: ['exp', 'iat'],
      }));
    } catch (error) {
      throw jwtRefusal('the delivery token', error);
    }
    for (const [claim, allowed] of Object.entries(options.claims ?? {})) {
      if (!allowed.includes(payload[claim] as string | boolean)) {
        throw new UnauthenticatedError(
          `the delivery token's ${claim} is not the configured sender; check the subscription's identity`,
        );
      }
    }
    return payload;
  };
}

/** Issuers of Google-signed ID tokens. */
export const GOOGLE_ISSUERS = ['https://accounts.google.com', 'accounts.google.com'] as const;
/** Google's OIDC signing keys. */
export const GOOGLE_OIDC_JWKS_URL = 'https://www.googleapis.com/oauth2/v3/certs';

/**
 * A Pub/Sub push (or Eventarc, or Cloud Scheduler) delivery: Google signs
 * an ID token for `audiences` naming the push service account in `email`.
 */
export function googlePushAuth(settings: {
  readonly audiences: readonly string[];
  readonly serviceAccount: string;
  readonly jwks?: URL | JSONWebKeySet;
  readonly fetch?: typeof globalThis.fetch;
}): PushAuthOptions {
  return {
    jwks: settings.jwks ?? new URL(GOOGLE_OIDC_JWKS_URL),
    issuers: GOOGLE_ISSUERS,
    audiences: settings.audiences,
    claims: { email: [settings.serviceAccount], email_verified: [true] },
    ...(settings.fetch && { fetch: settings.fetch }),
  };
}

/** Event Grid's first-party application: the `appid` (v1) or `azp` (v2) of the tokens it delivers with. */
export const EVENT_GRID_APP_ID = '4962773b-9cdb-44cf-a8bf-237846a00ab7';

/**
 * An Event Grid delivery with Entra ID authentication: a token for the
 * subscription's `azureActiveDirectoryApplicationIdOrUri` (`audiences`),
 * from `tenantId`, whose caller is Event Grid.
 */
export function entraPushAuth(settings: {
  readonly tenantId: string;
  readonly audiences: readonly string[];
  readonly jwks?: URL | JSONWebKeySet;
  readonly fetch?: typeof globalThis.fetch;
}): PushAuthOptions {
  const { tenantId } = settings;
  return {
    jwks: settings.jwks ?? new URL(`https://login.microsoftonline.com/${tenantId}/discovery/v2.0/keys`),
    issuers: [`https://sts.windows.net/${tenantId}/`, `https://login.microsoftonline.com/${tenantId}/v2.0`],
    audiences: settings.audiences,
    claims: { tid: [tenantId] },
    ...(settings.fetch && { fetch: settings.fetch }),
  };
}

/**
 * A shared secret in a header, for a bus that cannot sign tokens (Event
 * Grid's delivery attribute marked secret). Compared in constant time.
 */
export function sharedSecretAuth(header: string, secret: string): PushAuthenticator {
  if (secret.length < 32) throw new TypeError('a delivery secret must be at least 32 characters');
  const expected = Buffer.from(secret);
  const name = header.toLowerCase();
  return async (request) => {
    const given = Buffer.from(request.headers[name] ?? '');
    if (given.length !== expected.length || !timingSafeEqual(given, expected)) {
      throw new UnauthenticatedError(`this function takes events only from its bus: ${header} is wrong`);
    }
    return {};
  };
}

/**
 * Event Grid's `appid`/`azp` check beside the token's: the caller must be
 * Event Grid, in either token version.
 */
export function requireEventGridCaller(check: PushAuthenticator): PushAuthenticator {
  return async (request) => {
    const claims = await check(request);
    if (claims.appid !== EVENT_GRID_APP_ID && claims.azp !== EVENT_GRID_APP_ID) {
      throw new UnauthenticatedError('the delivery token was not issued to Event Grid');
    }
    return claims;
  };
}
