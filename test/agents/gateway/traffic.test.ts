/**
 * End to end through two real `weft agent` processes: a mesh of two
 * environments on their own loopback addresses (a: 127.Y.1.1, b: 127.Y.2.1),
 * a gateway in each, an HTTP service registered as a Workload in b, and curl
 * as a workload in a, calling through a's egress with a JWT-SVID it got by
 * attesting like a gateway does. The agents bind the addresses the Gateways
 * declare (no --ingress-address or --egress-address), so b's egress is the
 * default: its admin host, port 15001. Then the control plane stops, and
 * calls keep flowing, also through an agent restarted on its last-known-good
 * config and saved SVID.
 */
import { generateKeyPair, SignJWT } from 'jose';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { tempDir } from '../../support/temp-dir.js';
import { parseMetrics, total } from './dataplane/support/http.js';
import { startService, type TestService } from './dataplane/support/services.js';
import { type AgentProcess, freePort, killAgents, waitReady } from './support/agent-process.js';
import { curlVia } from './support/curl.js';
import { startGatewayAgent } from './support/gateway-agent.js';
import { doc, type MeshHost, startMeshHost } from './support/mesh-host.js';

const TD = 'traffic.test';
// Away from the demo's 127.0.N.1 and weft up's tests (127.100-249.N.1).
const Y = 10 + Math.floor(Math.random() * 80);
const HOST = { a: `127.${Y}.1.1`, b: `127.${Y}.2.1` };
const FRONTEND = `spiffe://${TD}/ns/shop/svc/frontend`;
const ORDERS_URL = 'http://orders.shop.weft.internal';
const ORDERS_ID = `spiffe://${TD}/ns/shop/svc/orders`;
const TRACE_ID = '4bf92f3577b34da6a3ce929d0e0e4736';

describe('traffic between two weft agents', () => {
  let cp: MeshHost;
  let orders: TestService;
  let a: AgentProcess;
  let b: AgentProcess;
  let egressA: string;
  let token: string;
  let dir: string;
  const call = (path: string, ...args: string[]) => curlVia(egressA, `${ORDERS_URL}${path}`, ...args);
  const bearer = () => ['-H', `Authorization: Bearer ${token}`];
  /** `join: false`: a restart, on the SVID the agent saved. */
  const startGateway = (env: 'a' | 'b', join = true) =>
    startGatewayAgent(cp, { env, trustDomain: TD, dir, host: HOST[env], egressAddress: null, join });
  const metricsOf = async (agent: AgentProcess) => parseMetrics((await agent.get('/metrics')).body);
  const listening = (agent: AgentProcess) =>
    agent.lines.find((l) => l.msg === 'data plane listening') as
      | { ingress: string; egress: string }
      | undefined;

  beforeAll(async () => {
    orders = await startService('orders');
    const [ingressA, egressPortA, ingressB] = await Promise.all([
      freePort(HOST.a),
      freePort(HOST.a),
      freePort(HOST.b),
    ]);
    egressA = `${HOST.a}:${egressPortA}`;
    cp = await startMeshHost({
      docs: [
        doc('Mesh', 'default', { trustDomain: TD, attestation: { joinToken: {} } }),
        doc('Environment', 'a', { provider: 'aws', region: 'us-east-1' }),
        doc('Environment', 'b', { provider: 'gcp', region: 'europe-west1' }),
        doc('Gateway', 'gw-a', {
          environment: 'a',
          address: `${HOST.a}:${ingressA}`,
          egressAddress: egressA,
        }),
        doc('Gateway', 'gw-b', { environment: 'b', address: `${HOST.b}:${ingressB}` }),
        doc('Service', 'shop/frontend', { ports: [{ port: 8080 }] }),
        doc('Service', 'shop/orders', { ports: [{ port: Number(orders.address.split(':')[1]) }] }),
        doc('Workload', 'shop/orders-1', { service: 'orders', environment: 'b', address: orders.address }),
        doc('AccessPolicy', 'shop/orders-allow-frontend', {
          service: 'orders',
          action: 'allow',
          rules: [{ from: [FRONTEND], methods: ['GET'] }],
        }),
        doc('AccessPolicy', 'shop/orders-deny-admin', {
          service: 'orders',
          action: 'deny',
          rules: [{ from: ['*'], paths: ['/admin/*'] }],
        }),
      ],
    });
    dir = await tempDir('weft-agent-traffic-');
    [a, b, token] = await Promise.all([startGateway('a'), startGateway('b'), cp.workloadJwt(FRONTEND)]);
    await Promise.all([waitReady(a), waitReady(b)]);
  });
  afterAll(async () => {
    await killAgents();
    await Promise.all([cp?.close(), orders?.close()]);
  });

  it('listens where the Gateways say, and on the admin host :15001 when a Gateway names no egress', () => {
    expect(listening(a)).toMatchObject({ egress: egressA });
    expect(listening(b)).toMatchObject({ egress: `${HOST.b}:15001` });
  });

  it('carries an allowed call from a to the service in b, with the trace and without the token', async () => {
    const answer = await call(
      '/orders/42',
      ...bearer(),
      '-H',
      `traceparent: 00-${TRACE_ID}-00f067aa0ba902b7-01`,
    );
    expect(answer.status).toBe(200);
    expect(answer.json()).toMatchObject({ name: 'orders', method: 'GET', url: '/orders/42' });
    const seen = orders.seen.at(-1)!;
    expect(String(seen.headers.traceparent).split('-')[1]).toBe(TRACE_ID);
    expect(seen.headers.authorization).toBeUndefined();
    expect(seen.headers['x-weft-source-identity']).toBe(FRONTEND);
  });

  it('denies a path by policy with 403 problem+json naming the rule, before the service sees it', async () => {
    const before = orders.seen.length;
    const answer = await call('/admin/users', ...bearer());
    expect(answer.status).toBe(403);
    expect(answer.contentType).toBe('application/problem+json');
    expect(answer.json()).toMatchObject({
      status: 403,
      decidedBy: expect.stringMatching(/orders-deny-admin\/0$/),
    });
    expect(orders.seen.length).toBe(before);
  });

  it('answers 401 problem+json to a call without a JWT-SVID', async () => {
    const answer = await call('/orders/42');
    expect(answer.status).toBe(401);
    expect(answer.contentType).toBe('application/problem+json');
  });

  it('answers 401 problem+json to a forged JWT-SVID and to a real one with its subject changed', async () => {
    const before = orders.seen.length;
    const [header] = token.split('.');
    const { kid } = JSON.parse(Buffer.from(header!, 'base64url').toString()) as { kid: string };
    // Another key, posing under the trusted key's kid, with the claims a real token has.
    const { privateKey } = await generateKeyPair('ES256');
    const forged = await new SignJWT({ sub: FRONTEND, aud: `spiffe://${TD}/gateways` })
      .setProtectedHeader({ alg: 'ES256', kid, typ: 'JWT' })
      .setIssuedAt()
      .setExpirationTime('5m')
      .sign(privateKey);
    const [h, payload, signature] = token.split('.');
    const claims = JSON.parse(Buffer.from(payload!, 'base64url').toString()) as Record<string, unknown>;
    const swapped = Buffer.from(JSON.stringify({ ...claims, sub: `spiffe://${TD}/ns/shop/svc/admin` }));
    const tampered = `${h}.${swapped.toString('base64url')}.${signature}`;
    for (const bad of [forged, tampered]) {
      const answer = await call('/orders/42', '-H', `Authorization: Bearer ${bad}`);
      expect(answer.status).toBe(401);
      expect(answer.contentType).toBe('application/problem+json');
    }
    expect(orders.seen.length).toBe(before);
  });

  it('counts the calls in weft_requests_total on both agents, and the denial on b', async () => {
    const [ma, mb] = await Promise.all([metricsOf(a), metricsOf(b)]);
    const out = { direction: 'outbound', destination: ORDERS_ID };
    expect(total(ma, 'weft_requests_total', { ...out, response_code: '200', source: FRONTEND })).toBe(1);
    expect(total(ma, 'weft_requests_total', { ...out, response_code: '403', source: FRONTEND })).toBe(1);
    expect(total(ma, 'weft_requests_total', { ...out, response_code: '401' })).toBe(3);
    const into = { direction: 'inbound', destination: ORDERS_ID, source: FRONTEND };
    expect(total(mb, 'weft_requests_total', { ...into, response_code: '200' })).toBe(1);
    expect(total(mb, 'weft_requests_total', { ...into, response_code: '403' })).toBe(1);
    expect(total(mb, 'weft_authz_denied_total', { source: FRONTEND })).toBe(1);
  });

  it('keeps carrying the allowed call with the control plane stopped, also after a restarts on its last-known-good', async () => {
    await cp.stop();
    const answer = await call('/orders/43', ...bearer());
    expect(answer.status).toBe(200);
    expect(answer.json()).toMatchObject({ name: 'orders', url: '/orders/43' });
    expect(await a.stop()).toBe(0);
    a = await startGateway('a', false);
    // Listening before it is ready, on the config from disk and the saved SVID.
    expect(a.lines.find((l) => l.msg === 'ready')).toMatchObject({ egressAddress: egressA });
    const again = await call('/orders/44', ...bearer());
    expect(again.status).toBe(200);
    expect(again.json()).toMatchObject({ name: 'orders', url: '/orders/44' });
    expect((await a.get('/readyz')).status).toBe(200);
    // b counted every allowed call; the restarted a, the one since its start.
    expect(
      total(await metricsOf(b), 'weft_requests_total', { direction: 'inbound', response_code: '200' }),
    ).toBe(3);
    expect(
      total(await metricsOf(a), 'weft_requests_total', { direction: 'outbound', response_code: '200' }),
    ).toBe(1);
  });
});
