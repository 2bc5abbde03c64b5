/**
 * `POST /v1/svid/x509` and `/v1/svid/jwt` in process: credentials by proof
 * of the current X.509-SVID.
 */
import { generateKeyPairSync } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import type { ApiResponse } from '../../../shared/api/types.js';
import { parseBundle } from '../../../shared/identity/bundle.js';
import { MeshCa } from '../../../shared/identity/ca.js';
import { MemoryCaStore } from '../../../shared/identity/ca-store.js';
import { JwtSvidVerifier } from '../../../shared/identity/jwt-svid.js';
import { MemoryKeyRing } from '../../../shared/identity/memory-key-ring.js';
import {
  createSvidProof,
  csrSha256,
  JWT_PROOF_AUDIENCE,
  RENEW_PROOF_AUDIENCE,
} from '../../../shared/identity/svid-proof.js';
import { x509 } from '../../../shared/identity/x509.js';
import { issueX509Svid } from '../../../shared/identity/x509-svid.js';
import { makeCsr } from '../../support/csr.js';
import {
  body,
  createIdentityApiForTest,
  GATEWAY_ID,
  type IssuedBody,
  TD,
} from '../../support/identity-api.js';

const P256_ORDER = 0xffffffff00000000ffffffffffffffffbce6faada7179e84f3b9cac2fc632551n;

/** The same proof with signature (r, n - s): as valid as the original, but a different string. */
function malleate(jws: string): string {
  const [header, payload, signature] = jws.split('.') as [string, string, string];
  const sig = Buffer.from(signature, 'base64url');
  const s = BigInt(`0x${sig.subarray(32).toString('hex')}`);
  const twin = Buffer.from((P256_ORDER - s).toString(16).padStart(64, '0'), 'hex');
  return `${header}.${payload}.${Buffer.concat([sig.subarray(0, 32), twin]).toString('base64url')}`;
}

function problem(res: ApiResponse, status: number): Record<string, unknown> {
  expect(res.status, res.body).toBe(status);
  expect(res.headers['content-type']).toBe('application/problem+json');
  return body(res);
}

describe('credentials by proof of the current SVID', async () => {
  const { call, putMesh, joinToken, ca } = await createIdentityApiForTest();
  await putMesh();
  const attested = async () => {
    const { csrPem, keyPem } = await makeCsr();
    const res = await call(
      'POST',
      '/v1/attest',
      { attestation: { type: 'join_token', token: await joinToken() }, csr: csrPem },
      {},
    );
    return { keyPem, certChain: body<IssuedBody>(res).x509Svid.certChain };
  };
  const svid = await attested();
  const renew = async (current: { keyPem: string; certChain: readonly string[] }, iat?: number) => {
    const next = await makeCsr();
    const proof = await createSvidProof(current.keyPem, current.certChain, {
      aud: RENEW_PROOF_AUDIENCE,
      csr_sha256: csrSha256(next.csrPem),
      ...(iat !== undefined && { iat }),
    });
    return { next, proof, res: await call('POST', '/v1/svid/x509', { csr: next.csrPem, proof }, {}) };
  };

  it('renews: a new certificate for the new key, the same SPIFFE ID, and it renews again', async () => {
    const { next, res } = await renew(svid);
    expect(res.status, res.body).toBe(200);
    const issued = body<IssuedBody>(res);
    expect(issued.spiffeId).toBe(GATEWAY_ID);
    expect(issued.jwtSvid).toBeUndefined();
    const [oldLeaf, newLeaf] = [svid.certChain[0], issued.x509Svid.certChain[0]].map(
      (p) => new x509.X509Certificate(p),
    );
    expect(newLeaf!.getExtension(x509.SubjectAlternativeNameExtension)?.names.toJSON()).toEqual([
      { type: 'url', value: GATEWAY_ID },
    ]);
    expect(newLeaf!.serialNumber).not.toBe(oldLeaf!.serialNumber);
    expect(Buffer.from(newLeaf!.publicKey.rawData)).not.toEqual(Buffer.from(oldLeaf!.publicKey.rawData));
    const again = await renew({ keyPem: next.keyPem, certChain: issued.x509Svid.certChain });
    expect(again.res.status, again.res.body).toBe(200);
  });

  it('refuses a proof signed by another key, a stale one, and one used twice (401)', async () => {
    const other = generateKeyPairSync('ec', { namedCurve: 'P-256' }).privateKey.export({
      type: 'pkcs8',
      format: 'pem',
    });
    problem((await renew({ keyPem: String(other), certChain: svid.certChain })).res, 401);
    const stale = await renew(svid, Math.floor(Date.now() / 1000) - 600);
    expect(problem(stale.res, 401).detail).toMatch(/iat/);
    const { next, proof, res } = await renew(svid);
    expect(res.status).toBe(200);
    const replay = await call('POST', '/v1/svid/x509', { csr: next.csrPem, proof }, {});
    expect(problem(replay, 401).detail).toMatch(/already used/);
    const twin = await call('POST', '/v1/svid/x509', { csr: next.csrPem, proof: malleate(proof) }, {});
    expect(problem(twin, 401).detail).toMatch(/already used/);
  });

  it('refuses an expired chain and a chain from a foreign CA (401)', async () => {
    const { csrPem, keyPem } = await makeCsr();
    const now = new Date(Date.now() - 2 * 3_600_000);
    const expired = await issueX509Svid(ca()!, { csrPem, spiffeId: GATEWAY_ID, provider: 'local', now });
    expect(problem((await renew({ keyPem, certChain: expired.certChain })).res, 401).detail).toMatch(
      /expired/,
    );
    const foreignCa = await MeshCa.open({
      trustDomain: TD,
      store: new MemoryCaStore(),
      keys: new MemoryKeyRing(),
      providers: ['local'],
    });
    const foreign = await issueX509Svid(foreignCa, { csrPem, spiffeId: GATEWAY_ID, provider: 'local' });
    expect(problem((await renew({ keyPem, certChain: foreign.certChain })).res, 401).detail).toMatch(
      /does not chain to the trust bundle/,
    );
  });

  it('refuses a proof bound to another CSR, or made for JWT-SVIDs', async () => {
    const { csrPem } = await makeCsr();
    const proof = await createSvidProof(svid.keyPem, svid.certChain, {
      aud: RENEW_PROOF_AUDIENCE,
      csr_sha256: csrSha256('x'),
    });
    problem(await call('POST', '/v1/svid/x509', { csr: csrPem, proof }, {}), 401);
    const jwtProof = await createSvidProof(svid.keyPem, svid.certChain, {
      aud: JWT_PROOF_AUDIENCE,
      audience: 'a',
    });
    problem(await call('POST', '/v1/svid/x509', { csr: csrPem, proof: jwtProof }, {}), 401);
    expect(problem(await call('POST', '/v1/svid/x509', { csr: csrPem }, {}), 422).field).toBe('/proof');
  });

  it('issues JWT-SVIDs for the gateways audience by default, or the one the proof binds', async () => {
    const bundle = parseBundle(body(await call('GET', '/v1/bundle', undefined, {})));
    const verifier = new JwtSvidVerifier({ bundle, trustDomain: TD });
    const gateways = `spiffe://${TD}/gateways`;
    const proof = (audience: string) =>
      createSvidProof(svid.keyPem, svid.certChain, { aud: JWT_PROOF_AUDIENCE, audience });
    const res = await call('POST', '/v1/svid/jwt', { proof: await proof(gateways) }, {});
    expect(res.status, res.body).toBe(200);
    const jwt = body<{ token: string; spiffeId: string; audience: string; expiresAt: string }>(res);
    expect(jwt).toMatchObject({ spiffeId: GATEWAY_ID, audience: gateways });
    expect(Date.parse(jwt.expiresAt) - Date.now()).toBeLessThanOrEqual(300_000);
    expect((await verifier.verify(jwt.token, gateways)).spiffeId).toBe(GATEWAY_ID);
    await expect(verifier.verify(jwt.token, 'spiffe://acme.test/other')).rejects.toThrow(/aud/);
    const db = 'spiffe://acme.test/ns/shop/svc/db';
    const named = await call('POST', '/v1/svid/jwt', { audience: db, proof: await proof(db) }, {});
    expect((await verifier.verify(body<{ token: string }>(named).token, db)).spiffeId).toBe(GATEWAY_ID);
    problem(await call('POST', '/v1/svid/jwt', { audience: db, proof: await proof(gateways) }, {}), 401);
  });
});
