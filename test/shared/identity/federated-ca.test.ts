/**
 * Federated identity: one mesh root whose key stays with the operator; each
 * cloud's CA holds its own intermediate (from a CSR of its own key, signed
 * with the root elsewhere) and its own JWT-SVID keys; authority statements
 * make every cloud's bundle the same set, so an SVID one cloud issued is
 * trusted wherever the others' bundles are; an intermediate rotates with no gap.
 */
import { describe, expect, it } from 'vitest';
import { buildBundle, parseBundle } from '../../../shared/identity/bundle.js';
import { MeshCa } from '../../../shared/identity/ca.js';
import { createRootCertificate } from '../../../shared/identity/ca-certificates.js';
import { rotateDue } from '../../../shared/identity/ca-rotation.js';
import { MemoryCaStore } from '../../../shared/identity/ca-store.js';
import { signIntermediateCsr } from '../../../shared/identity/intermediate-csr.js';
import { issueJwtSvid, JwtSvidVerifier } from '../../../shared/identity/jwt-svid.js';
import { MemoryKeyRing } from '../../../shared/identity/memory-key-ring.js';
import { x509 } from '../../../shared/identity/x509.js';
import { issueX509Svid } from '../../../shared/identity/x509-svid.js';
import { ValidationError } from '../../../shared/model/errors.js';
import type { Provider } from '../../../shared/model/specs.js';
import { makeCsr } from '../../support/csr.js';
import { opensslVerify } from '../../support/openssl.js';
import { tempDir } from '../../support/temp-dir.js';

const TD = 'weft.demo';
const HOUR = 3_600_000;

/** The operator's root: its key in a key ring no control plane sees. */
async function offlineRoot(now = new Date()) {
  const signer = await new MemoryKeyRing().open('root');
  const certificate = await createRootCertificate({ trustDomain: TD, signer, now, ttlMs: 10 * 8760 * HOUR });
  return { certificate, signer, pem: certificate.toString('pem') };
}

/** A cloud's CA on the root, its intermediate signed and installed as `weft ca` does it. */
async function cloudCa(
  provider: Provider,
  root: Awaited<ReturnType<typeof offlineRoot>>,
  now = () => new Date(),
) {
  const ca = await MeshCa.open({
    trustDomain: TD,
    store: new MemoryCaStore(),
    keys: new MemoryKeyRing(),
    providers: [provider],
    root: { certPem: root.pem },
    intermediateTtlMs: 4 * HOUR,
    now,
  });
  await install(ca, provider, root, now());
  return ca;
}

async function install(
  ca: MeshCa,
  provider: Provider,
  root: Awaited<ReturnType<typeof offlineRoot>>,
  now: Date,
) {
  const csrPem = await ca.intermediateCsr(provider);
  const certPem = await signIntermediateCsr({
    csrPem,
    provider,
    trustDomain: TD,
    root: { certificate: root.certificate, signer: root.signer },
    now,
    ttlMs: 4 * HOUR,
  });
  await ca.installIntermediate(provider, certPem);
}

describe('a federated CA', () => {
  it('holds no root key and issues nothing until its intermediate is installed', async () => {
    const root = await offlineRoot();
    const ca = await MeshCa.open({
      trustDomain: TD,
      store: new MemoryCaStore(),
      keys: new MemoryKeyRing(),
      providers: ['aws'],
      root: { certPem: root.pem },
    });
    expect(ca.holdsRoot).toBe(false);
    await expect(ca.issuer('aws')).rejects.toThrow(/no aws intermediate is installed yet.*weft ca sign/);
    // Its JWT key it makes itself: that needs no root.
    expect((await ca.jwtSigningKey('aws')).kid).toBeTruthy();
    await install(ca, 'aws', root, new Date());
    const { certificate } = await ca.issuer('aws');
    expect(await certificate.verify({ publicKey: root.certificate.publicKey, signatureOnly: true })).toBe(
      true,
    );
    expect(ca.root.toString('pem')).toBe(root.pem);
  });

  it('refuses an intermediate of another root, for another key, or for another cloud', async () => {
    const root = await offlineRoot();
    const other = await offlineRoot();
    const ca = await MeshCa.open({
      trustDomain: TD,
      store: new MemoryCaStore(),
      keys: new MemoryKeyRing(),
      providers: ['aws'],
      root: { certPem: root.pem },
    });
    const csrPem = await ca.intermediateCsr('aws');
    const sign = (by: typeof root, provider: Provider = 'aws', csr = csrPem) =>
      signIntermediateCsr({ csrPem: csr, provider, trustDomain: TD, root: by, now: new Date(), ttlMs: HOUR });
    await expect(ca.installIntermediate('aws', await sign(other))).rejects.toThrow(
      /not signed by this mesh root/,
    );
    const stranger = await MeshCa.open({
      trustDomain: TD,
      store: new MemoryCaStore(),
      keys: new MemoryKeyRing(),
      providers: ['aws'],
      root: { certPem: root.pem },
    });
    const foreign = await sign(root, 'aws', await stranger.intermediateCsr('aws'));
    await expect(ca.installIntermediate('aws', foreign)).rejects.toThrow(/another key/);
    await expect(sign(root, 'gcp')).rejects.toThrow(ValidationError);
    await expect(sign(root, 'gcp')).rejects.toThrow(/not a gcp intermediate/);
  });
});

describe('three clouds on one root', () => {
  it('exchange statements until every bundle is the same set with the same sequence', async () => {
    const root = await offlineRoot();
    const clouds = {
      aws: await cloudCa('aws', root),
      gcp: await cloudCa('gcp', root),
      azure: await cloudCa('azure', root),
    };
    for (const [name, ca] of Object.entries(clouds)) {
      for (const [other, peer] of Object.entries(clouds)) {
        if (other !== name)
          expect(await ca.addPeerStatement(await peer.authorityStatement(other as Provider))).toBe(true);
      }
    }
    const bundles = await Promise.all(Object.values(clouds).map((ca) => buildBundle(ca)));
    expect(bundles[1]).toEqual(bundles[0]);
    expect(bundles[2]).toEqual(bundles[0]);
    const parsed = parseBundle(bundles[0]);
    expect(parsed.x509Authorities).toHaveLength(1 + 3);
    expect(parsed.jwtKeys.size).toBe(3);
    // The same statement again changes nothing.
    expect(await clouds.aws.addPeerStatement(await clouds.gcp.authorityStatement('gcp'))).toBe(false);
  });

  it('trusts at aws an X.509-SVID and a JWT-SVID gcp issued', async () => {
    const root = await offlineRoot();
    const aws = await cloudCa('aws', root);
    const gcp = await cloudCa('gcp', root);
    await aws.addPeerStatement(await gcp.authorityStatement('gcp'));
    const spiffeId = `spiffe://${TD}/gw/gcp/gcp-edge`;
    const svid = await issueX509Svid(gcp, { csrPem: (await makeCsr()).csrPem, spiffeId, provider: 'gcp' });
    const awsBundle = parseBundle(await buildBundle(aws));
    const rootPem = awsBundle.x509Authorities[0]!.pem;
    expect(rootPem.trim()).toBe(root.pem.trim());
    const dir = await tempDir();
    const verified = await opensslVerify(dir, {
      root: rootPem,
      intermediate: svid.certChain[1]!,
      leaf: svid.certChain[0]!,
    });
    expect(verified.ok, verified.output).toBe(true);
    const audience = `spiffe://${TD}/gateways`;
    const jwt = await issueJwtSvid(gcp, { spiffeId, audience, provider: 'gcp' });
    await expect(
      new JwtSvidVerifier({ bundle: awsBundle }).verify(jwt.token, audience),
    ).resolves.toMatchObject({
      spiffeId,
    });
  });

  it('refuses a tampered statement, one from another root, and its own', async () => {
    const root = await offlineRoot();
    const aws = await cloudCa('aws', root);
    const gcp = await cloudCa('gcp', root);
    const statement = await gcp.authorityStatement('gcp');
    const [manifest, content] = [
      statement.slice(0, statement.indexOf('\n')),
      statement.slice(statement.indexOf('\n') + 1),
    ];
    const [h, p, s] = manifest.split('.') as [string, string, string];
    const claims = JSON.parse(Buffer.from(p, 'base64url').toString());
    claims.sequence += 100;
    const tampered = `${h}.${Buffer.from(JSON.stringify(claims)).toString('base64url')}.${s}\n${content}`;
    await expect(aws.addPeerStatement(tampered)).rejects.toThrow(/signature or the claims/);
    const stranger = await cloudCa('gcp', await offlineRoot());
    await expect(aws.addPeerStatement(await stranger.authorityStatement('gcp'))).rejects.toThrow(
      /no intermediate of this mesh root/,
    );
    await expect(aws.addPeerStatement(await aws.authorityStatement('aws'))).rejects.toThrow(/this CA's own/);
    expect(aws.peers).toEqual([]);
  });

  it('rotates an intermediate with no gap: old SVIDs still verify, peers learn the new one', async () => {
    let now = new Date();
    const root = await offlineRoot(now);
    const aws = await cloudCa('aws', root, () => now);
    const gcp = await cloudCa('gcp', root, () => now);
    const spiffeId = `spiffe://${TD}/gw/aws/aws-edge`;
    const old = await issueX509Svid(aws, {
      csrPem: (await makeCsr()).csrPem,
      spiffeId,
      provider: 'aws',
      now,
    });
    now = new Date(now.getTime() + 2 * HOUR + 60_000);
    expect(await rotateDue(aws)).toMatchObject({ intermediates: [], intermediatesDue: ['aws'] });
    await install(aws, 'aws', root, now);
    const fresh = await issueX509Svid(aws, {
      csrPem: (await makeCsr()).csrPem,
      spiffeId,
      provider: 'aws',
      now,
    });
    expect(fresh.certChain[1]).not.toBe(old.certChain[1]);
    expect(await gcp.addPeerStatement(await aws.authorityStatement('aws'))).toBe(true);
    const pems = parseBundle(await buildBundle(gcp, { now })).x509Authorities.map((a) => a.pem);
    expect(pems).toContain(old.certChain[1]);
    expect(pems).toContain(fresh.certChain[1]);
    // Each leaf chains to an intermediate every bundle still lists (the old leaf itself has expired by now).
    for (const svid of [old, fresh]) {
      const leaf = new x509.X509Certificate(svid.certChain[0]!);
      const issuer = new x509.X509Certificate(svid.certChain[1]!);
      expect(await leaf.verify({ publicKey: issuer.publicKey, signatureOnly: true })).toBe(true);
    }
    expect(
      await new x509.X509Certificate(fresh.certChain[0]!).verify({
        publicKey: new x509.X509Certificate(fresh.certChain[1]!).publicKey,
        date: now,
      }),
    ).toBe(true);
  });
});
