/**
 * Reads an SVID for humans: the X.509 chain in a PEM file, or a JWT-SVID.
 * Nothing is verified here (`weft svid inspect` shows what a credential
 * says; the gateways and the API verify).
 *
 * @module
 */
import { X509Certificate } from 'node:crypto';
import { decodeJwt, decodeProtectedHeader } from 'jose';
import { ValidationError } from '../model/errors.js';

export interface CertificateSummary {
  readonly subject: string;
  readonly issuer: string;
  /** URI SANs: an X.509-SVID has exactly one, its SPIFFE ID. */
  readonly uris: readonly string[];
  readonly notBefore: string;
  readonly notAfter: string;
  readonly serial: string;
  readonly isCa: boolean;
}

export type CredentialSummary =
  | {
      readonly type: 'x509-svid';
      readonly spiffeId: string | undefined;
      readonly chain: readonly CertificateSummary[];
    }
  | {
      readonly type: 'jwt-svid';
      readonly spiffeId: string | undefined;
      readonly audience: readonly string[];
      readonly issuedAt: string | undefined;
      readonly expiresAt: string | undefined;
      readonly keyId: string | undefined;
      readonly algorithm: string | undefined;
    };

const PEM_CERT = /-----BEGIN CERTIFICATE-----[\s\S]+?-----END CERTIFICATE-----/g;

/**
 * @throws ValidationError when the text holds neither certificates nor a JWT.
 * @example inspectCredential(readFileSync('svid.pem', 'utf8')).spiffeId
 */
export function inspectCredential(text: string): CredentialSummary {
  const pems = text.match(PEM_CERT);
  if (pems) {
    const chain = pems.map(summarize);
    return { type: 'x509-svid', spiffeId: chain[0]?.uris.find((u) => u.startsWith('spiffe://')), chain };
  }
  const token = text.trim();
  if (/^[\w-]+\.[\w-]+\.[\w-]+$/.test(token)) {
    try {
      const header = decodeProtectedHeader(token);
      const claims = decodeJwt(token);
      const aud = claims.aud === undefined ? [] : Array.isArray(claims.aud) ? claims.aud : [claims.aud];
      return {
        type: 'jwt-svid',
        spiffeId: claims.sub,
        audience: aud,
        issuedAt: claims.iat === undefined ? undefined : new Date(claims.iat * 1000).toISOString(),
        expiresAt: claims.exp === undefined ? undefined : new Date(claims.exp * 1000).toISOString(),
        keyId: header.kid,
        algorithm: header.alg,
      };
    } catch (cause) {
      throw new ValidationError('the text looks like a JWT but does not decode', [], { cause });
    }
  }
  throw new ValidationError('found neither a PEM certificate nor a JWT; pass an SVID file or a JWT-SVID');
}

function summarize(pem: string): CertificateSummary {
  const cert = new X509Certificate(pem);
  return {
    subject: cert.subject.replaceAll('\n', ', ') || '(empty)',
    issuer: cert.issuer.replaceAll('\n', ', '),
    uris: (cert.subjectAltName ?? '')
      .split(', ')
      .filter((s) => s.startsWith('URI:'))
      .map((s) => s.slice(4)),
    notBefore: new Date(cert.validFrom).toISOString(),
    notAfter: new Date(cert.validTo).toISOString(),
    serial: cert.serialNumber,
    isCa: cert.ca,
  };
}
