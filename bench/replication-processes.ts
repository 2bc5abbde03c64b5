/**
 * The real processes the gateway-convergence figures run against, as an
 * operator starts them: `weft up` (three federated control planes and three
 * gateway agents), and the baseline of one `weft serve` with the same three
 * agents (`weft agent`, started as `weft up` starts them) on the same mesh
 * file. The demo mesh moves to a random 127.X.N.1 block first, so neither
 * fights a running `npm start` for 127.0.1.1:15000.
 *
 * @module
 */
import { type ChildProcess, spawn } from 'node:child_process';
import { mkdir, readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { type AgentChild, GUARD, startAgentChild, WEFT_BIN } from '../local-mesh/agent-child.js';
import { projectFile } from '../process/project-root.js';

export const ENVIRONMENTS = ['aws', 'gcp', 'azure'] as const;
export type Environment = (typeof ENVIRONMENTS)[number];

/** How long a stopping process gets before SIGKILL. */
const STOP_GRACE_MS = 15_000;

export interface BenchMesh {
  readonly file: string;
  readonly trustDomain: string;
  /** Each environment's gateway: its name and admin address (`host:port`). */
  readonly gateways: Readonly<Record<Environment, { readonly name: string; readonly admin: string }>>;
}

/** The demo mesh in `dir`, its loopback addresses moved from 127.0.N.1 to 127.X.N.1 (X random). */
export async function writeBenchMesh(dir: string): Promise<BenchMesh> {
  const x = 100 + Math.floor(Math.random() * 150);
  const text = (await readFile(projectFile('examples/demo-mesh.yaml'), 'utf8')).replace(
    /127\.0\.([123])\.1/g,
    `127.${x}.$1.1`,
  );
  const file = join(dir, 'demo-mesh.yaml');
  await writeFile(file, text);
  const trustDomain = /trustDomain:\s*(\S+)/.exec(text)?.[1];
  if (!trustDomain) throw new Error('the demo mesh has no trustDomain');
  const gateways = {} as Record<Environment, { name: string; admin: string }>;
  ENVIRONMENTS.forEach((env, i) => {
    gateways[env] = { name: `${env}-edge`, admin: `127.${x}.${i + 1}.1:15000` };
  });
  return { file, trustDomain, gateways };
}

/** Every child started here, so an exit of the bench (a throw, Ctrl-C) leaves none behind. */
const started = new Set<ChildProcess>();
process.once('exit', () => {
  for (const child of started)
    if (child.exitCode === null && child.signalCode === null) child.kill('SIGKILL');
});

interface Child {
  readonly child: ChildProcess;
  stdout(): string;
  stderr(): string;
  /** Sends `signal`, SIGKILL after the grace period; resolves once it is gone. */
  stop(signal: NodeJS.Signals): Promise<void>;
}

function startChild(args: readonly string[], cwd: string): Child {
  const env = { ...process.env };
  delete env.WEFT_JOIN_TOKEN;
  const child = spawn(process.execPath, ['--import', GUARD, WEFT_BIN, ...args], {
    cwd,
    env,
    stdio: ['pipe', 'pipe', 'pipe'],
  });
  started.add(child);
  let out = '';
  let err = '';
  child.stdout!.setEncoding('utf8').on('data', (d: string) => (out += d));
  child.stderr!.setEncoding('utf8').on('data', (d: string) => (err += d));
  const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
  void exited.then(() => started.delete(child));
  return {
    child,
    stdout: () => out,
    stderr: () => err,
    async stop(signal) {
      if (child.exitCode === null && child.signalCode === null) child.kill(signal);
      const timer = setTimeout(() => child.kill('SIGKILL'), STOP_GRACE_MS);
      await exited;
      clearTimeout(timer);
    },
  };
}

/** Waits for `pattern` on the child's stdout; throws with its stderr's tail if it exits first or is late. */
async function waitForStdout(c: Child, pattern: RegExp, what: string, timeoutMs: number) {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const m = pattern.exec(c.stdout());
    if (m) return m;
    const gone = c.child.exitCode !== null || c.child.signalCode !== null;
    if (gone || Date.now() > deadline)
      throw new Error(
        `${what} ${gone ? `exited (${c.child.exitCode ?? c.child.signalCode})` : 'was not ready in time'}:\n` +
          c.stderr().split('\n').slice(-15).join('\n'),
      );
    await new Promise((r) => setTimeout(r, 50));
  }
}

/** Runs one `weft` command to completion; its stdout, or a throw with its stderr. */
async function runWeft(args: readonly string[], cwd: string): Promise<string> {
  const c = startChild(args, cwd);
  c.child.stdin!.end();
  const code = await new Promise<number | null>((resolve) => c.child.once('exit', resolve));
  if (code !== 0) throw new Error(`weft ${args[0]} exited ${code}: ${c.stderr().trim().slice(-500)}`);
  return c.stdout();
}

/** A running mesh: where to write, the token to write with, each gateway's admin URL. */
export interface RunningMesh {
  readonly apis: Readonly<Partial<Record<Environment, string>>>;
  readonly adminToken: string;
  readonly admins: Readonly<Record<Environment, string>>;
  /** Seconds from the first spawn until every gateway ran the mesh. */
  readonly startS: number;
  close(): Promise<void>;
}

const adminsOf = (mesh: BenchMesh) =>
  Object.fromEntries(ENVIRONMENTS.map((e) => [e, `http://${mesh.gateways[e].admin}`])) as Record<
    Environment,
    string
  >;

/** `weft up --api-port 0 --data DIR/state --mesh FILE`, resolved once its summary is out. */
export async function startWeftUp(dir: string, mesh: BenchMesh): Promise<RunningMesh> {
  const t0 = performance.now();
  const data = join(dir, 'state');
  const up = startChild(['up', '--api-port', '0', '--data', data, '--mesh', mesh.file], dir);
  const close = () => up.stop('SIGINT');
  try {
    await waitForStdout(up, /Ctrl-C/, 'weft up', 120_000);
    const apis: Partial<Record<Environment, string>> = {};
    for (const [, cloud, url] of up.stdout().matchAll(/^\s+(aws|gcp|azure)\s+(http:\/\/\S+)/gm))
      apis[cloud as Environment] = url;
    if (!apis.aws || !apis.gcp || !apis.azure)
      throw new Error(`no Control planes table in weft up's summary:\n${up.stdout()}`);
    if (!/Converged: 3\/3/.test(up.stdout())) throw new Error(`weft up did not converge:\n${up.stdout()}`);
    const adminToken = (await readFile(join(data, 'admin-token'), 'utf8')).trim();
    const startS = (performance.now() - t0) / 1000;
    return { apis, adminToken, admins: adminsOf(mesh), startS, close };
  } catch (error) {
    await close();
    throw error;
  }
}

/**
 * The baseline: `weft serve --port 0 --data DIR/state`, the mesh file applied
 * with `weft apply`, and one `weft agent` per gateway pointed at it, each with
 * a join token from `weft token create`. Resolved once every agent runs a config.
 */
export async function startSingleControlPlane(dir: string, mesh: BenchMesh): Promise<RunningMesh> {
  const t0 = performance.now();
  const data = join(dir, 'state');
  const serve = startChild(['serve', '--port', '0', '--data', data], dir);
  const agents: AgentChild[] = [];
  const close = async () => {
    await Promise.allSettled(agents.map((a) => a.close()));
    await serve.stop('SIGTERM');
  };
  try {
    const url = (
      await waitForStdout(serve, /weft API listening on (http:\/\/\S+)/, 'weft serve', 60_000)
    )[1]!;
    const connection = ['--server', url, '--data', data];
    await runWeft(['apply', '-f', mesh.file, ...connection], dir);
    await mkdir(join(data, 'agents'), { recursive: true, mode: 0o700 });
    const starting = ENVIRONMENTS.map(async (env) => {
      const { name, admin } = mesh.gateways[env];
      const spiffeId = `spiffe://${mesh.trustDomain}/gw/${env}/${name}`;
      const joinToken = (
        await runWeft(['token', 'create', '--spiffe-id', spiffeId, ...connection], dir)
      ).trim();
      const agent = await startAgentChild({
        environment: env,
        name,
        controlPlaneUrl: url,
        adminAddress: admin,
        dataDir: join(data, 'agents', env),
        logFile: join(data, 'agents', `${env}.log`),
        joinToken,
        onUnexpectedExit: (code, signal) =>
          console.error(`warning: the ${env} agent exited on its own (${code ?? signal})`),
      });
      agents.push(agent);
    });
    const results = await Promise.allSettled(starting);
    const failed = results.find((r) => r.status === 'rejected');
    if (failed) throw failed.reason;
    const adminToken = (await readFile(join(data, 'admin-token'), 'utf8')).trim();
    const admins = adminsOf(mesh);
    await untilConfigured(Object.values(admins));
    const startS = (performance.now() - t0) / 1000;
    return { apis: { aws: url }, adminToken, admins, startS, close };
  } catch (error) {
    await close();
    throw error;
  }
}

/** Until every admin URL serves a `/config`. */
async function untilConfigured(admins: readonly string[]): Promise<void> {
  const deadline = Date.now() + 60_000;
  for (;;) {
    const ok = await Promise.all(
      admins.map((a) =>
        fetch(`${a}/config`).then(
          async (r) => {
            await r.arrayBuffer();
            return r.ok;
          },
          () => false,
        ),
      ),
    );
    if (ok.every(Boolean)) return;
    if (Date.now() > deadline)
      throw new Error('the agents of the single control plane had no config in 60 s');
    await new Promise((r) => setTimeout(r, 50));
  }
}
