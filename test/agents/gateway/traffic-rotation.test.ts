/**
 * Issue 5, "certificate rotation under load loses no request", with real
 * `weft agent` processes: two gateways (a: 127.Y.1.1, b: 127.Y.2.1), the
 * service in b, and curl processes in a calling it through a's egress
 * without pause while both gateways rotate their X.509-SVIDs. The Mesh's
 * X.509 TTL is the least the API allows (1m; issued 10 s backdated, so
 * rotation at half-life comes some 20 s after the agents attest). Every
 * call must answer 200, reach the service, and be counted once by each
 * gateway; the rotations are proven three ways: the agents' log lines, the
 * expiry gauge moving, and a new certificate (serial) served at each
 * ingress to a fresh `openssl s_client`.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { tempDir } from '../../support/temp-dir.js';
import { parseMetrics, total } from './dataplane/support/http.js';
import { startService, type TestService } from './dataplane/support/services.js';
import { type AgentProcess, freePort, killAgents, waitReady } from './support/agent-process.js';
import { attestedSvidFiles } from './support/attested-svid.js';
import { type LoadResult, startCurlLoad } from './support/curl-load.js';
import { startGatewayAgent } from './support/gateway-agent.js';
import { doc, type MeshHost, startMeshHost } from './support/mesh-host.js';
import { type CertFiles, sClient } from './support/openssl.js';

const TD = 'traffic-rotation.test';
// 127.95-99: away from the demo's 127.0.N.1, traffic.test's 127.10-89, weft up's tests
// (127.100-249), traffic-routing.test's 127.250-254 and traffic-refusals.test's 127.90-94.
const Y = 95 + Math.floor(Math.random() * 5);
const ENVS = ['a', 'b'] as const;
type Env = (typeof ENVS)[number];
const HOST: Record<Env, string> = { a: `127.${Y}.1.1`, b: `127.${Y}.2.1` };
const FRONTEND = `spiffe://${TD}/ns/shop/svc/frontend`;
const ORDERS_ID = `spiffe://${TD}/ns/shop/svc/orders`;
const gatewayId = (env: Env) => `spiffe://${TD}/gw/${env}/gw-${env}`;
/** A client gateway SVID for openssl to see what each ingress serves. */
const PROBE = `spiffe://${TD}/gw/b/probe`;

/** What a gateway showed before the load and after it. */
interface Seen {
  readonly serial: string;
  readonly x509Expiry: number;
}

describe('X.509-SVID rotation of both gateways under load', () => {
  let cp: MeshHost;
  let orders: TestService;
  const agents = {} as Record<Env, AgentProcess>;
  const ingress = {} as Record<Env, string>;
  let probe: CertFiles;
  const before = {} as Record<Env, Seen>;
  const after = {} as Record<Env, Seen>;
  let results: LoadResult[];

  const rotations = (env: Env) =>
    agents[env].lines.filter((l) => l.component === 'dataplane' && l.msg === 'credentials rotated');
  const metricsOf = async (env: Env) => parseMetrics((await agents[env].get('/metrics')).body);
  const look = async (env: Env): Promise<Seen> => {
    const served = await sClient(ingress[env], { version: 'tls1_3', client: probe });
    expect(served.serverCert?.subjectAltName).toBe(`URI:${gatewayId(env)}`);
    const x509Expiry = total(await metricsOf(env), 'weft_credential_expiry_timestamp_seconds', {
      credential: 'x509-svid',
    });
    return { serial: served.serverCert!.serialNumber, x509Expiry };
  };

  beforeAll(async () => {
    orders = await startService('orders');
    const ports = await Promise.all(ENVS.map((env) => freePort(HOST[env])));
    for (const [i, env] of ENVS.entries()) ingress[env] = `${HOST[env]}:${ports[i]}`;
    cp = await startMeshHost({
      docs: [
        doc('Mesh', 'default', {
          trustDomain: TD,
          attestation: { joinToken: {} },
          credentials: { x509SvidTtl: '1m' },
        }),
        doc('Environment', 'a', { provider: 'aws', region: 'us-east-1' }),
        doc('Environment', 'b', { provider: 'gcp', region: 'europe-west1' }),
        ...ENVS.map((env) => doc('Gateway', `gw-${env}`, { environment: env, address: ingress[env] })),
        doc('Service', 'shop/frontend', { ports: [{ port: 8080 }] }),
        doc('Service', 'shop/orders', { ports: [{ port: Number(orders.address.split(':')[1]) }] }),
        doc('Workload', 'shop/orders-1', { service: 'orders', environment: 'b', address: orders.address }),
        doc('AccessPolicy', 'shop/orders-allow-frontend', {
          service: 'orders',
          action: 'allow',
          rules: [{ from: [FRONTEND], methods: ['GET'] }],
        }),
      ],
    });
    const dir = await tempDir('weft-agent-rotation-');
    const start = async (env: Env) => {
      agents[env] = await startGatewayAgent(cp, { env, trustDomain: TD, dir, host: HOST[env] });
      await waitReady(agents[env]);
    };
    let token: string;
    [token, probe] = await Promise.all([
      cp.workloadJwt(FRONTEND),
      attestedSvidFiles(cp, PROBE, dir),
      start('a'),
      start('b'),
    ]);
    for (const env of ENVS) before[env] = await look(env);
    const egressA = agents.a.lines.find((l) => l.msg === 'data plane listening')!.egress as string;
    const load = startCurlLoad({
      proxy: egressA,
      headers: [`Authorization: Bearer ${token}`],
      url: (worker, i) => `http://orders.shop.weft.internal/orders/${worker}-${i}`,
      workers: 3,
    });
    // Until both data planes took their new credentials (some 20 s), then 200 calls more on them.
    const deadline = Date.now() + 45_000;
    while (ENVS.some((env) => rotations(env).length === 0) && Date.now() < deadline)
      await new Promise((resolve) => setTimeout(resolve, 200));
    await load.more(200);
    results = await load.stop();
    for (const env of ENVS) after[env] = await look(env);
  }, 90_000);
  afterAll(async () => {
    await killAgents();
    await Promise.all([cp?.close(), orders?.close()]);
  });

  it('rotated both X.509-SVIDs while the calls flowed', () => {
    for (const env of ENVS) {
      expect(agents[env].lines).toContainEqual(
        expect.objectContaining({ msg: 'X.509-SVID rotated', spiffeId: gatewayId(env) }),
      );
      const rotated = rotations(env).map((l) => Date.parse(l.time as string));
      expect(rotated.length).toBeGreaterThan(0);
      // Calls came back both before the first rotation and after the last.
      expect(results.filter((r) => r.at < Math.min(...rotated)).length).toBeGreaterThan(0);
      expect(results.filter((r) => r.at > Math.max(...rotated)).length).toBeGreaterThan(0);
    }
  });

  it('serves a new certificate at each ingress, and exports a later expiry', () => {
    for (const env of ENVS) {
      expect(after[env].serial).not.toBe(before[env].serial);
      expect(after[env].x509Expiry).toBeGreaterThan(before[env].x509Expiry);
    }
  });

  it('lost no call: every one answered 200 and reached the service', () => {
    expect(results.length).toBeGreaterThanOrEqual(200);
    expect(results.filter((r) => r.status !== 200)).toEqual([]);
    const reached = new Set(orders.seen.map((s) => s.url));
    expect(results.map((r) => new URL(r.url).pathname).filter((p) => !reached.has(p))).toEqual([]);
  });

  it('counted every call once at each gateway', async () => {
    const outbound = {
      direction: 'outbound',
      destination: ORDERS_ID,
      source: FRONTEND,
      response_code: '200',
    };
    expect(total(await metricsOf('a'), 'weft_requests_total', outbound)).toBe(results.length);
    const inbound = { ...outbound, direction: 'inbound' };
    expect(total(await metricsOf('b'), 'weft_requests_total', inbound)).toBe(results.length);
    expect(orders.seen).toHaveLength(results.length);
  });
});
