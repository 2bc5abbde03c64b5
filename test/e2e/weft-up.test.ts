/**
 * `weft up` end to end, as a newcomer runs it: the real `weft` executable,
 * three `weft agent` child processes on their environments' loopback
 * addresses, curl and `weft apply --wait` as the clients. The demo mesh is
 * the shipped one with its addresses moved to 127.X.N.1, so this file never
 * fights an operator's `npm start` (or another test) for a port. Restarts,
 * laggards and forced stops are `weft-up-restart.test.ts`.
 *
 * Refusal of tampered, foreign-signed and older snapshots is the agent's
 * own suite (test/agents/gateway/agent-refusals.test.ts); duplicated and
 * reordered change events on the control-plane side are the distributor's
 * property test (test/shared/distribution/distribute-properties.test.ts). Here:
 * the whole stack, and the agent side of replays.
 */
import { mkdir, readFile, symlink } from 'node:fs/promises';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { WEFT_BIN } from '../cli/weft-process.js';
import { makeCsr } from '../support/csr.js';
import { childEnv } from '../support/tracked-children.js';
import { alive, curl, curlJson, metric, postJose, shellCurl } from './support/curl.js';
import { convergedVersion, ENVIRONMENTS } from './support/local-mesh.js';
import { signedNotification } from './support/notifications.js';
import { GATEWAY, type GatewayConfig, WeftUp } from './support/weft-up.js';

const FRONTEND = 'spiffe://weft.demo/ns/shop/svc/frontend';
const POLICY = fileURLToPath(new URL('../../examples/payments-policy.yaml', import.meta.url));
type DemoAnswer = { service: string; environment: string; path: string; headers: Record<string, string> };

let t: WeftUp;
let v1: string;
/** azure-edge's config before the policy change: what a replay would take it back to. */
let azureBefore: GatewayConfig;

beforeAll(async () => {
  t = await WeftUp.create();
  v1 = convergedVersion((await t.start()).stdout());
});
afterAll(() => t?.cleanup());

describe.sequential('weft up', () => {
  it('runs the API, six demo services and three agents, and every agent applied the demo mesh', async () => {
    const { up, mesh, pids } = t;
    expect(up.stdout()).toMatch(
      /^weft is up: 3 control planes \(aws, gcp, azure\), 3 gateway agents, 6 demo services/,
    );
    for (const env of ENVIRONMENTS) {
      const [admin, host] = [mesh.admins[env], mesh.hosts[env]];
      const row = `${env}/${GATEWAY[env]}\\s+${admin}\\s+${host}:15443\\s+${host}:15001\\s+\\S+`;
      expect(up.stdout()).toMatch(new RegExp(row));
      const ready = await curl(`${admin}/readyz`);
      expect(ready.status, ready.body).toBe(200);
      // At v1 or later: the bundle each cloud learns from the others recompiles every snapshot.
      const config = await t.config(env);
      expect(config).toMatchObject({ gateway: { environment: env } });
      expect(config.version >= v1, `${config.version} >= ${v1}`).toBe(true);
      // A real child of weft up, not a thread of it.
      expect((await readFile(`/proc/${pids[env]}/stat`, 'utf8')).split(' ')[3]).toBe(String(up.child.pid));
    }
    const report = await t.api(`/v1/changes/${v1}/convergence`);
    expect(report).toMatchObject({ compiled: true, targeted: 3, applied: 3, lagging: [] });
    const orders = await curlJson<DemoAnswer>(`http://${mesh.hosts.gcp}:8082/orders/7`, '-H', 'x-demo: 1');
    expect(orders).toMatchObject({ service: 'orders', environment: 'gcp', path: '/orders/7' });
    expect(orders.headers['x-demo']).toBe('1');
    const gateways = await t.weft(['get', 'gateways']);
    for (const name of Object.values(GATEWAY)) expect(gateways.stdout).toContain(name);
  });

  it("carries a call from the aws gateway's egress to orders in gcp, as frontend with the SVID it attested for", async () => {
    const token = (await t.weft(['token', 'create', '--spiffe-id', FRONTEND])).stdout.trim();
    const body = JSON.stringify({
      attestation: { type: 'join_token', token },
      csr: (await makeCsr()).csrPem,
    });
    const { jwtSvid } = await curlJson<{ jwtSvid: { token: string } }>(
      `${t.up.url}/v1/attest`,
      ...['-X', 'POST', '-H', 'content-type: application/json', '--data-binary', body],
    );
    const answer = await curlJson<DemoAnswer>(
      'http://orders.shop.weft.internal/orders/7',
      ...['-x', `http://${t.mesh.hosts.aws}:15001`, '-H', `Authorization: Bearer ${jwtSvid.token}`],
    );
    // The route sends orders to gcp; the JWT-SVID is checked and stripped on the way.
    expect(answer).toMatchObject({ service: 'orders', environment: 'gcp', path: '/orders/7' });
    expect(answer.headers['x-weft-source-identity']).toBe(FRONTEND);
    expect(answer.headers.authorization).toBeUndefined();
  });

  it('prints a call through both gateways and a denied one, and both work as pasted', async () => {
    const printed = t.up
      .stdout()
      .split('\n')
      .filter((l) => l.includes('weft svid mint'));
    expect(printed, t.up.stdout()).toHaveLength(2);
    const [allow, deny] = printed as [string, string];
    const mint = `$(npx weft svid mint --spiffe-id ${FRONTEND} --server ${t.up.url} --data state)`;
    const egress = `curl -i -x ${t.mesh.hosts.aws}:15001 -H "Authorization: Bearer ${mint}"`;
    expect(allow).toContain(`${egress} http://orders.shop.weft.internal/orders/7 `);
    expect(deny).toContain(`${egress} http://orders.shop.weft.internal/admin `);
    // As pasted in weft up's directory: bash runs the substitution, npx finds weft where an install
    // would put it (node_modules/.bin), and offline it can never fetch a package of that name instead.
    await mkdir(join(t.dir, 'node_modules', '.bin'), { recursive: true });
    await symlink(WEFT_BIN, join(t.dir, 'node_modules', '.bin', 'weft'));
    const env = childEnv({ npm_config_offline: 'true' });

    const allowed = await shellCurl(allow, t.dir, env);
    expect(allowed.status, allowed.body).toBe(200);
    const answer = JSON.parse(allowed.body) as DemoAnswer;
    expect(answer).toMatchObject({ service: 'orders', environment: 'gcp', path: '/orders/7' });
    expect(answer.headers['x-weft-source-identity']).toBe(FRONTEND);
    expect(answer.headers.authorization).toBeUndefined();

    const denied = await shellCurl(deny, t.dir, env);
    expect(denied.status, denied.body).toBe(403);
    expect(denied.headers['content-type']).toBe('application/problem+json');
    expect(JSON.parse(denied.body)).toMatchObject({ status: 403, decidedBy: 'orders-deny-admin/0' });
    expect(deny).toMatch(/# 403 problem\+json: denied at the gcp gateway by orders-deny-admin\/0$/);
  });

  it('apply --wait: a policy change reaches the gateway it concerns, and no other', async () => {
    const before = await t.configs();
    azureBefore = before.azure;
    const applied = await t.weft(['apply', '-f', POLICY, '--wait']);
    expect(applied.code, applied.stderr).toBe(0);
    expect(applied.stdout.trim()).toBe('accesspolicy/frontend-reads-payments (shop) created');
    const v2 = /converged: 1\/1 gateways applied (\S+)/.exec(applied.stderr)?.[1] ?? '';
    expect(v2 > v1, applied.stderr).toBe(true);
    // payments runs only in azure: only azure-edge was targeted, and only its config moved.
    const report = await t.api(`/v1/changes/${v2}/convergence`);
    expect(report).toMatchObject({ targeted: 1, applied: 1, lagging: [] });
    const after = await t.configs();
    expect(after.azure.version).toBe(v2);
    expect(after.azure.hash).not.toBe(before.azure.hash);
    for (const env of ['aws', 'gcp'] as const)
      expect(after[env]).toMatchObject({ version: before[env].version, hash: before[env].hash });
    const metrics = (await curl(`${t.mesh.admins.azure}/metrics`)).body;
    expect(metric(metrics, `weft_config_info{version="${v2}",hash="${after.azure.hash}"}`)).toBe(1);

    const again = await t.weft(['apply', '-f', POLICY, '--wait']);
    const unchanged = 'accesspolicy/frontend-reads-payments (shop) unchanged';
    expect([again.code, again.stdout.trim(), again.stderr]).toEqual([0, unchanged, '']);
  });

  it('replayed, duplicated and reordered notifications never move a gateway backwards', async () => {
    const notify = `${t.mesh.admins.azure}/notify`;
    const now = await t.config('azure');
    const metrics = async () => (await curl(`${t.mesh.admins.azure}/metrics`)).body;
    const stale = metric(await metrics(), 'weft_config_notifications_total{result="stale"}');
    const applied = metric(await metrics(), 'weft_config_apply_total{result="applied"}');
    const id = `spiffe://weft.demo/gw/azure/${GATEWAY.azure}`;
    // Signed with the control plane's own key: only the version can give them away.
    const replays = await Promise.all(
      [now, azureBefore, now, azureBefore].map(({ version, hash }) =>
        signedNotification(t.data, { gateway: id, version, hash }),
      ),
    );
    const answers = await Promise.all(replays.map((jws) => postJose(notify, jws)));
    expect(answers.map((a) => a.status)).toEqual([200, 200, 200, 200]);
    expect(metric(await metrics(), 'weft_config_notifications_total{result="stale"}')).toBe(stale + 4);
    const otherGateway = `spiffe://weft.demo/gw/aws/${GATEWAY.aws}`;
    const forOther = await signedNotification(t.data, { ...now, gateway: otherGateway });
    expect((await postJose(notify, forOther)).status).toBe(403);
    expect(await t.config('azure')).toMatchObject({ version: now.version, hash: now.hash });
    expect(metric(await metrics(), 'weft_config_apply_total{result="applied"}')).toBe(applied);
  });

  it('stops on SIGINT: the agents, then the control planes; exit 0 and no process left', async () => {
    const code = await t.up.stop('SIGINT');
    expect(code, t.up.stderr()).toBe(0);
    expect(t.up.stderr()).toContain('stopping: the gateway agents, then the control planes');
    for (const env of ENVIRONMENTS) {
      expect(alive(t.pids[env]), env).toBe(false);
      const log = (await readFile(join(t.data, 'agents', `${env}.log`), 'utf8')).trim().split('\n');
      expect(JSON.parse(log.at(-1)!)).toMatchObject({ msg: 'stopped' });
    }
    expect(t.up.stdout().trim().split('\n').at(-1)).toBe('weft stopped; state stays in state.');
  });
});
