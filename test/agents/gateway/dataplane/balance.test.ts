import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { parseMetrics, sendMany, total } from './support/http.js';
import { openTestIdentity } from './support/identity.js';
import { startPlane, type TestPlane } from './support/planes.js';
import { seededRandom } from './support/rng.js';
import { startService, type TestService } from './support/services.js';
import { hostOf, routeRule, serviceId, type TestMesh } from './support/snapshots.js';

const ORDERS = { namespace: 'shop', name: 'orders' };
const STOCK = { namespace: 'shop', name: 'stock' };

describe('weighted routing across environments, and failover when one dies', () => {
  let a: TestPlane;
  let b: TestPlane;
  let c: TestPlane;
  const services: TestService[] = [];
  let token: string;

  beforeAll(async () => {
    const identity = await openTestIdentity();
    [a, b, c] = await Promise.all([
      startPlane(identity, 'aws-us', 'gw-a', { random: seededRandom(42) }),
      startPlane(identity, 'gcp-eu', 'gw-b'),
      startPlane(identity, 'azure-we', 'gw-c'),
    ]);
    const [ordersB, ordersC, stockB, stockC, stockC2] = await Promise.all(
      ['orders-gcp', 'orders-azure', 'stock-gcp', 'stock-azure', 'stock-azure-2'].map((name) =>
        startService(name),
      ),
    );
    services.push(ordersB!, ordersC!, stockB!, stockC!, stockC2!);
    const mesh: TestMesh = {
      defaultAction: 'allow',
      environments: [
        { name: 'aws-us', gateways: { 'gw-a': a.ingress } },
        { name: 'gcp-eu', gateways: { 'gw-b': b.ingress } },
        { name: 'azure-we', gateways: { 'gw-c': c.ingress } },
      ],
      services: [
        {
          ...ORDERS,
          endpoints: {
            'gcp-eu': [{ address: ordersB!.address, weight: 1 }],
            'azure-we': [{ address: ordersC!.address, weight: 1 }],
          },
          routes: [
            routeRule({
              backends: [
                { environment: 'gcp-eu', weight: 80 },
                { environment: 'azure-we', weight: 20 },
              ],
            }),
          ],
        },
        {
          ...STOCK,
          endpoints: {
            'gcp-eu': [{ address: stockB!.address, weight: 1 }],
            // Two endpoints 3:1 behind C, and a drained one that must get nothing.
            'azure-we': [
              { address: stockC!.address, weight: 3 },
              { address: stockC2!.address, weight: 1 },
              { address: '127.0.0.1:1', weight: 0 },
            ],
          },
          outlierDetection: { consecutiveErrors: 3, baseEjectionMs: 30_000 },
          routes: [
            routeRule({
              backends: [{ environment: 'gcp-eu', weight: 1 }],
              failover: ['azure-we'],
              retries: { attempts: 2, perTryTimeoutMs: 5_000, retryOn: ['connect-failure', 'reset'] },
            }),
          ],
        },
      ],
    };
    for (const plane of [a, b, c]) plane.apply(mesh, '1');
    token = await identity.jwt(serviceId('shop', 'frontend'));
  });
  afterAll(async () => {
    await Promise.all([a?.close(), b?.close(), c?.close(), ...services.map((s) => s.close())]);
  });

  const call = (service: { name: string; namespace: string }) => (i: number) => ({
    path: `/item/${i}`,
    headers: { host: hostOf(service), authorization: `Bearer ${token}` },
  });

  it('splits 80/20 over 2,000 calls, within 5 points', async () => {
    const answers = await sendMany(a.client, 2_000, 32, call(ORDERS));
    expect(answers.filter((x) => x.status !== 200)).toEqual([]);
    const toGcp = answers.filter((x) => x.json.name === 'orders-gcp').length;
    expect(Math.abs(toGcp / 2_000 - 0.8)).toBeLessThanOrEqual(0.05);
    // The metrics say the same, by serving environment.
    const samples = parseMetrics(await a.registry.metrics());
    const outbound = {
      direction: 'outbound',
      destination: serviceId('shop', 'orders'),
      response_code: '200',
    };
    expect(total(samples, 'weft_requests_total', { ...outbound, environment: 'gcp-eu' })).toBe(toGcp);
    expect(total(samples, 'weft_requests_total', { ...outbound, environment: 'azure-we' })).toBe(
      2_000 - toGcp,
    );
  });

  it('fails over to the failover environment when B’s gateway dies, with at most 1 % errors', async () => {
    const before = await sendMany(a.client, 100, 8, call(STOCK));
    expect(before.every((x) => x.status === 200 && x.json.name === 'stock-gcp')).toBe(true);
    await b.close();
    const after = await sendMany(a.client, 600, 8, call(STOCK));
    const errors = after.filter((x) => x.status !== 200);
    expect(errors.length / after.length).toBeLessThanOrEqual(0.01);
    // Once ejected, B is not even tried: the last 500 all went straight to C, 3:1 across its endpoints.
    const names = after.slice(100).map((x) => x.json.name);
    expect(names.every((n) => n === 'stock-azure' || n === 'stock-azure-2')).toBe(true);
    const first = names.filter((n) => n === 'stock-azure').length;
    expect(Math.abs(first / names.length - 0.75)).toBeLessThanOrEqual(0.05);
    const attempts = a.logs.filter((l) => l.msg === 'access' && l.destination === serviceId('shop', 'stock'));
    expect(attempts.slice(-500).every((l) => l.attempts === 1 && l.environment === 'azure-we')).toBe(true);
    // Before the ejection, calls that found B gone were retried on C within the call.
    expect(attempts.some((l) => l.attempts === 2 && l.environment === 'azure-we' && l.status === 200)).toBe(
      true,
    );
  });
});
