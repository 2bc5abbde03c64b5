/**
 * X.509-SVID issuance (SPIFFE X509-SVID standard): a leaf whose only name is
 * one URI SAN, the SPIFFE ID, for a key the caller proved it holds with a
 * PKCS#10 CSR. Whatever else the CSR asks for is ignored.
 *
 * @module
 */
import type { webcrypto } from 'node:crypto';
import { ValidationError } from '../model/errors.js';
import { parseSpiffeId } from '../model/names.js';
import type { Provider } from '../model/specs.js';
import type { MeshCa } from './ca.js';
import { authorityKeyIdentifier } from './ca-certificates.js';
import { signerCrypto, signerCryptoKey } from './signer.js';
import { randomSerial, x509 } from './x509.js';

/** Default X.509-SVID lifetime: 1 hour. */
export const X509_SVID_DEFAULT_TTL_MS = 3_600_000;
/** Longest X.509-SVID lifetime: 24 hours. */
export const X509_SVID_MAX_TTL_MS = 24 * 3_600_000;
/** Leaves start a little in the past for peers whose clocks run behind. */
const BACKDATE_MS = 10_000;
const MAX_CSR_CHARS = 16_384;

/** Input of {@link issueX509Svid}. */
export interface IssueX509SvidOptions {
  /** PEM PKCS#10 request; only its public key (EC P-256) and self-signature are used. */
  readonly csrPem: string;
  /** The identity attested for the caller, never taken from the CSR. */
  readonly spiffeId: string;
  /** @default 1 hour; at most 24 hours. The leaf never outlives its intermediate. */
  readonly ttlMs?: number;
  /** Whose intermediate signs. */
  readonly provider: Provider;
  /** @default new Date() */
  readonly now?: Date;
  /**
   * Extra DNS SANs, for a peer that cannot check URI SANs (the nginx
   * baseline of the data-plane bench). Never set by the API.
   * @default none: exactly one URI SAN, as SPIFFE asks
   */
  readonly dnsNames?: readonly string[];
}

/** An issued X.509-SVID. */
export interface X509Svid {
  /** `[leafPem, intermediatePem]`: what a TLS peer presents. */
  readonly certChain: readonly [string, string];
  readonly expiresAt: Date;
  readonly spiffeId: string;
}

/**
 * Issues an X.509-SVID: CA:false, key usage digitalSignature + keyAgreement,
 * EKU serverAuth + clientAuth, exactly one URI SAN (plus any `dnsNames`),
 * random serial, AKI/SKI.
 *
 * @throws ValidationError for a bad CSR (unparseable, wrong key type, bad
 *   self-signature), a SPIFFE ID outside the trust domain, or a bad TTL.
 * @example
 * const { certChain } = await issueX509Svid(ca, { csrPem, spiffeId, provider: 'aws' });
 */
export async function issueX509Svid(ca: MeshCa, options: IssueX509SvidOptions): Promise<X509Svid> {
  const { spiffeId, provider } = options;
  const now = options.now ?? new Date();
  const ttlMs = options.ttlMs ?? X509_SVID_DEFAULT_TTL_MS;
  if (!Number.isSafeInteger(ttlMs) || ttlMs < 60_000 || ttlMs > X509_SVID_MAX_TTL_MS) {
    throw new ValidationError('ttl must be between 1 minute and 24 hours', [
      { pointer: '/ttl', detail: `got ${ttlMs} ms` },
    ]);
  }
  const parsed = parseSpiffeId(spiffeId);
  if (!parsed || parsed.path === '' || parsed.trustDomain !== ca.trustDomain) {
    throw new ValidationError(`not a workload SPIFFE ID in trust domain ${ca.trustDomain}`, [
      { pointer: '/spiffeId', detail: spiffeId },
    ]);
  }
  const publicKey = await readCsrKey(options.csrPem);
  const issuer = await ca.issuer(provider);
  const notBefore = Math.max(now.getTime() - BACKDATE_MS, issuer.certificate.notBefore.getTime());
  const notAfter = Math.min(notBefore + ttlMs, issuer.certificate.notAfter.getTime());
  if (notAfter <= now.getTime()) {
    throw new ValidationError(`the ${provider} intermediate has expired; rotate it`);
  }
  const leaf = await x509.X509CertificateGenerator.create(
    {
      serialNumber: randomSerial(),
      subject: 'O=weft',
      issuer: issuer.certificate.subjectName,
      notBefore: new Date(notBefore),
      notAfter: new Date(notAfter),
      publicKey,
      signingKey: signerCryptoKey(issuer.signer),
      signingAlgorithm: { name: 'ECDSA', hash: 'SHA-256' } as webcrypto.EcdsaParams,
      extensions: [
        new x509.BasicConstraintsExtension(false, undefined, true),
        new x509.KeyUsagesExtension(
          x509.KeyUsageFlags.digitalSignature | x509.KeyUsageFlags.keyAgreement,
          true,
        ),
        new x509.ExtendedKeyUsageExtension([
          x509.ExtendedKeyUsage.serverAuth,
          x509.ExtendedKeyUsage.clientAuth,
        ]),
        new x509.SubjectAlternativeNameExtension([
          { type: 'url', value: spiffeId },
          ...(options.dnsNames ?? []).map((value) => ({ type: 'dns' as const, value })),
        ]),
        await x509.SubjectKeyIdentifierExtension.create(publicKey),
        await authorityKeyIdentifier(issuer.certificate),
      ],
    },
    signerCrypto(issuer.signer),
  );
  return { certChain: [`${leaf.toString('pem')}\n`, issuer.certPem], expiresAt: leaf.notAfter, spiffeId };
}

/**
 * The CSR's public key, once its self-signature proves possession of the
 * private key. Callers that spend something before issuing (a one-time join
 * token) check the CSR with it first.
 *
 * @throws ValidationError (pointer `/csr`) for a CSR {@link issueX509Svid} would refuse.
 */
export async function readCsrKey(csrPem: string): Promise<x509.PublicKey> {
  const bad = (detail: string, cause?: unknown) =>
    new ValidationError(`bad CSR: ${detail}`, [{ pointer: '/csr', detail }], { cause });
  if (typeof csrPem !== 'string' || csrPem.length > MAX_CSR_CHARS) throw bad('missing or longer than 16 KiB');
  let csr: x509.Pkcs10CertificateRequest;
  try {
    csr = new x509.Pkcs10CertificateRequest(csrPem);
  } catch (error) {
    throw bad('not a PEM PKCS#10 certificate request', error);
  }
  const algorithm = csr.publicKey.algorithm as webcrypto.EcKeyAlgorithm;
  if (algorithm.name !== 'ECDSA' || algorithm.namedCurve !== 'P-256') {
    throw bad(`key must be EC P-256, got ${algorithm.name} ${algorithm.namedCurve ?? ''}`.trim());
  }
  let valid = false;
  try {
    valid = await csr.verify();
  } catch (error) {
    throw bad('self-signature cannot be checked', error);
  }
  if (!valid) throw bad('self-signature does not verify');
  return csr.publicKey;
}
