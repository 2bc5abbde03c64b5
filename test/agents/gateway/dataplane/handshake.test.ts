import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { send } from './support/http.js';
import { openTestIdentity, type TestIdentity } from './support/identity.js';
import { ORDERS, startTwoPlanes, type TestPlane } from './support/planes.js';
import { plainTcpProbe, tlsProbe } from './support/probes.js';
import type { TestService } from './support/services.js';
import { gatewayId, hostOf, serviceId, type TestMesh } from './support/snapshots.js';

describe('who may talk to an ingress, and whom an egress will talk to', () => {
  let identity: TestIdentity;
  let a: TestPlane;
  let b: TestPlane;
  let orders: TestService;
  let roots: string[];

  beforeAll(async () => {
    identity = await openTestIdentity();
    roots = identity.bundle.x509Authorities.map((x) => x.pem);
    ({ a, b, orders } = await startTwoPlanes(identity, { defaultAction: 'allow' }));
  });
  afterAll(async () => {
    await Promise.all([a?.close(), b?.close(), orders?.close()]);
  });

  it('answers a mesh gateway over TLS 1.3 (the control: HTTP comes back, 401 without a token)', async () => {
    const result = await tlsProbe(b.ingress, roots, await identity.gateway('aws-us', 'gw-x'));
    expect(result.received).toMatch(/^HTTP\/1\.1 401 /);
  });

  it('refuses plain TCP', async () => {
    const result = await plainTcpProbe(b.ingress);
    expect(result.received).not.toMatch(/^HTTP\/1\.1 [0-9]{3}/);
  });

  it('refuses TLS without a client certificate', async () => {
    const result = await tlsProbe(b.ingress, roots);
    expect(result.received).toBe('');
  });

  it('refuses a client certificate from a foreign CA, even for a gateway ID', async () => {
    const foreign = await openTestIdentity();
    const result = await tlsProbe(b.ingress, roots, await foreign.gateway('aws-us', 'gw-a'));
    expect(result.received).toBe('');
  });

  it('refuses a valid SVID that is not a gateway: workloads come through their own gateway', async () => {
    const result = await tlsProbe(b.ingress, roots, await identity.svid(serviceId('shop', 'frontend')));
    expect(result.received).toBe('');
    expect(b.logs.some((l) => l.msg === 'ingress refused a peer that is not a mesh gateway')).toBe(true);
  });

  it('refuses to send a call to a gateway whose SPIFFE ID is not the one the snapshot names (502)', async () => {
    // The snapshot says gw-b lives at B's address, but claims a different identity for it.
    const mesh: TestMesh = {
      defaultAction: 'allow',
      environments: [
        { name: 'aws-us', gateways: { 'gw-a': a.ingress } },
        { name: 'gcp-eu', gateways: { 'gw-impostor': b.ingress } },
      ],
      services: [{ ...ORDERS, endpoints: { 'gcp-eu': [{ address: orders.address, weight: 1 }] } }],
    };
    a.apply(mesh, '2');
    const before = orders.seen.length;
    const answer = await send(a.client, {
      path: '/',
      headers: {
        host: hostOf(ORDERS),
        authorization: `Bearer ${await identity.jwt(serviceId('shop', 'frontend'))}`,
      },
    });
    expect(answer.status).toBe(502);
    expect(String(answer.json.detail)).toContain(gatewayId('gcp-eu', 'gw-impostor'));
    expect(orders.seen.length).toBe(before);
  });
});
