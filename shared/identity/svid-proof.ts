/**
 * Proof of a current X.509-SVID, for renewing it and for fetching JWT-SVIDs
 * without attesting again: a compact JWS (ES256) signed by the SVID's private
 * key, whose `x5c` header carries the SVID chain. The control plane checks
 * the chain against the trust bundle, the signature against the leaf's key,
 * freshness, and what the payload binds (the new CSR, or the audience).
 * Agents make proofs with {@link createSvidProof}.
 *
 * Why not mTLS: the API runs behind cloud HTTP front doors (API Gateway,
 * Cloud Functions, Azure Functions) that end TLS and do not pass client
 * certificates through, so the proof travels in the body.
 *
 * @module
 */
import { createHash, createPrivateKey, type KeyObject, type webcrypto } from 'node:crypto';
import { decodeProtectedHeader, type JWTPayload, jwtVerify, SignJWT } from 'jose';
import { UnauthenticatedError } from '../model/errors.js';
import type { ParsedBundle } from './bundle.js';
import { type VerifiedX509Svid, verifyX509SvidChain } from './x509-svid-chain.js';

/** `typ` of every proof, so no other JWS can pass for one (RFC 8725 §3.11). */
export const SVID_PROOF_TYPE = 'weft-svid-proof+jwt';
/** `aud` of a proof that renews the X.509-SVID (`POST /v1/svid/x509`). */
export const RENEW_PROOF_AUDIENCE = 'weft-svid-renew';
/** `aud` of a proof that fetches a JWT-SVID (`POST /v1/svid/jwt`). */
export const JWT_PROOF_AUDIENCE = 'weft-svid-jwt';
/** How far a proof's `iat` may be from the server's clock, either way. */
export const SVID_PROOF_MAX_SKEW_MS = 300_000;
const MAX_PROOF_CHARS = 16_384;
const BASE64 = /^[A-Za-z0-9+/]{1,11000}={0,2}$/;

/** What a proof is for: its `aud`. */
export type SvidProofAudience = typeof RENEW_PROOF_AUDIENCE | typeof JWT_PROOF_AUDIENCE;

/** What a proof says. `iat` defaults to now. */
export interface SvidProofPayload {
  readonly aud: SvidProofAudience;
  readonly iat?: number;
  /** Renewal: base64url SHA-256 of the new CSR's PEM text, exactly as sent. */
  readonly csr_sha256?: string;
  /** JWT-SVID: the audience asked for. */
  readonly audience?: string;
}

/** base64url SHA-256 of a CSR's PEM text: what a renewal proof binds. */
export function csrSha256(csrPem: string): string {
  return createHash('sha256').update(csrPem).digest('base64url');
}

/**
 * Signs a proof with the current SVID's key. `chain` is the SVID's PEM chain
 * (`certChain` as issued: leaf first), as separate strings or one.
 *
 * @example
 * const proof = await createSvidProof(keyPem, certChain, { aud: RENEW_PROOF_AUDIENCE, csr_sha256: csrSha256(csr) });
 * await fetch(`${api}/v1/svid/x509`, { method: 'POST', body: JSON.stringify({ csr, proof }) });
 */
export async function createSvidProof(
  privateKey: string | KeyObject | webcrypto.CryptoKey,
  chain: string | readonly string[],
  payload: SvidProofPayload,
): Promise<string> {
  const x5c = [...(typeof chain === 'string' ? [chain] : chain).join('\n').matchAll(PEM_CERT)].map((m) =>
    m[1]!.replace(/\s/g, ''),
  );
  if (x5c.length === 0) throw new TypeError('createSvidProof needs the SVID chain as PEM');
  const key = typeof privateKey === 'string' ? createPrivateKey(privateKey) : privateKey;
  const { iat = Math.floor(Date.now() / 1000), ...claims } = payload;
  return new SignJWT({ ...claims })
    .setProtectedHeader({ alg: 'ES256', typ: SVID_PROOF_TYPE, x5c })
    .setIssuedAt(iat)
    .sign(key);
}

const PEM_CERT = /-----BEGIN CERTIFICATE-----([A-Za-z0-9+/=\s]+)-----END CERTIFICATE-----/g;

/** Options of {@link verifySvidProof}. */
export interface VerifySvidProofOptions {
  readonly bundle: ParsedBundle;
  readonly trustDomain: string;
  readonly audience: SvidProofAudience;
  /** Claims the payload must carry with exactly these values (`csr_sha256`, `audience`). */
  readonly claims?: Readonly<Record<string, string>>;
  /** @default 5 minutes */
  readonly maxSkewMs?: number;
  /** @default new Date() */
  readonly now?: Date;
}

/** A proof that verified: who signed it, and when. */
export interface VerifiedSvidProof extends VerifiedX509Svid {
  /** Epoch seconds. */
  readonly issuedAt: number;
  readonly payload: JWTPayload;
}

/**
 * Verifies a proof: the `x5c` chain against the bundle (see
 * `verifyX509SvidChain`), ES256 by the leaf's key, `typ`, `aud`, `iat`
 * within the skew, and the bound claims.
 *
 * @throws UnauthenticatedError saying which check failed.
 */
export async function verifySvidProof(
  proof: string,
  options: VerifySvidProofOptions,
): Promise<VerifiedSvidProof> {
  const refuse = (why: string, cause?: unknown) =>
    new UnauthenticatedError(`SVID proof refused: ${why}`, { cause });
  if (typeof proof !== 'string' || proof.length > MAX_PROOF_CHARS) throw refuse('missing or too long');
  let header: ReturnType<typeof decodeProtectedHeader>;
  try {
    header = decodeProtectedHeader(proof);
  } catch (error) {
    throw refuse('not a compact JWS', error);
  }
  if (header.alg !== 'ES256') throw refuse(`algorithm ${String(header.alg)} is not ES256`);
  if (header.typ !== SVID_PROOF_TYPE) throw refuse(`typ must be ${SVID_PROOF_TYPE}`);
  const x5c = header.x5c;
  if (!Array.isArray(x5c) || !x5c.every((c) => typeof c === 'string' && BASE64.test(c))) {
    throw refuse('x5c must be the SVID chain as base64 DER certificates');
  }
  const now = options.now ?? new Date();
  const svid = await verifyX509SvidChain(
    x5c.map((c) => new Uint8Array(Buffer.from(c, 'base64'))),
    { bundle: options.bundle, trustDomain: options.trustDomain, now },
  );
  let payload: JWTPayload;
  try {
    ({ payload } = await jwtVerify(proof, await svid.leaf.publicKey.export(), {
      algorithms: ['ES256'],
      typ: SVID_PROOF_TYPE,
      audience: options.audience,
      currentDate: now,
      requiredClaims: ['iat'],
    }));
  } catch (error) {
    throw refuse(`not signed by the SVID's key for ${options.audience}, or a bad claim`, error);
  }
  const skew = options.maxSkewMs ?? SVID_PROOF_MAX_SKEW_MS;
  const iat = payload.iat!;
  if (Math.abs(now.getTime() - iat * 1000) > skew) throw refuse(`iat is more than ${skew / 1000} s from now`);
  for (const [name, value] of Object.entries(options.claims ?? {})) {
    if (payload[name] !== value) throw refuse(`claim ${name} does not match the request`);
  }
  return { ...svid, issuedAt: iat, payload };
}
