/**
 * ECDSA signatures as cloud key services answer them (DER, X9.62
 * `ECDSA-Sig-Value`: AWS KMS `kms:Sign`, Cloud KMS `asymmetricSign`) and as
 * JOSE and WebCrypto want them (fixed-size `r || s`, RFC 7518 section 3.4).
 *
 * @module
 */

/**
 * Turns a DER `ECDSA-Sig-Value` (`SEQUENCE { INTEGER r, INTEGER s }`, what
 * KMS and OpenSSL produce) into JOSE's `r || s`, each left-padded to `size`
 * bytes: DER integers drop leading zeros (a short r or s) and add one when
 * the top bit is set (33 bytes).
 *
 * @throws TypeError when `der` is not exactly one such sequence of integers that fit `size`.
 */
export function derToJoseSignature(der: Uint8Array, size = 32): Uint8Array {
  const fail = (why: string) => new TypeError(`not a DER ECDSA signature: ${why}`);
  let at = 0;
  const length = (): number => {
    const first = der[at++];
    if (first === undefined) throw fail('truncated');
    if (first < 0x80) return first;
    if (first !== 0x81) throw fail('length too long'); // a P-256 signature is at most 72 bytes
    const value = der[at++];
    if (value === undefined || value < 0x80) throw fail('length not minimal');
    return value;
  };
  const integer = (): Uint8Array => {
    if (der[at++] !== 0x02) throw fail('expected an INTEGER');
    const len = length();
    if (len === 0 || at + len > der.length) throw fail('bad INTEGER length');
    let bytes = der.subarray(at, at + len);
    at += len;
    if (bytes[0]! & 0x80) throw fail('negative INTEGER');
    if (bytes.length > 1 && bytes[0] === 0 && !(bytes[1]! & 0x80)) throw fail('INTEGER not minimal');
    if (bytes[0] === 0 && bytes.length > 1) bytes = bytes.subarray(1);
    if (bytes.length > size) throw fail(`INTEGER longer than ${size} bytes`);
    return bytes;
  };
  if (der[at++] !== 0x30) throw fail('expected a SEQUENCE');
  const seqLen = length();
  if (at + seqLen !== der.length) throw fail('trailing or missing bytes');
  const r = integer();
  const s = integer();
  if (at !== der.length) throw fail('trailing bytes in SEQUENCE');
  const out = new Uint8Array(2 * size);
  out.set(r, size - r.length);
  out.set(s, 2 * size - s.length);
  return out;
}
