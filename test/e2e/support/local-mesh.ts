/**
 * The demo mesh as `weft up` runs it in a test: a copy of
 * examples/demo-mesh.yaml whose loopback addresses move from 127.0.N.1 to
 * 127.X.N.1 (X random), so a test never fights an operator's `npm start`,
 * or another test file, for 127.0.1.1:15000. Plus what tests read off a
 * running `weft up`: its agents' pids and admin URLs.
 *
 * @module
 */
import { readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { DEMO_MESH } from '../../cli/weft-process.js';

export const ENVIRONMENTS = ['aws', 'gcp', 'azure'] as const;
export type Environment = (typeof ENVIRONMENTS)[number];

export interface TestMesh {
  readonly file: string;
  /** Each environment's loopback address (127.X.1.1 aws, .2 gcp, .3 azure). */
  readonly hosts: Readonly<Record<Environment, string>>;
  /** Each gateway agent's admin URL, where its webhook points. */
  readonly admins: Readonly<Record<Environment, string>>;
}

/** Writes the moved copy into `dir`. */
export async function writeTestMesh(
  dir: string,
  options: { x509SvidTtl?: string; jwtSvidTtl?: string } = {},
): Promise<TestMesh> {
  const x = 100 + Math.floor(Math.random() * 150);
  let text = (await readFile(DEMO_MESH, 'utf8')).replace(/127\.0\.([123])\.1/g, `127.${x}.$1.1`);
  if (options.x509SvidTtl) text = text.replace('x509SvidTtl: 1h', `x509SvidTtl: ${options.x509SvidTtl}`);
  if (options.jwtSvidTtl) text = text.replace('jwtSvidTtl: 5m', `jwtSvidTtl: ${options.jwtSvidTtl}`);
  const file = join(dir, 'demo-mesh.yaml');
  await writeFile(file, text);
  const hosts = { aws: `127.${x}.1.1`, gcp: `127.${x}.2.1`, azure: `127.${x}.3.1` };
  const admins = {
    aws: `http://${hosts.aws}:15000`,
    gcp: `http://${hosts.gcp}:15000`,
    azure: `http://${hosts.azure}:15000`,
  };
  return { file, hosts, admins };
}

/** The agents' pids from `weft up`'s progress lines (`gateway aws/aws-edge: ready (pid 123)`). */
export function agentPids(stderr: string): Record<Environment, number> {
  const pids: Partial<Record<Environment, number>> = {};
  for (const [, env, pid] of stderr.matchAll(/gateway (\w+)\/[\w-]+: ready \(pid (\d+)\)/g))
    pids[env as Environment] = Number(pid);
  for (const env of ENVIRONMENTS)
    if (!pids[env]) throw new Error(`no pid for the ${env} agent in:\n${stderr}`);
  return pids as Record<Environment, number>;
}

/** The version `weft up` says every gateway converged on. */
export function convergedVersion(stdout: string): string {
  const version = /Converged: 3\/3 gateways applied the mesh as of (\S+)\./.exec(stdout)?.[1];
  if (!version) throw new Error(`no convergence line in:\n${stdout}`);
  return version;
}
