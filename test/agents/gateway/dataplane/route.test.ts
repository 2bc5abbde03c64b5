import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { type RouteRequest, selectRoute } from '../../../../agents/gateway/dataplane/route.js';
import type { EgressService, RouteMatch, RouteRule } from '../../../../shared/contract/snapshot.js';
import { routeRule } from './support/snapshots.js';

const service = (routes: RouteRule[]): EgressService => ({
  namespace: 'shop',
  name: 'orders',
  host: 'orders.shop.weft.internal',
  spiffeId: 'spiffe://acme.test/ns/shop/svc/orders',
  protocol: 'http',
  ports: [{ port: 80, targetPort: 80 }],
  environments: ['aws-us'],
  routes,
  outlierDetection: { consecutiveErrors: 5, baseEjectionMs: 30_000, maxEjectionPercent: 100 },
});
const req = (over: Partial<RouteRequest> = {}): RouteRequest => ({
  method: 'GET',
  path: '/',
  headers: {},
  ...over,
});
const rule = (route: string, ...matches: RouteMatch[]) => routeRule({ route, matches });

describe('selectRoute', () => {
  it('matches paths exactly or by whole segments, methods and headers', () => {
    const s = service([
      rule('exact', { path: { type: 'Exact', value: '/v1/orders' }, headers: [] }),
      rule('prefix', { path: { type: 'PathPrefix', value: '/v2/' }, headers: [] }),
      rule('post', { method: 'POST', headers: [] }),
      rule('canary', { headers: [{ name: 'x-canary', type: 'Exact', value: 'yes' }] }),
    ]);
    expect(selectRoute(req({ path: '/v1/orders' }), s)?.route).toBe('exact');
    expect(selectRoute(req({ path: '/v1/orders/1' }), s)?.route).toBeUndefined();
    expect(selectRoute(req({ path: '/v2' }), s)?.route).toBe('prefix');
    expect(selectRoute(req({ path: '/v2/x' }), s)?.route).toBe('prefix');
    expect(selectRoute(req({ path: '/v2x' }), s)?.route).toBeUndefined();
    expect(selectRoute(req({ method: 'POST', path: '/v2x' }), s)?.route).toBe('post');
    expect(selectRoute(req({ headers: { 'x-canary': 'yes' } }), s)?.route).toBe('canary');
    expect(selectRoute(req({ headers: { 'x-canary': 'no' } }), s)).toBeUndefined();
  });

  it('takes a rule when any of its matches holds, and the catch-all matches everything', () => {
    const s = service([
      rule(
        'either',
        { path: { type: 'Exact', value: '/a' }, headers: [] },
        { method: 'DELETE', headers: [] },
      ),
      rule('all', { headers: [] }),
    ]);
    expect(selectRoute(req({ path: '/a' }), s)?.route).toBe('either');
    expect(selectRoute(req({ method: 'DELETE', path: '/b' }), s)?.route).toBe('either');
    expect(selectRoute(req({ path: '/b' }), s)?.route).toBe('all');
    expect(selectRoute(req(), service([]))).toBeUndefined();
  });

  it('always picks the first matching rule, in snapshot order', () => {
    const match: fc.Arbitrary<RouteMatch> = fc.record(
      {
        path: fc.record({
          type: fc.constantFrom('Exact' as const, 'PathPrefix' as const),
          value: fc.constantFrom('/', '/a', '/a/b', '/b'),
        }),
        method: fc.constantFrom('GET' as const, 'POST' as const),
        headers: fc.constant([]),
      },
      { requiredKeys: ['headers'] },
    );
    const rules = fc.array(fc.array(match, { minLength: 1, maxLength: 3 }), { maxLength: 6 });
    const request = fc.record({
      method: fc.constantFrom('GET', 'POST'),
      path: fc.constantFrom('/', '/a', '/a/b', '/a/bc', '/b/c'),
      headers: fc.constant({}),
    });
    fc.assert(
      fc.property(rules, request, (ms, r) => {
        const s = service(ms.map((m, i) => rule(`r${i}`, ...m)));
        const chosen = selectRoute(r, s);
        const index = chosen ? s.routes.indexOf(chosen) : s.routes.length;
        for (const earlier of s.routes.slice(0, index)) {
          // None before the chosen one would have been chosen on its own.
          expect(selectRoute(r, service([earlier]))).toBeUndefined();
        }
        if (chosen) expect(selectRoute(r, service([chosen]))).toBe(chosen);
      }),
    );
  });
});
