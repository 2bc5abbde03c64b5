/**
 * A federated mesh's intermediates (docs/replication.md, "Federated
 * identity"): each cloud's CA makes its intermediate key itself and asks for
 * a certificate with a CSR; the operator signs it with the mesh root, whose
 * key never enters a control plane (`weft ca sign`), and the cloud installs
 * the certificate. These are the two halves, pure.
 *
 * @module
 */
import { webcrypto } from 'node:crypto';
import { ValidationError } from '../model/errors.js';
import type { Provider } from '../model/specs.js';
import { createIntermediateCertificate, type Issuer, signerPublicKey } from './ca-certificates.js';
import { type Signer, signerCrypto, signerCryptoKey } from './signer.js';
import { toPem, x509 } from './x509.js';

const SIGNING = { name: 'ECDSA', hash: 'SHA-256' } as webcrypto.EcdsaParams;
/** `CN=weft <provider> intermediate CSR, O=weft, OU=<trust domain>`: what the signer checks. */
const csrName = (provider: Provider, trustDomain: string) =>
  `CN=weft ${provider} intermediate CSR, O=weft, OU=${trustDomain}`;

/** A CSR for `provider`'s intermediate, signed by the key it asks to certify. */
export async function createIntermediateCsr(options: {
  readonly signer: Signer;
  readonly provider: Provider;
  readonly trustDomain: string;
}): Promise<string> {
  const { signer, provider, trustDomain } = options;
  const keys = {
    publicKey: await signerPublicKey(signer),
    privateKey: signerCryptoKey(signer),
  } as webcrypto.CryptoKeyPair;
  const csr = await x509.Pkcs10CertificateRequestGenerator.create(
    { name: csrName(provider, trustDomain), keys, signingAlgorithm: SIGNING },
    signerCrypto(signer),
  );
  return csr.toString('pem');
}

/**
 * Signs a cloud's intermediate CSR with the mesh root: checks the CSR's
 * self-signature, key type and that it asks for `provider` in
 * `trustDomain`, then issues a path-length-0 CA certificate.
 *
 * @throws ValidationError when the CSR is not one this root should sign.
 */
export async function signIntermediateCsr(options: {
  readonly csrPem: string;
  readonly provider: Provider;
  readonly trustDomain: string;
  readonly root: Issuer;
  readonly now: Date;
  readonly ttlMs: number;
}): Promise<string> {
  const { csrPem, provider, trustDomain } = options;
  let csr: x509.Pkcs10CertificateRequest;
  try {
    csr = new x509.Pkcs10CertificateRequest(csrPem);
  } catch (cause) {
    throw new ValidationError('not a PEM PKCS#10 certificate request', [], { cause });
  }
  const algorithm = csr.publicKey.algorithm as webcrypto.EcKeyAlgorithm;
  if (algorithm.name !== 'ECDSA' || algorithm.namedCurve !== 'P-256')
    throw new ValidationError('an intermediate key must be EC P-256');
  if (!(await csr.verify())) throw new ValidationError('the CSR self-signature does not verify');
  if (csr.subject !== csrName(provider, trustDomain))
    throw new ValidationError(
      `the CSR asks for "${csr.subject}", not a ${provider} intermediate of ${trustDomain}`,
    );
  const publicKey = await csr.publicKey.export();
  const cert = await createIntermediateCertificate({
    trustDomain,
    provider,
    subjectKey: { publicKey, label: thumbprint(await csr.publicKey.getThumbprint()) },
    now: options.now,
    ttlMs: options.ttlMs,
    issuer: options.root,
  });
  return toPem(cert);
}

const thumbprint = (bytes: ArrayBuffer) => Buffer.from(bytes).toString('hex').slice(0, 12);

/**
 * Checks a certificate offered as `provider`'s intermediate: signed by the
 * root, a CA, valid now, and certifying exactly `key`.
 *
 * @throws ValidationError saying which check failed.
 */
export async function checkIntermediate(options: {
  readonly certPem: string;
  readonly root: x509.X509Certificate;
  readonly key: Signer;
  readonly now: Date;
}): Promise<x509.X509Certificate> {
  let cert: x509.X509Certificate;
  try {
    cert = new x509.X509Certificate(options.certPem);
  } catch (cause) {
    throw new ValidationError('not a PEM certificate', [], { cause });
  }
  if (!(await cert.verify({ publicKey: options.root.publicKey, date: options.now })))
    throw new ValidationError('the certificate is not signed by this mesh root, or is not valid now');
  if (!cert.getExtension(x509.BasicConstraintsExtension)?.ca)
    throw new ValidationError('the certificate is no CA');
  const [offered, held] = await Promise.all([
    webcrypto.subtle.exportKey('jwk', await cert.publicKey.export()),
    options.key.publicKeyJwk(),
  ]);
  if (offered.x !== held.x || offered.y !== held.y)
    throw new ValidationError(
      'the certificate certifies another key than this CA’s pending intermediate key',
    );
  return cert;
}
