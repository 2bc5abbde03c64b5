/**
 * An authority statement: what one cloud's CA tells its peers it trusts
 * others to verify (its intermediates, its JWT-SVID and snapshot signing
 * keys), so every cloud's trust bundle holds the same set. A signed
 * manifest (`signed-manifest.ts`): a compact JWS (`typ:
 * weft-authority+jws`, ES256) signed by the cloud's active intermediate,
 * whose certificate rides in `x5c`, with the issuer, trust domain,
 * sequence and `iat` in its payload and the SHA-256 of the content beside
 * it, `{ intermediates, jwtKeys }` as JSON. A peer checks that certificate
 * against the mesh root it already has, so the root is the only anchor and
 * the statement needs no other channel to be trusted.
 *
 * The content lists PEM certificates, which rotation keeps until they
 * expire: two or three intermediates and JWT keys pass the 4 KiB a KMS
 * key signs, so they are named, not signed.
 *
 * @module
 */
import { webcrypto } from 'node:crypto';
import { compactVerify, decodeProtectedHeader, importJWK } from 'jose';
import * as z from 'zod';
import { ValidationError } from '../model/errors.js';
import { PROVIDERS, type Provider } from '../model/specs.js';
import type { PeerAuthority } from './ca-store.js';
import { namesContent, signManifest, splitManifest } from './signed-manifest.js';
import type { Signer } from './signer.js';
import { toDer, toPem, x509 } from './x509.js';

export const AUTHORITY_JWS_TYPE = 'weft-authority+jws';

/** What a statement says. */
export interface AuthorityClaims {
  readonly iss: Provider;
  readonly trustDomain: string;
  /** The issuing CA's own authority sequence: a greater one replaces a peer's earlier statement. */
  readonly sequence: number;
  readonly iat: number;
  readonly intermediates: readonly { readonly certPem: string; readonly notAfter: string }[];
  readonly jwtKeys: PeerAuthority['jwtKeys'];
}

/** Signs `claims` with `provider`'s active intermediate. */
export async function signAuthorityStatement(
  claims: AuthorityClaims,
  issuer: { readonly certificate: x509.X509Certificate; readonly signer: Signer },
): Promise<string> {
  const x5c = [Buffer.from(toDer(issuer.certificate)).toString('base64')];
  const { intermediates, jwtKeys, ...manifest } = claims;
  return signManifest(
    issuer.signer,
    { typ: AUTHORITY_JWS_TYPE, x5c },
    manifest,
    JSON.stringify({ intermediates, jwtKeys }),
  );
}

const jwk = z.looseObject({ kty: z.literal('EC'), crv: z.literal('P-256'), x: z.string(), y: z.string() });
const manifestSchema = z.object({
  iss: z.enum(PROVIDERS),
  trustDomain: z.string().min(1).max(255),
  sequence: z.int().nonnegative(),
  iat: z.int().nonnegative(),
  sha256: z.string(),
});
const contentSchema = z.object({
  intermediates: z.array(z.object({ certPem: z.string().max(16_384), notAfter: z.iso.datetime() })).max(16),
  jwtKeys: z
    .array(
      z.object({
        provider: z.enum(PROVIDERS),
        kid: z.string().min(1).max(128),
        publicJwk: jwk,
        notAfter: z.iso.datetime(),
        activatesAt: z.iso.datetime().optional(),
      }),
    )
    .max(16),
});

/**
 * Verifies a peer's statement against the mesh `root`: the `x5c`
 * certificate is a CA signed by the root, valid now, and listed among the
 * statement's intermediates; the JWS verifies with its key and names the
 * content; every listed intermediate is signed by the root; every JWT key
 * is the issuer's own.
 *
 * @returns the peer's authorities, ready to trust.
 * @throws ValidationError saying what did not hold.
 */
export async function verifyAuthorityStatement(
  statement: string,
  root: x509.X509Certificate,
  expected: { readonly trustDomain: string; readonly now: Date },
): Promise<PeerAuthority> {
  const refuse = (detail: string, cause?: unknown) =>
    new ValidationError(`authority statement refused: ${detail}`, [], { cause });
  const parts = splitManifest(statement);
  if (!parts) throw refuse('not a signed manifest with its content');
  let signer: x509.X509Certificate;
  try {
    const header = decodeProtectedHeader(parts.jws);
    if (header.alg !== 'ES256' || header.typ !== AUTHORITY_JWS_TYPE || header.x5c?.length !== 1)
      throw new Error(`alg ${header.alg}, typ ${header.typ}`);
    signer = new x509.X509Certificate(Buffer.from(header.x5c[0]!, 'base64'));
  } catch (cause) {
    throw refuse('not a compact JWS of this type with one x5c certificate', cause);
  }
  const signedByRoot = async (cert: x509.X509Certificate) =>
    cert.verify({ publicKey: root.publicKey, date: expected.now }).catch(() => false);
  if (!(await signedByRoot(signer)) || !signer.getExtension(x509.BasicConstraintsExtension)?.ca)
    throw refuse('its certificate is no intermediate of this mesh root valid now');
  let manifest: z.infer<typeof manifestSchema>;
  try {
    const publicJwk = await webcrypto.subtle.exportKey('jwk', await signer.publicKey.export());
    const key = await importJWK({ ...publicJwk, alg: 'ES256' }, 'ES256');
    const { payload } = await compactVerify(parts.jws, key, { algorithms: ['ES256'] });
    manifest = manifestSchema.parse(JSON.parse(new TextDecoder().decode(payload)));
  } catch (cause) {
    throw refuse('the signature or the claims do not check', cause);
  }
  if (!namesContent(manifest, parts.content))
    throw refuse('the signature or the claims do not check: the content is not the one it names');
  let claims: z.infer<typeof manifestSchema> & z.infer<typeof contentSchema>;
  try {
    claims = { ...manifest, ...contentSchema.parse(JSON.parse(parts.content)) };
  } catch (cause) {
    throw refuse('the claims do not check', cause);
  }
  if (claims.trustDomain !== expected.trustDomain)
    throw refuse(`it is for trust domain ${claims.trustDomain}, not ${expected.trustDomain}`);
  const signerPem = toPem(signer);
  if (!claims.intermediates.some((i) => i.certPem === signerPem))
    throw refuse('its signing certificate is not among the intermediates it lists');
  for (const { certPem } of claims.intermediates) {
    if (!(await signedByRoot(new x509.X509Certificate(certPem))))
      throw refuse('it lists an intermediate this mesh root did not sign');
  }
  if (claims.jwtKeys.some((k) => k.provider !== claims.iss))
    throw refuse(`${claims.iss} may publish only its own JWT keys`);
  return {
    provider: claims.iss,
    sequence: claims.sequence,
    intermediates: claims.intermediates,
    jwtKeys: claims.jwtKeys,
    statement,
  };
}
