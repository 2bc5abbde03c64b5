/**
 * What `weft up` reads off a mesh file (which agents and demo services to
 * run, and where), and how it refuses to start when the machine cannot
 * give it an address: one line, exit 1, before the control plane starts.
 */
import { readFile, stat, writeFile } from 'node:fs/promises';
import { createServer, type Server } from 'node:net';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { parseAllDocuments } from 'yaml';
import { adminAddressOf, planLocalMesh } from '../../local-mesh/local-mesh.js';
import { bindError, probeBind } from '../../local-mesh/loopback.js';
import { DEMO_MESH, lines, runWeft } from '../cli/weft-process.js';
import { tempDir } from '../support/temp-dir.js';

const demoDocs = async () => parseAllDocuments(await readFile(DEMO_MESH, 'utf8')).map((d) => d.toJSON());
const gateway = (name: string, environment: string, webhook?: string) => ({
  apiVersion: 'weft.dev/v1',
  kind: 'Gateway',
  metadata: { name },
  spec: { environment, address: '127.0.9.1:15443', ...(webhook && { webhook }) },
});

describe('planLocalMesh', () => {
  it('runs an agent per demo gateway where its webhook points, and a demo service per workload', async () => {
    const plan = planLocalMesh(await demoDocs());
    expect(plan.gateways).toEqual(
      [1, 2, 3].map((n, i) => {
        const environment = ['aws', 'gcp', 'azure'][i]!;
        const host = `127.0.${n}.1`;
        return {
          environment,
          name: `${environment}-edge`,
          adminAddress: `${host}:15000`,
          ingressAddress: `${host}:15443`,
          egressAddress: `${host}:15001`,
        };
      }),
    );
    expect(
      plan.services.map((s) => `${s.service}.${s.namespace}@${s.environment} ${s.host}:${s.port}`),
    ).toEqual([
      'frontend.shop@aws 127.0.1.1:8081',
      'orders.shop@gcp 127.0.2.1:8082',
      'orders.shop@azure 127.0.3.1:8082',
      'orders.shop@aws 127.0.1.1:8082',
      'payments.shop@azure 127.0.3.1:8083',
      'metrics.ops@aws 127.0.1.1:9090',
    ]);
    expect(plan.skipped).toEqual([]);
  });

  it('takes only a loopback http webhook on /notify as an admin address', () => {
    expect(adminAddressOf('http://127.0.2.1:15000/notify')).toBe('127.0.2.1:15000');
    expect(adminAddressOf('http://127.0.2.1/notify')).toBe('127.0.2.1:80');
    for (const url of [
      'https://127.0.2.1:15000/notify',
      'http://10.0.0.1:15000/notify',
      'http://127.0.2.1:15000/hook',
    ])
      expect(adminAddressOf(url)).toBeUndefined();
  });

  it('refuses a gateway it cannot run here, and two gateways in one environment', () => {
    expect(() => planLocalMesh([gateway('edge', 'aws')])).toThrow(/gateway edge: .*needs spec.webhook/);
    const twins = [
      gateway('a', 'aws', 'http://127.0.1.1:15000/notify'),
      gateway('b', 'aws', 'http://127.0.1.1:15001/notify'),
    ];
    expect(() => planLocalMesh(twins)).toThrow(
      'gateways a and b share environment aws: weft up runs one gateway per environment',
    );
  });
});

describe('binding the loopback addresses', () => {
  const held: Server[] = [];
  afterAll(() => Promise.all(held.map((s) => new Promise((r) => s.close(r)))));

  it('explains a missing loopback alias and a port in use', async () => {
    const missing = bindError(
      Object.assign(new Error('x'), { code: 'EADDRNOTAVAIL' }),
      '127.0.2.1',
      15000,
      'the admin port',
    );
    expect(missing.message).toMatch(/not a local address.*sudo ifconfig lo0 alias 127\.0\.2\.1 up/);
    await expect(probeBind('192.0.2.1', 15000, 'a test')).rejects.toThrow(
      /cannot bind 192\.0\.2\.1 for a test: it is not a local address/,
    );
  });

  it('weft up stops before the API starts when another process holds an address', async () => {
    const dir = await tempDir('weft-cli-up-plan-');
    const text = (await readFile(DEMO_MESH, 'utf8')).replace(/127\.0\.([123])\.1/g, '127.201.$1.1');
    await writeFile(join(dir, 'mesh.yaml'), text);
    const server = createServer();
    held.push(server);
    await new Promise<void>((resolve) => server.listen(15000, '127.201.2.1', resolve));
    const up = await runWeft([
      'up',
      '--api-port',
      '0',
      '--data',
      join(dir, 'state'),
      '--mesh',
      join(dir, 'mesh.yaml'),
    ]);
    expect(up.code).toBe(1);
    expect(lines(up.stderr)).toEqual([
      'error: 127.201.2.1:15000 (the admin port of gateway gcp/gcp-edge) is already in use: is another `weft up` running? Stop it, or change the address in the mesh file',
    ]);
    expect(up.stdout).toBe('');
    await expect(stat(join(dir, 'state'))).rejects.toThrow(/ENOENT/);
  });
});
