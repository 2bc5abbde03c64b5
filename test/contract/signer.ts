/**
 * The `Signer` and `KeyRing` contract: what the CA and the relay rely on,
 * run against the embedded key rings and every cloud's key service. DER to
 * `r || s` mistakes (a short r or s, a 33-byte integer) break about one
 * signature in a hundred, so the suite signs hundreds of messages.
 *
 * @module
 */
import { randomBytes, webcrypto } from 'node:crypto';
import { compactVerify, importJWK } from 'jose';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { type KeyRing, type Signer, signCompactJws } from '../../shared/identity/signer.js';

/** Key rings over one backend: `ring()` is another instance (another Lambda) on the same keys. */
export interface KeyRingHarness {
  ring(): KeyRing;
  close(): Promise<void>;
}

/** A fresh backend per test. */
export type KeyRingFactory = () => Promise<KeyRingHarness>;

/** What an implementation promises beyond the port. */
export interface SignerContractOptions {
  /** The signer's declared message limit. @default none */
  readonly maxMessageBytes?: number;
  /** Messages signed by the many-signatures test. @default 256 */
  readonly signatures?: number;
}

let next = 0;
const freshId = (kind: string) =>
  `aws-${kind}-${process.pid.toString(16)}${(++next).toString(16).padStart(6, '0')}`;

async function verifies(signer: Signer, message: Uint8Array, signature: Uint8Array): Promise<boolean> {
  const key = await webcrypto.subtle.importKey(
    'jwk',
    await signer.publicKeyJwk(),
    { name: 'ECDSA', namedCurve: 'P-256' },
    false,
    ['verify'],
  );
  return webcrypto.subtle.verify({ name: 'ECDSA', hash: 'SHA-256' }, key, signature, message);
}

/** A signer that counts what reaches its backend. */
function counting(signer: Signer): { signer: Signer; calls: () => number } {
  let calls = 0;
  return {
    signer: {
      keyId: signer.keyId,
      algorithm: signer.algorithm,
      maxMessageBytes: signer.maxMessageBytes,
      publicKeyJwk: () => signer.publicKeyJwk(),
      sign: (message) => {
        calls += 1;
        return signer.sign(message);
      },
    },
    calls: () => calls,
  };
}

/**
 * @example
 * describeSignerContract('MemoryKeyRing', async () => { const ring = new MemoryKeyRing(); return { ring: () => ring, close: async () => {} }; });
 */
export function describeSignerContract(
  name: string,
  factory: KeyRingFactory,
  options: SignerContractOptions = {},
): void {
  describe(`Signer contract: ${name}`, () => {
    let harness: KeyRingHarness;
    beforeEach(async () => {
      harness = await factory();
    });
    afterEach(() => harness.close());

    it('is ES256 with a public P-256 JWK and no private part', async () => {
      const signer = await harness.ring().open(freshId('x509'));
      expect(signer.algorithm).toBe('ES256');
      expect(signer.maxMessageBytes).toBe(options.maxMessageBytes);
      const jwk = await signer.publicKeyJwk();
      expect(jwk).toMatchObject({ kty: 'EC', crv: 'P-256' });
      expect(Buffer.from(jwk.x!, 'base64url')).toHaveLength(32);
      expect(Buffer.from(jwk.y!, 'base64url')).toHaveLength(32);
      expect(jwk).not.toHaveProperty('d');
    });

    it('signs many messages with 64-byte r||s signatures that all verify over the message', async () => {
      const signer = await harness.ring().open(freshId('jwt'));
      const limit = Math.min(options.maxMessageBytes ?? 4096, 4096);
      const messages = Array.from({ length: options.signatures ?? 256 }, (_, i) =>
        // KMS signs 1 to 4096 bytes; a JWS signing input is never empty.
        randomBytes(i === 0 ? 1 : i === 1 ? limit : 1 + (i % 300)),
      );
      const failures: number[] = [];
      for (let i = 0; i < messages.length; i += 16) {
        const batch = messages.slice(i, i + 16);
        const signatures = await Promise.all(batch.map((m) => signer.sign(m)));
        for (const [j, signature] of signatures.entries()) {
          expect(signature).toHaveLength(64);
          if (!(await verifies(signer, batch[j]!, signature))) failures.push(i + j);
        }
      }
      expect(failures).toStrictEqual([]);
      const tampered = new Uint8Array(messages[2]!);
      tampered[0]! ^= 1;
      expect(await verifies(signer, tampered, await signer.sign(messages[2]!))).toBe(false);
    });

    it('makes compact JWS that jose verifies with the published key', async () => {
      const signer = await harness.ring().open(freshId('jwt'));
      const key = await importJWK(await signer.publicKeyJwk(), 'ES256');
      const jws = await signCompactJws(signer, { kid: 'k1', typ: 'JWT' }, '{"sub":"spiffe://acme.test/x"}');
      const { protectedHeader, payload } = await compactVerify(jws, key);
      expect(protectedHeader).toStrictEqual({ kid: 'k1', typ: 'JWT', alg: 'ES256' });
      expect(new TextDecoder().decode(payload)).toBe('{"sub":"spiffe://acme.test/x"}');
    });

    if (options.maxMessageBytes !== undefined) {
      const max = options.maxMessageBytes;
      it(`refuses in signCompactJws, before the backend, what is over ${max} bytes`, async () => {
        const { signer, calls } = counting(await harness.ring().open(freshId('x509')));
        await expect(signCompactJws(signer, {}, 'x'.repeat(max))).rejects.toThrow(`at most ${max} bytes`);
        expect(calls()).toBe(0);
        await expect(signCompactJws(signer, {}, 'x'.repeat(max / 2))).resolves.toMatch(/^ey/);
        expect(calls()).toBe(1);
      });
    }

    it('opens the same key for the same id, by that id and by the signer keyId, across instances', async () => {
      const id = freshId('x509');
      const first = await harness.ring().open(id);
      const jwk = await first.publicKeyJwk();
      expect(await (await harness.ring().open(id)).publicKeyJwk()).toStrictEqual(jwk);
      expect(await (await harness.ring().open(first.keyId)).publicKeyJwk()).toStrictEqual(jwk);
      // A signature from one instance verifies with the key another instance publishes.
      const message = new TextEncoder().encode('weft');
      const other = await harness.ring().open(id);
      expect(await verifies(other, message, await first.sign(message))).toBe(true);
    });

    it('keeps different ids on different keys', async () => {
      const ring = harness.ring();
      const [a, b] = await Promise.all([ring.open(freshId('x509')), ring.open(freshId('jwt'))]);
      expect(await a.publicKeyJwk()).not.toStrictEqual(await b.publicKeyJwk());
      expect(a.keyId).not.toBe(b.keyId);
    });

    it('agrees on one key when many instances open a new id at once', async () => {
      const id = freshId('jwt');
      const signers = await Promise.all(Array.from({ length: 6 }, () => harness.ring().open(id)));
      const jwks = await Promise.all(signers.map((s) => s.publicKeyJwk()));
      for (const jwk of jwks) expect(jwk).toStrictEqual(jwks[0]);
      const message = new TextEncoder().encode('agreed');
      for (const signer of signers)
        expect(await verifies(signers[0]!, message, await signer.sign(message))).toBe(true);
    });
  });
}
