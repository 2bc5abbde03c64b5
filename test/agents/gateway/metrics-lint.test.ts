/**
 * Every series a real `weft agent` exposes on `/metrics` passes `promtool
 * check metrics`, after calls through it have written the data plane's
 * counters and histogram: two agents (a: 127.Y.1.1, b: 127.Y.2.1), a service
 * in b, curl as a workload in a, allowed, denied and unauthenticated calls,
 * and a plain-TCP connection b's ingress refuses.
 *
 * promtool is a required client here, as curl and openssl are: `.ci/run`
 * installs it (Debian's `prometheus` package), and without it the test
 * fails saying so.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { runProcess } from '../../support/run-process.js';
import { tempDir } from '../../support/temp-dir.js';
import { parseMetrics, total } from './dataplane/support/http.js';
import { startService, type TestService } from './dataplane/support/services.js';
import { type AgentProcess, freePort, killAgents, waitReady } from './support/agent-process.js';
import { curlVia } from './support/curl.js';
import { startGatewayAgent } from './support/gateway-agent.js';
import { doc, type MeshHost, startMeshHost } from './support/mesh-host.js';
import { rawExchange } from './support/raw-tcp.js';

const TD = 'metrics-lint.test';
// Away from the demo's 127.0.N.1, weft up's tests (127.100-249.N.1) and traffic.test's 127.10-89.
const Y = 90 + Math.floor(Math.random() * 10);
const HOST = { a: `127.${Y}.1.1`, b: `127.${Y}.2.1` };
const FRONTEND = `spiffe://${TD}/ns/shop/svc/frontend`;
const ORDERS_URL = 'http://orders.shop.weft.internal';

/** `promtool check metrics` over `text`: its exit code and what it said. */
async function promtoolCheck(text: string): Promise<{ code: number | null; output: string }> {
  try {
    return await runProcess('promtool', ['check', 'metrics'], { input: text, timeoutMs: 15_000 });
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code !== 'ENOENT') throw error;
    throw new Error(
      'promtool is not installed: `apt-get install -y prometheus` (Debian) provides it, as .ci/run does',
      { cause: error },
    );
  }
}

describe('an agent’s /metrics under promtool check metrics', () => {
  let cp: MeshHost;
  let orders: TestService;
  let a: AgentProcess;
  let b: AgentProcess;
  let egressA: string;
  let ingressB: string;
  let token: string;
  const call = (path: string, ...args: string[]) => curlVia(egressA, `${ORDERS_URL}${path}`, ...args);

  beforeAll(async () => {
    orders = await startService('orders');
    const [ingressPortA, egressPortA, ingressPortB] = await Promise.all([
      freePort(HOST.a),
      freePort(HOST.a),
      freePort(HOST.b),
    ]);
    egressA = `${HOST.a}:${egressPortA}`;
    ingressB = `${HOST.b}:${ingressPortB}`;
    cp = await startMeshHost({
      docs: [
        doc('Mesh', 'default', { trustDomain: TD, attestation: { joinToken: {} } }),
        doc('Environment', 'a', { provider: 'aws', region: 'us-east-1' }),
        doc('Environment', 'b', { provider: 'gcp', region: 'europe-west1' }),
        doc('Gateway', 'gw-a', {
          environment: 'a',
          address: `${HOST.a}:${ingressPortA}`,
          egressAddress: egressA,
        }),
        doc('Gateway', 'gw-b', { environment: 'b', address: ingressB }),
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
    const dir = await tempDir('weft-agent-metrics-lint-');
    const start = (env: 'a' | 'b') =>
      startGatewayAgent(cp, { env, trustDomain: TD, dir, host: HOST[env], egressAddress: null });
    [a, b, token] = await Promise.all([start('a'), start('b'), cp.workloadJwt(FRONTEND)]);
    await Promise.all([waitReady(a), waitReady(b)]);
  });
  afterAll(async () => {
    await killAgents();
    await Promise.all([cp?.close(), orders?.close()]);
  });

  it('passes on both agents after allowed, denied, unauthenticated and refused traffic', async () => {
    const bearer = ['-H', `Authorization: Bearer ${token}`];
    expect((await call('/orders/42', ...bearer)).status).toBe(200);
    expect((await call('/admin/users', ...bearer)).status).toBe(403);
    expect((await call('/orders/42')).status).toBe(401);
    await rawExchange(ingressB, 'GET / HTTP/1.1\r\nhost: x\r\n\r\n');

    for (const [name, agent] of [
      ['a', a],
      ['b', b],
    ] as const) {
      const { status, body } = await agent.get('/metrics');
      expect(status).toBe(200);
      // The traffic is there: the lint ran over the data plane's series, not only the control loop's.
      expect(total(parseMetrics(body), 'weft_requests_total')).toBeGreaterThan(0);
      const { code, output } = await promtoolCheck(body);
      expect({ agent: name, code, output }).toEqual({ agent: name, code: 0, output: '' });
    }
    expect(total(parseMetrics((await b.get('/metrics')).body), 'weft_ingress_refused_total')).toBe(1);
  });
});
