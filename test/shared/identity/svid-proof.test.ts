import { generateKeyPairSync } from 'node:crypto';
import { SignJWT } from 'jose';
import { describe, expect, it } from 'vitest';
import { buildBundle, parseBundle } from '../../../shared/identity/bundle.js';
import { MeshCa } from '../../../shared/identity/ca.js';
import { MemoryCaStore } from '../../../shared/identity/ca-store.js';
import { MemoryKeyRing } from '../../../shared/identity/memory-key-ring.js';
import {
  createSvidProof,
  csrSha256,
  JWT_PROOF_AUDIENCE,
  RENEW_PROOF_AUDIENCE,
  SVID_PROOF_TYPE,
  verifySvidProof,
} from '../../../shared/identity/svid-proof.js';
import { issueX509Svid } from '../../../shared/identity/x509-svid.js';
import { UnauthenticatedError } from '../../../shared/model/errors.js';
import { makeCsr } from '../../support/csr.js';

const TD = 'acme.test';
const spiffeId = `spiffe://${TD}/gw/aws-us/gw-1`;
/** Created three hours ago, so that it can have issued an SVID that has expired since. */
const openCa = (trustDomain = TD) =>
  MeshCa.open({
    trustDomain,
    store: new MemoryCaStore(),
    keys: new MemoryKeyRing(),
    providers: ['aws'],
    now: () => new Date(Date.now() - 3 * 3_600_000),
  });

describe('SVID proofs', async () => {
  const ca = await openCa();
  const bundle = parseBundle(await buildBundle(ca));
  const svid = async (now?: Date, authority = ca) => {
    const { csrPem, keyPem } = await makeCsr();
    const { certChain } = await issueX509Svid(authority, {
      csrPem,
      spiffeId,
      provider: 'aws',
      ...(now && { now }),
    });
    return { keyPem, certChain };
  };
  const current = await svid();
  const csr = (await makeCsr()).csrPem;
  const renew = { aud: RENEW_PROOF_AUDIENCE, csr_sha256: csrSha256(csr) } as const;
  const verify = (proof: string, claims: Record<string, string> = { csr_sha256: csrSha256(csr) }) =>
    verifySvidProof(proof, { bundle, trustDomain: TD, audience: RENEW_PROOF_AUDIENCE, claims });
  const refused = (proof: Promise<string> | string, why: RegExp, claims?: Record<string, string>) =>
    expect(Promise.resolve(proof).then((p) => verify(p, claims))).rejects.toThrow(why);

  it('verifies a fresh proof by the current SVID and names its SPIFFE ID', async () => {
    const proof = await createSvidProof(current.keyPem, current.certChain, renew);
    const verified = await verify(proof);
    expect(verified.spiffeId).toBe(spiffeId);
    expect(Math.abs(verified.issuedAt * 1000 - Date.now())).toBeLessThan(5000);
    expect(verified.expiresAt.getTime()).toBeGreaterThan(Date.now());
  });

  it('takes the leaf alone, anchored at an intermediate the bundle lists', async () => {
    const proof = await createSvidProof(current.keyPem, [current.certChain[0]], renew);
    expect((await verify(proof)).spiffeId).toBe(spiffeId);
  });

  it('refuses a proof signed by another key than the leaf', async () => {
    const other = generateKeyPairSync('ec', { namedCurve: 'P-256' }).privateKey;
    await refused(createSvidProof(other, current.certChain, renew), /not signed by the SVID's key/);
  });

  it('refuses an expired chain, a foreign CA and a chain spliced from two CAs', async () => {
    const expired = await svid(new Date(Date.now() - 2 * 3_600_000));
    await refused(createSvidProof(expired.keyPem, expired.certChain, renew), /certificate 0 is expired/);
    const foreign = await svid(undefined, await openCa());
    await refused(
      createSvidProof(foreign.keyPem, foreign.certChain, renew),
      /does not chain to the trust bundle/,
    );
    const spliced = [current.certChain[0], foreign.certChain[1]];
    await refused(createSvidProof(current.keyPem, spliced, renew), /not signed by certificate 1/);
  });

  it('refuses a leaf of another trust domain, even from a bundle that lists its CA', async () => {
    const otherCa = await openCa('other.test');
    const { csrPem, keyPem } = await makeCsr();
    const id = 'spiffe://other.test/gw/aws-us/gw-1';
    const { certChain } = await issueX509Svid(otherCa, { csrPem, spiffeId: id, provider: 'aws' });
    const proof = await createSvidProof(keyPem, certChain, renew);
    const both = parseBundle({
      keys: [...(await buildBundle(ca)).keys, ...(await buildBundle(otherCa)).keys],
    });
    await expect(
      verifySvidProof(proof, { bundle: both, trustDomain: TD, audience: RENEW_PROOF_AUDIENCE }),
    ).rejects.toThrow(/not in trust domain acme.test/);
  });

  it('refuses a stale or future iat, the wrong purpose and an unbound CSR', async () => {
    const at = (minutes: number) => Math.floor(Date.now() / 1000) + minutes * 60;
    await refused(createSvidProof(current.keyPem, current.certChain, { ...renew, iat: at(-6) }), /iat/);
    await refused(createSvidProof(current.keyPem, current.certChain, { ...renew, iat: at(6) }), /iat/);
    const jwt = createSvidProof(current.keyPem, current.certChain, {
      aud: JWT_PROOF_AUDIENCE,
      audience: 'x',
    });
    await refused(jwt, /not signed by the SVID's key for weft-svid-renew, or a bad claim/);
    const other = createSvidProof(current.keyPem, current.certChain, {
      ...renew,
      csr_sha256: csrSha256('x'),
    });
    await refused(other, /claim csr_sha256 does not match/);
  });

  it('refuses other token types, algorithms, missing x5c and garbage', async () => {
    const key = generateKeyPairSync('ec', { namedCurve: 'P-256' }).privateKey;
    const x5c = current.certChain.map((pem) => pem.replace(/-----[^-]+-----|\s/g, ''));
    const sign = (header: Record<string, unknown>) =>
      new SignJWT({ ...renew })
        .setProtectedHeader({ alg: 'ES256', ...header })
        .setIssuedAt()
        .sign(key);
    await refused(sign({ typ: 'JWT', x5c }), /typ must be weft-svid-proof\+jwt/);
    await refused(sign({ typ: SVID_PROOF_TYPE }), /x5c must be/);
    await refused(sign({ typ: SVID_PROOF_TYPE, x5c: ['not base64!'] }), /x5c must be/);
    await refused('not.a.jws', /not a compact JWS/);
    await refused('x'.repeat(20_000), /too long/);
    const hs = await new SignJWT({})
      .setProtectedHeader({ alg: 'HS256', typ: SVID_PROOF_TYPE, x5c })
      .sign(new Uint8Array(32));
    await refused(hs, /HS256 is not ES256/);
    await expect(verify('a.b.c')).rejects.toBeInstanceOf(UnauthenticatedError);
  });
});
