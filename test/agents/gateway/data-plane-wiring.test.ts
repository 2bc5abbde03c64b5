/**
 * The agent's wiring of the data plane, in process against the real local
 * host: the data plane listens once the first config is applied, gets the
 * next verified snapshot, and gets the rotated X.509-SVID (new handshakes on
 * its ingress present the new certificate); closing the agent closes it.
 */
import { X509Certificate } from 'node:crypto';
import { connect } from 'node:tls';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type GatewayAgent, startGatewayAgent } from '../../../agents/gateway/main.js';
import { tempDir } from '../../support/temp-dir.js';
import { memoryLog } from './support/logs.js';
import { ENV, GW, type MeshHost, ordersPolicy, startMeshHost } from './support/mesh-host.js';

/** The certificate the ingress presents, read with the agent's own SVID as the client's. */
function ingressCertificate(address: string, agent: GatewayAgent): Promise<X509Certificate> {
  const [host, port] = [address.slice(0, address.lastIndexOf(':')), Number(address.split(':').pop())];
  const { keyPem, certChainPem } = agent.credentials.current();
  return new Promise((resolve, reject) => {
    const socket = connect({
      host,
      port,
      key: keyPem,
      cert: certChainPem.join('\n'),
      rejectUnauthorized: false,
      minVersion: 'TLSv1.3',
    });
    socket.once('secureConnect', () => {
      const raw = socket.getPeerX509Certificate();
      socket.destroy();
      if (raw) resolve(raw);
      else reject(new Error('no peer certificate'));
    });
    socket.once('error', reject);
  });
}

describe('the agent mounts the data plane', () => {
  let cp: MeshHost;
  let agent: GatewayAgent;
  let closed = false;
  const log = memoryLog();
  const planeSaid = (msg: string) => log.lines.filter((l) => l.component === 'dataplane' && l.msg === msg);

  beforeAll(async () => {
    cp = await startMeshHost();
    agent = await startGatewayAgent({
      environment: ENV,
      name: GW,
      controlPlaneUrl: cp.url,
      joinToken: await cp.joinToken(),
      dataDir: await tempDir('weft-agent-wiring-'),
      adminAddress: '127.0.0.1:0',
      ingressAddress: '127.0.0.1:0',
      egressAddress: '127.0.0.1:0',
      pollIntervalMs: 60_000,
      logger: log.logger,
    });
  });
  afterAll(async () => {
    if (!closed) await agent?.close();
    await cp?.close();
  });

  it('listens once the first config is applied', async () => {
    await expect.poll(() => agent.dataPlaneAddresses, { timeout: 10_000 }).toBeDefined();
    expect(planeSaid('data plane listening')).toHaveLength(1);
  });

  it('gets the next verified snapshot', async () => {
    await cp.apply([ordersPolicy(['GET'])]);
    const { snapshot } = await cp.signedSnapshot();
    await agent.sync.trigger('test');
    await expect
      .poll(() => planeSaid('snapshot applied').map((l) => l.version), { timeout: 10_000 })
      .toContain(snapshot.version);
  });

  it('gets the rotated SVID: new handshakes on the ingress present it', async () => {
    const ingress = agent.dataPlaneAddresses!.ingress;
    const before = await ingressCertificate(ingress, agent);
    expect(before.fingerprint256).toBe(
      new X509Certificate(agent.credentials.current().certChainPem[0]!).fingerprint256,
    );
    await agent.credentials.rotate();
    const rotated = new X509Certificate(agent.credentials.current().certChainPem[0]!);
    expect(rotated.fingerprint256).not.toBe(before.fingerprint256);
    expect(planeSaid('credentials rotated')).not.toHaveLength(0);
    expect((await ingressCertificate(ingress, agent)).fingerprint256).toBe(rotated.fingerprint256);
  });

  it('closes with the agent', async () => {
    await agent.close();
    closed = true;
    expect(planeSaid('data plane closed')).toHaveLength(1);
  });
});
