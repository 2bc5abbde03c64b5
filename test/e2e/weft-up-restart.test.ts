/**
 * `weft up` across stops and starts: agents restarted while the control
 * plane is down serve their last-known-good config; the next `weft up`
 * resumes from its data directory; `apply --wait` names a gateway that
 * lags; a second Ctrl-C kills an agent that will not stop; and a `weft up`
 * killed outright takes its agents along. Real processes throughout.
 */
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { REPEAT_GRACE_MS } from '../../process/stack.js';
import { startDirectAgent } from './support/agents.js';
import { alive, curl } from './support/curl.js';
import { convergedVersion, ENVIRONMENTS } from './support/local-mesh.js';
import { GATEWAY, WeftUp } from './support/weft-up.js';

const POLICY = fileURLToPath(new URL('../../examples/payments-policy.yaml', import.meta.url));

let t: WeftUp;
/** The demo mesh's version, which aws and gcp run... */
let v1: string;
/** ...and the one azure runs after the payments policy. */
let v2: string;
/**
 * What each gateway ran when weft up stopped: v1 or later for aws and gcp
 * (the bundle each cloud learns from the others recompiles every snapshot), v2 for azure.
 */
let ran: Record<(typeof ENVIRONMENTS)[number], string>;

beforeAll(async () => {
  t = await WeftUp.create();
  v1 = convergedVersion((await t.start()).stdout());
  const applied = await t.weft(['apply', '-f', POLICY, '--wait']);
  v2 = /converged: 1\/1 gateways applied (\S+)/.exec(applied.stderr)?.[1] ?? 'none';
  const configs = await t.configs();
  ran = { aws: configs.aws.version, gcp: configs.gcp.version, azure: configs.azure.version };
  if ((await t.up.stop('SIGINT')) !== 0) throw new Error(`weft up did not stop cleanly:\n${t.up.stderr()}`);
});
afterAll(() => t?.cleanup());

const lastLogLine = async (env: string) =>
  JSON.parse((await readFile(join(t.data, 'agents', `${env}.log`), 'utf8')).trim().split('\n').at(-1)!);

describe.sequential('weft up, stopped and started again', () => {
  it('agents restarted while the control plane is down serve their last-known-good config', async () => {
    const agents = await Promise.all(
      ENVIRONMENTS.map((env) =>
        startDirectAgent({
          environment: env,
          name: GATEWAY[env],
          controlPlane: t.up.url,
          dataDir: join(t.data, 'agents', env),
          adminAddress: `${t.mesh.hosts[env]}:15000`,
        }),
      ),
    );
    for (const a of agents) t.track(a.child.pid!);
    for (const [i, env] of ENVIRONMENTS.entries()) {
      expect(agents[i]!.ready.version).toBe(ran[env]);
      const res = await curl(`${t.mesh.admins[env]}/config`, '-D', '-');
      expect(res.status).toBe(200);
      expect(res.body).toMatch(/x-weft-config-source: last-known-good/i);
      expect((await curl(`${t.mesh.admins[env]}/readyz`)).status).toBe(200);
    }
    expect(await Promise.all(agents.map((a) => a.stop()))).toEqual([0, 0, 0]);
  });

  it('starts again from DIR: nothing re-applied, no new join token, each gateway on its version', async () => {
    const up = await t.start();
    expect(up.stdout()).toMatch(/Applied \S+demo-mesh\.yaml \(22 unchanged\)\.\n/);
    expect(up.stderr().match(/resuming its identity/g)).toHaveLength(3);
    expect(up.stderr()).not.toContain('join token');
    expect(convergedVersion(up.stdout())).toBe(v1);
    expect(ran.azure).toBe(v2);
    expect(up.stdout()).toMatch(new RegExp(`azure/azure-edge(\\s+\\S+){3}\\s+${v2}`));
  });

  it('apply --wait names the gateway that lags, and exits 1 after --timeout', async () => {
    process.kill(t.pids.azure, 'SIGKILL');
    const warning = /warning: gateway azure\/azure-edge exited on its own \(SIGKILL\)/;
    await expect.poll(() => t.up.stderr()).toMatch(warning);
    const edited = (await readFile(POLICY, 'utf8')).replace('methods: [GET]', 'methods: [GET, HEAD]');
    const applied = await t.weft(['apply', '-f', '-', '--wait', '--timeout', '2s'], { input: edited });
    expect(applied.code).toBe(1);
    expect(applied.stdout.trim()).toBe('accesspolicy/frontend-reads-payments (shop) configured');
    const lag = `error: not converged after 2s: 0/1 applied; lagging: azure/azure-edge \\(at ${v2}\\)`;
    expect(applied.stderr).toMatch(new RegExp(lag));
  });

  it('a second Ctrl-C kills an agent that will not stop, and exits 130', async () => {
    const { aws, gcp } = t.pids;
    process.kill(gcp, 'SIGSTOP');
    t.up.child.kill('SIGINT');
    await expect.poll(() => t.up.stderr()).toContain('stopping: the gateway agents, then the control planes');
    // A repeat within the grace is the same Ctrl-C (npm forwards the terminal's): wait it out.
    await sleep(REPEAT_GRACE_MS + 100);
    expect(await t.up.stop('SIGINT')).toBe(130);
    await expect.poll(() => alive(gcp), { timeout: 5_000 }).toBe(false);
    expect(alive(aws)).toBe(false);
  });

  it('takes its agents along when it is killed outright', async () => {
    await t.start();
    process.kill(t.up.child.pid!, 'SIGKILL');
    for (const env of ENVIRONMENTS) {
      await expect.poll(() => alive(t.pids[env]), { timeout: 5_000 }).toBe(false);
      // Stopped cleanly by the guard, not killed: the last word in its log is its own.
      expect(await lastLogLine(env)).toMatchObject({ msg: 'stopped' });
    }
  });
});
