import { describe, expect, it } from 'vitest';
import { x509 } from '../../../shared/identity/x509.js';
import { issueX509Svid } from '../../../shared/identity/x509-svid.js';
import { ValidationError } from '../../../shared/model/errors.js';
import { makeCsr, tamperCsr } from '../../support/csr.js';
import { openTestCa, TRUST_DOMAIN } from '../../support/mesh-ca.js';
import { opensslVerify } from '../../support/openssl.js';
import { tempDir } from '../../support/temp-dir.js';

const spiffeId = `spiffe://${TRUST_DOMAIN}/ns/shop/svc/cart`;

describe('issueX509Svid', async () => {
  const { ca } = await openTestCa();
  const rootPem = ca.root.toString('pem');

  it('issues a leaf that openssl verifies against the root, for client and server use', async () => {
    const { csrPem } = await makeCsr();
    const { certChain } = await issueX509Svid(ca, { csrPem, spiffeId, provider: 'aws' });
    const dir = await tempDir();
    for (const purpose of ['sslclient', 'sslserver'] as const) {
      const result = await opensslVerify(
        dir,
        { root: rootPem, intermediate: certChain[1], leaf: certChain[0] },
        { purpose },
      );
      expect(result.output).toContain('OK');
      expect(result.ok).toBe(true);
    }
  });

  it('adds DNS SANs only when asked (the nginx bench baseline), after the one URI SAN', async () => {
    const { csrPem } = await makeCsr();
    const { certChain } = await issueX509Svid(ca, {
      csrPem,
      spiffeId,
      provider: 'gcp',
      dnsNames: ['gw.test'],
    });
    const san = new x509.X509Certificate(certChain[0]).getExtension(x509.SubjectAlternativeNameExtension);
    expect(san?.names.toJSON()).toEqual([
      { type: 'url', value: spiffeId },
      { type: 'dns', value: 'gw.test' },
    ]);
  });

  it('names exactly one URI SAN, the SPIFFE ID, and ignores the names in the CSR', async () => {
    const { csrPem } = await makeCsr({
      subject: 'CN=admin',
      sanUris: ['spiffe://acme.test/ns/kube-system/svc/root'],
    });
    const { certChain } = await issueX509Svid(ca, { csrPem, spiffeId, provider: 'gcp' });
    const leaf = new x509.X509Certificate(certChain[0]);
    const san = leaf.getExtension(x509.SubjectAlternativeNameExtension);
    expect(san?.names.toJSON()).toEqual([{ type: 'url', value: spiffeId }]);
    expect(leaf.subject).not.toContain('admin');
    expect(leaf.getExtension(x509.BasicConstraintsExtension)?.ca).toBe(false);
    const usages = leaf.getExtension(x509.KeyUsagesExtension)?.usages ?? 0;
    expect(usages & x509.KeyUsageFlags.digitalSignature).toBeTruthy();
    expect(usages & x509.KeyUsageFlags.keyCertSign).toBe(0);
    expect(leaf.getExtension(x509.ExtendedKeyUsageExtension)?.usages).toEqual([
      x509.ExtendedKeyUsage.serverAuth,
      x509.ExtendedKeyUsage.clientAuth,
    ]);
    const aki = leaf.getExtension(x509.AuthorityKeyIdentifierExtension)?.keyId;
    const issuer = new x509.X509Certificate(certChain[1]);
    expect(aki).toBe(issuer.getExtension(x509.SubjectKeyIdentifierExtension)?.keyId);
    expect(leaf.getExtension(x509.SubjectKeyIdentifierExtension)).toBeDefined();
  });

  it('lives at most the TTL (default one hour), with a random serial', async () => {
    const now = new Date();
    const { csrPem } = await makeCsr();
    const a = await issueX509Svid(ca, { csrPem, spiffeId, provider: 'aws', now });
    const b = await issueX509Svid(ca, { csrPem, spiffeId, provider: 'aws', now, ttlMs: 600_000 });
    const [leafA, leafB] = [a, b].map((s) => new x509.X509Certificate(s.certChain[0]));
    expect(leafA!.notAfter.getTime() - leafA!.notBefore.getTime()).toBeLessThanOrEqual(3_600_000);
    expect(leafA!.notAfter.getTime() - now.getTime()).toBeLessThanOrEqual(3_600_000);
    expect(leafB!.notAfter.getTime() - now.getTime()).toBeLessThanOrEqual(600_000);
    expect(a.expiresAt).toEqual(leafA!.notAfter);
    expect(leafA!.serialNumber).not.toBe(leafB!.serialNumber);
  });

  it('never outlives its intermediate', async () => {
    const issuer = await ca.issuer('aws');
    const now = new Date(issuer.certificate.notAfter.getTime() - 60_000);
    const { csrPem } = await makeCsr();
    const { expiresAt } = await issueX509Svid(ca, {
      csrPem,
      spiffeId,
      provider: 'aws',
      now,
      ttlMs: 3_600_000,
    });
    expect(expiresAt.getTime()).toBeLessThanOrEqual(issuer.certificate.notAfter.getTime());
  });

  it.each([
    ['a P-384 key', () => makeCsr({ kind: 'P-384' }).then((c) => c.csrPem)],
    ['an RSA key', () => makeCsr({ kind: 'RSA' }).then((c) => c.csrPem)],
    ['a broken self-signature', () => makeCsr().then((c) => tamperCsr(c.csrPem))],
    ['garbage', async () => '-----BEGIN CERTIFICATE REQUEST-----\nAAAA\n-----END CERTIFICATE REQUEST-----'],
  ])('refuses a CSR with %s', async (_what, csr) => {
    await expect(issueX509Svid(ca, { csrPem: await csr(), spiffeId, provider: 'aws' })).rejects.toThrow(
      ValidationError,
    );
  });

  it.each(['spiffe://other.test/ns/shop/svc/cart', `spiffe://${TRUST_DOMAIN}`, 'https://acme.test/x'])(
    'refuses SPIFFE ID %s',
    async (id) => {
      const { csrPem } = await makeCsr();
      await expect(issueX509Svid(ca, { csrPem, spiffeId: id, provider: 'aws' })).rejects.toThrow(
        ValidationError,
      );
    },
  );

  it('refuses TTLs outside 1 minute to 24 hours', async () => {
    const { csrPem } = await makeCsr();
    for (const ttlMs of [0, -1, 25 * 3_600_000, 1.5]) {
      await expect(issueX509Svid(ca, { csrPem, spiffeId, provider: 'aws', ttlMs })).rejects.toThrow(
        ValidationError,
      );
    }
  });
});
