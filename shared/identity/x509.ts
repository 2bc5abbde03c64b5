/**
 * @peculiar/x509, set up once: `reflect-metadata` must be loaded before it,
 * and it must use Node's WebCrypto. Import `x509` from here, never directly.
 *
 * @module
 */
import 'reflect-metadata';
import { webcrypto } from 'node:crypto';
import * as x509 from '@peculiar/x509';

x509.cryptoProvider.set(webcrypto);

/** @peculiar/x509, ready to use. */
export { x509 };

/** A positive, non-zero 128-bit serial number in hex, as RFC 5280 §4.1.2.2 asks. */
export function randomSerial(): string {
  const bytes = webcrypto.getRandomValues(new Uint8Array(16));
  bytes[0] = ((bytes[0] ?? 0) & 0x7f) | 0x01;
  return Buffer.from(bytes).toString('hex');
}

/** PEM of one certificate, with a trailing newline. */
export function toPem(cert: x509.X509Certificate): string {
  return `${cert.toString('pem')}\n`;
}

/** The DER bytes of a certificate. */
export function toDer(cert: x509.X509Certificate): Uint8Array {
  return new Uint8Array(cert.rawData);
}
