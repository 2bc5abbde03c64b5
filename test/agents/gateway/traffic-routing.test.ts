/**
 * Weighted routing and failover end to end, as issue 5 asks: real `weft
 * agent` processes for three environments (a: 127.Y.1.1, b: 127.Y.2.1, c:
 * 127.Y.3.1), the service `shop/orders` with a Workload in b and one in c
 * (two test services, so each answer says which environment served it), a
 * Route sending 80 % to b and 20 % to c, and curl in a calling through a's
 * egress, thousands of calls from one curl process. Then c's gateway is
 * killed mid-stream and the calls must fail over to b.
 *
 * Why processes and curl when dataplane/routing.test.ts covers the same
 * logic in one process: only here do the draws, retries and ejections meet
 * a real client's kept-alive connection and a peer whose sockets the kernel
 * closes when it dies, and only here does the agent wire them as it ships.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { tempDir } from '../../support/temp-dir.js';
import { parseMetrics, total } from './dataplane/support/http.js';
import { startService, type TestService } from './dataplane/support/services.js';
import { type AgentProcess, freePort, killAgents, waitReady } from './support/agent-process.js';
import { curlManyVia, type Transfer } from './support/curl-many.js';
import { startGatewayAgent } from './support/gateway-agent.js';
import { doc, type MeshHost, startMeshHost } from './support/mesh-host.js';

const TD = 'traffic-routing.test';
// 127.250-254: away from the demo's 127.0.N.1, traffic.test's 127.10-89,
// the convergence bench's 127.60 and weft up's tests (127.100-249).
const Y = 250 + Math.floor(Math.random() * 5);
const ENVS = ['a', 'b', 'c'] as const;
type Env = (typeof ENVS)[number];
const HOST: Record<Env, string> = { a: `127.${Y}.1.1`, b: `127.${Y}.2.1`, c: `127.${Y}.3.1` };
const FRONTEND = `spiffe://${TD}/ns/shop/svc/frontend`;
const ORDERS_URL = 'http://orders.shop.weft.internal';
const ORDERS_ID = `spiffe://${TD}/ns/shop/svc/orders`;
/** c's failed attempts in a row that eject it (the Route's outlierDetection). */
const CONSECUTIVE_ERRORS = 3;

/** Which environment's service wrote `transfer`'s body (`orders-b`, `orders-c`), if one did. */
const servedBy = (transfer: Transfer): string | undefined =>
  /"name":"orders-([a-z])"/.exec(transfer.body)?.[1];
const share = (transfers: readonly Transfer[], env: string) =>
  transfers.filter((t) => servedBy(t) === env).length / transfers.length;

/** An outbound access-log line of gw-a, one per call. */
interface Access {
  readonly path: string;
  readonly status: number;
  readonly environment: string;
  readonly attempts?: number;
}

describe('weighted routing and failover across three weft agents', () => {
  let cp: MeshHost;
  const services = {} as Record<'b' | 'c', TestService>;
  const agents = {} as Record<Env, AgentProcess>;
  let egressA: string;
  let token: string;
  /** `n` calls to `/orders/<prefix>-<i>` through a's egress, from one curl. */
  const callMany = (prefix: string, n: number, onTransfer?: (t: Transfer, count: number) => void) =>
    curlManyVia(
      egressA,
      Array.from({ length: n }, (_, i) => `${ORDERS_URL}/orders/${prefix}-${i}`),
      { headers: [`Authorization: Bearer ${token}`], ...(onTransfer && { onTransfer }) },
    );
  const outbound200 = async (environment?: string) =>
    total(parseMetrics((await agents.a.get('/metrics')).body), 'weft_requests_total', {
      direction: 'outbound',
      destination: ORDERS_ID,
      source: FRONTEND,
      response_code: '200',
      ...(environment && { environment }),
    });
  /** gw-a's access-log lines for the calls of `prefix`, by call number. */
  const accessOf = (prefix: string): Map<number, Access> => {
    const byCall = new Map<number, Access>();
    for (const l of agents.a.lines) {
      const m = l.msg === 'access' && new RegExp(`^/orders/${prefix}-(\\d+)$`).exec(String(l.path));
      if (m) byCall.set(Number(m[1]), l as unknown as Access);
    }
    return byCall;
  };

  beforeAll(async () => {
    services.b = await startService('orders-b');
    services.c = await startService('orders-c');
    const [ingressA, egressPortA, ingressB, ingressC] = await Promise.all([
      freePort(HOST.a),
      freePort(HOST.a),
      freePort(HOST.b),
      freePort(HOST.c),
    ]);
    const ingress: Record<Env, number> = { a: ingressA, b: ingressB, c: ingressC };
    egressA = `${HOST.a}:${egressPortA}`;
    cp = await startMeshHost({
      docs: [
        doc('Mesh', 'default', { trustDomain: TD, attestation: { joinToken: {} } }),
        doc('Environment', 'a', { provider: 'aws', region: 'us-east-1' }),
        doc('Environment', 'b', { provider: 'gcp', region: 'europe-west1' }),
        doc('Environment', 'c', { provider: 'azure', region: 'westeurope' }),
        ...ENVS.map((env) =>
          doc('Gateway', `gw-${env}`, {
            environment: env,
            address: `${HOST[env]}:${ingress[env]}`,
            ...(env === 'a' && { egressAddress: egressA }),
          }),
        ),
        doc('Service', 'shop/frontend', { ports: [{ port: 8080 }] }),
        doc('Service', 'shop/orders', { ports: [{ port: 8080 }] }),
        doc('Workload', 'shop/orders-b', {
          service: 'orders',
          environment: 'b',
          address: services.b.address,
        }),
        doc('Workload', 'shop/orders-c', {
          service: 'orders',
          environment: 'c',
          address: services.c.address,
        }),
        doc('AccessPolicy', 'shop/orders-allow-frontend', {
          service: 'orders',
          action: 'allow',
          rules: [{ from: [FRONTEND], methods: ['GET'] }],
        }),
        // As an operator would write it for a service that must ride out a dead environment:
        // retry what never reached a gateway, or broke on the way, in the other environment,
        // and stop sending to an environment after a few failures in a row, for longer than this file runs.
        doc('Route', 'shop/orders', {
          service: 'orders',
          rules: [
            {
              backends: [
                { environment: 'b', weight: 80 },
                { environment: 'c', weight: 20 },
              ],
              retries: { attempts: 2, retryOn: ['connect-failure', 'reset'] },
              failover: ['b', 'c'],
            },
          ],
          outlierDetection: { consecutiveErrors: CONSECUTIVE_ERRORS, baseEjectionTime: '5m' },
        }),
      ],
    });
    const dir = await tempDir('weft-agent-traffic-routing-');
    const agent = (env: Env) =>
      startGatewayAgent(cp, {
        env,
        trustDomain: TD,
        dir,
        host: HOST[env],
        // The Gateways' ingress addresses; an egress only where the caller is (b's and c's: anywhere free).
        egressAddress: env === 'a' ? null : `${HOST[env]}:0`,
      });
    [agents.a, agents.b, agents.c, token] = await Promise.all([
      agent('a'),
      agent('b'),
      agent('c'),
      cp.workloadJwt(FRONTEND),
    ]);
    await Promise.all(ENVS.map((env) => waitReady(agents[env])));
  });
  afterAll(async () => {
    await killAgents();
    await Promise.all([cp?.close(), services.b?.close(), services.c?.close()]);
  });

  it('splits 2,000 calls 80/20 between b and c, within 5 points, every one answered 200', async () => {
    const before = { all: await outbound200(), b: await outbound200('b'), c: await outbound200('c') };
    const answers = await callMany('split', 2000);
    expect(answers.filter((t) => t.status !== 200)).toEqual([]);
    expect(answers.every((t) => servedBy(t) === 'b' || servedBy(t) === 'c')).toBe(true);
    // Binomial(2000, 0.8) has a standard deviation of 0.9 points: 5 points is over 5 sigma.
    expect(share(answers, 'b')).toBeGreaterThanOrEqual(0.75);
    expect(share(answers, 'b')).toBeLessThanOrEqual(0.85);
    expect(share(answers, 'c')).toBeGreaterThanOrEqual(0.15);
    expect(share(answers, 'c')).toBeLessThanOrEqual(0.25);
    // Each service saw exactly the calls that say it served them: no call was answered twice.
    const fromB = answers.filter((t) => servedBy(t) === 'b').length;
    expect(services.b.seen.filter((s) => s.url.startsWith('/orders/split-')).length).toBe(fromB);
    expect(services.c.seen.filter((s) => s.url.startsWith('/orders/split-')).length).toBe(2000 - fromB);
    // gw-a counted them all, by the environment that served (once the last answer's count is in).
    await expect.poll(async () => (await outbound200()) - before.all, { timeout: 5_000 }).toBe(2000);
    expect((await outbound200('b')) - before.b).toBe(fromB);
    expect((await outbound200('c')) - before.c).toBe(2000 - fromB);
  });

  it("fails over to b when c's gateway is killed mid-stream: at most 1 % errors after c's ejection, none from c", async () => {
    const N = 1000;
    const KILL_AFTER = 100;
    let killed: Promise<number | null> | undefined;
    let received = 0;
    let answeredAtExit = N;
    // One call at a time, so "before" and "after" are call numbers: calls 0..KILL_AFTER-1 were
    // answered before SIGKILL was sent; calls from KILL_AFTER on were sent after it (the first
    // perhaps already on its way), and those answered once the agent was gone, after it died.
    const answers = await callMany('failover', N, (_, count) => {
      received = count;
      if (count !== KILL_AFTER) return;
      killed = agents.c.stop('SIGKILL');
      void killed.then(() => (answeredAtExit = received));
    });
    expect(await killed).toBe(null);
    // gw-a logs a call once its answer is out, in batches flushed at least every second,
    // so the last lines may come a while after curl is done.
    await expect.poll(() => accessOf('failover').size, { timeout: 10_000 }).toBe(N);
    const access = accessOf('failover');
    // Before the kill, c served its share: the Route held until the failure.
    expect(answers.slice(0, KILL_AFTER).some((t) => servedBy(t) === 'c')).toBe(true);
    // b never fails, so a call since the kill whose access line shows a retry or a failure is
    // one whose first attempt went to c and failed. gw-a ejects c on its CONSECUTIVE_ERRORS-th
    // such failure in a row. "After ejection" means every call after the one that made that
    // failure: from then on, for the 5m the ejection lasts, no call may even try c.
    const hitC = [...access]
      .filter(([i, l]) => i >= KILL_AFTER && ((l.attempts ?? 1) > 1 || l.status !== 200))
      .map(([i]) => i)
      .sort((x, y) => x - y);
    expect(hitC.length).toBe(CONSECUTIVE_ERRORS);
    const ejectedAt = hitC.at(-1)!;
    const afterEjection = answers.slice(ejectedAt + 1);
    expect(afterEjection.length).toBeGreaterThan(N / 2);
    expect(afterEjection.filter((t) => t.status !== 200).length).toBeLessThanOrEqual(
      afterEjection.length / 100,
    );
    for (let i = ejectedAt + 1; i < N; i++)
      expect(access.get(i)).toMatchObject({ status: 200, environment: 'b', attempts: 1 });
    // Before the ejection, a retry in the other environment saved each call that met a dead c.
    for (const i of hitC) expect(access.get(i)).toMatchObject({ status: 200, environment: 'b', attempts: 2 });
    // gw-a says so: one ejection of c, counted and logged.
    const metrics = parseMetrics((await agents.a.get('/metrics')).body);
    expect(total(metrics, 'weft_outlier_ejections_total', { environment: 'c' })).toBe(1);
    expect(total(metrics, 'weft_outlier_ejections_total', { environment: 'b' })).toBe(0);
    expect(agents.a.lines).toContainEqual(
      expect.objectContaining({ msg: 'environment ejected after consecutive errors', environment: 'c' }),
    );
    // Every success since c died came from b. Call KILL_AFTER may have been with c when
    // SIGKILL went out, and its answer can reach curl after the test saw c exit: it is
    // never counted as "since death"; every later call was sent once c was killed.
    const sinceDeath = answers
      .slice(Math.max(answeredAtExit, KILL_AFTER + 1))
      .filter((t) => t.status === 200);
    expect(sinceDeath.length).toBeGreaterThan(0);
    expect(sinceDeath.every((t) => servedBy(t) === 'b')).toBe(true);
  });
});
