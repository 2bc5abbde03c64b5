/**
 * CloudKmsSigner and CloudKmsKeyRing through the real
 * `KeyManagementServiceClient` against a fake of Cloud KMS's REST API
 * (test/support/fake-cloud-kms.ts): nothing of Cloud KMS runs here, so the
 * fake stands at the SDK's HTTP seam (its REST transport, `fallback: true`,
 * which production uses too), with real P-256 keys, real DER signatures and
 * real CRC32Cs. No credentials: the client holds a fixed bearer token.
 */
import { KeyManagementServiceClient } from '@google-cloud/kms';
import { compactVerify, importJWK } from 'jose';
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import { CloudKmsKeyRing } from '../../../functions/gcp/cloud-kms-key-ring.js';
import { CloudKmsSigner, crc32c, kmsStatus } from '../../../functions/gcp/cloud-kms-signer.js';
import { type KeyRing, type Signer, signCompactJws } from '../../../shared/identity/signer.js';
import { UnavailableError, WeftError } from '../../../shared/model/errors.js';
import { describeSignerContract } from '../../contract/signer.js';
import { type FakeCloudKms, kmsClientOptions, startFakeCloudKms } from '../../support/fake-cloud-kms.js';
import { freePort } from '../../support/free-port.js';

let kms: FakeCloudKms;
let client: KeyManagementServiceClient;
let rings = 0;

beforeAll(async () => {
  vi.stubEnv('METADATA_SERVER_DETECTION', 'none');
  kms = await startFakeCloudKms();
  client = new KeyManagementServiceClient(kms.clientOptions());
});
afterAll(async () => {
  await client?.close();
  await kms?.close();
});

/** A key ring of its own per test: the fake keeps its keys, and nothing needs a reset. */
function freshKeyRing(): string {
  const keyRing = `projects/weft-test/locations/us-east1/keyRings/weft-t${++rings}`;
  kms.addKeyRing(keyRing);
  return keyRing;
}

/** Keys made outside weft (as the deployment makes the relay key), opened by version name. */
function versionRing(keyRing: string): KeyRing {
  return {
    open: async (keyId) => {
      const key = `${keyRing}/cryptoKeys/${keyId}`;
      if (!kms.key(key)) kms.createKey(key);
      return new CloudKmsSigner({ client, keyVersion: `${key}/cryptoKeyVersions/1`, keyId });
    },
  };
}

describeSignerContract('CloudKmsKeyRing on a fake Cloud KMS REST API', async () => {
  const keyRing = freshKeyRing();
  return { ring: () => new CloudKmsKeyRing({ client, keyRing }), close: async () => {} };
});

describeSignerContract('CloudKmsSigner by key version on a fake Cloud KMS REST API', async () => {
  const ring = versionRing(freshKeyRing());
  return { ring: () => ring, close: async () => {} };
});

describe('CloudKmsKeyRing', () => {
  it('creates a labelled ASYMMETRIC_SIGN EC_SIGN_P256_SHA256 software key on first use, and signs with version 1', async () => {
    const keyRing = freshKeyRing();
    const signer = (await new CloudKmsKeyRing({ client, keyRing }).open(
      'gcp-x509-3fa2c1b0d9e8',
    )) as CloudKmsSigner;
    const name = `${keyRing}/cryptoKeys/gcp-x509-3fa2c1b0d9e8`;
    expect(signer.keyId).toBe('gcp-x509-3fa2c1b0d9e8');
    expect(signer.keyVersion).toBe(`${name}/cryptoKeyVersions/1`);
    expect((signer as Signer).maxMessageBytes).toBeUndefined();
    expect(kms.key(name)).toMatchObject({
      purpose: 'ASYMMETRIC_SIGN',
      algorithm: 'EC_SIGN_P256_SHA256',
      protectionLevel: 'SOFTWARE',
      labels: { 'weft-control-plane': `weft-t${rings}` },
      states: ['ENABLED'],
    });
    // A message far past AWS KMS's 4 KiB: Cloud KMS signs its digest.
    const jws = await signCompactJws(signer, { kid: 'k' }, 'x'.repeat(100_000));
    await compactVerify(jws, await importJWK(await signer.publicKeyJwk(), 'ES256'));
  });

  it('waits while a new key version is PENDING_GENERATION', async () => {
    const keyRing = freshKeyRing();
    kms.pendingReads = 3;
    try {
      const signer = await new CloudKmsKeyRing({ client, keyRing }).open('gcp-jwt-pending');
      const version = `${keyRing}/cryptoKeys/gcp-jwt-pending/cryptoKeyVersions/1`;
      expect(kms.requests.filter((r) => r === `GET /v1/${version}`)).toHaveLength(4);
      expect(await signer.sign(new Uint8Array([1]))).toHaveLength(64);
    } finally {
      kms.pendingReads = 1;
    }
  });

  it('gives up on a version that stays pending', async () => {
    const keyRing = freshKeyRing();
    kms.pendingReads = 1_000;
    try {
      const ring = new CloudKmsKeyRing({ client, keyRing, generationTimeoutMs: 0 });
      await expect(ring.open('gcp-jwt-stuck')).rejects.toThrow(/still PENDING_GENERATION/);
      await expect(ring.open('gcp-jwt-stuck')).rejects.toBeInstanceOf(UnavailableError);
    } finally {
      kms.pendingReads = 1;
    }
  });

  it('loses a creation race to another instance and uses its key', async () => {
    const keyRing = freshKeyRing();
    const name = `${keyRing}/cryptoKeys/gcp-jwt-race`;
    // Between this instance's NOT_FOUND and its createCryptoKey, another instance creates the key.
    kms.onRequest = (method, path) => {
      if (method === 'POST' && path === `/v1/${keyRing}/cryptoKeys`) {
        kms.onRequest = undefined;
        kms.createKey(name);
      }
    };
    const before = kms.requests.length;
    const lost = await new CloudKmsKeyRing({ client, keyRing }).open('gcp-jwt-race');
    expect(kms.requests.slice(before, before + 3)).toStrictEqual([
      `GET /v1/${name}`,
      `POST /v1/${keyRing}/cryptoKeys`,
      `GET /v1/${name}`,
    ]);
    const winner = new CloudKmsSigner({ client, keyVersion: `${name}/cryptoKeyVersions/1` });
    expect(await lost.publicKeyJwk()).toStrictEqual(await winner.publicKeyJwk());
  });

  it('refuses a key that cannot sign ES256, and a version that is not enabled', async () => {
    const keyRing = freshKeyRing();
    kms.createKey(`${keyRing}/cryptoKeys/gcp-jwt-sym`, {
      purpose: 'ENCRYPT_DECRYPT',
      algorithm: 'GOOGLE_SYMMETRIC_ENCRYPTION',
    });
    kms.createKey(`${keyRing}/cryptoKeys/gcp-jwt-p384`, { algorithm: 'EC_SIGN_P384_SHA384' });
    kms.createKey(`${keyRing}/cryptoKeys/gcp-jwt-off`);
    kms.setVersionState(`${keyRing}/cryptoKeys/gcp-jwt-off/cryptoKeyVersions/1`, 'DISABLED');
    const ring = new CloudKmsKeyRing({ client, keyRing });
    await expect(ring.open('gcp-jwt-sym')).rejects.toThrow(/not an ASYMMETRIC_SIGN EC_SIGN_P256_SHA256 key/);
    await expect(ring.open('gcp-jwt-p384')).rejects.toBeInstanceOf(WeftError);
    await expect(ring.open('gcp-jwt-off')).rejects.toThrow(/is DISABLED, not ENABLED/);
  });

  it('reports a missing key ring and an unreachable KMS as UnavailableError', async () => {
    const missing = new CloudKmsKeyRing({
      client,
      keyRing: 'projects/weft-test/locations/us-east1/keyRings/none',
    });
    await expect(missing.open('gcp-jwt-a')).rejects.toThrow(/cannot be used \(NOT_FOUND/);
    const dead = new KeyManagementServiceClient(kmsClientOptions(await freePort()));
    const unreachable = new CloudKmsKeyRing({ client: dead, keyRing: freshKeyRing() });
    await expect(unreachable.open('gcp-jwt-a')).rejects.toThrow(/cannot reach Cloud KMS \(ECONNREFUSED\)/);
    await dead.close();
  });

  it('refuses bad configuration and key ids', async () => {
    for (const keyRing of [
      '',
      'weft',
      'projects/p/locations/l/keyRings/',
      'projects/p/locations/l/keyRings/r/',
    ])
      expect(() => new CloudKmsKeyRing({ client, keyRing }), keyRing).toThrow(TypeError);
    const keyRing = freshKeyRing();
    expect(() => new CloudKmsKeyRing({ client, keyRing, label: 'Weft' })).toThrow(TypeError);
    const ring = new CloudKmsKeyRing({ client, keyRing });
    for (const id of ['', '../x', 'a/b', 'a.b', 'x'.repeat(64)])
      await expect(ring.open(id), id).rejects.toThrow(TypeError);
  });
});

describe('CloudKmsSigner', () => {
  let signer: CloudKmsSigner;
  beforeAll(() => {
    const key = `${freshKeyRing()}/cryptoKeys/relay`;
    kms.createKey(key);
    signer = new CloudKmsSigner({ client, keyVersion: `${key}/cryptoKeyVersions/1` });
  });
  const message = new TextEncoder().encode('weft');

  /** Runs `fn` with every sign answer rewritten by `tamper`. */
  async function tampered(tamper: FakeCloudKms['tamperSign'], fn: () => Promise<unknown>): Promise<void> {
    kms.tamperSign = tamper;
    try {
      await fn();
    } finally {
      kms.tamperSign = undefined;
    }
  }

  it('is named by its key version unless given a key id, and sends the digest with its CRC32C', async () => {
    expect(signer.keyId).toBe(signer.keyVersion);
    let seen: string | undefined;
    await tampered(
      (answer) => {
        seen = answer.signatureCrc32c;
        return answer;
      },
      () => signer.sign(message),
    );
    expect(seen).toMatch(/^[0-9]+$/);
  });

  it('refuses an answer whose digest CRC32C KMS did not verify', async () => {
    await tampered(
      (answer) => ({ ...answer, verifiedDigestCrc32c: false }),
      () => expect(signer.sign(message)).rejects.toThrow(/did not verify the digest CRC32C/),
    );
  });

  it('refuses a signature whose CRC32C does not match', async () => {
    await tampered(
      (answer) => ({ ...answer, signatureCrc32c: String((Number(answer.signatureCrc32c) + 1) % 2 ** 32) }),
      () => expect(signer.sign(message)).rejects.toThrow(/signature CRC32C mismatch/),
    );
  });

  it('refuses a signature corrupted in transit', async () => {
    await tampered(
      (answer) => {
        const bytes = Buffer.from(answer.signature, 'base64');
        bytes[bytes.length - 1]! ^= 0x01;
        return { ...answer, signature: bytes.toString('base64') };
      },
      () => expect(signer.sign(message)).rejects.toBeInstanceOf(UnavailableError),
    );
  });

  it('refuses an answer for another key version, and one that is not DER', async () => {
    await tampered(
      (answer) => ({ ...answer, name: answer.name.replace(/1$/, '2') }),
      () => expect(signer.sign(message)).rejects.toThrow(/the answer names/),
    );
    const junk = Buffer.from('not a signature');
    await tampered(
      (answer) => ({ ...answer, signature: junk.toString('base64'), signatureCrc32c: String(crc32c(junk)) }),
      () => expect(signer.sign(message)).rejects.toThrow(/not P-256 DER/),
    );
  });

  it('fetches the public key once, and refuses one that is not P-256', async () => {
    const key = `${freshKeyRing()}/cryptoKeys/relay`;
    kms.createKey(key);
    const fresh = new CloudKmsSigner({ client, keyVersion: `${key}/cryptoKeyVersions/1` });
    await Promise.all([fresh.publicKeyJwk(), fresh.publicKeyJwk()]);
    await fresh.publicKeyJwk();
    expect(kms.requests.filter((r) => r === `GET /v1/${key}/cryptoKeyVersions/1/publicKey`)).toHaveLength(1);
    const p384 = `${freshKeyRing()}/cryptoKeys/p384`;
    kms.createKey(p384, { algorithm: 'EC_SIGN_P384_SHA384' });
    const wrong = new CloudKmsSigner({ client, keyVersion: `${p384}/cryptoKeyVersions/1` });
    await expect(wrong.publicKeyJwk()).rejects.toThrow(/not EC_SIGN_P256_SHA256/);
  });

  it('reports a missing version, refused credentials and a failing KMS as UnavailableError', async () => {
    const missing = new CloudKmsSigner({ client, keyVersion: `${signer.keyVersion.slice(0, -1)}9` });
    await expect(missing.sign(message)).rejects.toThrow(/cannot be used \(NOT_FOUND/);
    await expect(missing.publicKeyJwk()).rejects.toBeInstanceOf(UnavailableError);
    const stranger = new KeyManagementServiceClient(kmsClientOptions(kms.port, 'wrong-token'));
    const refused = new CloudKmsSigner({ client: stranger, keyVersion: signer.keyVersion });
    await expect(refused.sign(message)).rejects.toThrow(/UNAUTHENTICATED/);
    await stranger.close();
    kms.failNext(503);
    await expect(signer.sign(message)).rejects.toThrow(/throttling or failing \(UNAVAILABLE\)/);
  });

  it('refuses a key version that is not a full name', () => {
    for (const keyVersion of ['', 'relay', 'projects/p/locations/l/keyRings/r/cryptoKeys/k'])
      expect(() => new CloudKmsSigner({ client, keyVersion }), keyVersion).toThrow(TypeError);
  });
});

describe('kmsStatus', () => {
  it('reads the status of a gRPC error, a REST error body, and a socket error', () => {
    expect(kmsStatus(Object.assign(new Error('5 NOT_FOUND: x'), { code: 5 }))).toBe('NOT_FOUND');
    const body = JSON.stringify({ error: { code: 409, message: 'x', status: 'ALREADY_EXISTS' } });
    expect(kmsStatus(Object.assign(new Error(body), { code: 409, status: 409 }))).toBe('ALREADY_EXISTS');
    expect(kmsStatus(Object.assign(new Error('<html>'), { code: 409, status: 409 }))).toBe('ALREADY_EXISTS');
    expect(kmsStatus(Object.assign(new Error('<html>'), { code: 502, status: 502 }))).toBe('UNAVAILABLE');
    expect(kmsStatus(Object.assign(new Error('x'), { code: 'ECONNRESET' }))).toBe('TRANSPORT');
    expect(kmsStatus(new Error('x'))).toBeUndefined();
  });

  it('agrees with the RFC 3720 CRC32C check value', () => {
    expect(crc32c(new TextEncoder().encode('123456789'))).toBe(0xe3069283);
  });
});
