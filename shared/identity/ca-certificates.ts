/**
 * Building the mesh's CA certificates: the self-signed root and one
 * intermediate per provider, both signed through the {@link Signer} port.
 *
 * @module
 */
import { webcrypto } from 'node:crypto';
import type { Provider } from '../model/specs.js';
import { SIGNER_KEY_ALGORITHM, type Signer, signerCrypto, signerCryptoKey } from './signer.js';
import { randomSerial, x509 } from './x509.js';

/** Clocks disagree: CA certificates start a minute before they are made. */
const CA_BACKDATE_MS = 60_000;

/** The signer's public key as a WebCrypto key, for SPKI and key identifiers. */
export async function signerPublicKey(signer: Signer): Promise<webcrypto.CryptoKey> {
  const jwk = await signer.publicKeyJwk();
  return webcrypto.subtle.importKey('jwk', jwk, SIGNER_KEY_ALGORITHM, true, ['verify']);
}

const caUsages = x509.KeyUsageFlags.keyCertSign | x509.KeyUsageFlags.cRLSign;

/** The trust domain as a URI SAN, as SPIFFE suggests for signing certificates. */
const trustDomainSan = (trustDomain: string) =>
  new x509.SubjectAlternativeNameExtension([{ type: 'url', value: `spiffe://${trustDomain}` }]);

/** Options shared by {@link createRootCertificate} and {@link createIntermediateCertificate}. */
export interface CaCertificateOptions {
  readonly trustDomain: string;
  /** The key the new certificate certifies. */
  readonly signer: Signer;
  readonly now: Date;
  readonly ttlMs: number;
}

/** A self-signed root: CA without a path length limit, signs certificates and CRLs. */
export async function createRootCertificate(options: CaCertificateOptions): Promise<x509.X509Certificate> {
  const { trustDomain, signer, now, ttlMs } = options;
  const publicKey = await signerPublicKey(signer);
  const name = `CN=weft root CA ${signer.keyId}, O=weft, OU=${trustDomain}`;
  return x509.X509CertificateGenerator.create(
    {
      serialNumber: randomSerial(),
      subject: name,
      issuer: name,
      notBefore: new Date(now.getTime() - CA_BACKDATE_MS),
      notAfter: new Date(now.getTime() + ttlMs),
      publicKey,
      signingKey: signerCryptoKey(signer),
      signingAlgorithm: { name: 'ECDSA', hash: 'SHA-256' } as webcrypto.EcdsaParams,
      extensions: [
        new x509.BasicConstraintsExtension(true, undefined, true),
        new x509.KeyUsagesExtension(caUsages, true),
        await x509.SubjectKeyIdentifierExtension.create(publicKey),
        trustDomainSan(trustDomain),
      ],
    },
    signerCrypto(signer),
  );
}

/** Who signs an intermediate: the root's certificate and key. */
export interface Issuer {
  readonly certificate: x509.X509Certificate;
  readonly signer: Signer;
}

/**
 * A provider's intermediate: CA with path length 0 (it signs leaves only),
 * never valid beyond its issuer.
 */
export async function createIntermediateCertificate(
  options: Omit<CaCertificateOptions, 'signer'> & {
    readonly provider: Provider;
    readonly issuer: Issuer;
    /** The key it certifies: a signer held here, or a public key from a CSR with a label for its name. */
    readonly signer?: Signer;
    readonly subjectKey?: { readonly publicKey: webcrypto.CryptoKey; readonly label: string };
  },
): Promise<x509.X509Certificate> {
  const { trustDomain, now, ttlMs, provider, issuer } = options;
  const subject = options.subjectKey ?? {
    publicKey: await signerPublicKey(options.signer!),
    label: options.signer!.keyId,
  };
  const { publicKey } = subject;
  const notAfter = Math.min(now.getTime() + ttlMs, issuer.certificate.notAfter.getTime());
  return x509.X509CertificateGenerator.create(
    {
      serialNumber: randomSerial(),
      subject: `CN=weft ${provider} intermediate CA ${subject.label}, O=weft, OU=${trustDomain}`,
      issuer: issuer.certificate.subjectName,
      notBefore: new Date(Math.max(now.getTime() - CA_BACKDATE_MS, issuer.certificate.notBefore.getTime())),
      notAfter: new Date(notAfter),
      publicKey,
      signingKey: signerCryptoKey(issuer.signer),
      signingAlgorithm: { name: 'ECDSA', hash: 'SHA-256' } as webcrypto.EcdsaParams,
      extensions: [
        new x509.BasicConstraintsExtension(true, 0, true),
        new x509.KeyUsagesExtension(caUsages, true),
        await x509.SubjectKeyIdentifierExtension.create(publicKey),
        await authorityKeyIdentifier(issuer.certificate),
        trustDomainSan(trustDomain),
      ],
    },
    signerCrypto(issuer.signer),
  );
}

/** AKI naming the issuer's SKI (or a hash of its key when it has none). */
export async function authorityKeyIdentifier(
  issuer: x509.X509Certificate,
): Promise<x509.AuthorityKeyIdentifierExtension> {
  const ski = issuer.getExtension(x509.SubjectKeyIdentifierExtension);
  if (ski) return new x509.AuthorityKeyIdentifierExtension(ski.keyId);
  return x509.AuthorityKeyIdentifierExtension.create(issuer.publicKey);
}
