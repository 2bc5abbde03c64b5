import { describe, expect, it } from 'vitest';
import {
  createJoinToken,
  hashJoinToken,
  JoinTokenAttestor,
} from '../../../../shared/identity/attestation/join-token.js';
import { MemoryJoinTokenStore } from '../../../../shared/identity/attestation/join-token-store.js';
import { UnauthenticatedError, ValidationError } from '../../../../shared/model/errors.js';

const spiffeId = 'spiffe://acme.test/gw/onprem-dc1/gw-1';
const rules = { joinToken: {} };

describe('join tokens', () => {
  it('are 32 random bytes, stored only as a SHA-256 hash, and admit their SPIFFE ID once', async () => {
    const store = new MemoryJoinTokenStore();
    const { token, expiresAt } = await createJoinToken({ store, rules, spiffeId, ttlMs: 60_000 });
    expect(Buffer.from(token, 'base64url')).toHaveLength(32);
    expect(expiresAt.getTime()).toBeGreaterThan(Date.now());
    const attestor = new JoinTokenAttestor({ store });
    const result = await attestor.attest({ token }, rules);
    expect(result).toEqual({
      method: 'join_token',
      spiffeId,
      selectors: [`join_token:${hashJoinToken(token).slice(0, 16)}`],
    });
    await expect(attestor.attest({ token }, rules)).rejects.toThrow(/already used/);
  });

  it('never keep the token itself', async () => {
    const seen: string[] = [];
    const store = new MemoryJoinTokenStore();
    const spy = {
      put: (h: string, e: { spiffeId: string; expiresAt: number }) => {
        seen.push(h);
        return store.put(h, e);
      },
      consume: (h: string) => store.consume(h),
    };
    const { token } = await createJoinToken({ store: spy, rules, spiffeId });
    expect(seen).toEqual([hashJoinToken(token)]);
    expect(seen[0]).not.toContain(token);
  });

  it('refuse forged and expired tokens', async () => {
    let now = Date.now();
    const store = new MemoryJoinTokenStore({ now: () => now });
    const attestor = new JoinTokenAttestor({ store, now: () => now });
    const { token } = await createJoinToken({ store, rules, spiffeId, ttlMs: 60_000, now });
    const forged = `${token.slice(0, -1)}${token.endsWith('A') ? 'B' : 'A'}`;
    await expect(attestor.attest({ token: forged }, rules)).rejects.toThrow(/unknown/);
    await expect(attestor.attest({ token: 'short' }, rules)).rejects.toThrow(UnauthenticatedError);
    now += 61_000;
    await expect(attestor.attest({ token }, rules)).rejects.toThrow(/expired/);
  });

  it('are refused when the Mesh does not enable them (unmapped), and proofs are parsed', async () => {
    const store = new MemoryJoinTokenStore();
    const { token } = await createJoinToken({ store, rules, spiffeId });
    await expect(new JoinTokenAttestor({ store }).attest({ token }, {})).rejects.toThrow(/not enabled/);
    await expect(new JoinTokenAttestor({ store }).attest({ token: 1 }, rules)).rejects.toThrow(
      ValidationError,
    );
  });

  it('are minted only for Gateway or Service IDs, within the Mesh maximum TTL', async () => {
    const store = new MemoryJoinTokenStore();
    await expect(createJoinToken({ store, rules: {}, spiffeId })).rejects.toThrow(/not enabled/);
    await expect(createJoinToken({ store, rules, spiffeId: 'spiffe://acme.test/admin' })).rejects.toThrow(
      ValidationError,
    );
    const short = { joinToken: { maxTtl: '5m' } };
    await expect(createJoinToken({ store, rules: short, spiffeId, ttlMs: 600_000 })).rejects.toThrow(/ttl/);
    await expect(createJoinToken({ store, rules: short, spiffeId, ttlMs: 300_000 })).resolves.toBeDefined();
  });
});
