import { X509Certificate } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import { ValidationError } from '../../../../shared/model/errors.js';
import { send, sendMany } from './support/http.js';
import { openTestIdentity, type TestIdentity } from './support/identity.js';
import { ORDERS, startTwoPlanes, type TestPlane } from './support/planes.js';
import { tlsProbe } from './support/probes.js';
import type { TestService } from './support/services.js';
import { hostOf, serviceId } from './support/snapshots.js';

describe('credential rotation under load', () => {
  let identity: TestIdentity;
  let a: TestPlane;
  let b: TestPlane;
  let orders: TestService;
  let token: string;

  beforeAll(async () => {
    identity = await openTestIdentity();
    ({ a, b, orders } = await startTwoPlanes(identity, { defaultAction: 'allow' }));
    token = await identity.jwt(serviceId('shop', 'frontend'));
  });
  afterAll(async () => {
    await Promise.all([a?.close(), b?.close(), orders?.close()]);
  });

  const call = () => ({
    path: '/orders',
    headers: { host: hostOf(ORDERS), authorization: `Bearer ${token}` },
  });

  it('swaps both gateways’ SVIDs twice mid-stream without losing a call', async () => {
    const load = sendMany(a.client, 1_500, 16, call);
    let latestB = '';
    for (const [at, provider] of [
      [300, 'gcp'],
      [800, 'aws'],
    ] as const) {
      await vi.waitFor(() => expect(orders.seen.length).toBeGreaterThanOrEqual(at), {
        timeout: 15_000,
        interval: 5,
      });
      const [nextA, nextB] = await Promise.all([
        identity.gateway('aws-us', 'gw-a', provider),
        identity.gateway('gcp-eu', 'gw-b', provider),
      ]);
      a.plane.updateCredentials(nextA);
      b.plane.updateCredentials(nextB);
      latestB = new X509Certificate(nextB.certChainPem[0]!).serialNumber;
    }
    const answers = await load;
    expect(answers.filter((x) => x.status !== 200)).toEqual([]);
    // New handshakes get the newest SVID; the pools built on the old ones drained and closed.
    const probe = await tlsProbe(
      b.ingress,
      identity.bundle.x509Authorities.map((x) => x.pem),
      await identity.gateway('aws-us', 'gw-x'),
    );
    expect(probe.serverSerial).toBe(latestB);
    await vi.waitFor(() =>
      expect(a.logs.filter((l) => l.msg === 'old gateway pools drained').length).toBe(2),
    );
    expect(a.logs.filter((l) => l.msg === 'credentials rotated')).toHaveLength(2);
  });

  it('refuses unusable credentials and keeps serving on the old ones', async () => {
    const good = await identity.gateway('aws-us', 'gw-a');
    const other = await identity.gateway('aws-us', 'gw-z');
    expect(() => a.plane.updateCredentials({ ...good, keyPem: other.keyPem })).toThrow(ValidationError);
    expect(() => a.plane.updateCredentials(other)).toThrow(/the SVID is for .*gw-z/);
    expect(() => a.plane.updateCredentials({ ...good, certChainPem: [] })).toThrow(ValidationError);
    expect((await send(a.client, call())).status).toBe(200);
  });
});
