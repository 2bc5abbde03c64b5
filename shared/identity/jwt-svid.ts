/**
 * JWT-SVIDs (SPIFFE JWT-SVID standard): ES256, `kid` in the header, `sub` =
 * SPIFFE ID, one `aud`, short-lived. Issued through the {@link Signer} port;
 * verified against the trust bundle with jose, and cached until `exp` so a
 * gateway checks each token's signature once.
 *
 * @module
 */
import { decodeProtectedHeader, errors, importJWK, type JWTPayload, jwtVerify } from 'jose';
import { UnauthenticatedError, ValidationError } from '../model/errors.js';
import { parseSpiffeId } from '../model/names.js';
import type { Provider } from '../model/specs.js';
import type { ParsedBundle } from './bundle.js';
import type { MeshCa } from './ca.js';
import { signCompactJws } from './signer.js';

/** Default JWT-SVID lifetime: 5 minutes. */
export const JWT_SVID_DEFAULT_TTL_MS = 300_000;
/** Longest JWT-SVID lifetime: 1 hour. */
export const JWT_SVID_MAX_TTL_MS = 3_600_000;
const MAX_TOKEN_CHARS = 8192;

/** Input of {@link issueJwtSvid}. */
export interface IssueJwtSvidOptions {
  readonly spiffeId: string;
  readonly audience: string;
  /** @default 5 minutes; at most 1 hour */
  readonly ttlMs?: number;
  /** Whose JWT key signs. */
  readonly provider: Provider;
  /** @default new Date() */
  readonly now?: Date;
}

/** An issued JWT-SVID. */
export interface JwtSvid {
  readonly token: string;
  readonly spiffeId: string;
  readonly expiresAt: Date;
}

/**
 * Issues a JWT-SVID for `spiffeId`, good for `audience` only.
 *
 * @throws ValidationError for a SPIFFE ID outside the trust domain, an empty audience or a bad TTL.
 */
export async function issueJwtSvid(ca: MeshCa, options: IssueJwtSvidOptions): Promise<JwtSvid> {
  const { spiffeId, audience, provider } = options;
  const ttlMs = options.ttlMs ?? JWT_SVID_DEFAULT_TTL_MS;
  const now = options.now ?? new Date();
  const parsed = parseSpiffeId(spiffeId);
  if (!parsed || parsed.path === '' || parsed.trustDomain !== ca.trustDomain) {
    throw new ValidationError(`not a workload SPIFFE ID in trust domain ${ca.trustDomain}`, [
      { pointer: '/spiffeId', detail: spiffeId },
    ]);
  }
  if (typeof audience !== 'string' || audience.length === 0 || audience.length > 512) {
    throw new ValidationError('audience must be 1 to 512 characters', [
      { pointer: '/audience', detail: 'required' },
    ]);
  }
  if (!Number.isSafeInteger(ttlMs) || ttlMs < 10_000 || ttlMs > JWT_SVID_MAX_TTL_MS) {
    throw new ValidationError('ttl must be between 10 seconds and 1 hour', [
      { pointer: '/ttl', detail: `${ttlMs}` },
    ]);
  }
  const key = await ca.jwtSigningKey(provider);
  const exp = Math.floor(Math.min(now.getTime() + ttlMs, key.notAfter.getTime()) / 1000);
  const iat = Math.floor(now.getTime() / 1000);
  const claims = { sub: spiffeId, aud: audience, iat, exp };
  const token = await signCompactJws(key.signer, { kid: key.kid, typ: 'JWT' }, JSON.stringify(claims));
  return { token, spiffeId, expiresAt: new Date(exp * 1000) };
}

/** Configuration of {@link JwtSvidVerifier}. */
export interface JwtSvidVerifierOptions {
  readonly bundle: ParsedBundle;
  /** When set, `sub` must be in this trust domain. */
  readonly trustDomain?: string;
  /** Tolerated clock difference for `exp`/`iat`. @default 30 seconds */
  readonly clockSkewMs?: number;
  /** Verified tokens remembered until their `exp`. @default 4096 */
  readonly maxCacheEntries?: number;
  /** @default () => new Date() */
  readonly now?: () => Date;
}

/** What a valid JWT-SVID says. */
export interface VerifiedJwtSvid {
  readonly spiffeId: string;
  readonly audience: readonly string[];
  readonly expiresAt: Date;
  readonly kid: string;
  readonly claims: JWTPayload;
}

/**
 * Verifies JWT-SVIDs against the `jwt-svid` keys of a trust bundle.
 *
 * @example
 * const verifier = new JwtSvidVerifier({ bundle: parseBundle(json), trustDomain: 'acme.test' });
 * const { spiffeId } = await verifier.verify(bearer, 'spiffe://acme.test/gw');
 */
export class JwtSvidVerifier {
  readonly #options: JwtSvidVerifierOptions;
  #bundle: ParsedBundle;
  #keys = new Map<string, ReturnType<typeof importJWK>>();
  /**
   * By the token itself: a gateway looks one up on every call, and hashing
   * it cost more than the lookup saved (issue 5). Only tokens that verified
   * get in, so keys are the mesh's own JWT-SVIDs, a few hundred bytes each.
   */
  readonly #cache = new Map<string, { audience: string; expiresAtMs: number; verified: VerifiedJwtSvid }>();

  constructor(options: JwtSvidVerifierOptions) {
    this.#options = options;
    this.#bundle = options.bundle;
  }

  /** Swaps in a newer bundle and forgets every cached verification. */
  updateBundle(bundle: ParsedBundle): void {
    this.#bundle = bundle;
    this.#keys = new Map();
    this.#cache.clear();
  }

  /** Number of cached verifications (for metrics and tests). */
  get cacheSize(): number {
    return this.#cache.size;
  }

  /**
   * The verification of `token` for `audience` remembered from an earlier
   * {@link verify}, while unexpired; `undefined` otherwise. Synchronous, so a
   * gateway's hot path takes no promise for the common case.
   */
  cached(token: string, audience: string): VerifiedJwtSvid | undefined {
    return this.#hit(token, audience, this.#options.now ? this.#options.now().getTime() : Date.now());
  }

  #hit(token: string, audience: string, nowMs: number): VerifiedJwtSvid | undefined {
    const hit = this.#cache.get(token);
    if (!hit || hit.audience !== audience) return undefined;
    // Deleted and set again: the Map's order is then least recently used first.
    this.#cache.delete(token);
    if (hit.expiresAtMs <= nowMs) return undefined;
    this.#cache.set(token, hit);
    return hit.verified;
  }

  /**
   * Verifies `token` for `audience`: ES256 only, a `kid` in the bundle, a valid
   * signature, `aud` containing `audience`, unexpired, `sub` a SPIFFE ID.
   *
   * @throws UnauthenticatedError saying which of those failed.
   */
  async verify(token: string, audience: string): Promise<VerifiedJwtSvid> {
    const now = this.#now();
    const hit = this.#hit(token, audience, now.getTime());
    if (hit) return hit;
    const verified = await this.#verify(token, audience, now);
    this.#cache.set(token, { audience, expiresAtMs: verified.expiresAt.getTime(), verified });
    const max = this.#options.maxCacheEntries ?? 4096;
    for (const oldest of this.#cache.keys()) {
      if (this.#cache.size <= max) break;
      this.#cache.delete(oldest);
    }
    return verified;
  }

  #now(): Date {
    return this.#options.now?.() ?? new Date();
  }

  async #verify(token: string, audience: string, now: Date): Promise<VerifiedJwtSvid> {
    const refuse = (why: string, cause?: unknown) =>
      new UnauthenticatedError(`JWT-SVID refused: ${why}`, { cause });
    if (typeof token !== 'string' || token.length > MAX_TOKEN_CHARS) throw refuse('missing or too long');
    let header: ReturnType<typeof decodeProtectedHeader>;
    try {
      header = decodeProtectedHeader(token);
    } catch (error) {
      throw refuse('not a compact JWS', error);
    }
    if (header.alg !== 'ES256') throw refuse(`algorithm ${String(header.alg)} is not ES256`);
    if (header.typ !== undefined && header.typ !== 'JWT' && header.typ !== 'JOSE') throw refuse('bad typ');
    const kid = header.kid;
    const jwk = typeof kid === 'string' ? this.#bundle.jwtKeys.get(kid) : undefined;
    if (!kid || !jwk) throw refuse(`unknown kid ${JSON.stringify(kid)} (not in the trust bundle)`);
    let key = this.#keys.get(kid);
    if (!key) {
      key = importJWK({ ...jwk, alg: 'ES256' }, 'ES256');
      this.#keys.set(kid, key);
    }
    let payload: JWTPayload;
    try {
      ({ payload } = await jwtVerify(token, await key, {
        algorithms: ['ES256'],
        audience,
        clockTolerance: Math.floor((this.#options.clockSkewMs ?? 30_000) / 1000),
        currentDate: now,
        requiredClaims: ['sub', 'aud', 'exp'],
      }));
    } catch (error) {
      if (error instanceof errors.JWTExpired) throw refuse('expired', error);
      if (error instanceof errors.JWTClaimValidationFailed)
        throw refuse(`claim ${error.claim}: ${error.reason}`, error);
      if (error instanceof errors.JWSSignatureVerificationFailed)
        throw refuse('signature does not verify', error);
      throw refuse(error instanceof Error ? error.message : 'invalid', error);
    }
    const sub = parseSpiffeId(payload.sub ?? '');
    if (!sub || sub.path === '') throw refuse('sub is not a workload SPIFFE ID');
    const td = this.#options.trustDomain;
    if (td && sub.trustDomain !== td) throw refuse(`sub is not in trust domain ${td}`);
    const aud = Array.isArray(payload.aud) ? payload.aud : [payload.aud ?? ''];
    return {
      spiffeId: payload.sub!,
      audience: aud,
      expiresAt: new Date(payload.exp! * 1000),
      kid,
      claims: payload,
    };
  }
}
