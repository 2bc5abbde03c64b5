import { generateKeyPair, SignJWT } from 'jose';
import { describe, expect, it } from 'vitest';
import { buildBundle, parseBundle } from '../../../shared/identity/bundle.js';
import { issueJwtSvid, JwtSvidVerifier } from '../../../shared/identity/jwt-svid.js';
import { UnauthenticatedError, ValidationError } from '../../../shared/model/errors.js';
import { openTestCa, TRUST_DOMAIN } from '../../support/mesh-ca.js';

const spiffeId = `spiffe://${TRUST_DOMAIN}/ns/shop/svc/cart`;
const audience = `spiffe://${TRUST_DOMAIN}/gw`;

/** Flips one character of a JWS segment (0 header, 1 payload, 2 signature). */
function tamper(token: string, segment: number, replace: (s: string) => string): string {
  const parts = token.split('.');
  parts[segment] = replace(parts[segment] ?? '');
  return parts.join('.');
}

describe('JWT-SVIDs', async () => {
  const { ca } = await openTestCa();
  const bundle = parseBundle(await buildBundle(ca));
  const verifier = () => new JwtSvidVerifier({ bundle, trustDomain: TRUST_DOMAIN });

  it('issues ES256 with kid, sub, one aud, iat and exp five minutes on', async () => {
    const now = new Date();
    const { token, expiresAt } = await issueJwtSvid(ca, { spiffeId, audience, provider: 'aws', now });
    const [header, payload] = token
      .split('.')
      .slice(0, 2)
      .map((p) => JSON.parse(Buffer.from(p, 'base64url').toString()));
    expect(header).toEqual({ alg: 'ES256', kid: (await ca.jwtSigningKey('aws')).kid, typ: 'JWT' });
    expect(payload).toEqual({
      sub: spiffeId,
      aud: audience,
      iat: Math.floor(now.getTime() / 1000),
      exp: expect.any(Number),
    });
    expect(payload.exp - payload.iat).toBe(300);
    expect(expiresAt.getTime()).toBe(payload.exp * 1000);
  });

  it('verifies against the bundle, whichever provider signed', async () => {
    for (const provider of ['aws', 'gcp'] as const) {
      const { token } = await issueJwtSvid(ca, { spiffeId, audience, provider });
      const result = await verifier().verify(token, audience);
      expect(result).toMatchObject({ spiffeId, audience: [audience] });
    }
  });

  it('refuses a wrong audience', async () => {
    const { token } = await issueJwtSvid(ca, { spiffeId, audience, provider: 'aws' });
    await expect(verifier().verify(token, 'spiffe://acme.test/other')).rejects.toThrow(/aud/);
  });

  it('refuses an expired token, beyond the clock skew', async () => {
    const now = new Date(Date.now() - 10 * 60_000);
    const { token } = await issueJwtSvid(ca, { spiffeId, audience, provider: 'aws', now });
    await expect(verifier().verify(token, audience)).rejects.toThrow(/expired/);
  });

  it('refuses tampered payloads, headers and signatures', async () => {
    const { token } = await issueJwtSvid(ca, { spiffeId, audience, provider: 'aws' });
    const otherSub = Buffer.from(
      JSON.stringify({
        ...JSON.parse(Buffer.from(token.split('.')[1]!, 'base64url').toString()),
        sub: `${spiffeId}2`,
      }),
    ).toString('base64url');
    const forged = [
      tamper(token, 1, () => otherSub),
      tamper(token, 2, (s) => (s[0] === 'A' ? `B${s.slice(1)}` : `A${s.slice(1)}`)),
      tamper(token, 0, () => Buffer.from(JSON.stringify({ alg: 'none', kid: 'x' })).toString('base64url')),
      'not-a-token',
    ];
    for (const t of forged)
      await expect(verifier().verify(t, audience)).rejects.toThrow(UnauthenticatedError);
  });

  it('refuses a token whose kid is not in the bundle, or which a foreign CA signed', async () => {
    const foreign = await openTestCa();
    const { token } = await issueJwtSvid(foreign.ca, { spiffeId, audience, provider: 'aws' });
    await expect(verifier().verify(token, audience)).rejects.toThrow(/unknown kid/);
    const { privateKey } = await generateKeyPair('ES256');
    const kid = [...bundle.jwtKeys.keys()][0]!;
    const stolenKid = await new SignJWT({ sub: spiffeId, aud: audience })
      .setProtectedHeader({ alg: 'ES256', kid })
      .setIssuedAt()
      .setExpirationTime('5m')
      .sign(privateKey);
    await expect(verifier().verify(stolenKid, audience)).rejects.toThrow(/signature/);
  });

  it('refuses a sub outside the trust domain', async () => {
    const other = await openTestCa({ trustDomain: 'other.test' });
    const otherBundle = parseBundle(await buildBundle(other.ca));
    const { token } = await issueJwtSvid(other.ca, {
      spiffeId: 'spiffe://other.test/ns/a/svc/b',
      audience,
      provider: 'aws',
    });
    const v = new JwtSvidVerifier({ bundle: otherBundle, trustDomain: TRUST_DOMAIN });
    await expect(v.verify(token, audience)).rejects.toThrow(/trust domain/);
  });

  it('caches a verification until exp, per audience, and never past it', async () => {
    let now = new Date();
    const v = new JwtSvidVerifier({ bundle, now: () => now, clockSkewMs: 0 });
    const { token } = await issueJwtSvid(ca, { spiffeId, audience, provider: 'aws', now });
    const first = await v.verify(token, audience);
    expect(await v.verify(token, audience)).toBe(first);
    expect(v.cacheSize).toBe(1);
    await expect(v.verify(token, 'other')).rejects.toThrow(UnauthenticatedError);
    now = new Date(now.getTime() + 301_000);
    await expect(v.verify(token, audience)).rejects.toThrow(/expired/);
    expect(v.cacheSize).toBe(0);
  });

  it('keeps the cache bounded, dropping the least recently used', async () => {
    const v = new JwtSvidVerifier({ bundle, maxCacheEntries: 2 });
    const tokens = await Promise.all(
      [1, 2, 3].map((n) => issueJwtSvid(ca, { spiffeId: `${spiffeId}-${n}`, audience, provider: 'aws' })),
    );
    for (const { token } of tokens) await v.verify(token, audience);
    expect(v.cacheSize).toBe(2);
  });

  it('forgets cached verifications when the bundle changes', async () => {
    const v = verifier();
    const { token } = await issueJwtSvid(ca, { spiffeId, audience, provider: 'aws' });
    await v.verify(token, audience);
    v.updateBundle({ ...bundle, jwtKeys: new Map() });
    await expect(v.verify(token, audience)).rejects.toThrow(/unknown kid/);
  });

  it('validates what it issues', async () => {
    const bad = [
      { spiffeId: 'spiffe://other.test/ns/a/svc/b', audience },
      { spiffeId, audience: '' },
      { spiffeId, audience, ttlMs: 2 * 3_600_000 },
    ];
    for (const o of bad)
      await expect(issueJwtSvid(ca, { ...o, provider: 'aws' })).rejects.toThrow(ValidationError);
  });
});
