/**
 * The agent's key pairs: a fresh P-256 key for every X.509-SVID (attestation
 * and each rotation), and the PKCS#10 request that carries only its public
 * half to the control plane. The private key is made here and never sent
 * anywhere; the CA ignores the CSR's names and binds the SPIFFE ID it
 * attested.
 *
 * @module
 */
import { createPrivateKey, type KeyObject, webcrypto } from 'node:crypto';
import { x509 } from '../../shared/identity/x509.js';

const GENERATE = { name: 'ECDSA', namedCurve: 'P-256' } as const;
const SIGN = { name: 'ECDSA', hash: 'SHA-256' } as const;

/** A new key and the CSR for it. */
export interface SvidKey {
  /** PKCS#8 PEM: what is written to `svid-key.pem` and what node:tls takes. */
  readonly keyPem: string;
  readonly key: KeyObject;
  readonly csrPem: string;
}

/**
 * Generates a P-256 key and a CSR signed by it (proof of possession).
 *
 * @example
 * const { csrPem, keyPem } = await newSvidKey();
 */
export async function newSvidKey(): Promise<SvidKey> {
  // Extractable only so it can be written to the data directory, owner-only.
  const keys = (await webcrypto.subtle.generateKey(GENERATE, true, [
    'sign',
    'verify',
  ])) as webcrypto.CryptoKeyPair;
  const csr = await x509.Pkcs10CertificateRequestGenerator.create({
    name: 'O=weft, CN=weft-gateway-agent',
    keys,
    signingAlgorithm: SIGN,
  });
  const pkcs8 = Buffer.from(await webcrypto.subtle.exportKey('pkcs8', keys.privateKey));
  const body = pkcs8
    .toString('base64')
    .replace(/(.{64})/g, '$1\n')
    .trim();
  const keyPem = `-----BEGIN PRIVATE KEY-----\n${body}\n-----END PRIVATE KEY-----\n`;
  return { keyPem, key: createPrivateKey(keyPem), csrPem: csr.toString('pem') };
}
