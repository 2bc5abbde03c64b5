import { readdir, rm, stat } from 'node:fs/promises';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { buildBundle, parseBundle } from '../../../shared/identity/bundle.js';
import { MeshCa } from '../../../shared/identity/ca.js';
import { rotateDue } from '../../../shared/identity/ca-rotation.js';
import { MemoryCaStore } from '../../../shared/identity/ca-store.js';
import { FileCaStore } from '../../../shared/identity/file-ca-store.js';
import { FileKeyRing } from '../../../shared/identity/file-key-signer.js';
import { issueJwtSvid, JwtSvidVerifier } from '../../../shared/identity/jwt-svid.js';
import { x509 } from '../../../shared/identity/x509.js';
import { issueX509Svid } from '../../../shared/identity/x509-svid.js';
import { ConflictError, ValidationError } from '../../../shared/model/errors.js';
import { makeCsr } from '../../support/csr.js';
import { openTestCa, TRUST_DOMAIN } from '../../support/mesh-ca.js';
import { opensslVerify } from '../../support/openssl.js';
import { tempDir } from '../../support/temp-dir.js';

const spiffeId = `spiffe://${TRUST_DOMAIN}/gw/aws-us/gw-1`;
const HOUR = 3_600_000;

describe('MeshCa', () => {
  it('creates a 10-year root and a 1-year intermediate per provider on first start, and persists them', async () => {
    const { ca, dataDir } = await openTestCa({ providers: ['aws', 'gcp', 'azure', 'onprem', 'local'] });
    expect(ca.root.notAfter.getTime() - Date.now()).toBeGreaterThan(9.9 * 365 * 24 * HOUR);
    expect(ca.root.subject).toBe(ca.root.issuer);
    for (const provider of ['aws', 'gcp', 'azure', 'onprem', 'local'] as const) {
      const { certificate } = await ca.issuer(provider);
      expect(certificate.subject).toContain(provider);
      expect(certificate.getExtension(x509.BasicConstraintsExtension)).toMatchObject({
        ca: true,
        pathLength: 0,
      });
      expect(await certificate.verify({ publicKey: ca.root.publicKey, signatureOnly: true })).toBe(true);
      expect(certificate.notAfter.getTime() - Date.now()).toBeLessThanOrEqual(365 * 24 * HOUR);
    }
    const reopened = await MeshCa.open({
      trustDomain: TRUST_DOMAIN,
      store: new FileCaStore(dataDir),
      keys: new FileKeyRing(dataDir),
      providers: ['aws', 'gcp', 'azure', 'onprem', 'local'],
    });
    expect(reopened.root.toString('pem')).toBe(ca.root.toString('pem'));
    expect(reopened.sequence).toBe(ca.sequence);
    expect((await reopened.issuer('gcp')).certPem).toBe((await ca.issuer('gcp')).certPem);
    expect((await stat(join(dataDir, 'ca', 'state.json'))).mode & 0o777).toBe(0o600);
    for (const file of await readdir(join(dataDir, 'keys'))) {
      expect((await stat(join(dataDir, 'keys', file))).mode & 0o777, file).toBe(0o600);
    }
    expect(await readdir(join(dataDir, 'keys'))).toHaveLength(1 + 2 * 5);
  });

  it('adds a provider listed later without touching the others', async () => {
    const { ca, dataDir } = await openTestCa({ providers: ['aws'] });
    const open = () =>
      MeshCa.open({
        trustDomain: TRUST_DOMAIN,
        store: new FileCaStore(dataDir),
        keys: new FileKeyRing(dataDir),
        providers: ['aws', 'azure'],
      });
    const wider = await open();
    expect(wider.sequence).toBeGreaterThan(ca.sequence);
    expect((await wider.issuer('aws')).certPem).toBe((await ca.issuer('aws')).certPem);
    expect((await wider.issuer('azure')).certificate.subject).toContain('azure');
    await expect(ca.issuer('azure')).rejects.toThrow(TypeError);
  });

  it('refuses a store that belongs to another trust domain', async () => {
    const { dataDir } = await openTestCa();
    await expect(
      MeshCa.open({
        trustDomain: 'other.test',
        store: new FileCaStore(dataDir),
        keys: new FileKeyRing(dataDir),
      }),
    ).rejects.toThrow(ValidationError);
  });

  it('refuses to overwrite a change another instance saved', async () => {
    const dataDir = await tempDir();
    const store = new MemoryCaStore();
    const options = {
      trustDomain: TRUST_DOMAIN,
      store,
      keys: new FileKeyRing(dataDir),
      providers: ['aws' as const],
    };
    const [a, b] = [await MeshCa.open(options), await MeshCa.open(options)];
    await a.rotateIntermediate('aws');
    await expect(b.rotateIntermediate('aws')).rejects.toThrow(ConflictError);
    await b.reload();
    await b.rotateIntermediate('aws');
    expect(b.sequence).toBe(a.sequence + 1);
  });
});

describe('rotation with overlap', async () => {
  const now = new Date();
  const { ca } = await openTestCa({ intermediateTtlMs: 3 * HOUR, now: () => now });
  const root = ca.root.toString('pem');
  const dir = await tempDir();

  it('keeps old X.509-SVIDs valid until they expire; new ones chain to the new key', async () => {
    const old = await issueX509Svid(ca, { csrPem: (await makeCsr()).csrPem, spiffeId, provider: 'aws', now });
    const before = ca.sequence;
    await ca.rotateIntermediate('aws');
    expect(ca.sequence).toBe(before + 1);
    const fresh = await issueX509Svid(ca, {
      csrPem: (await makeCsr()).csrPem,
      spiffeId,
      provider: 'aws',
      now,
    });
    expect(fresh.certChain[1]).not.toBe(old.certChain[1]);
    const akiOf = (pem: string) =>
      new x509.X509Certificate(pem).getExtension(x509.AuthorityKeyIdentifierExtension)?.keyId;
    const skiOf = (pem: string) =>
      new x509.X509Certificate(pem).getExtension(x509.SubjectKeyIdentifierExtension)?.keyId;
    expect(akiOf(fresh.certChain[0])).toBe(skiOf(fresh.certChain[1]));
    expect(akiOf(fresh.certChain[0])).not.toBe(akiOf(old.certChain[0]));

    const bundle = parseBundle(await buildBundle(ca, { now }));
    const pems = bundle.x509Authorities.map((a) => a.pem);
    expect(pems).toContain(old.certChain[1]);
    expect(pems).toContain(fresh.certChain[1]);
    const intermediates = pems.slice(1).join('');
    for (const svid of [old, fresh]) {
      const result = await opensslVerify(dir, { root, intermediate: intermediates, leaf: svid.certChain[0] });
      expect(result.ok, result.output).toBe(true);
    }
    const later = new Date(now.getTime() + 2 * HOUR);
    const expired = await opensslVerify(
      dir,
      { root, intermediate: old.certChain[1], leaf: old.certChain[0] },
      { at: later },
    );
    expect(expired.output).toMatch(/expired/);
  });

  it('drops the old intermediate from the bundle once it has expired', async () => {
    const count = async (at: Date) => parseBundle(await buildBundle(ca, { now: at })).x509Authorities.length;
    expect(await count(now)).toBe(1 + 2 + 1);
    expect(await count(new Date(now.getTime() + 3 * HOUR + 60_000))).toBe(1);
  });

  it('keeps old JWT-SVIDs verifiable after a JWT key rotation; new ones carry the new kid', async () => {
    const audience = 'spiffe://acme.test/gw';
    const old = await issueJwtSvid(ca, { spiffeId, audience, provider: 'gcp', now });
    const oldKid = (await ca.jwtSigningKey('gcp')).kid;
    await ca.rotateJwtKey('gcp');
    const newKid = (await ca.jwtSigningKey('gcp')).kid;
    expect(newKid).not.toBe(oldKid);
    const fresh = await issueJwtSvid(ca, { spiffeId, audience, provider: 'gcp', now });
    expect(JSON.parse(Buffer.from(fresh.token.split('.')[0]!, 'base64url').toString()).kid).toBe(newKid);
    const verifier = new JwtSvidVerifier({
      bundle: parseBundle(await buildBundle(ca, { now })),
      now: () => now,
    });
    await expect(verifier.verify(old.token, audience)).resolves.toMatchObject({ kid: oldKid });
    await expect(verifier.verify(fresh.token, audience)).resolves.toMatchObject({ kid: newKid });
  });
});

describe('scheduled rotation', () => {
  it('rotates intermediates and JWT keys past half-life, publishing the JWT key before it signs', async () => {
    let now = new Date();
    const { ca } = await openTestCa({ providers: ['aws'], intermediateTtlMs: 4 * HOUR, now: () => now });
    expect(await rotateDue(ca)).toEqual({ intermediates: [], jwtKeys: [] });
    const oldIssuer = (await ca.issuer('aws')).certPem;
    const oldKid = (await ca.jwtSigningKey('aws')).kid;

    now = new Date(now.getTime() + 2 * HOUR + 60_000);
    expect(await rotateDue(ca, { jwtActivationDelayMs: 10 * 60_000 })).toEqual({
      intermediates: ['aws'],
      jwtKeys: ['aws'],
    });
    expect((await ca.issuer('aws')).certPem).not.toBe(oldIssuer);
    const pending = ca.pendingJwtKey('aws');
    expect(pending).toBeDefined();
    expect(ca.jwtAuthorities().map((k) => k.kid)).toEqual([oldKid, pending?.kid]);
    expect((await ca.jwtSigningKey('aws')).kid).toBe(oldKid);
    expect(await rotateDue(ca)).toEqual({ intermediates: [], jwtKeys: [] });

    now = new Date(now.getTime() + 11 * 60_000);
    expect((await ca.jwtSigningKey('aws')).kid).toBe(pending?.kid);
    expect(ca.pendingJwtKey('aws')).toBeUndefined();
  });

  it('refuses to start when a key is not the one on record', async () => {
    const { dataDir } = await openTestCa({ providers: ['aws'] });
    const keysDir = join(dataDir, 'keys');
    for (const file of await readdir(keysDir)) if (file.startsWith('aws-x509')) await rm(join(keysDir, file));
    const reopen = MeshCa.open({
      trustDomain: TRUST_DOMAIN,
      store: new FileCaStore(dataDir),
      keys: new FileKeyRing(dataDir),
      providers: ['aws'],
    });
    await expect(reopen).rejects.toThrow(/does not match/);
  });
});
