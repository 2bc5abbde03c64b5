/**
 * Key pairs and PKCS#10 CSRs as an agent makes them, built with WebCrypto and
 * @peculiar/x509, so tests feed the CA what a real caller would.
 *
 * @module
 */
import { webcrypto } from 'node:crypto';
import { x509 } from '../../shared/identity/x509.js';

export type KeyKind = 'P-256' | 'P-384' | 'RSA';

export interface CsrAndKey {
  readonly csrPem: string;
  /** PKCS#8 PEM of the private key, as node:tls takes it. */
  readonly keyPem: string;
}

const ALGORITHMS = {
  'P-256': { gen: { name: 'ECDSA', namedCurve: 'P-256' }, sign: { name: 'ECDSA', hash: 'SHA-256' } },
  'P-384': { gen: { name: 'ECDSA', namedCurve: 'P-384' }, sign: { name: 'ECDSA', hash: 'SHA-384' } },
  RSA: {
    gen: {
      name: 'RSASSA-PKCS1-v1_5',
      modulusLength: 2048,
      publicExponent: new Uint8Array([1, 0, 1]),
      hash: 'SHA-256',
    },
    sign: { name: 'RSASSA-PKCS1-v1_5' },
  },
} as const;

/**
 * A fresh key and a CSR for it. `subject` and `sanUris` let a test ask for
 * names the CA must ignore.
 */
export async function makeCsr(
  options: { kind?: KeyKind; subject?: string; sanUris?: readonly string[] } = {},
): Promise<CsrAndKey> {
  const alg = ALGORITHMS[options.kind ?? 'P-256'];
  const keys = (await webcrypto.subtle.generateKey(alg.gen, true, [
    'sign',
    'verify',
  ])) as webcrypto.CryptoKeyPair;
  const extensions = options.sanUris?.length
    ? [
        new x509.SubjectAlternativeNameExtension(
          options.sanUris.map((value) => ({ type: 'url' as const, value })),
        ),
      ]
    : [];
  const csr = await x509.Pkcs10CertificateRequestGenerator.create({
    name: options.subject ?? 'CN=workload',
    keys,
    signingAlgorithm: alg.sign,
    extensions,
  });
  const pkcs8 = await webcrypto.subtle.exportKey('pkcs8', keys.privateKey);
  const keyPem = `-----BEGIN PRIVATE KEY-----\n${Buffer.from(pkcs8)
    .toString('base64')
    .replace(/(.{64})/g, '$1\n')
    .trim()}\n-----END PRIVATE KEY-----\n`;
  return { csrPem: csr.toString('pem'), keyPem };
}

/** The same CSR with one bit of its signature flipped: a request without proof of possession. */
export function tamperCsr(csrPem: string): string {
  const der = Buffer.from(new x509.Pkcs10CertificateRequest(csrPem).rawData);
  der[der.length - 5] = (der[der.length - 5] ?? 0) ^ 0x01;
  return new x509.Pkcs10CertificateRequest(der).toString('pem');
}
