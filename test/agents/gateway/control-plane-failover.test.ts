/**
 * An agent with more than one control plane (issue 11 item 5), against two
 * real control planes standing in for two clouds over one store and one
 * trust (`support/twin-hosts.ts`):
 *
 * - config sync takes a snapshot of the same version and hash compiled by
 *   the other cloud as unchanged (no refusal counted), and refuses a lower
 *   one;
 * - a real `weft agent` homed at cloud a, with cloud b as its peer, converges
 *   at home, takes a change applied at b while a is down (fetching and
 *   reporting at b), and goes back home when a comes back, where the
 *   snapshot a compiled afresh is the very one b served.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { AppliedConfig } from '../../../agents/gateway/applied-config.js';
import { bootstrapIdentity } from '../../../agents/gateway/bootstrap.js';
import { ConfigSync } from '../../../agents/gateway/config-sync.js';
import { ControlPlaneClient } from '../../../agents/gateway/control-plane-client.js';
import { AgentCredentials } from '../../../agents/gateway/credentials.js';
import { dataFiles, ensureDataDir } from '../../../agents/gateway/data-files.js';
import { AgentMetrics } from '../../../agents/gateway/metrics.js';
import { runProcess } from '../../support/run-process.js';
import { tempDir } from '../../support/temp-dir.js';
import {
  type AgentProcess,
  killAgents,
  metric,
  startAgentWithFlags,
  waitReady,
} from './support/agent-process.js';
import { memoryLog } from './support/logs.js';
import { ENV, GW, ordersPolicy } from './support/mesh-host.js';
import { type StandIn, startStandIn } from './support/stand-in.js';
import { startTwinHosts, type TwinHosts } from './support/twin-hosts.js';

const gateway = { environment: ENV, name: GW };

describe('snapshots compiled by another cloud, as config sync takes them', () => {
  let twins: TwinHosts;
  let standIn: StandIn;
  let sync: ConfigSync;
  const applied = new AppliedConfig();
  const metrics = new AgentMetrics();
  const log = memoryLog();
  const refused = async () =>
    Number(/weft_config_apply_total\{result="refused"\} (\d+)/.exec(await metrics.text())?.[1]);

  beforeAll(async () => {
    twins = await startTwinHosts();
    standIn = await startStandIn(twins.a.url);
    const dir = await tempDir('weft-agent-xcloud-');
    await ensureDataDir(dir);
    const client = new ControlPlaneClient({ url: standIn.url, timeoutMs: 2_000 });
    const files = dataFiles(dir);
    const identity = await bootstrapIdentity({
      client,
      files,
      gateway,
      joinToken: await twins.a.joinToken(),
      logger: log.logger,
      now: Date.now,
    });
    const credentials = new AgentCredentials(identity, {
      client,
      files,
      gateway,
      logger: log.logger,
      metrics,
    });
    sync = new ConfigSync({ client, credentials, applied, files, gateway, logger: log.logger, metrics });
  }, 30_000);
  afterAll(async () => {
    await sync?.close();
    await standIn?.close();
    await twins?.close();
  });

  it('the two clouds compiled the same version and hash, signed apart', async () => {
    const [a, b] = [await twins.a.signedSnapshot(), await twins.b.signedSnapshot()];
    expect([b.snapshot.version, b.snapshot.hash]).toEqual([a.snapshot.version, a.snapshot.hash]);
    expect(b.jws).not.toBe(a.jws); // ES256 signatures differ: only the payload is the same
  });

  it('takes the equal snapshot of the other cloud as unchanged, counting no refusal', async () => {
    standIn.serve((await twins.a.signedSnapshot()).jws);
    expect(await sync.syncOnce()).toBe('applied');
    // Served whatever If-None-Match says, so the agent itself must tell equal from stale.
    standIn.serve((await twins.b.signedSnapshot()).jws, { hostile: true });
    expect(await sync.syncOnce()).toBe('unchanged');
    expect(await refused()).toBe(0);
    expect(sync.refused).toBe(0);
  });

  it('refuses a lower version from the other cloud, and keeps the newer one', async () => {
    const older = (await twins.a.signedSnapshot()).jws;
    await twins.b.apply([ordersPolicy(['GET'])]);
    const newer = await twins.b.signedSnapshot();
    standIn.serve(newer.jws);
    expect(await sync.syncOnce()).toBe('applied');
    standIn.serve(older, { hostile: true });
    expect(await sync.syncOnce()).toBe('refused');
    expect(applied.current?.snapshot.version).toBe(newer.snapshot.version);
    expect(await refused()).toBe(1);
    const refusal = log.lines.findLast((l) => l.msg === 'snapshot refused; the applied config stays');
    expect(refusal).toMatchObject({ reason: 'stale-version', applied: newer.snapshot.version });
  });
});

describe('weft agent with a home control plane and a peer (real processes)', () => {
  let twins: TwinHosts;
  let agent: AgentProcess;
  const json = async (path: string) => JSON.parse((await agent.get(path)).body) as Record<string, unknown>;
  const appliedVersion = async () => (await json('/config')).version;
  const current = async () => (await json('/healthz')).controlPlane as Record<string, unknown>;
  const reported = async (url: string, token: string) => {
    const res = await fetch(`${url}/v1/gateways/${ENV}/${GW}/status`, {
      headers: { authorization: `Bearer ${token}` },
    });
    return (await res.json()) as Record<string, unknown>;
  };

  beforeAll(async () => {
    twins = await startTwinHosts();
    const dir = await tempDir('weft-agent-failover-');
    agent = await startAgentWithFlags(
      [
        ...['--environment', ENV, '--name', GW, '--data', dir],
        ...['--control-plane', twins.a.url, '--control-plane', twins.b.url],
        ...['--poll-interval', '300ms', '--home-probe-interval', '1s'],
        ...['--admin-address', '127.0.0.1:0'],
        ...['--ingress-address', '127.0.0.1:0', '--egress-address', '127.0.0.1:0'],
      ],
      await twins.a.joinToken(),
    );
    await waitReady(agent);
  }, 60_000);
  afterAll(async () => {
    await killAgents();
    await twins?.close();
  });

  it('converges at home, and says home is current in /healthz and the metrics', async () => {
    await expect.poll(appliedVersion).toBe((await twins.a.signedSnapshot()).snapshot.version);
    expect(await current()).toEqual({
      current: twins.a.url,
      home: twins.a.url,
      atHome: true,
      all: [twins.a.url, twins.b.url],
    });
    const text = (await agent.get('/metrics')).body;
    expect(metric(text, `weft_control_plane_info{url="${twins.a.url}",home="true"}`)).toBe(1);
    expect(metric(text, 'weft_control_plane_switches_total{to="peer"}')).toBe(0);
  });

  it('home down: takes a change applied at the peer, fetched and reported there', async () => {
    await twins.a.stop();
    await twins.b.apply([ordersPolicy(['GET'])]);
    const expected = (await twins.b.signedSnapshot()).snapshot.version;
    await expect.poll(appliedVersion, { timeout: 15_000 }).toBe(expected);
    expect(await current()).toMatchObject({ current: twins.b.url, atHome: false });
    await expect
      .poll(async () => (await reported(twins.b.url, twins.b.host!.adminToken)).appliedVersion)
      .toBe(expected);
    const text = (await agent.get('/metrics')).body;
    expect(metric(text, `weft_control_plane_info{url="${twins.b.url}",home="false"}`)).toBe(1);
    expect(metric(text, 'weft_control_plane_switches_total{to="peer"}')).toBe(1);
    // promtool is a required client (metrics-lint.test.ts says how to install it).
    const lint = await runProcess('promtool', ['check', 'metrics'], { input: text, timeoutMs: 15_000 });
    expect(lint.output, lint.output).not.toMatch(/weft_control_plane/);
    expect(lint.code, lint.output).toBe(0);
    const switches = agent.lines.filter((l) => String(l.msg).startsWith('control plane '));
    expect(switches.map((l) => [l.level, l.msg])).toEqual([
      ['warn', `control plane ${twins.a.url} unreachable, using ${twins.b.url}`],
    ]);
  });

  it('home back: goes home, where the snapshot compiled afresh is the one it runs (unchanged)', async () => {
    const atPeer = (await twins.b.signedSnapshot()).snapshot;
    await twins.a.restart();
    const atHome = (await twins.a.signedSnapshot()).snapshot;
    expect([atHome.version, atHome.hash]).toEqual([atPeer.version, atPeer.hash]);
    await expect.poll(async () => (await current()).atHome, { timeout: 15_000 }).toBe(true);
    expect(agent.lines.filter((l) => l.msg === `back home at ${twins.a.url}`)).toHaveLength(1);
    const text = (await agent.get('/metrics')).body;
    expect(metric(text, 'weft_config_apply_total{result="refused"}')).toBe(0);
    expect(metric(text, 'weft_control_plane_switches_total{to="home"}')).toBe(1);
    // And home it is: a change at home is taken from there.
    await twins.a.apply([ordersPolicy(['GET', 'POST'])]);
    const expected = (await twins.a.signedSnapshot()).snapshot.version;
    await expect.poll(appliedVersion, { timeout: 15_000 }).toBe(expected);
    expect(await current()).toMatchObject({ current: twins.a.url, atHome: true });
  });
});
