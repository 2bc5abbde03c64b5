/**
 * `weft up` end to end, as a newcomer runs it: the real `weft` executable,
 * three `weft agent` child processes on their environments' loopback
 * addresses, curl and `weft apply --wait` as the clients. The demo mesh is
 * the shipped one with its addresses moved to 127.X.N.1, so this file never
 * fights an operator's `npm start` (or another test) for a port.
 *
 * Refusal of tampered, foreign-signed and older snapshots is the agent's
 * own suite (test/agents/gateway/agent-refusals.test.ts); duplicated and
 * reordered change events on the control-plane side are the distributor's
 * property test (test/shared/config/distribute-properties.test.ts). Here:
 * the whole stack, and the agent side of replays.
 */
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { REPEAT_GRACE_MS } from '../../cli/local/stack.js';
import { killAll, type RunningWeft, runWeft, startWeft } from '../cli/weft-process.js';
import { makeCsr } from '../support/csr.js';
import { tempDir } from '../support/temp-dir.js';
import { startDirectAgent } from './support/agents.js';
import { alive, curl, curlJson, metric } from './support/curl.js';
import {
  agentPids,
  convergedVersion,
  ENVIRONMENTS,
  type TestMesh,
  writeTestMesh,
} from './support/local-mesh.js';
import { signedNotification } from './support/notifications.js';

const POLICY = fileURLToPath(new URL('../../examples/payments-policy.yaml', import.meta.url));
const GATEWAY = { aws: 'aws-edge', gcp: 'gcp-edge', azure: 'azure-edge' } as const;
type Config = { version: string; hash: string; gateway: { environment: string } };

let dir: string;
let data: string;
let mesh: TestMesh;
let up: RunningWeft;
let pids: Record<(typeof ENVIRONMENTS)[number], number>;
let v1: string;
/** azure-edge's config before the policy change: what a replay would take it back to. */
let azureBefore: Config;
/** ...and after it. */
let azureAfter: Config;
const everyPid: number[] = [];

const config = (env: keyof typeof GATEWAY) => curlJson<Config>(`${mesh.admins[env]}/config`);
const configs = async () =>
  Object.fromEntries(await Promise.all(ENVIRONMENTS.map(async (e) => [e, await config(e)])));
const api = (path: string) => curlJson(`${up.url}${path}`, '-H', `Authorization: Bearer ${up.token}`);
const startUp = async () => {
  const started = await startWeft('up', ['--api-port', '0', '--data', data, '--mesh', mesh.file], {
    cwd: dir,
  });
  // stderr (progress) and stdout (summary) are separate pipes: the last progress line may trail.
  for (let i = 0; i < 50 && !/azure-edge: ready/.test(started.stderr()); i++) await sleep(100);
  return started;
};

beforeAll(async () => {
  dir = await tempDir('weft-e2e-up-');
  data = join(dir, 'state');
  mesh = await writeTestMesh(dir);
  up = await startUp();
  pids = agentPids(up.stderr());
  everyPid.push(...Object.values(pids));
  v1 = convergedVersion(up.stdout());
});

afterAll(async () => {
  await killAll();
  for (const pid of everyPid) if (alive(pid)) process.kill(pid, 'SIGKILL');
});

describe.sequential('weft up', () => {
  it('runs the API, six demo services and three agents, and every agent applied the demo mesh', async () => {
    expect(up.stdout()).toMatch(/^weft is up: the control plane, 3 gateway agents, 6 demo services/);
    for (const env of ENVIRONMENTS) {
      expect(up.stdout()).toMatch(
        new RegExp(
          `${env}/${GATEWAY[env]}\\s+${mesh.admins[env]}\\s+${mesh.hosts[env]}:15443\\s+${mesh.hosts[env]}:15001\\s+${v1}`,
        ),
      );
      const ready = await curl(`${mesh.admins[env]}/readyz`);
      expect(ready.status, ready.body).toBe(200);
      expect(await config(env)).toMatchObject({ version: v1, gateway: { environment: env } });
      // A real child of weft up, not a thread of it.
      expect((await readFile(`/proc/${pids[env]}/stat`, 'utf8')).split(' ')[3]).toBe(String(up.child.pid));
    }
    expect(await api(`/v1/changes/${v1}/convergence`)).toMatchObject({
      compiled: true,
      targeted: 3,
      applied: 3,
      lagging: [],
    });
    const orders = await curlJson(`http://${mesh.hosts.gcp}:8082/orders/7`, '-H', 'x-demo: 1');
    expect(orders).toMatchObject({
      service: 'orders',
      environment: 'gcp',
      path: '/orders/7',
      headers: { 'x-demo': '1' },
    });
    const gateways = await runWeft(['get', 'gateways', '--server', up.url, '--data', data]);
    for (const name of Object.values(GATEWAY)) expect(gateways.stdout).toContain(name);
  });

  it("carries a call from the aws gateway's egress to orders in another cloud, as frontend", async () => {
    const frontend = 'spiffe://weft.demo/ns/shop/svc/frontend';
    const token = await runWeft([
      'token',
      'create',
      '--spiffe-id',
      frontend,
      '--server',
      up.url,
      '--data',
      data,
    ]);
    const { csrPem } = await makeCsr();
    const attestation = { attestation: { type: 'join_token', token: token.stdout.trim() }, csr: csrPem };
    const attested = await curlJson<{ jwtSvid: { token: string } }>(
      `${up.url}/v1/attest`,
      '-X',
      'POST',
      '-H',
      'content-type: application/json',
      '--data-binary',
      JSON.stringify(attestation),
    );
    const via = [
      '-x',
      `http://${mesh.hosts.aws}:15001`,
      '-H',
      `Authorization: Bearer ${attested.jwtSvid.token}`,
    ];
    const answer = await curlJson<{
      service: string;
      environment: string;
      path: string;
      headers: Record<string, string>;
    }>('http://orders.shop.weft.internal/orders/7', ...via);
    // The route sends orders to gcp (80) or azure (20); the JWT-SVID is checked and stripped on the way.
    expect(answer).toMatchObject({
      service: 'orders',
      path: '/orders/7',
      headers: { 'x-weft-source-identity': frontend },
    });
    expect(['gcp', 'azure']).toContain(answer.environment);
    expect(answer.headers.authorization).toBeUndefined();
  });

  it('apply --wait: a policy change reaches the gateway it concerns, and no other', async () => {
    const before = await configs();
    azureBefore = before.azure;
    const applied = await runWeft(['apply', '-f', POLICY, '--wait', '--server', up.url, '--data', data]);
    expect(applied.code, applied.stderr).toBe(0);
    expect(applied.stdout.trim()).toBe('accesspolicy/frontend-reads-payments (shop) created');
    const v2 = /converged: 1\/1 gateways applied (\S+)/.exec(applied.stderr)?.[1];
    expect(v2! > v1, applied.stderr).toBe(true);
    // payments runs only in azure: only azure-edge was targeted, and only its config moved.
    expect(await api(`/v1/changes/${v2}/convergence`)).toMatchObject({
      targeted: 1,
      applied: 1,
      lagging: [],
    });
    const after = await configs();
    azureAfter = after.azure;
    expect(after.azure).toMatchObject({ version: v2 });
    expect(after.azure.hash).not.toBe(before.azure.hash);
    for (const env of ['aws', 'gcp'] as const)
      expect(after[env]).toMatchObject({ version: v1, hash: before[env].hash });
    const metrics = (await curl(`${mesh.admins.azure}/metrics`)).body;
    expect(metric(metrics, `weft_config_info{version="${v2}",hash="${after.azure.hash}"}`)).toBe(1);

    const again = await runWeft(['apply', '-f', POLICY, '--wait', '--server', up.url, '--data', data]);
    expect([again.code, again.stdout.trim(), again.stderr]).toEqual([
      0,
      'accesspolicy/frontend-reads-payments (shop) unchanged',
      '',
    ]);
  });

  it('replayed, duplicated and reordered notifications never move a gateway backwards', async () => {
    const now = await config('azure');
    const old = { version: azureBefore.version, hash: azureBefore.hash };
    const metrics = async () => (await curl(`${mesh.admins.azure}/metrics`)).body;
    const stale = metric(await metrics(), 'weft_config_notifications_total{result="stale"}');
    const appliedBefore = metric(await metrics(), 'weft_config_apply_total{result="applied"}');
    const id = `spiffe://weft.demo/gw/azure/${GATEWAY.azure}`;
    // Signed with the control plane's own key: only the version can give them away.
    const replays = await Promise.all(
      [now, old, now, old].map((n) =>
        signedNotification(data, { gateway: id, version: n.version, hash: n.hash }),
      ),
    );
    const answers = await Promise.all(
      replays.map((jws) =>
        curl(
          `${mesh.admins.azure}/notify`,
          '-X',
          'POST',
          '-H',
          'content-type: application/jose',
          '--data-binary',
          jws,
        ),
      ),
    );
    expect(answers.map((a) => a.status)).toEqual([200, 200, 200, 200]);
    expect(metric(await metrics(), 'weft_config_notifications_total{result="stale"}')).toBe(stale + 4);
    const forOther = await signedNotification(data, {
      ...now,
      gateway: `spiffe://weft.demo/gw/aws/${GATEWAY.aws}`,
    });
    expect(
      (
        await curl(
          `${mesh.admins.azure}/notify`,
          '-X',
          'POST',
          '-H',
          'content-type: application/jose',
          '--data-binary',
          forOther,
        )
      ).status,
    ).toBe(403);
    expect(await config('azure')).toMatchObject({ version: now.version, hash: now.hash });
    expect(metric(await metrics(), 'weft_config_apply_total{result="applied"}')).toBe(appliedBefore);
  });

  it('stops on SIGINT: the agents, then the API; exit 0 and no process left', async () => {
    expect(await up.stop('SIGINT')).toBe(0);
    expect(up.stderr()).toContain('stopping: the gateway agents, then the API');
    for (const env of ENVIRONMENTS) {
      expect(alive(pids[env]), env).toBe(false);
      const log = (await readFile(join(data, 'agents', `${env}.log`), 'utf8')).trim().split('\n');
      expect(JSON.parse(log.at(-1)!)).toMatchObject({ msg: 'stopped' });
    }
    expect(up.stdout().trim().split('\n').at(-1)).toBe('weft stopped; state stays in state.');
  });

  it('agents restarted while the control plane is down serve their last-known-good config', async () => {
    const agents = await Promise.all(
      ENVIRONMENTS.map((env) =>
        startDirectAgent({
          environment: env,
          name: GATEWAY[env],
          controlPlane: up.url,
          dataDir: join(data, 'agents', env),
          adminAddress: `${mesh.hosts[env]}:15000`,
        }),
      ),
    );
    everyPid.push(...agents.map((a) => a.child.pid!));
    for (const [i, env] of ENVIRONMENTS.entries()) {
      expect(agents[i]!.ready.version).not.toBeNull();
      const res = await curl(`${mesh.admins[env]}/config`, '-D', '-');
      expect(res.status).toBe(200);
      expect(res.body).toMatch(/x-weft-config-source: last-known-good/i);
      expect((await curl(`${mesh.admins[env]}/readyz`)).status).toBe(200);
    }
    expect(await Promise.all(agents.map((a) => a.stop()))).toEqual([0, 0, 0]);
  });

  it('starts again from DIR: nothing re-applied, no new join token, each gateway on its version', async () => {
    up = await startUp();
    pids = agentPids(up.stderr());
    everyPid.push(...Object.values(pids));
    expect(up.stdout()).toMatch(/Applied \S+demo-mesh\.yaml \(22 unchanged\)\.\n/);
    expect(up.stderr().match(/resuming its identity/g)).toHaveLength(3);
    expect(up.stderr()).not.toContain('join token');
    expect(convergedVersion(up.stdout())).toBe(v1);
    expect(up.stdout()).toMatch(new RegExp(`azure/azure-edge(\\s+\\S+){3}\\s+${azureAfter.version}`));
  });

  it('apply --wait names the gateway that lags, and exits 1 after --timeout', async () => {
    process.kill(pids.azure, 'SIGKILL');
    await expect
      .poll(() => up.stderr())
      .toMatch(/warning: gateway azure\/azure-edge exited on its own \(SIGKILL\)/);
    const edited = (await readFile(POLICY, 'utf8')).replace('methods: [GET]', 'methods: [GET, HEAD]');
    const wait = ['--wait', '--timeout', '2s', '--server', up.url, '--data', data];
    const applied = await runWeft(['apply', '-f', '-', ...wait], { input: edited });
    expect(applied.code).toBe(1);
    expect(applied.stdout.trim()).toBe('accesspolicy/frontend-reads-payments (shop) configured');
    expect(applied.stderr).toMatch(
      new RegExp(
        `error: not converged after 2s: 0/1 applied; lagging: azure/azure-edge \\(at ${azureAfter.version}\\)`,
      ),
    );
  });

  it('a second Ctrl-C kills an agent that will not stop, and exits 130', async () => {
    process.kill(pids.gcp, 'SIGSTOP');
    up.child.kill('SIGINT');
    await expect.poll(() => up.stderr()).toContain('stopping: the gateway agents, then the API');
    await sleep(REPEAT_GRACE_MS + 100);
    expect(await up.stop('SIGINT')).toBe(130);
    await expect.poll(() => alive(pids.gcp), { timeout: 5_000 }).toBe(false);
    expect(alive(pids.aws)).toBe(false);
    up = await startUp();
    pids = agentPids(up.stderr());
    everyPid.push(...Object.values(pids));
  });

  it('takes its agents along when it is killed outright', async () => {
    process.kill(up.child.pid!, 'SIGKILL');
    for (const env of ['aws', 'gcp'] as const) {
      await expect.poll(() => alive(pids[env]), { timeout: 5_000 }).toBe(false);
      const log = (await readFile(join(data, 'agents', `${env}.log`), 'utf8')).trim().split('\n');
      expect(JSON.parse(log.at(-1)!)).toMatchObject({ msg: 'stopped' });
    }
  });
});
