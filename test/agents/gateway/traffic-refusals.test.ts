/**
 * Issue 5, "plain TCP, plain TLS or a client certificate from a foreign CA
 * are refused at ingress", against a real `weft agent` process: one gateway
 * (gw-a, its ingress on the Gateway's address, 127.Y.1.1) with a test
 * service behind it, dialled directly by strangers: a plain TCP socket,
 * curl and `openssl s_client` without a client certificate, over TLS 1.2,
 * with an openssl-made certificate from a foreign root that claims a
 * gateway ID of the mesh's own trust domain, and with a real SVID of the
 * mesh that is a service's, not a gateway's. None gets an HTTP answer and
 * the service sees nothing. A real gateway SVID (attested for another
 * gateway of the mesh) is the positive control: with a workload's JWT-SVID
 * it reaches the service, so the refusals are not a dead port.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { tempDir } from '../../support/temp-dir.js';
import { parseMetrics, total } from './dataplane/support/http.js';
import { startService, type TestService } from './dataplane/support/services.js';
import { type AgentProcess, freePort, killAgents, waitReady } from './support/agent-process.js';
import { attestedSvidFiles } from './support/attested-svid.js';
import { curlTls } from './support/curl-tls.js';
import { startGatewayAgent } from './support/gateway-agent.js';
import { doc, type MeshHost, startMeshHost } from './support/mesh-host.js';
import { type CertFiles, foreignClientCert, sClient } from './support/openssl.js';
import { rawExchange } from './support/raw-tcp.js';

const TD = 'traffic-refusals.test';
// 127.90-94: away from the demo's 127.0.N.1, traffic.test's 127.10-89, weft up's
// tests (127.100-249), traffic-routing.test's 127.250-254 and traffic-rotation.test's 127.95-99.
const HOST = `127.${90 + Math.floor(Math.random() * 5)}.1.1`;
const GATEWAY = `spiffe://${TD}/gw/a/gw-a`;
/** Another gateway of the mesh: what the positive control dials as. */
const PROBE = `spiffe://${TD}/gw/b/probe`;
const FRONTEND = `spiffe://${TD}/ns/shop/svc/frontend`;
const ORDERS_HOST = 'orders.shop.weft.internal';
const HTTP_ANSWER = /HTTP\/1\.[01] \d{3}/;
/** Exit codes of a curl that got no HTTP answer: handshake failed (35), reset or alert (56), closed (52). */
const NO_ANSWER = [35, 52, 56];

describe('refusals at a weft agent ingress', () => {
  let cp: MeshHost;
  let orders: TestService;
  let gw: AgentProcess;
  let ingress: string;
  let probe: CertFiles;
  let service: CertFiles;
  let foreign: CertFiles;
  let token: string;
  /** What the service had seen once the positive control got through. */
  let seenBefore: number;
  const serviceSawNothing = () => expect(orders.seen).toHaveLength(seenBefore);

  beforeAll(async () => {
    orders = await startService('orders');
    ingress = `${HOST}:${await freePort(HOST)}`;
    cp = await startMeshHost({
      docs: [
        doc('Mesh', 'default', { trustDomain: TD, attestation: { joinToken: {} } }),
        doc('Environment', 'a', { provider: 'aws', region: 'us-east-1' }),
        doc('Gateway', 'gw-a', { environment: 'a', address: ingress }),
        doc('Service', 'shop/frontend', { ports: [{ port: 8080 }] }),
        doc('Service', 'shop/orders', { ports: [{ port: Number(orders.address.split(':')[1]) }] }),
        doc('Workload', 'shop/orders-1', { service: 'orders', environment: 'a', address: orders.address }),
        doc('AccessPolicy', 'shop/orders-allow-frontend', {
          service: 'orders',
          action: 'allow',
          rules: [{ from: [FRONTEND] }],
        }),
      ],
    });
    const dir = await tempDir('weft-agent-refusals-');
    [gw, probe, service, foreign, token] = await Promise.all([
      startGatewayAgent(cp, { env: 'a', trustDomain: TD, dir, host: HOST }),
      attestedSvidFiles(cp, PROBE, dir),
      attestedSvidFiles(cp, FRONTEND, dir),
      foreignClientCert(dir, `spiffe://${TD}/gw/a/gw-impostor`),
      cp.workloadJwt(FRONTEND),
    ]);
    await waitReady(gw);
  });
  afterAll(async () => {
    await killAgents();
    await Promise.all([cp?.close(), orders?.close()]);
  });

  it('listens for gateways on the address the Gateway declares', () => {
    expect(gw.lines.find((l) => l.msg === 'data plane listening')).toMatchObject({ ingress });
  });

  it('lets a real gateway SVID through TLS 1.3 to the service (the port is alive)', async () => {
    const answer = await curlTls(
      ingress,
      '/orders/1',
      probe,
      ...['-H', `Host: ${ORDERS_HOST}`, '-H', `Authorization: Bearer ${token}`],
    );
    expect(answer).toMatchObject({ exitCode: 0, status: 200 });
    expect(orders.seen.at(-1)).toMatchObject({ url: '/orders/1' });
    expect(orders.seen.at(-1)?.headers['x-weft-source-identity']).toBe(FRONTEND);
    // Any HTTP answer will do for openssl (404: its Host names no service).
    const seen = await sClient(ingress, { version: 'tls1_3', client: probe });
    expect(seen.output).toMatch(/Protocol\s*:\s*TLSv1\.3/);
    expect(seen.output).toMatch(HTTP_ANSWER);
    expect(seen.serverCert?.subjectAltName).toBe(`URI:${GATEWAY}`);
    seenBefore = orders.seen.length;
  });

  it('gives a plain TCP client no HTTP answer, only a closed connection', async () => {
    const exchange = await rawExchange(ingress, 'GET / HTTP/1.1\r\nHost: x\r\n\r\n');
    expect(exchange.closedByServer).toBe(true);
    expect(exchange.received.toString('latin1')).not.toMatch(/HTTP\//);
    serviceSawNothing();
  });

  it('refuses TLS without a client certificate, to curl and to openssl', async () => {
    const answer = await curlTls(ingress, '/orders/1');
    expect(NO_ANSWER).toContain(answer.exitCode);
    expect(answer.status).toBe(0);
    // openssl sends nothing: unread bytes would make the server's close a reset that can hide the alert.
    const seen = await sClient(ingress, { version: 'tls1_3', send: '' });
    expect(seen.output).toMatch(/alert certificate required/);
    serviceSawNothing();
  });

  it('refuses TLS 1.2, even with a real gateway SVID', async () => {
    const seen = await sClient(ingress, { version: 'tls1_2', client: probe });
    expect(seen.exitCode).not.toBe(0);
    expect(seen.output).toMatch(/alert protocol version/);
    expect(seen.output).not.toMatch(HTTP_ANSWER);
    const viaCurl = await curlTls(ingress, '/orders/1', probe, '--tls-max', '1.2');
    expect(viaCurl).toMatchObject({ exitCode: 35, status: 0 });
    serviceSawNothing();
  });

  it("refuses a foreign CA's certificate that claims a gateway ID of the mesh", async () => {
    const answer = await curlTls(ingress, '/orders/1', foreign);
    expect(NO_ANSWER).toContain(answer.exitCode);
    expect(answer.status).toBe(0);
    const seen = await sClient(ingress, { version: 'tls1_3', client: foreign, send: '' });
    // Node checks the client chain once the handshake is done, and closes without an alert.
    expect(seen.output).toMatch(/unexpected eof while reading|alert (unknown ca|bad certificate)/);
    serviceSawNothing();
  });

  it("drops a mesh SVID that is a service's, not a gateway's, and logs who it was", async () => {
    const answer = await curlTls(ingress, '/orders/1', service);
    expect(NO_ANSWER).toContain(answer.exitCode);
    expect(answer.status).toBe(0);
    serviceSawNothing();
    // Polled: the agent's log line and curl's exit race through two pipes.
    await expect
      .poll(() => gw.lines)
      .toContainEqual(
        expect.objectContaining({
          msg: 'ingress refused a peer that is not a mesh gateway',
          peer: [FRONTEND],
        }),
      );
  });

  it('counts no refused connection as a request, and each in weft_ingress_refused_total by reason', async () => {
    const metrics = parseMetrics((await gw.get('/metrics')).body);
    // The positive control's two calls are the only requests the ingress read.
    expect(total(metrics, 'weft_requests_total', { direction: 'inbound' })).toBe(2);
    const refused = (reason: string) => total(metrics, 'weft_ingress_refused_total', { reason });
    // One plain TCP client; curl and openssl each for no certificate, TLS 1.2 and the foreign CA.
    expect(refused('not-tls')).toBe(1);
    expect(refused('no-client-certificate')).toBe(2);
    expect(refused('tls-version')).toBe(2);
    expect(refused('untrusted-certificate')).toBe(2);
    expect(refused('not-a-gateway')).toBe(1);
  });
});
