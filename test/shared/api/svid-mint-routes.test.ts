/**
 * `POST /v1/svid/jwt/mint` in process: an admin mints a JWT-SVID for any
 * Gateway or Service of the Mesh (`weft svid mint`), and nobody else can.
 */
import { describe, expect, it } from 'vitest';
import type { ApiResponse } from '../../../shared/api/types.js';
import { parseBundle } from '../../../shared/identity/bundle.js';
import { JwtSvidVerifier } from '../../../shared/identity/jwt-svid.js';
import { foreignAdminToken } from '../../support/api.js';
import { body, createIdentityApiForTest, TD } from '../../support/identity-api.js';

const FRONTEND = `spiffe://${TD}/ns/shop/svc/frontend`;
const MINT = '/v1/svid/jwt/mint';

interface Minted {
  token: string;
  spiffeId: string;
  audience: string;
  expiresAt: string;
}

function problem(res: ApiResponse, status: number): Record<string, unknown> {
  expect(res.status, res.body).toBe(status);
  expect(res.headers['content-type']).toBe('application/problem+json');
  return body(res);
}

describe('POST /v1/svid/jwt/mint', async () => {
  const { call, putMesh, operators } = await createIdentityApiForTest();
  await putMesh({ credentials: { jwtSvidTtl: '2m' } });
  const verifier = new JwtSvidVerifier({
    bundle: parseBundle(body(await call('GET', '/v1/bundle', undefined, {}))),
    trustDomain: TD,
  });

  it('mints a JWT-SVID that verifies against the bundle: sub, the gateways audience, the Mesh TTL', async () => {
    const res = await call('POST', MINT, { spiffeId: FRONTEND });
    expect(res.status, res.body).toBe(200);
    expect(res.headers['cache-control']).toBe('no-store');
    const minted = body<Minted>(res);
    expect(minted).toMatchObject({ spiffeId: FRONTEND, audience: `spiffe://${TD}/gateways` });
    const verified = await verifier.verify(minted.token, `spiffe://${TD}/gateways`);
    expect(verified.spiffeId).toBe(FRONTEND);
    expect(verified.expiresAt.toISOString()).toBe(minted.expiresAt);
    const left = verified.expiresAt.getTime() - Date.now();
    expect(left).toBeGreaterThan(110_000);
    expect(left).toBeLessThanOrEqual(120_000);
  });

  it('takes another audience and a shorter TTL', async () => {
    const audience = 'spiffe://acme.test/ns/shop/svc/orders';
    const res = await call('POST', MINT, { spiffeId: FRONTEND, audience, ttl: '30s' });
    const minted = body<Minted>(res);
    expect(res.status, res.body).toBe(200);
    const verified = await verifier.verify(minted.token, audience);
    expect(verified.audience).toEqual([audience]);
    expect(verified.expiresAt.getTime() - Date.now()).toBeLessThanOrEqual(30_000);
    await expect(verifier.verify(minted.token, `spiffe://${TD}/gateways`)).rejects.toThrow();
  });

  it('is for admins: 401 without or with a foreign token, 403 for a viewer', async () => {
    const req = { spiffeId: FRONTEND };
    expect(problem(await call('POST', MINT, req, {}), 401).detail).toMatch(/needs an operator token/);
    const foreign = { authorization: `Bearer ${await foreignAdminToken()}` };
    problem(await call('POST', MINT, req, foreign), 401);
    const viewer = { authorization: `Bearer ${operators.viewerToken}` };
    const refused = problem(await call('POST', MINT, req, viewer), 403);
    expect(refused.code).toBe('ERR_FORBIDDEN');
    expect(refused.detail).toMatch(/needs role admin/);
    problem(await call('GET', MINT), 405);
  });

  it('names the bad field: a foreign trust domain, not a Gateway/Service, a TTL past the Mesh', async () => {
    const cases: [unknown, string, RegExp][] = [
      [{ spiffeId: 'spiffe://other.test/ns/shop/svc/frontend' }, '/spiffeId', /SPIFFE ID in acme\.test/],
      [{ spiffeId: `spiffe://${TD}/gateways` }, '/spiffeId', /Gateway or Service/],
      [{ spiffeId: 'frontend' }, '/spiffeId', /Gateway or Service/],
      [{ spiffeId: FRONTEND, ttl: '3m' }, '/ttl', /jwtSvidTtl \(120s\)/],
      [{ spiffeId: FRONTEND, ttl: '1s' }, '/ttl', /between 10s/],
      [{ spiffeId: FRONTEND, ttl: 'soon' }, '/ttl', /duration/],
      [{ spiffeId: FRONTEND, audience: '' }, '/audience', /./],
      [{ spiffeId: FRONTEND, role: 'admin' }, '/role', /./],
      [{}, '/spiffeId', /./],
    ];
    for (const [req, field, detail] of cases) {
      const answer = problem(await call('POST', MINT, req), 422);
      expect([answer.field, answer.code], JSON.stringify(req)).toEqual([field, 'ERR_VALIDATION']);
      expect(answer.detail).toMatch(detail);
    }
    problem(await call('POST', MINT, '{'), 400);
  });

  it('is in the OpenAPI document, with an operator token required', async () => {
    const doc = body<{ paths: Record<string, Record<string, { security?: unknown[] }>> }>(
      await call('GET', '/v1/openapi.json'),
    );
    expect(doc.paths[MINT]?.post).toBeDefined();
    expect(doc.paths[MINT]?.post?.security).toBeUndefined();
  });
});
