import { describe, expect, it } from 'vitest';
import {
  chooseEnvironment,
  defaultEnvironmentOrder,
} from '../../../../agents/gateway/dataplane/choose-environment.js';
import type { EgressService, RouteRule, SnapshotEnvironment } from '../../../../shared/contract/snapshot.js';
import { seededRandom } from './support/rng.js';
import { routeRule } from './support/snapshots.js';

const env = (name: string, priority = 100, gateways = 1): SnapshotEnvironment => ({
  name,
  provider: 'local',
  region: 'loopback',
  priority,
  gateways: Array.from({ length: gateways }, (_, i) => ({
    name: `gw-${i}`,
    spiffeId: `spiffe://acme.test/gw/${name}/gw-${i}`,
    address: `127.0.0.1:${1000 + i}`,
  })),
});
const environments = new Map(
  [env('aws-us', 50), env('gcp-eu', 10), env('azure-we', 100), env('onprem', 5, 0)].map((e) => [e.name, e]),
);
const service = (envs: string[], routes: RouteRule[] = []): EgressService => ({
  namespace: 'shop',
  name: 'orders',
  host: 'orders.shop.weft.internal',
  spiffeId: 'spiffe://acme.test/ns/shop/svc/orders',
  protocol: 'http',
  ports: [{ port: 80, targetPort: 80 }],
  environments: envs,
  routes,
  outlierDetection: { consecutiveErrors: 5, baseEjectionMs: 30_000, maxEjectionPercent: 100 },
});
const choose = (
  s: EgressService,
  rule: RouteRule | undefined,
  own: string,
  ejected: string[] = [],
  tried: string[] = [],
  random = seededRandom(1),
) =>
  chooseEnvironment({
    service: s,
    rule,
    defaultOrder: defaultEnvironmentOrder(s, own, environments),
    environments,
    isEjected: (e) => ejected.includes(e),
    tried: new Set(tried),
    random,
  });

describe('chooseEnvironment', () => {
  const all = service(['aws-us', 'azure-we', 'gcp-eu', 'onprem']);

  it('without a Route: own environment first, then by priority; never one without a gateway', () => {
    expect(defaultEnvironmentOrder(all, 'azure-we', environments)).toEqual([
      'azure-we',
      'onprem',
      'gcp-eu',
      'aws-us',
    ]);
    expect(choose(all, undefined, 'azure-we')).toBe('azure-we');
    expect(choose(all, undefined, 'azure-we', ['azure-we'])).toBe('gcp-eu');
    expect(choose(service(['onprem']), undefined, 'aws-us')).toBeUndefined();
    expect(choose(service(['gcp-eu']), undefined, 'aws-us')).toBe('gcp-eu');
  });

  it('with a Route: weighted backends only where the service has endpoints and nothing is ejected', () => {
    const rule = routeRule({
      backends: [
        { environment: 'gcp-eu', weight: 1 },
        { environment: 'aws-us', weight: 1 },
        { environment: 'azure-we', weight: 0 },
      ],
    });
    const s = service(['aws-us', 'gcp-eu', 'azure-we']);
    const seen = new Set(
      Array.from({ length: 200 }, (_, i) => choose(s, rule, 'aws-us', [], [], seededRandom(i))),
    );
    expect(seen).toEqual(new Set(['gcp-eu', 'aws-us']));
    expect(choose(s, rule, 'aws-us', ['gcp-eu'])).toBe('aws-us');
    expect(choose(service(['aws-us']), rule, 'aws-us')).toBe('aws-us');
  });

  it('fails over in the rule’s order once every weighted backend is out, then gives up', () => {
    const rule = routeRule({
      backends: [{ environment: 'gcp-eu', weight: 1 }],
      failover: ['onprem', 'azure-we', 'aws-us'],
    });
    expect(choose(all, rule, 'aws-us', ['gcp-eu'])).toBe('azure-we');
    expect(choose(all, rule, 'aws-us', ['gcp-eu', 'azure-we'])).toBe('aws-us');
    expect(choose(all, rule, 'aws-us', ['gcp-eu', 'azure-we', 'aws-us'])).toBeUndefined();
  });

  it('prefers environments this call has not tried, but retries one rather than none', () => {
    const rule = routeRule({ backends: [{ environment: 'gcp-eu', weight: 1 }], failover: ['azure-we'] });
    expect(choose(all, rule, 'aws-us', [], ['gcp-eu'])).toBe('azure-we');
    expect(choose(all, rule, 'aws-us', [], ['gcp-eu', 'azure-we'])).toBe('gcp-eu');
  });
});
