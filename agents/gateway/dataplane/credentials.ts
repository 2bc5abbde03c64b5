/**
 * The gateway's credentials as TLS wants them: its X.509-SVID chain and key,
 * and the trust bundle's X.509 authorities as anchors. Checked when handed
 * over (key matches leaf, leaf names one SPIFFE ID), so bad credentials are
 * refused at rotation time and the old ones keep serving.
 *
 * @module
 */
import { createHash, createPrivateKey, X509Certificate } from 'node:crypto';
import type { PeerCertificate } from 'node:tls';
import { type ParsedBundle, parseBundle, type SpiffeBundle } from '../../../shared/identity/bundle.js';
import { ValidationError } from '../../../shared/model/errors.js';

/** What the agent's rotation loop hands the data plane. */
export interface Credentials {
  /** PKCS#8 (or SEC1) PEM of the SVID's private key. */
  readonly keyPem: string;
  /** The X.509-SVID, leaf first, then its intermediate(s). */
  readonly certChainPem: readonly string[];
  /** The trust bundle: parsed, or as `GET /v1/bundle` serves it. */
  readonly bundle: ParsedBundle | SpiffeBundle | string;
}

/** Credentials checked and ready for `tls.createSecureContext` and undici. */
export interface CredentialMaterial {
  readonly keyPem: string;
  /** Leaf and intermediates, concatenated: what `cert` takes. */
  readonly certPem: string;
  /** Every X.509 authority of the bundle, PEM: what `ca` takes. */
  readonly caPem: readonly string[];
  readonly bundle: ParsedBundle;
  /** Changes exactly when the bundle's keys change (for the JWT-SVID verifier's cache). */
  readonly bundleFingerprint: string;
  /** The SPIFFE ID the leaf carries. */
  readonly spiffeId: string;
  readonly expiresAt: Date;
}

function isParsed(bundle: Credentials['bundle']): bundle is ParsedBundle {
  return typeof bundle === 'object' && bundle !== null && 'x509Authorities' in bundle;
}

/**
 * Checks and prepares credentials.
 *
 * @throws ValidationError when the chain is empty or unreadable, the key is
 *   not the leaf's, the leaf has not exactly one URI SAN, or the bundle has
 *   no X.509 authority.
 */
export function loadCredentials(credentials: Credentials): CredentialMaterial {
  const bundle = isParsed(credentials.bundle) ? credentials.bundle : parseBundle(credentials.bundle);
  if (bundle.x509Authorities.length === 0)
    throw new ValidationError('the trust bundle has no X.509 authority', [
      { pointer: '/bundle', detail: 'empty' },
    ]);
  const [leafPem] = credentials.certChainPem;
  if (!leafPem)
    throw new ValidationError('no certificate chain', [{ pointer: '/certChainPem', detail: 'empty' }]);
  let leaf: X509Certificate;
  try {
    leaf = new X509Certificate(leafPem);
    if (!leaf.checkPrivateKey(createPrivateKey(credentials.keyPem))) throw new Error('key mismatch');
  } catch (error) {
    throw new ValidationError('the key does not belong to a readable leaf certificate', [], { cause: error });
  }
  const uris = uriSans(leaf.subjectAltName);
  if (uris.length !== 1 || !uris[0])
    throw new ValidationError('the leaf must carry exactly one URI SAN', [
      { pointer: '/certChainPem/0', detail: leaf.subjectAltName ?? 'none' },
    ]);
  const hash = createHash('sha256');
  for (const a of bundle.x509Authorities) hash.update(a.der);
  for (const [kid, jwk] of [...bundle.jwtKeys].sort(([a], [b]) => (a < b ? -1 : 1)))
    hash.update(`${kid}:${jwk.x}:${jwk.y}\n`);
  return {
    keyPem: credentials.keyPem,
    certPem: credentials.certChainPem.map((pem) => (pem.endsWith('\n') ? pem : `${pem}\n`)).join(''),
    caPem: bundle.x509Authorities.map((a) => a.pem),
    bundle,
    bundleFingerprint: hash.digest('hex'),
    spiffeId: uris[0],
    expiresAt: new Date(leaf.validTo),
  };
}

/** The URI SANs of a `subjectaltname` string (`URI:spiffe://..., DNS:...`). */
export function uriSans(subjectAltName: string | undefined): string[] {
  if (!subjectAltName) return [];
  // SPIFFE IDs hold no ',' or ' ' (see parseSpiffeId), so splitting is safe for the IDs we accept.
  return subjectAltName
    .split(', ')
    .filter((entry) => entry.startsWith('URI:'))
    .map((entry) => entry.slice(4));
}

/** The URI SANs of a TLS peer's certificate. */
export function peerSpiffeIds(certificate: PeerCertificate | undefined): string[] {
  return uriSans(certificate?.subjectaltname);
}
