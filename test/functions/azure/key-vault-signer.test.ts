/**
 * KeyVaultSigner and KeyVaultKeyRing with the real @azure/keyvault-keys
 * clients against Key Vault faked at its REST API over HTTPS, with a
 * self-signed certificate (test/support/fake-key-vault.ts): Key Vault cannot
 * run here. The clients do Key Vault's challenge authentication, and trust
 * the certificate through their pipeline options only (`tlsOptions.ca`).
 *
 * @module
 */
import { createHash, webcrypto } from 'node:crypto';
import { CryptographyClient, KeyClient } from '@azure/keyvault-keys';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  KEY_VAULT_CONTROL_PLANE_TAG,
  KeyVaultKeyRing,
  type KeyVaultKeyRingOptions,
  keyVaultKeyName,
} from '../../../functions/azure/key-vault-key-ring.js';
import { KeyVaultSigner } from '../../../functions/azure/key-vault-signer.js';
import type { KeyRing, Signer } from '../../../shared/identity/signer.js';
import { UnavailableError, WeftError } from '../../../shared/model/errors.js';
import { describeSignerContract } from '../../contract/signer.js';
import { type FakeKeyVault, KEY_VAULT_RESOURCE, startFakeKeyVault } from '../../support/fake-key-vault.js';

/** One second (Key Vault's stamps) and a little: the fake and the ring share a clock. */
const SETTLE_MS = 1050;

let vault: FakeKeyVault;
let closedUrl: string;

beforeAll(async () => {
  // Small pages, so that listing a key's versions follows nextLink.
  vault = await startFakeKeyVault({ pageSize: 2 });
  const closed = await startFakeKeyVault();
  closedUrl = closed.vaultUrl;
  await closed.close();
});
afterAll(() => vault?.close());

const ringOn = (on: FakeKeyVault, options: Partial<KeyVaultKeyRingOptions> = {}) =>
  new KeyVaultKeyRing({
    keys: on.keyClient(),
    credential: on.credential,
    cryptographyOptions: on.clientOptions,
    settleMs: SETTLE_MS,
    ...options,
  });

const cryptoClient = (url: string, options = vault.clientOptions) =>
  new CryptographyClient(url, vault.credential, { ...options });

const signsOf = (on: FakeKeyVault, name: string) =>
  on.requests.filter(
    (r) => r.method === 'POST' && r.path.startsWith(`/keys/${name}/`) && r.path.endsWith('/sign'),
  );

const verifies = async (jwk: webcrypto.JsonWebKey, message: Uint8Array, signature: Uint8Array) =>
  webcrypto.subtle.verify(
    { name: 'ECDSA', hash: 'SHA-256' },
    await webcrypto.subtle.importKey('jwk', jwk, { name: 'ECDSA', namedCurve: 'P-256' }, false, ['verify']),
    signature,
    message,
  );

describeSignerContract('KeyVaultKeyRing on a fake Key Vault (HTTPS)', async () => ({
  ring: () => ringOn(vault),
  close: async () => {},
}));

describeSignerContract('KeyVaultSigner by key URL on a fake Key Vault (HTTPS)', async () => {
  // What the composition does for the relay key: a CryptographyClient from the versionless URL, nothing else.
  const keys = vault.keyClient();
  const created = new Map<string, Promise<unknown>>();
  const ring: KeyRing = {
    async open(keyId) {
      const name = `direct-${keyId}`;
      if (!created.has(name)) created.set(name, keys.createEcKey(name, { curve: 'P-256' }));
      await created.get(name);
      return new KeyVaultSigner({ client: cryptoClient(`${vault.vaultUrl}/keys/${name}`), keyId });
    },
  };
  return { ring: () => ring, close: async () => {} };
});

describe('KeyVaultKeyRing', () => {
  it('creates weft-<id>: EC P-256, sign and verify, tagged, after the challenge', async () => {
    const id = 'azure-x509-3fa2c1b0d9e8';
    const signer = (await ringOn(vault, { keyTag: 'prod' }).open(id)) as KeyVaultSigner;
    expect(signer.keyId).toBe(id);
    const [version, ...more] = vault.keys.get(`weft-${id}`) ?? [];
    expect(more).toStrictEqual([]);
    expect(version).toMatchObject({ kty: 'EC', crv: 'P-256', keyOps: ['sign', 'verify'] });
    expect(version?.tags).toStrictEqual({ [KEY_VAULT_CONTROL_PLANE_TAG]: 'prod', 'weft-key-id': id });
    expect(signer.keyUrl).toBe(`${vault.vaultUrl}/keys/weft-${id}/${version?.version}`);
    expect(await signer.publicKeyJwk()).toStrictEqual({
      kty: 'EC',
      crv: 'P-256',
      x: version?.x,
      y: version?.y,
    });
    // Each new client was challenged once, then asked its credential for the vault's scope in the named tenant.
    expect(vault.challenges.some((c) => c.path.startsWith(`/keys/weft-${id}`))).toBe(true);
    expect(vault.tokenRequests).toContainEqual({
      scopes: [`${KEY_VAULT_RESOURCE}/.default`],
      tenantId: vault.tenantId,
    });
  });

  it('maps ids outside Key Vault names with a hash, so that no two ids share a key', async () => {
    expect(keyVaultKeyName('azure-jwt-1')).toBe('weft-azure-jwt-1');
    const ids = [
      'a.b',
      'a_b',
      'a-b',
      'a.b.',
      'a--b',
      `${'x'.repeat(122)}`,
      `${'x'.repeat(123)}`,
      `${'x'.repeat(128)}`,
    ];
    ids.push(`${'x'.repeat(127)}y`, `${'x'.repeat(127)}z`, keyVaultKeyName('a.b').slice(6));
    const names = ids.map(keyVaultKeyName);
    expect(new Set(names).size).toBe(ids.length);
    for (const name of names) expect(name).toMatch(/^weft-[0-9A-Za-z-]{1,122}$/);
    expect(keyVaultKeyName('a.b')).toMatch(/^weft--a-b-[0-9a-f]{10}$/);
    const ring = ringOn(vault);
    const [dot, underscore] = await Promise.all([ring.open('azure-x509.v2'), ring.open('azure-x509_v2')]);
    expect(await dot.publicKeyJwk()).not.toStrictEqual(await underscore.publicKeyJwk());
    expect(vault.keys.has(keyVaultKeyName('azure-x509.v2'))).toBe(true);
  });

  it('ends a creation race on one version, even when both creations share a second', async () => {
    // Both versions stamped in one second, and the one made second has the smaller id, so it is the first
    // version by (created, id). Its creator lists both; the other creator's first listing is made before the
    // second version exists: only waiting out the second makes it see, and pick, the same version.
    const start = Date.now();
    let next = 0xffff;
    const raced = await startFakeKeyVault({
      clock: () => start,
      versionId: () => (next--).toString(16).padStart(32, '0'),
    });
    try {
      const id = 'azure-jwt-race';
      const name = `weft-${id}`;
      // Both rings find no key before either creates; the second creation waits for the first listing.
      const gate = () => {
        let open: () => void = () => {};
        const opened = new Promise<void>((resolve) => {
          open = resolve;
        });
        return { open, opened };
      };
      const bothRead = gate();
      const firstListing = gate();
      let reads = 0;
      let creates = 0;
      const afterAnswer = () => new Promise((resolve) => setImmediate(resolve));
      raced.before = async ({ method, path }) => {
        if (method === 'GET' && path === `/keys/${name}/` && ++reads === 2) bothRead.open();
        if (method === 'GET' && path === `/keys/${name}/versions`) firstListing.open();
        if (method === 'POST' && path === `/keys/${name}/create`) {
          await bothRead.opened;
          if (++creates === 2) await firstListing.opened;
          await afterAnswer();
        }
      };
      const [a, b] = (await Promise.all([
        ringOn(raced).open(id),
        ringOn(raced).open(id),
      ])) as KeyVaultSigner[];
      const versions = raced.keys.get(name) ?? [];
      expect(versions).toHaveLength(2);
      expect(a!.keyUrl).toBe(b!.keyUrl);
      expect(a!.keyUrl).toBe(`${raced.vaultUrl}/keys/${name}/${versions[1]?.version}`);
      expect(await a!.publicKeyJwk()).toStrictEqual(await b!.publicKeyJwk());
      const message = new TextEncoder().encode('agreed');
      expect(await verifies(await b!.publicKeyJwk(), message, await a!.sign(message))).toBe(true);
      // A later cold start opens the same version, though the latest is the other.
      raced.before = undefined;
      expect(((await ringOn(raced).open(id)) as KeyVaultSigner).keyUrl).toBe(a!.keyUrl);
    } finally {
      await raced.close();
    }
  });

  it('signs with the oldest version of a key that has several', async () => {
    let now = Date.now() - 60_000;
    const aged = await startFakeKeyVault({ clock: () => now });
    try {
      const keys = aged.keyClient();
      const first = await keys.createEcKey('weft-azure-jwt-old', { curve: 'P-256' });
      now += 5_000;
      await keys.createEcKey('weft-azure-jwt-old', { curve: 'P-256' });
      const signer = (await ringOn(aged).open('azure-jwt-old')) as KeyVaultSigner;
      expect(signer.keyUrl).toBe(first.id);
    } finally {
      await aged.close();
    }
  });

  it('opens a key once per ring and id', async () => {
    const ring = ringOn(vault);
    const [a, b] = await Promise.all([ring.open('azure-jwt-cached'), ring.open('azure-jwt-cached')]);
    expect(a).toBe(b);
    expect(await ring.open('azure-jwt-cached')).toBe(a);
    expect(vault.requests.filter((r) => r.path === '/keys/weft-azure-jwt-cached/create')).toHaveLength(1);
  });

  it('refuses a name that holds a key which cannot sign ES256', async () => {
    const keys = vault.keyClient();
    await keys.createEcKey('weft-azure-jwt-p384', { curve: 'P-384' });
    await keys.createEcKey('weft-azure-jwt-verify', { curve: 'P-256', keyOps: ['verify'] });
    const ring = ringOn(vault);
    await expect(ring.open('azure-jwt-p384')).rejects.toThrow(/not an EC P-256 key/);
    await expect(ring.open('azure-jwt-verify')).rejects.toThrow(/disabled or may not sign/);
    await expect(ring.open('azure-jwt-p384')).rejects.toMatchObject({ code: 'ERR_INTERNAL' });
  });

  it('refuses bad configuration and key ids', async () => {
    const ring = ringOn(vault);
    for (const id of ['', '../x', 'a/b', '-x', 'x'.repeat(129)])
      await expect(ring.open(id), id).rejects.toThrow(TypeError);
    expect(() => new KeyVaultKeyRing({ ...({} as KeyVaultKeyRingOptions) })).toThrow(TypeError);
    expect(() => ringOn(vault, { keyTag: '' })).toThrow(TypeError);
  });

  it('reports an unreachable vault as UnavailableError', async () => {
    const ring = new KeyVaultKeyRing({
      keys: new KeyClient(closedUrl, vault.credential, { ...vault.clientOptions }),
      credential: vault.credential,
    });
    await expect(ring.open('azure-jwt-down')).rejects.toBeInstanceOf(UnavailableError);
  });
});

describe('KeyVaultSigner', () => {
  const opened: Record<string, Signer> = {};
  beforeAll(async () => {
    // Opened at once: a new key waits out its creation second, once.
    const ring = ringOn(vault);
    const ids = ['azure-jwt-remote', 'azure-jwt-der', 'azure-jwt-throttled'];
    const signers = await Promise.all(ids.map((id) => ring.open(id)));
    for (const [i, id] of ids.entries()) opened[id] = signers[i]!;
  });

  it('signs in the vault, one request per signature, over the SHA-256 of the message', async () => {
    const signer = opened['azure-jwt-remote']!;
    const name = 'weft-azure-jwt-remote';
    const before = signsOf(vault, name).length;
    const messages = ['a', 'b', 'c'].map((m) => new TextEncoder().encode(m));
    for (const message of messages) expect(await signer.sign(message)).toHaveLength(64);
    const sent = signsOf(vault, name).slice(before);
    expect(sent.map((r) => r.body)).toStrictEqual(
      messages.map((m) => ({ alg: 'ES256', value: createHash('sha256').update(m).digest('base64url') })),
    );
    expect(signer.maxMessageBytes).toBeUndefined();
  });

  it('refuses a signature that is not a 64-byte r||s', async () => {
    const signer = opened['azure-jwt-der']!;
    vault.signatureFormat = 'der';
    try {
      const error = await signer.sign(new Uint8Array([1])).catch((e: unknown) => e);
      expect(error).toBeInstanceOf(WeftError);
      expect(error).toMatchObject({
        code: 'ERR_INTERNAL',
        message: expect.stringMatching(/not r\|\|s \(64\)/),
      });
    } finally {
      vault.signatureFormat = 'raw';
    }
    expect(await signer.sign(new Uint8Array([1]))).toHaveLength(64);
  });

  it('reports a throttled (429) or failing (503) vault as UnavailableError, after the SDK retried', async () => {
    const signer = opened['azure-jwt-throttled']!;
    const name = 'weft-azure-jwt-throttled';
    const sign = new RegExp(`^POST /keys/${name}/[0-9a-f]+/sign$`);
    for (const status of [429, 503]) {
      const before = signsOf(vault, name).length;
      vault.fail({ status, times: 3, match: sign }); // the first try and both retries
      const error = await signer.sign(new Uint8Array([2])).catch((e: unknown) => e);
      expect(error, String(status)).toBeInstanceOf(UnavailableError);
      expect((error as Error).message).toMatch(/throttling or failing/);
      expect(signsOf(vault, name).length - before).toBe(3);
    }
    expect(await signer.sign(new Uint8Array([2]))).toHaveLength(64);
  });

  it('reports an unreachable vault, and one whose certificate it does not trust, as UnavailableError', async () => {
    const { tlsOptions: _trusted, ...untrusting } = vault.clientOptions;
    await vault.keyClient().createEcKey('direct-untrusted', { curve: 'P-256' });
    for (const client of [
      cryptoClient(`${closedUrl}/keys/direct-down`),
      cryptoClient(`${vault.vaultUrl}/keys/direct-untrusted`, untrusting),
    ]) {
      const signer = new KeyVaultSigner({ client, keyId: 'k' });
      await expect(signer.sign(new Uint8Array([3]))).rejects.toBeInstanceOf(UnavailableError);
      await expect(signer.publicKeyJwk()).rejects.toBeInstanceOf(UnavailableError);
    }
    const untrusted = await new KeyVaultSigner({
      client: cryptoClient(`${vault.vaultUrl}/keys/direct-untrusted`, untrusting),
      keyId: 'k',
    })
      .sign(new Uint8Array([3]))
      .catch((e: unknown) => e);
    expect(String((untrusted as Error).cause)).toMatch(/self[- ]signed certificate/i);
  });

  it('reads the public key of a key given by URL once, with the read the client makes anyway', async () => {
    const created = await vault.keyClient().createEcKey('direct-once', { curve: 'P-256' });
    const signer = new KeyVaultSigner({
      client: cryptoClient(`${vault.vaultUrl}/keys/direct-once`),
      keyId: 'once',
    });
    const reads = () =>
      vault.requests.filter((r) => r.method === 'GET' && r.path.startsWith('/keys/direct-once'));
    const [jwk] = await Promise.all([signer.publicKeyJwk(), signer.publicKeyJwk()]);
    await signer.sign(new Uint8Array([4]));
    expect(await signer.publicKeyJwk()).toStrictEqual(jwk);
    expect(reads()).toHaveLength(1);
    expect(jwk).toStrictEqual({
      kty: 'EC',
      crv: 'P-256',
      x: Buffer.from(created.key!.x!).toString('base64url'),
      y: Buffer.from(created.key!.y!).toString('base64url'),
    });
    expect(signer.keyUrl).toBe(created.id);
  });

  it('refuses keys that are not P-256 or may not sign', async () => {
    const keys = vault.keyClient();
    await keys.createEcKey('direct-p384', { curve: 'P-384' });
    await keys.createEcKey('direct-verify-only', { curve: 'P-256', keyOps: ['verify'] });
    const p384 = new KeyVaultSigner({
      client: cryptoClient(`${vault.vaultUrl}/keys/direct-p384`),
      keyId: 'p384',
    });
    await expect(p384.publicKeyJwk()).rejects.toMatchObject({ code: 'ERR_INTERNAL' });
    const verifyOnly = new KeyVaultSigner({
      client: cryptoClient(`${vault.vaultUrl}/keys/direct-verify-only`),
      keyId: 'verify-only',
    });
    const before = signsOf(vault, 'direct-verify-only').length;
    await expect(verifyOnly.sign(new Uint8Array([5]))).rejects.toMatchObject({
      code: 'ERR_INTERNAL',
      message: expect.stringMatching(/may not sign/),
    });
    expect(signsOf(vault, 'direct-verify-only').length).toBe(before); // the SDK refused before calling
  });

  it('refuses a CryptographyClient over a local JsonWebKey, and an empty keyId', () => {
    const local = new CryptographyClient({
      kty: 'EC',
      crv: 'P-256',
      x: new Uint8Array(32),
      y: new Uint8Array(32),
    });
    expect(() => new KeyVaultSigner({ client: local, keyId: 'local' })).toThrow(TypeError);
    expect(() => new KeyVaultSigner({ client: cryptoClient(`${vault.vaultUrl}/keys/x`), keyId: '' })).toThrow(
      TypeError,
    );
  });
});
