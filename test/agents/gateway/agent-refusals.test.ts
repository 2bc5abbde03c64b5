/**
 * `weft agent` as a real child process against a stand-in control plane on
 * 127.0.0.1 that serves real signed snapshots (the local host's state, its
 * CA's key) and then what a compromised path would: a tampered one, one
 * signed by a foreign key, an older one. Each is refused, counted in
 * `weft_config_apply_total{result="refused"}`, and the previous config stays
 * in force. Then the agent is stopped with SIGTERM (exit 0, no process left)
 * and restarted while the control plane is down: it serves its
 * last-known-good config and is ready.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { signSnapshot } from '../../../shared/contract/signed-snapshot.js';
import { parseHlc } from '../../../shared/model/hlc.js';
import { tempDir } from '../../support/temp-dir.js';
import { type AgentProcess, killAgents, metric, startAgent } from './support/agent-process.js';
import { foreignKey, forge, tamper } from './support/forgery.js';
import { type MeshHost, ordersPolicy, startMeshHost } from './support/mesh-host.js';
import { type StandIn, startStandIn } from './support/stand-in.js';

const REFUSED = 'weft_config_apply_total{result="refused"}';

describe('weft agent refuses bad snapshots and survives the control plane', () => {
  let cp: MeshHost;
  let standIn: StandIn;
  let agent: AgentProcess;
  let dataDir: string;
  let current: { version: string; jws: string };
  const config = async () =>
    JSON.parse((await agent.get('/config')).body) as { version: string; mesh: object };
  const metrics = async () => (await agent.get('/metrics')).body;

  beforeAll(async () => {
    cp = await startMeshHost();
    standIn = await startStandIn(cp.url);
    dataDir = `${await tempDir('weft-agent-e2e-')}/agent`;
    const { snapshot, jws } = await cp.signedSnapshot();
    current = { version: snapshot.version, jws };
    standIn.serve(jws);
    agent = await startAgent({
      controlPlane: standIn.url,
      dataDir,
      joinToken: await cp.joinToken(),
      pollInterval: '200ms',
    });
  });
  afterAll(async () => {
    await killAgents();
    await standIn?.close();
    await cp?.close();
  });

  it('attests, applies, reports applied vN, and shows it on /config, /metrics and /readyz', async () => {
    await expect.poll(async () => (await agent.get('/readyz')).status, { timeout: 10_000 }).toBe(200);
    expect((await config()).version).toBe(current.version);
    expect(metric(await metrics(), 'weft_config_version')).toBe(parseHlc(current.version)!.wall);
    await expect.poll(() => standIn.statuses.at(-1)?.appliedVersion).toBe(current.version);
    expect(agent.output()).not.toMatch(/PRIVATE KEY|WEFT_JOIN_TOKEN/);
  });

  it.each([
    ['tampered', async () => tamper(current.jws)],
    [
      'signed by a foreign key',
      async () => signSnapshot(forge((await cp.signedSnapshot()).snapshot), await foreignKey()),
    ],
    ['older', async () => current.jws],
  ])('refuses a %s snapshot, counts it, and keeps the previous config', async (what, make) => {
    if (what === 'older') {
      // Move forward first, so the snapshot applied at start is now the older one.
      await cp.apply([ordersPolicy(['GET'])]);
      const newer = await cp.signedSnapshot();
      standIn.serve(newer.jws);
      await expect
        .poll(async () => (await config()).version, { timeout: 10_000 })
        .toBe(newer.snapshot.version);
      current = { version: newer.snapshot.version, jws: current.jws };
    }
    const refused = metric(await metrics(), REFUSED)!;
    standIn.serve(await make(), { hostile: true });
    await expect
      .poll(async () => metric(await metrics(), REFUSED), { timeout: 10_000 })
      .toBeGreaterThan(refused);
    expect((await config()).version).toBe(current.version);
    expect((await agent.get('/readyz')).status).toBe(200);
    expect(agent.lines.findLast((l) => l.msg === 'snapshot refused; the applied config stays')).toMatchObject(
      {
        applied: current.version,
      },
    );
  });

  it('stops on SIGTERM with exit 0 and leaves no process', async () => {
    const pid = agent.child.pid!;
    expect(await agent.stop('SIGTERM')).toBe(0);
    expect(() => process.kill(pid, 0)).toThrow(/ESRCH/);
    expect(agent.lines.at(-1)?.msg).toBe('stopped');
  });

  it('restarted while the control plane is down, serves its last-known-good config and is ready', async () => {
    await standIn.close();
    agent = await startAgent({ controlPlane: standIn.url, dataDir, pollInterval: '200ms' });
    expect(agent.lines.find((l) => l.msg === 'ready')).toMatchObject({ version: current.version });
    expect((await config()).version).toBe(current.version);
    const ready = await agent.get('/readyz');
    expect(ready.status, ready.body).toBe(200);
    await expect
      .poll(() => agent.lines.some((l) => l.msg === 'config sync failed; the applied config stays'))
      .toBe(true);
    expect((await config()).version).toBe(current.version);
    expect(await agent.stop('SIGINT')).toBe(0);
  });
});
