/**
 * One-time join tokens (SPIRE's `join_token`): an operator mints a token
 * bound to one SPIFFE ID and hands it to the agent out of band; the agent
 * trades it once for an SVID. Tokens are 32 random bytes (base64url); only
 * their SHA-256 is stored.
 *
 * @module
 */
import { createHash, randomBytes } from 'node:crypto';
import * as z from 'zod';
import { type AttestationRules, isMeshIdentity } from '../../model/attestation-rules.js';
import { parseDuration } from '../../model/duration.js';
import { UnauthenticatedError, ValidationError } from '../../model/errors.js';
import { JOIN_TOKEN_MAX_TTL_MS } from '../../model/kinds.js';
import { type AttestationResult, type Attestor, parseProof } from './attestor.js';
import type { JoinTokenStore } from './join-token-store.js';

export { JOIN_TOKEN_MAX_TTL_MS };

/** Join tokens live 10 minutes unless asked otherwise. */
export const JOIN_TOKEN_DEFAULT_TTL_MS = 600_000;
const DEFAULT_MAX_TTL_MS = 3_600_000;
const TOKEN = /^[A-Za-z0-9_-]{43}$/;

/** The stored form of a token: base64url SHA-256. */
export function hashJoinToken(token: string): string {
  return createHash('sha256').update(token).digest('base64url');
}

/** Input of {@link createJoinToken}. */
export interface CreateJoinTokenOptions {
  readonly store: JoinTokenStore;
  readonly rules: AttestationRules;
  /** The Gateway or Service SPIFFE ID the token grants. */
  readonly spiffeId: string;
  /** @default 10 minutes; at most the Mesh's `joinToken.maxTtl` (default 1 hour, never over 24 hours) */
  readonly ttlMs?: number;
  /** @default Date.now() */
  readonly now?: number;
}

/**
 * Mints a join token. The token is returned once and never stored.
 *
 * @throws ValidationError when join tokens are off in the Mesh, or for a bad SPIFFE ID or TTL.
 */
export async function createJoinToken(
  options: CreateJoinTokenOptions,
): Promise<{ token: string; expiresAt: Date }> {
  const { store, rules, spiffeId, ttlMs = JOIN_TOKEN_DEFAULT_TTL_MS, now = Date.now() } = options;
  if (!rules.joinToken)
    throw new ValidationError('join tokens are not enabled in the Mesh (spec.attestation.joinToken)');
  if (!isMeshIdentity(spiffeId)) {
    throw new ValidationError('a join token must name a Gateway or Service SPIFFE ID', [
      { pointer: '/spiffeId', detail: spiffeId },
    ]);
  }
  const maxTtlMs = Math.min(
    rules.joinToken.maxTtl ? parseDuration(rules.joinToken.maxTtl) : DEFAULT_MAX_TTL_MS,
    JOIN_TOKEN_MAX_TTL_MS,
  );
  if (!Number.isSafeInteger(ttlMs) || ttlMs < 1000 || ttlMs > maxTtlMs) {
    throw new ValidationError(`ttl must be between 1 second and ${maxTtlMs / 1000} seconds`, [
      { pointer: '/ttl', detail: `${ttlMs} ms` },
    ]);
  }
  const token = randomBytes(32).toString('base64url');
  const expiresAt = now + ttlMs;
  await store.put(hashJoinToken(token), { spiffeId, expiresAt });
  return { token, expiresAt: new Date(expiresAt) };
}

const proofSchema = z.strictObject({ token: z.string().max(256) });

/** Attests an agent by a join token, consuming it. */
export class JoinTokenAttestor implements Attestor {
  readonly method = 'join_token' as const;
  readonly #store: JoinTokenStore;
  readonly #now: () => number;

  constructor(options: { store: JoinTokenStore; now?: () => number }) {
    this.#store = options.store;
    this.#now = options.now ?? Date.now;
  }

  async attest(proof: unknown, rules: AttestationRules): Promise<AttestationResult> {
    const { token } = parseProof(proofSchema, proof, this.method);
    if (!rules.joinToken) throw new UnauthenticatedError('join-token attestation is not enabled in the Mesh');
    // Malformed tokens are as unknown as forged ones: same answer, no store round trip.
    const entry = TOKEN.test(token) ? await this.#store.consume(hashJoinToken(token)) : undefined;
    if (!entry) throw new UnauthenticatedError('unknown or already used join token');
    if (entry.expiresAt <= this.#now()) throw new UnauthenticatedError('join token expired');
    return {
      method: this.method,
      spiffeId: entry.spiffeId,
      selectors: [`join_token:${hashJoinToken(token).slice(0, 16)}`],
    };
  }
}
