/**
 * Verifying an X.509-SVID chain against a trust bundle, outside TLS: what the
 * control plane does with the chain an agent presents to renew its SVID
 * (see `svid-proof.ts`). Every `x509-svid` key in the bundle is a trust
 * anchor, as the SPIFFE bundle format says, so a chain may end at the root
 * or at a listed intermediate.
 *
 * @module
 */
import type { webcrypto } from 'node:crypto';
import { UnauthenticatedError } from '../model/errors.js';
import { parseSpiffeId } from '../model/names.js';
import type { ParsedBundle } from './bundle.js';
import { x509 } from './x509.js';

/** Leaf plus at most three CAs: weft's chains are leaf + intermediate. */
const MAX_CHAIN = 4;
/** Tolerated clock difference at `notBefore` only; an expired certificate is expired. */
const NOT_BEFORE_SKEW_MS = 60_000;

/** A chain that verified. */
export interface VerifiedX509Svid {
  readonly spiffeId: string;
  readonly leaf: x509.X509Certificate;
  readonly expiresAt: Date;
}

/** Options of {@link verifyX509SvidChain}. */
export interface VerifyX509SvidChainOptions {
  readonly bundle: ParsedBundle;
  /** The leaf's SPIFFE ID must be in this trust domain. */
  readonly trustDomain: string;
  /** @default new Date() */
  readonly now?: Date;
}

/**
 * Verifies `chain` (DER, leaf first): every certificate valid now, each
 * signed by the next, the last signed by (or equal to) a bundle authority;
 * CAs above the leaf; the leaf a non-CA EC P-256 certificate with exactly
 * one URI SAN, a SPIFFE ID in the trust domain.
 *
 * @throws UnauthenticatedError saying which check failed.
 */
export async function verifyX509SvidChain(
  chain: readonly Uint8Array[],
  options: VerifyX509SvidChainOptions,
): Promise<VerifiedX509Svid> {
  const refuse = (why: string, cause?: unknown) =>
    new UnauthenticatedError(`X.509-SVID chain refused: ${why}`, { cause });
  if (chain.length === 0 || chain.length > MAX_CHAIN)
    throw refuse(`it must hold 1 to ${MAX_CHAIN} certificates`);
  const now = options.now ?? new Date();
  const certs = chain.map((der, i) => {
    try {
      return new x509.X509Certificate(der);
    } catch (error) {
      throw refuse(`certificate ${i} is not DER X.509`, error);
    }
  });
  for (const [i, cert] of certs.entries()) {
    if (!validAt(cert, now)) throw refuse(`certificate ${i} is expired or not yet valid`);
    const isCa = cert.getExtension(x509.BasicConstraintsExtension)?.ca === true;
    if (i > 0 && !canSign(cert)) throw refuse(`certificate ${i} is not a CA`);
    if (i === 0 && isCa) throw refuse('the leaf is a CA certificate');
    const issuer = certs[i + 1];
    if (issuer && !(cert.issuer === issuer.subject && (await signedBy(cert, issuer)))) {
      throw refuse(`certificate ${i} is not signed by certificate ${i + 1}`);
    }
  }
  const last = certs.at(-1)!;
  const lastDer = Buffer.from(last.rawData);
  let anchored = false;
  for (const { certificate, der } of options.bundle.x509Authorities) {
    if (!validAt(certificate, now)) continue;
    if (lastDer.equals(der) || (last.issuer === certificate.subject && (await signedBy(last, certificate)))) {
      anchored = true;
      break;
    }
  }
  if (!anchored) throw refuse('it does not chain to the trust bundle');
  const leaf = certs[0]!;
  const algorithm = leaf.publicKey.algorithm as webcrypto.EcKeyAlgorithm;
  if (algorithm.name !== 'ECDSA' || algorithm.namedCurve !== 'P-256')
    throw refuse('the leaf key is not EC P-256');
  const names = leaf.getExtension(x509.SubjectAlternativeNameExtension)?.names.items ?? [];
  if (names.length !== 1 || names[0]?.type !== 'url') throw refuse('the leaf must name exactly one URI SAN');
  const spiffeId = names[0].value;
  const parsed = parseSpiffeId(spiffeId);
  if (!parsed || parsed.path === '') throw refuse('the leaf URI SAN is not a workload SPIFFE ID');
  if (parsed.trustDomain !== options.trustDomain)
    throw refuse(`the leaf is not in trust domain ${options.trustDomain}`);
  return { spiffeId, leaf, expiresAt: leaf.notAfter };
}

function validAt(cert: x509.X509Certificate, now: Date): boolean {
  const t = now.getTime();
  return cert.notBefore.getTime() - NOT_BEFORE_SKEW_MS <= t && t < cert.notAfter.getTime();
}

function canSign(cert: x509.X509Certificate): boolean {
  if (cert.getExtension(x509.BasicConstraintsExtension)?.ca !== true) return false;
  const usages = cert.getExtension(x509.KeyUsagesExtension)?.usages;
  return usages === undefined || (usages & x509.KeyUsageFlags.keyCertSign) !== 0;
}

async function signedBy(cert: x509.X509Certificate, issuer: x509.X509Certificate): Promise<boolean> {
  try {
    return await cert.verify({ publicKey: issuer.publicKey, signatureOnly: true });
  } catch {
    return false;
  }
}
