/**
 * `weft agent`'s data plane flags on the command line: listed in `--help`,
 * a malformed address refused with exit 2, and an egress address already
 * taken: the agent stays up, says why it is not ready on `/readyz`, and
 * keeps its control loop (it applied the config).
 */
import { createServer, type Server } from 'node:net';
import { afterAll, describe, expect, it } from 'vitest';
import { runWeft } from '../../cli/weft-process.js';
import { tempDir } from '../../support/temp-dir.js';
import { killAgents, startAgent } from './support/agent-process.js';
import { startMeshHost } from './support/mesh-host.js';

const BASE = ['agent', '--environment', 'aws', '--name', 'edge-1', '--control-plane', 'http://127.0.0.1:9'];

describe('weft agent data plane flags', () => {
  const closers: (() => Promise<unknown>)[] = [];
  afterAll(async () => {
    await killAgents();
    await Promise.all(closers.map((close) => close()));
  });

  it('documents --ingress-address and --egress-address in --help', async () => {
    const help = await runWeft(['agent', '--help']);
    expect(help.code).toBe(0);
    expect(help.stdout).toContain('--ingress-address');
    expect(help.stdout).toContain('--egress-address');
  });

  it.each([
    ['--ingress-address', /ingress address must be host:port/],
    ['--egress-address', /egress address must be host:port/],
  ])('refuses a malformed %s with exit 2', async (flag, message) => {
    const { code, stderr } = await runWeft([...BASE, flag, 'localhost']);
    expect(code).toBe(2);
    expect(stderr).toMatch(message);
  });

  it('with its egress address taken: alive, config applied, not ready, naming the address', async () => {
    const cp = await startMeshHost();
    closers.push(() => cp.close());
    const taken: Server = await new Promise((resolve) => {
      const server = createServer().listen(0, '127.0.0.1', () => resolve(server));
    });
    closers.push(() => new Promise((resolve) => taken.close(resolve)));
    const egress = `127.0.0.1:${(taken.address() as { port: number }).port}`;
    const agent = await startAgent({
      controlPlane: cp.url,
      dataDir: await tempDir('weft-agent-dp-cli-'),
      joinToken: await cp.joinToken(),
      egressAddress: egress,
    });
    await expect.poll(async () => (await agent.get('/config')).status, { timeout: 10_000 }).toBe(200);
    await expect
      .poll(async () => JSON.parse((await agent.get('/readyz')).body), { timeout: 10_000 })
      .toMatchObject({
        status: 'not ready',
        reasons: [
          expect.stringMatching(new RegExp(`data plane cannot listen .*egress ${egress}.*EADDRINUSE`)),
        ],
      });
    expect((await agent.get('/healthz')).status).toBe(200);
  });
});
