/**
 * The SPIFFE trust bundle (SPIFFE Trust Domain and Bundle standard, §4): a
 * JWKS whose `x509-svid` keys carry one CA certificate each in `x5c`, whose
 * `jwt-svid` keys carry a `kid`, plus `spiffe_sequence` and
 * `spiffe_refresh_hint`.
 *
 * Choice: the X.509 authorities are the root AND every unexpired
 * intermediate of every provider, one key each. Verifiers anchor on the root
 * (peers send their intermediate in the chain anyway); listing intermediates
 * lets an agent check a leaf sent without its chain and shows each cloud's
 * issuers, and the bundle stays the one document that says whom to trust.
 *
 * @module
 */
import { webcrypto } from 'node:crypto';
import * as z from 'zod';
import { ValidationError } from '../model/errors.js';
import type { MeshCa } from './ca.js';
import { toDer, x509 } from './x509.js';

/** How often agents should refetch the bundle, in seconds. */
export const DEFAULT_REFRESH_HINT_SECONDS = 300;

/** One JWK of the bundle: an X.509 authority or a JWT-SVID key. */
export interface BundleKey extends webcrypto.JsonWebKey {
  readonly use: 'x509-svid' | 'jwt-svid';
  /** `x509-svid` keys: exactly one base64 (not base64url) DER certificate. */
  readonly x5c?: readonly [string];
  /** `jwt-svid` keys: the JWS `kid`. */
  readonly kid?: string;
}

/** The document `GET /v1/bundle` serves. */
export interface SpiffeBundle {
  readonly keys: readonly BundleKey[];
  readonly spiffe_sequence: number;
  readonly spiffe_refresh_hint: number;
}

/** Builds the bundle of every unexpired authority in `ca`. */
export async function buildBundle(
  ca: MeshCa,
  options: { now?: Date; refreshHintSeconds?: number } = {},
): Promise<SpiffeBundle> {
  const now = options.now ?? new Date();
  const x509Keys = await Promise.all(
    ca.x509Authorities(now).map(async (cert): Promise<BundleKey> => {
      const { kty, crv, x, y } = await webcrypto.subtle.exportKey('jwk', await cert.publicKey.export());
      return { kty, crv, x, y, use: 'x509-svid', x5c: [Buffer.from(toDer(cert)).toString('base64')] };
    }),
  );
  const jwtKeys = ca.jwtAuthorities(now).map(({ kid, publicJwk: { kty, crv, x, y } }): BundleKey => {
    return { kty, crv, x, y, use: 'jwt-svid', kid };
  });
  return {
    keys: [...x509Keys, ...jwtKeys],
    spiffe_sequence: ca.bundleSequence,
    spiffe_refresh_hint: options.refreshHintSeconds ?? DEFAULT_REFRESH_HINT_SECONDS,
  };
}

/** One X.509 authority, in both encodings agents need. */
export interface X509Authority {
  readonly der: Uint8Array;
  readonly pem: string;
  readonly certificate: x509.X509Certificate;
}

/** A bundle as an agent or verifier uses it. */
export interface ParsedBundle {
  readonly sequence: number;
  readonly refreshHintSeconds: number;
  readonly x509Authorities: readonly X509Authority[];
  /** `jwt-svid` public keys by `kid`. */
  readonly jwtKeys: ReadonlyMap<string, webcrypto.JsonWebKey>;
}

const b64url = z.string().regex(/^[A-Za-z0-9_-]{1,128}$/);
const bundleSchema = z.object({
  keys: z
    .array(
      z.looseObject({
        use: z.string().max(64).optional(),
        kty: z.string().max(16),
        crv: z.string().max(16).optional(),
        x: b64url.optional(),
        y: b64url.optional(),
        kid: z.string().min(1).max(256).optional(),
        x5c: z.array(z.string().max(16_384)).optional(),
      }),
    )
    .max(1024),
  spiffe_sequence: z.int().min(0).optional(),
  spiffe_refresh_hint: z.int().min(0).optional(),
});

/**
 * Parses a bundle (JSON text or a parsed object). Keys with an unknown `use`
 * are skipped, as the standard asks.
 *
 * @throws ValidationError when the document, a certificate or a key is malformed.
 */
export function parseBundle(json: unknown): ParsedBundle {
  let data: unknown = json;
  if (typeof json === 'string') {
    try {
      data = JSON.parse(json);
    } catch (error) {
      throw new ValidationError('trust bundle is not JSON', [], { cause: error });
    }
  }
  const parsed = bundleSchema.safeParse(data);
  if (!parsed.success) throw new ValidationError(`malformed trust bundle: ${z.prettifyError(parsed.error)}`);
  const x509Authorities: X509Authority[] = [];
  const jwtKeys = new Map<string, webcrypto.JsonWebKey>();
  for (const [i, key] of parsed.data.keys.entries()) {
    const bad = (detail: string, cause?: unknown) =>
      new ValidationError(`bad trust bundle key ${i}: ${detail}`, [{ pointer: `/keys/${i}`, detail }], {
        cause,
      });
    if (key.use === 'x509-svid') {
      if (key.x5c?.length !== 1) throw bad('an x509-svid key needs exactly one x5c certificate');
      let certificate: x509.X509Certificate;
      try {
        certificate = new x509.X509Certificate(Buffer.from(key.x5c[0] ?? '', 'base64'));
      } catch (error) {
        throw bad('x5c is not a DER certificate', error);
      }
      if (!certificate.getExtension(x509.BasicConstraintsExtension)?.ca)
        throw bad('x5c is not a CA certificate');
      x509Authorities.push({ der: toDer(certificate), pem: `${certificate.toString('pem')}\n`, certificate });
    } else if (key.use === 'jwt-svid') {
      if (!key.kid) throw bad('a jwt-svid key needs a kid');
      if (key.kty !== 'EC' || key.crv !== 'P-256' || !key.x || !key.y)
        throw bad('a jwt-svid key must be EC P-256');
      if (jwtKeys.has(key.kid)) throw bad(`duplicate kid ${key.kid}`);
      jwtKeys.set(key.kid, { kty: 'EC', crv: 'P-256', x: key.x, y: key.y });
    }
  }
  return {
    sequence: parsed.data.spiffe_sequence ?? 0,
    refreshHintSeconds: parsed.data.spiffe_refresh_hint ?? DEFAULT_REFRESH_HINT_SECONDS,
    x509Authorities,
    jwtKeys,
  };
}
