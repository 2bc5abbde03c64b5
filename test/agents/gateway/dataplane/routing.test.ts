import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { send } from './support/http.js';
import { openTestIdentity, type TestIdentity } from './support/identity.js';
import { startPlane, type TestPlane } from './support/planes.js';
import { startService, type TestService } from './support/services.js';
import { hostOf, routeRule, serviceId, type TestMesh } from './support/snapshots.js';

const svc = (name: string) => ({ namespace: 'shop', name });
const FRONTEND = serviceId('shop', 'frontend');

describe('routes: bodies, retries, timeouts, no route, no backend, identity by address', () => {
  let identity: TestIdentity;
  let a: TestPlane;
  let b: TestPlane;
  let c: TestPlane;
  const started: TestService[] = [];
  let token: string;
  let mesh: TestMesh;

  beforeAll(async () => {
    identity = await openTestIdentity();
    [a, b, c] = await Promise.all([
      startPlane(identity, 'aws-us', 'gw-a'),
      startPlane(identity, 'gcp-eu', 'gw-b'),
      startPlane(identity, 'azure-we', 'gw-c'),
    ]);
    const [echo, failing, slow, fine] = await Promise.all([
      startService('echo'),
      startService('failing', { status: 503 }),
      startService('slow', { delayMs: 1_000 }),
      startService('fine'),
    ]);
    started.push(echo!, failing!, slow!, fine!);
    const ep = (s: TestService) => [{ address: s.address, weight: 1 }];
    const failover = (name: string, rule: Parameters<typeof routeRule>[0]) => ({
      ...svc(name),
      endpoints: { 'gcp-eu': ep(name === 'flaky' ? failing! : slow!), 'azure-we': ep(fine!) },
      routes: [
        routeRule({ backends: [{ environment: 'gcp-eu', weight: 1 }], failover: ['azure-we'], ...rule }),
      ],
    });
    mesh = {
      defaultAction: 'allow',
      environments: [
        { name: 'aws-us', gateways: { 'gw-a': a.ingress } },
        { name: 'gcp-eu', gateways: { 'gw-b': b.ingress } },
        { name: 'azure-we', gateways: { 'gw-c': c.ingress } },
        { name: 'onprem', gateways: {} },
      ],
      services: [
        { ...svc('echo'), endpoints: { 'gcp-eu': ep(echo!) } },
        failover('flaky', { retries: { attempts: 1, perTryTimeoutMs: 5_000, retryOn: ['5xx'] } }),
        failover('laggy', {
          timeoutMs: 5_000,
          retries: { attempts: 1, perTryTimeoutMs: 150, retryOn: ['reset'] },
        }),
        { ...failover('stuck', { timeoutMs: 200 }), endpoints: { 'gcp-eu': ep(slow!) } },
        {
          ...svc('versioned'),
          endpoints: { 'gcp-eu': ep(echo!) },
          routes: [
            routeRule({
              matches: [{ path: { type: 'PathPrefix', value: '/v2' }, headers: [] }],
              backends: [{ environment: 'gcp-eu', weight: 1 }],
            }),
          ],
        },
        { ...svc('stranded'), endpoints: { onprem: [{ address: '127.0.0.1:1', weight: 1 }] } },
      ],
    };
    for (const p of [a, b, c]) p.apply(mesh, '1');
    token = await identity.jwt(FRONTEND);
  });
  afterAll(async () => {
    await Promise.all([a?.close(), b?.close(), c?.close(), ...started.map((s) => s.close())]);
  });

  const to = (name: string, extra: Record<string, unknown> = {}) => ({
    path: '/v1/x',
    ...extra,
    headers: { host: hostOf(svc(name)), authorization: `Bearer ${token}`, ...(extra.headers as object) },
  });

  it('carries request bodies across both hops', async () => {
    const answer = await send(
      a.client,
      to('echo', { method: 'POST', body: '{"qty":3}', headers: { 'content-type': 'application/json' } }),
    );
    expect(answer.json).toMatchObject({ name: 'echo', method: 'POST', body: '{"qty":3}' });
  });

  it('retries an idempotent call on 5xx elsewhere, but never a POST', async () => {
    const get = await send(a.client, to('flaky'));
    expect(get).toMatchObject({ status: 200, json: { name: 'fine' } });
    const post = await send(a.client, to('flaky', { method: 'POST', body: 'x' }));
    expect(post).toMatchObject({ status: 503, json: { name: 'failing' } });
  });

  it('gives up on a try after its per-try timeout and retries elsewhere', async () => {
    const answer = await send(a.client, to('laggy'));
    expect(answer).toMatchObject({ status: 200, json: { name: 'fine' } });
  });

  it('answers 504 when the whole-call timeout passes', async () => {
    const answer = await send(a.client, to('stuck'));
    expect(answer.status).toBe(504);
    expect(answer.headers['content-type']).toBe('application/problem+json');
  });

  it('answers 404 when the service has Routes and none matches, 503 when no environment can serve', async () => {
    expect((await send(a.client, to('versioned', { path: '/v2/x' }))).status).toBe(200);
    const unmatched = await send(a.client, to('versioned', { path: '/v1/x' }));
    expect(unmatched.status).toBe(404);
    expect(String(unmatched.json.detail)).toMatch(/no route rule/);
    const stranded = await send(a.client, to('stranded'));
    expect(stranded).toMatchObject({ status: 503, json: { code: 'ERR_UNAVAILABLE' } });
  });

  it('identifies a tokenless caller by its source address only where the Mesh allows it', async () => {
    const tokenless = { path: '/', headers: { host: hostOf(svc('echo')) } };
    const byAddress: TestMesh = {
      ...mesh,
      allowSourceAddress: true,
      sourceIdentities: { 'aws-us': [{ address: '127.0.0.1', spiffeId: FRONTEND }] },
    };
    for (const p of [a, b]) p.apply(byAddress, '2');
    const allowed = await send(a.client, tokenless);
    expect(allowed.status).toBe(200);
    expect(started[0]!.seen.at(-1)!.headers['x-weft-source-identity']).toBe(FRONTEND);
    for (const p of [a, b]) p.apply(mesh, '3');
    expect((await send(a.client, tokenless)).status).toBe(401);
  });
});
