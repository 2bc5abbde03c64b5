import { describe, expect, it } from 'vitest';
import { isDuration, parseDuration } from '../../../shared/model/duration.js';
import { resolveKind } from '../../../shared/model/kinds.js';
import {
  gatewaySpiffeId,
  matchesIdentity,
  parseSpiffeId,
  serviceSpiffeId,
} from '../../../shared/model/names.js';

describe('SPIFFE IDs', () => {
  it('builds the IDs DESIGN.md names', () => {
    expect(serviceSpiffeId('acme.test', 'shop', 'orders')).toBe('spiffe://acme.test/ns/shop/svc/orders');
    expect(gatewaySpiffeId('acme.test', 'aws', 'gw-1')).toBe('spiffe://acme.test/gw/aws/gw-1');
  });

  it('parses by the standard and refuses what it forbids', () => {
    expect(parseSpiffeId('spiffe://acme.test/ns/shop')).toEqual({
      trustDomain: 'acme.test',
      path: '/ns/shop',
    });
    for (const bad of [
      'spiffe://',
      'spiffe://Acme/x',
      'spiffe://a:443/x',
      'spiffe://a/x?q',
      'spiffe://a/x/',
      'spiffe://u@a/x',
      'SPIFFE://a/x',
    ]) {
      expect(parseSpiffeId(bad), bad).toBeUndefined();
    }
  });

  it('matches identity patterns by exact ID or /* prefix', () => {
    expect(matchesIdentity('spiffe://a/ns/shop/*', 'spiffe://a/ns/shop/svc/web')).toBe(true);
    expect(matchesIdentity('spiffe://a/ns/shop/*', 'spiffe://a/ns/shopping/svc/web')).toBe(false);
    expect(matchesIdentity('spiffe://a/ns/shop/svc/web', 'spiffe://a/ns/shop/svc/web2')).toBe(false);
    expect(matchesIdentity('*', 'spiffe://b/x')).toBe(true);
  });
});

describe('durations and kinds', () => {
  it('parses durations operators write', () => {
    expect(parseDuration('1h30m')).toBe(5_400_000);
    expect(parseDuration('250ms')).toBe(250);
    expect(isDuration('5 m')).toBe(false);
    expect(() => parseDuration('soon')).toThrow(TypeError);
  });

  it('resolves the aliases users type', () => {
    expect(resolveKind('svc')).toBe('Service');
    expect(resolveKind('AccessPolicies')).toBe('AccessPolicy');
    expect(resolveKind('accesspolicy')).toBe('AccessPolicy');
    expect(resolveKind('mesh')).toBe('Mesh');
    expect(resolveKind('route')).toBe('Route');
    expect(resolveKind('gw')).toBe('Gateway');
    expect(resolveKind('pods')).toBeUndefined();
  });
});
