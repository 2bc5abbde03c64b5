/**
 * The identity endpoints in process: bundle, join tokens and attestation.
 * Renewal and JWT-SVIDs by proof: `svid-routes.test.ts`.
 */
import { describe, expect, it } from 'vitest';
import type { ApiResponse } from '../../../shared/api/types.js';
import { FixedWindowRateLimiter } from '../../../shared/identity/attestation/rate-limiter.js';
import { parseBundle } from '../../../shared/identity/bundle.js';
import { JwtSvidVerifier } from '../../../shared/identity/jwt-svid.js';
import { x509 } from '../../../shared/identity/x509.js';
import { foreignAdminToken } from '../../support/api.js';
import { makeCsr } from '../../support/csr.js';
import {
  body,
  createIdentityApiForTest,
  GATEWAY_ID,
  type IssuedBody,
  TD,
} from '../../support/identity-api.js';
import { opensslVerify } from '../../support/openssl.js';
import { tempDir } from '../../support/temp-dir.js';

/** Asserts a problem+json answer and returns it. */
function problem(res: ApiResponse, status: number): Record<string, unknown> {
  expect(res.status, res.body).toBe(status);
  expect(res.headers['content-type']).toBe('application/problem+json');
  return body(res);
}

const attestBody = async (token: string, extra: Record<string, unknown> = {}) => ({
  attestation: { type: 'join_token', token },
  csr: (await makeCsr()).csrPem,
  ...extra,
});

describe('identity endpoints without a Mesh or without a CA', () => {
  it('answer 409 naming the missing Mesh', async () => {
    const { call } = await createIdentityApiForTest();
    for (const res of [
      await call('GET', '/v1/bundle', undefined, {}),
      await call('POST', '/v1/join-tokens', { spiffeId: GATEWAY_ID }),
      await call('POST', '/v1/attest', await attestBody('x'.repeat(43)), {}),
    ]) {
      expect(problem(res, 409).detail).toMatch(/there is no Mesh: apply one named "default"/);
    }
  });

  it('answer 404 on a host without identity, saying so', async () => {
    const { call, putMesh } = await createIdentityApiForTest({ withIdentity: false });
    await putMesh();
    expect(problem(await call('GET', '/v1/bundle'), 404).detail).toMatch(/identity is not enabled/);
  });
});

describe('the OpenAPI document', () => {
  it('lists the identity endpoints; only join tokens need an operator token', async () => {
    const { call } = await createIdentityApiForTest();
    const doc = body<{ paths: Record<string, Record<string, { security?: unknown[] }>> }>(
      await call('GET', '/v1/openapi.json'),
    );
    expect(doc.paths['/v1/bundle']?.get?.security).toEqual([]);
    for (const path of ['/v1/attest', '/v1/svid/x509', '/v1/svid/jwt']) {
      expect(doc.paths[path]?.post?.security, path).toEqual([]);
    }
    expect(doc.paths['/v1/join-tokens']?.post?.security).toBeUndefined();
  });
});

describe('GET /v1/bundle', async () => {
  const { call, putMesh } = await createIdentityApiForTest();
  await putMesh();

  it('serves the SPIFFE bundle without a token, ETag = sequence, cached for the refresh hint', async () => {
    const res = await call('GET', '/v1/bundle', undefined, {});
    expect(res.status).toBe(200);
    const bundle = body<{ spiffe_sequence: number; spiffe_refresh_hint: number; keys: unknown[] }>(res);
    expect(res.headers.etag).toBe(`"${bundle.spiffe_sequence}"`);
    expect(res.headers['cache-control']).toBe(`public, max-age=${bundle.spiffe_refresh_hint}`);
    const parsed = parseBundle(bundle);
    expect(parsed.x509Authorities).toHaveLength(2); // root + the local intermediate
    expect(parsed.jwtKeys.size).toBe(1);
    const again = await call('GET', '/v1/bundle', undefined, { 'if-none-match': `W/${res.headers.etag}` });
    expect(again.status).toBe(304);
    problem(await call('POST', '/v1/bundle', {}), 405);
  });
});

describe('POST /v1/join-tokens', async () => {
  const { call, putMesh, operators } = await createIdentityApiForTest();
  await putMesh({ attestation: { joinToken: { maxTtl: '2h' } } });

  it('mints a token for an admin: 201, shown once, ten minutes by default', async () => {
    const res = await call('POST', '/v1/join-tokens', { spiffeId: GATEWAY_ID });
    expect(res.status, res.body).toBe(201);
    const minted = body<{ token: string; spiffeId: string; expiresAt: string }>(res);
    expect(minted.token).toMatch(/^[A-Za-z0-9_-]{43}$/);
    expect(minted.spiffeId).toBe(GATEWAY_ID);
    expect(Date.parse(minted.expiresAt) - Date.now()).toBeGreaterThan(590_000);
    expect(Date.parse(minted.expiresAt) - Date.now()).toBeLessThanOrEqual(600_000);
    expect(res.headers['cache-control']).toBe('no-store');
    const long = await call('POST', '/v1/join-tokens', { spiffeId: GATEWAY_ID, ttl: '2h' });
    expect(long.status).toBe(201);
  });

  it('is for admins: 401 without or with a foreign token, 403 for a viewer', async () => {
    const req = { spiffeId: GATEWAY_ID };
    problem(await call('POST', '/v1/join-tokens', req, {}), 401);
    problem(
      await call('POST', '/v1/join-tokens', req, { authorization: `Bearer ${await foreignAdminToken()}` }),
      401,
    );
    const viewer = { authorization: `Bearer ${operators.viewerToken}` };
    expect(problem(await call('POST', '/v1/join-tokens', req, viewer), 403).code).toBe('ERR_FORBIDDEN');
  });

  it('names the bad field: IDs outside the trust domain or not a Gateway/Service, TTLs past the Mesh max', async () => {
    const cases: [unknown, string][] = [
      [{ spiffeId: 'spiffe://other.test/gw/aws-us/gw-1' }, '/spiffeId'],
      [{ spiffeId: `spiffe://${TD}/workload/x` }, '/spiffeId'],
      [{ spiffeId: GATEWAY_ID, ttl: '3h' }, '/ttl'],
      [{ spiffeId: GATEWAY_ID, ttl: 'soon' }, '/ttl'],
      [{ spiffeId: GATEWAY_ID, extra: 1 }, '/extra'],
      [{}, '/spiffeId'],
    ];
    for (const [req, field] of cases)
      expect(problem(await call('POST', '/v1/join-tokens', req), 422).field).toBe(field);
    problem(await call('POST', '/v1/join-tokens', '{'), 400);
    problem(
      await call('POST', '/v1/join-tokens', 'spiffeId: x', {
        authorization: `Bearer ${operators.adminToken}`,
        'content-type': 'application/yaml',
      }),
      415,
    );
  });

  it('is refused with 409 while the Mesh has join tokens off', async () => {
    const off = await createIdentityApiForTest();
    await off.putMesh({ attestation: { aws: [{ accountId: '123456789012', spiffeId: GATEWAY_ID }] } });
    expect(problem(await off.call('POST', '/v1/join-tokens', { spiffeId: GATEWAY_ID }), 409).detail).toMatch(
      /join tokens are off in the Mesh/,
    );
  });
});

describe('POST /v1/attest', async () => {
  const { call, putMesh, joinToken } = await createIdentityApiForTest();
  await putMesh();
  const attest = async (req: unknown) => call('POST', '/v1/attest', req, {});

  it('trades a join token and a CSR for an X.509-SVID openssl verifies, a JWT-SVID and the bundle', async () => {
    const res = await attest(await attestBody(await joinToken()));
    expect(res.status, res.body).toBe(200);
    const issued = body<IssuedBody>(res);
    expect(issued.spiffeId).toBe(GATEWAY_ID);
    const [leafPem, intermediatePem] = issued.x509Svid.certChain;
    const leaf = new x509.X509Certificate(leafPem);
    expect(leaf.getExtension(x509.SubjectAlternativeNameExtension)?.names.toJSON()).toEqual([
      { type: 'url', value: GATEWAY_ID },
    ]);
    expect(leaf.notAfter.getTime() - Date.now()).toBeLessThanOrEqual(3_600_000);
    expect(Date.parse(issued.x509Svid.expiresAt)).toBe(leaf.notAfter.getTime());
    const served = body(await call('GET', '/v1/bundle', undefined, {}));
    expect(issued.bundle).toEqual(served);
    const bundle = parseBundle(served);
    const root = bundle.x509Authorities.find((a) => a.certificate.subject === a.certificate.issuer)!;
    const verdict = await opensslVerify(await tempDir(), {
      root: root.pem,
      intermediate: intermediatePem,
      leaf: leafPem,
    });
    expect(verdict.output).toContain('OK');
    const verifier = new JwtSvidVerifier({ bundle, trustDomain: TD });
    const jwt = issued.jwtSvid!;
    expect(jwt.audience).toBe(`spiffe://${TD}/gateways`);
    expect((await verifier.verify(jwt.token, jwt.audience)).spiffeId).toBe(GATEWAY_ID);
    await expect(verifier.verify(jwt.token, 'spiffe://acme.test/other')).rejects.toThrow(/aud/);
  });

  it('takes a join token once: the second use is 401', async () => {
    const token = await joinToken();
    expect((await attest(await attestBody(token))).status).toBe(200);
    expect(problem(await attest(await attestBody(token)), 401).detail).toMatch(/unknown or already used/);
  });

  it('issues the JWT-SVID for the audience asked for', async () => {
    const res = await attest(
      await attestBody(await joinToken(), { audience: 'spiffe://acme.test/ns/shop/svc/db' }),
    );
    expect(body<IssuedBody>(res).jwtSvid?.audience).toBe('spiffe://acme.test/ns/shop/svc/db');
  });

  it('refuses a bad CSR with 422 before spending the token', async () => {
    const token = await joinToken();
    const rsa = (await makeCsr({ kind: 'RSA' })).csrPem;
    expect(problem(await attest({ ...(await attestBody(token)), csr: rsa }), 422).field).toBe('/csr');
    expect(problem(await attest({ ...(await attestBody(token)), csr: 'x'.repeat(9000) }), 422).field).toBe(
      '/csr',
    );
    expect((await attest(await attestBody(token))).status).toBe(200);
  });

  it('answers malformed requests with 400, 413, 415 or 422 and the field', async () => {
    const ok = await attestBody('x'.repeat(43));
    problem(await attest('{"attestation":'), 400);
    problem(await attest({ ...ok, pad: 'x'.repeat(70_000) }), 413);
    problem(await call('POST', '/v1/attest', 'a: b', { 'content-type': 'application/yaml' }), 415);
    expect(problem(await attest({ ...ok, attestation: { type: 'tpm' } }), 422).field).toBe(
      '/attestation/type',
    );
    expect(problem(await attest({ ...ok, attestation: { type: 'join_token', token: 1 } }), 422).field).toBe(
      '/attestation/token',
    );
    expect(problem(await attest({ csr: ok.csr }), 422).field).toBe('/attestation');
  });

  it('refuses forged tokens and methods the Mesh does not enable with 401', async () => {
    expect(problem(await attest(await attestBody('A'.repeat(43))), 401).code).toBe('ERR_UNAUTHENTICATED');
    const aws = { type: 'aws_iam', url: 'https://sts.amazonaws.com/', headers: {}, body: '' };
    expect(problem(await attest({ ...(await attestBody('')), attestation: aws }), 401).detail).toMatch(
      /AWS attestation is not enabled/,
    );
    const azure = { type: 'azure_msi', token: 'x' };
    expect(problem(await attest({ ...(await attestBody('')), attestation: azure }), 401).detail).toMatch(
      /azure_msi attestation is not configured/,
    );
  });

  it('limits attempts per source IP: 429 with Retry-After', async () => {
    const limited = await createIdentityApiForTest({
      attestLimiter: new FixedWindowRateLimiter({ limit: 2, windowMs: 60_000 }),
    });
    await limited.putMesh();
    const req = await attestBody('A'.repeat(43));
    for (let i = 0; i < 2; i++)
      problem(await limited.call('POST', '/v1/attest', req, {}, '203.0.113.9'), 401);
    const res = await limited.call('POST', '/v1/attest', req, {}, '203.0.113.9');
    expect(problem(res, 429).code).toBe('ERR_RATE_LIMITED');
    expect(Number(res.headers['retry-after'])).toBeGreaterThan(0);
    problem(await limited.call('POST', '/v1/attest', req, {}, '203.0.113.10'), 401);
  });

  it('stops issuing with 409 when the Mesh moves to another trust domain', async () => {
    const moved = await createIdentityApiForTest();
    await moved.putMesh();
    expect((await moved.call('GET', '/v1/bundle')).status).toBe(200);
    await moved.putMesh({ trustDomain: 'newco.test', attestation: { joinToken: {} } });
    const res = await moved.call(
      'POST',
      '/v1/attest',
      await attestBody(await moved.joinToken('spiffe://newco.test/gw/a/b')),
      {},
    );
    expect(problem(res, 409).detail).toMatch(
      /trust domain is newco.test, but the CA .* acme.test.*serves one trust domain/,
    );
    problem(await moved.call('GET', '/v1/bundle'), 409);
  });
});
