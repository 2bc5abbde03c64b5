import { webcrypto } from 'node:crypto';
import { chmod, stat } from 'node:fs/promises';
import { join } from 'node:path';
import { compactVerify, importJWK, jwtVerify } from 'jose';
import { describe, expect, it } from 'vitest';
import { FileKeyRing, FileKeySigner } from '../../../shared/identity/file-key-signer.js';
import { MemoryKeyRing } from '../../../shared/identity/memory-key-ring.js';
import { KMS_MAX_MESSAGE_BYTES, signCompactJws } from '../../../shared/identity/signer.js';
import { WeftError } from '../../../shared/model/errors.js';
import { tempDir } from '../../support/temp-dir.js';

describe('FileKeySigner', () => {
  it('creates a P-256 key on first use, file 0600 in a 0700 directory, and reopens the same key', async () => {
    const dir = join(await tempDir(), 'keys');
    const signer = await FileKeySigner.open(dir, 'root-1');
    expect((await stat(signer.path)).mode & 0o777).toBe(0o600);
    expect((await stat(dir)).mode & 0o777).toBe(0o700);
    const again = await FileKeySigner.open(dir, 'root-1');
    expect(await again.publicKeyJwk()).toEqual(await signer.publicKeyJwk());
    expect(await signer.publicKeyJwk()).not.toHaveProperty('d');
  });

  it('agrees with itself when many processes race to create the key', async () => {
    const dir = await tempDir();
    const signers = await Promise.all(Array.from({ length: 8 }, () => FileKeySigner.open(dir, 'k')));
    const jwks = await Promise.all(signers.map((s) => s.publicKeyJwk()));
    for (const jwk of jwks) expect(jwk).toEqual(jwks[0]);
  });

  it('signs a message so that WebCrypto verifies it (raw r||s)', async () => {
    const signer = await FileKeySigner.open(await tempDir(), 'k');
    const message = new TextEncoder().encode('weft');
    const signature = await signer.sign(message);
    expect(signature).toHaveLength(64);
    const key = await webcrypto.subtle.importKey(
      'jwk',
      await signer.publicKeyJwk(),
      { name: 'ECDSA', namedCurve: 'P-256' },
      false,
      ['verify'],
    );
    expect(await webcrypto.subtle.verify({ name: 'ECDSA', hash: 'SHA-256' }, key, signature, message)).toBe(
      true,
    );
    expect(await signer.sign(message)).not.toEqual(signature); // a fresh nonce each time
  });

  it('refuses a key file that group or others can read', async () => {
    const dir = await tempDir();
    const signer = await FileKeySigner.open(dir, 'k');
    await chmod(signer.path, 0o644);
    await expect(FileKeySigner.open(dir, 'k')).rejects.toThrow(WeftError);
  });

  it('refuses key ids that could leave the key directory', async () => {
    const dir = await tempDir();
    for (const id of ['../x', '.hidden', 'a/b', '']) {
      await expect(FileKeySigner.open(dir, id)).rejects.toThrow(TypeError);
    }
  });

  it('keys a FileKeyRing under <dataDir>/keys', async () => {
    const dataDir = await tempDir();
    const signer = await new FileKeyRing(dataDir).open('jwt-1');
    expect((await stat(join(dataDir, 'keys', 'jwt-1.pem'))).mode & 0o777).toBe(0o600);
    expect(signer.keyId).toBe('jwt-1');
  });
});

describe('signCompactJws', () => {
  it('makes an ES256 JWS from sign that jose verifies, keeping kid and typ', async () => {
    const signer = await FileKeySigner.open(await tempDir(), 'k');
    const key = await importJWK(await signer.publicKeyJwk(), 'ES256');
    const jws = await signCompactJws(
      signer,
      { kid: 'k1', typ: 'JWT', alg: 'none' },
      JSON.stringify({ sub: 'x' }),
    );
    const { protectedHeader, payload } = await compactVerify(jws, key);
    expect(protectedHeader).toEqual({ kid: 'k1', typ: 'JWT', alg: 'ES256' });
    expect(new TextDecoder().decode(payload)).toBe('{"sub":"x"}');
    await expect(jwtVerify(jws, key)).resolves.toBeDefined();
  });

  it('refuses a signer that returns something other than r||s', async () => {
    const broken = {
      keyId: 'broken',
      algorithm: 'ES256' as const,
      publicKeyJwk: async () => ({}),
      sign: async () => new Uint8Array(70),
    };
    await expect(signCompactJws(broken, {}, 'x')).rejects.toThrow(/64/);
  });

  it('refuses to hand a signer more than it says it signs (a KMS takes 4 KiB)', async () => {
    const signer = await new MemoryKeyRing({ maxMessageBytes: KMS_MAX_MESSAGE_BYTES }).open('k');
    await expect(signCompactJws(signer, {}, 'x'.repeat(4096))).rejects.toThrow(/at most 4096 bytes/);
    await expect(signCompactJws(signer, {}, 'x'.repeat(2000))).resolves.toMatch(/^ey/);
  });
});
