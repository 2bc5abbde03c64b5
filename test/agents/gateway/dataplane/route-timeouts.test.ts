import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { send } from './support/http.js';
import { openTestIdentity, type TestIdentity } from './support/identity.js';
import { startPlane, type TestPlane } from './support/planes.js';
import { startService, type TestService } from './support/services.js';
import { hostOf, routeRule, serviceId, type TestMesh } from './support/snapshots.js';

const svc = (name: string) => ({ namespace: 'shop', name });
const DAY_MS = 86_400_000;
/** How long the service behind every route takes to answer. */
const DELAY_MS = 300;

describe('route timeouts as the gateway arms them', () => {
  let identity: TestIdentity;
  let a: TestPlane;
  let b: TestPlane;
  let slow: TestService;
  let token: string;

  beforeAll(async () => {
    identity = await openTestIdentity();
    [a, b, slow] = await Promise.all([
      startPlane(identity, 'aws-us', 'gw-a'),
      startPlane(identity, 'gcp-eu', 'gw-b'),
      startService('slow', { delayMs: DELAY_MS }),
    ]);
    const routed = (name: string, timeoutMs: number, perTryTimeoutMs = timeoutMs) => ({
      ...svc(name),
      endpoints: { 'gcp-eu': [{ address: slow.address, weight: 1 }] },
      routes: [
        routeRule({
          backends: [{ environment: 'gcp-eu', weight: 1 }],
          timeoutMs,
          retries: { attempts: 0, perTryTimeoutMs, retryOn: [] },
        }),
      ],
    });
    const mesh: TestMesh = {
      defaultAction: 'allow',
      environments: [
        { name: 'aws-us', gateways: { 'gw-a': a.ingress } },
        { name: 'gcp-eu', gateways: { 'gw-b': b.ingress } },
      ],
      services: [
        // `timeout: 0s` compiles to 0 for both budgets: no deadline.
        routed('endless', 0),
        routed('longest', 300_000),
        // Past what setTimeout keeps: a snapshot from before the schema had ranges could carry it.
        routed('month', 30 * DAY_MS),
        routed('short', 100),
      ],
    };
    a.apply(mesh, '1');
    b.apply(mesh, '1');
    token = await identity.jwt(serviceId('shop', 'frontend'));
  });
  afterAll(async () => {
    await Promise.all([a?.close(), b?.close(), slow?.close()]);
  });

  const call = (name: string) =>
    send(a.client, { path: '/x', headers: { host: hostOf(svc(name)), authorization: `Bearer ${token}` } });

  it('waits for a slow answer when the route has no timeout (0s)', async () => {
    expect(await call('endless')).toMatchObject({ status: 200, json: { name: 'slow' } });
  });

  it('waits for a slow answer under the longest timeout, and under one too long for setTimeout', async () => {
    expect(await call('longest')).toMatchObject({ status: 200, json: { name: 'slow' } });
    expect(await call('month')).toMatchObject({ status: 200, json: { name: 'slow' } });
  });

  it('still answers 504 when a short timeout passes', async () => {
    const answer = await call('short');
    expect(answer.status).toBe(504);
    expect(answer.headers['content-type']).toBe('application/problem+json');
  });
});
