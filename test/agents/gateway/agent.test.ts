/**
 * End to end: `weft agent` as real child processes against the real local
 * host (identity, compile, signed snapshots, status, webhooks all in it).
 * Gateway edge-1 has a webhook on its agent's admin port and polls only
 * every 60 s, so only the webhook explains a prompt update; edge-2 has no
 * webhook and polls every 300 ms. A policy change must reach both, and each
 * must report the version it applied.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { GatewaySnapshot } from '../../../shared/contract/snapshot.js';
import { parseHlc } from '../../../shared/model/hlc.js';
import { tempDir } from '../../support/temp-dir.js';
import { type AgentProcess, freePort, killAgents, metric, startAgent } from './support/agent-process.js';
import { GATEWAY_ID, type MeshHost, ordersPolicy, startMeshHost, TD } from './support/mesh-host.js';

describe('weft agent against the local host', () => {
  let cp: MeshHost;
  let webhooked: AgentProcess;
  let polling: AgentProcess;
  const config = async (agent: AgentProcess) =>
    JSON.parse((await agent.get('/config')).body) as GatewaySnapshot;
  const policyMethods = (snapshot: GatewaySnapshot) =>
    snapshot.ingress.services.flatMap((s) =>
      s.authorization.policies.flatMap((p) => p.rules.flatMap((r) => r.methods)),
    );

  beforeAll(async () => {
    const port = await freePort();
    cp = await startMeshHost({ webhook: `http://127.0.0.1:${port}/notify` });
    const dir = await tempDir('weft-agent-e2e-');
    [webhooked, polling] = await Promise.all([
      startAgent({
        controlPlane: cp.url,
        dataDir: `${dir}/edge-1`,
        joinToken: await cp.joinToken(),
        adminAddress: `127.0.0.1:${port}`,
      }),
      startAgent({
        controlPlane: cp.url,
        dataDir: `${dir}/edge-2`,
        joinToken: await cp.joinToken(`spiffe://${TD}/gw/aws/edge-2`),
        name: 'edge-2',
        pollInterval: '300ms',
      }),
    ]);
  });
  afterAll(async () => {
    await killAgents();
    await cp?.close();
  });

  it('attests, applies the stored snapshot, reports applied vN, and shows it on /config, /metrics and /readyz', async () => {
    const { snapshot } = await cp.signedSnapshot();
    await expect.poll(async () => (await webhooked.get('/readyz')).status, { timeout: 10_000 }).toBe(200);
    expect(webhooked.lines.find((l) => l.msg === 'attested with the join token')).toMatchObject({
      spiffeId: GATEWAY_ID,
    });
    expect((await config(webhooked)).version).toBe(snapshot.version);
    const metrics = (await webhooked.get('/metrics')).body;
    expect(metric(metrics, 'weft_config_version')).toBe(parseHlc(snapshot.version)!.wall);
    expect(metric(metrics, 'weft_config_apply_total{result="applied"}')).toBe(1);
    expect(
      metric(metrics, 'weft_credential_expiry_timestamp_seconds{credential="x509-svid"}'),
    ).toBeGreaterThan(Date.now() / 1000);
    await expect
      .poll(() => cp.status(), { timeout: 10_000 })
      .toMatchObject({
        gateway: GATEWAY_ID,
        appliedVersion: snapshot.version,
        appliedHash: snapshot.hash,
        refused: 0,
      });
  });

  it('gets a policy change by webhook, and the polling agent gets it by poll', async () => {
    await expect.poll(async () => (await polling.get('/readyz')).status, { timeout: 10_000 }).toBe(200);
    await cp.apply([ordersPolicy(['GET', 'HEAD'])]);
    const next = (await cp.signedSnapshot()).snapshot;
    await expect.poll(async () => (await config(webhooked)).version, { timeout: 10_000 }).toBe(next.version);
    expect(policyMethods(await config(webhooked))).toEqual(['GET', 'HEAD']);
    expect(
      metric((await webhooked.get('/metrics')).body, 'weft_config_notifications_total{result="accepted"}'),
    ).toBeGreaterThan(0);
    await expect
      .poll(async () => policyMethods(await config(polling)), { timeout: 10_000 })
      .toEqual(['GET', 'HEAD']);
    await expect.poll(() => cp.status(), { timeout: 10_000 }).toMatchObject({ appliedVersion: next.version });
    await expect
      .poll(() => cp.status('edge-2'), { timeout: 10_000 })
      .toMatchObject({
        appliedVersion: (await cp.signedSnapshot('edge-2')).snapshot.version,
      });
  });

  it('refuses a notification that is not signed by the control plane, and fetches nothing for it', async () => {
    const res = await fetch(`${webhooked.admin}/notify`, {
      method: 'POST',
      headers: { 'content-type': 'application/jose' },
      body: 'eyJhbGciOiJFUzI1NiJ9.e30.c2ln',
    });
    expect(res.status).toBe(400);
    expect(
      metric((await webhooked.get('/metrics')).body, 'weft_config_notifications_total{result="refused"}'),
    ).toBe(1);
  });

  it('stops both on SIGTERM with exit 0', async () => {
    expect(await Promise.all([webhooked.stop(), polling.stop()])).toEqual([0, 0]);
  });
});
