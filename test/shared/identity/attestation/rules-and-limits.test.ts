import { describe, expect, it } from 'vitest';
import { FixedWindowRateLimiter } from '../../../../shared/identity/attestation/rate-limiter.js';
import { MemoryReplayCache } from '../../../../shared/identity/attestation/replay-cache.js';
import {
  attestationRulesSchema,
  checkRulesTrustDomain,
  isMeshIdentity,
  resolveSpiffeId,
} from '../../../../shared/model/attestation-rules.js';
import { RateLimitedError, UnauthenticatedError, UnavailableError } from '../../../../shared/model/errors.js';

const gw = 'spiffe://acme.test/gw/aws-us/gw-1';

describe('attestationRulesSchema', () => {
  it('accepts rules for every method', () => {
    const rules = {
      joinToken: { maxTtl: '15m' },
      aws: [
        { accountId: '111122223333', roleArn: 'arn:aws:iam::111122223333:role/path/gw', spiffeId: gw },
        { accountId: '111122223333', roleName: 'gw', spiffeId: gw },
      ],
      gcp: [{ projectId: 'shop-prod', serviceAccount: 'gw@shop-prod.iam.gserviceaccount.com', spiffeId: gw }],
      azure: [
        { tenantId: '72f988bf-86f1-41af-91ab-2d7cd011db47', spiffeId: 'spiffe://acme.test/ns/shop/svc/cart' },
      ],
    };
    expect(attestationRulesSchema.parse(rules)).toEqual(rules);
  });

  it.each([
    [{ aws: [{ accountId: '1', spiffeId: gw }] }, '/aws/0/accountId'],
    [
      { aws: [{ accountId: '111122223333', roleArn: 'arn:aws:iam::444455556666:role/x', spiffeId: gw }] },
      '/aws/0/roleArn',
    ],
    [
      {
        aws: [
          {
            accountId: '111122223333',
            roleArn: 'arn:aws:iam::111122223333:role/x',
            roleName: 'x',
            spiffeId: gw,
          },
        ],
      },
      '/aws/0/roleName',
    ],
    [{ gcp: [{ projectId: 'shop-prod', spiffeId: 'spiffe://acme.test/admin' }] }, '/gcp/0/spiffeId'],
    [{ azure: [{ tenantId: 'not-a-guid', spiffeId: gw }] }, '/azure/0/tenantId'],
    [{ joinToken: { maxTtl: 'forever' } }, '/joinToken/maxTtl'],
    [{ kerberos: [] }, '/'],
  ])('refuses %j at %s', (rules, pointer) => {
    const result = attestationRulesSchema.safeParse(rules);
    expect(result.success).toBe(false);
    const paths = result.error?.issues.map((i) => `/${i.path.join('/')}`);
    expect(paths).toContain(pointer);
  });

  it('knows Gateway and Service IDs from others', () => {
    expect(isMeshIdentity(gw)).toBe(true);
    expect(isMeshIdentity('spiffe://acme.test/ns/shop/svc/cart')).toBe(true);
    expect(isMeshIdentity('spiffe://acme.test/ns/shop/svc/cart/extra')).toBe(false);
    expect(isMeshIdentity('spiffe://acme.test/gw/UPPER/x')).toBe(false);
  });

  it('reports rules outside the Mesh trust domain', () => {
    const rules = { gcp: [{ projectId: 'shop-prod', spiffeId: 'spiffe://other.test/gw/a/b' }] };
    expect(checkRulesTrustDomain(rules, 'acme.test')).toEqual([
      { pointer: '/spec/attestation/gcp/0/spiffeId', detail: 'must be in trust domain acme.test' },
    ]);
    expect(checkRulesTrustDomain(rules, 'other.test')).toEqual([]);
  });

  it('resolves matches to the one most specific ID', () => {
    expect(
      resolveSpiffeId('x', [
        { spiffeId: 'a', specificity: 0 },
        { spiffeId: 'b', specificity: 1 },
      ]),
    ).toBe('b');
    expect(
      resolveSpiffeId('x', [
        { spiffeId: 'a', specificity: 1 },
        { spiffeId: 'a', specificity: 1 },
      ]),
    ).toBe('a');
    expect(() => resolveSpiffeId('x', [])).toThrow(UnauthenticatedError);
    expect(() =>
      resolveSpiffeId('x', [
        { spiffeId: 'a', specificity: 1 },
        { spiffeId: 'b', specificity: 1 },
      ]),
    ).toThrow(/ambiguous/);
  });
});

describe('FixedWindowRateLimiter', () => {
  it('allows `limit` requests per source and window, then refuses until the window turns', () => {
    let now = 1_000_000;
    const limiter = new FixedWindowRateLimiter({ limit: 3, windowMs: 60_000, now: () => now });
    for (let i = 0; i < 3; i++) limiter.take('10.0.0.1');
    expect(() => limiter.take('10.0.0.1')).toThrow(RateLimitedError);
    expect(() => limiter.take('10.0.0.1')).toThrow(expect.objectContaining({ retryAfterSeconds: 20 }));
    expect(limiter.check('10.0.0.1')).toMatchObject({ allowed: false, remaining: 0, retryAfterMs: 20_000 });
    limiter.take('10.0.0.2');
    now += 20_000;
    expect(limiter.check('10.0.0.1')).toMatchObject({ allowed: true, remaining: 2 });
  });

  it('tracks a bounded number of sources', () => {
    const limiter = new FixedWindowRateLimiter({ limit: 1, windowMs: 60_000, maxSources: 2, now: () => 0 });
    limiter.take('a');
    limiter.take('b');
    limiter.take('c');
    expect(limiter.check('a').allowed).toBe(true);
    expect(() => new FixedWindowRateLimiter({ limit: 0, windowMs: 1 })).toThrow(TypeError);
  });
});

describe('MemoryReplayCache', () => {
  it('claims a key once until it expires, and fails closed when full', async () => {
    let now = 0;
    const cache = new MemoryReplayCache({ maxEntries: 2, now: () => now });
    expect(await cache.claim('a', 100)).toBe(true);
    expect(await cache.claim('a', 100)).toBe(false);
    expect(await cache.claim('b', 200)).toBe(true);
    await expect(cache.claim('c', 300)).rejects.toThrow(UnavailableError);
    now = 150;
    expect(await cache.claim('c', 300)).toBe(true);
    expect(await cache.claim('c', 300)).toBe(false);
    now = 250;
    expect(await cache.claim('a', 400)).toBe(true);
  });
});
