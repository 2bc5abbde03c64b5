/**
 * A `weft up` under test: a temp directory, the demo mesh moved to its own
 * loopback addresses (`local-mesh.ts`), the running `weft up` and its
 * agents' pids, and the clients tests use on it. `cleanup` (for
 * `afterAll`) kills whatever is still running, agents included.
 *
 * @module
 */
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { killAll, type RunningWeft, type RunOptions, runWeft, startWeft } from '../../cli/weft-process.js';
import { tempDir } from '../../support/temp-dir.js';
import { alive, curlJson } from './curl.js';
import { agentPids, ENVIRONMENTS, type Environment, type TestMesh, writeTestMesh } from './local-mesh.js';

export const GATEWAY = { aws: 'aws-edge', gcp: 'gcp-edge', azure: 'azure-edge' } as const;

/** What an agent's `/config` shows of its snapshot. */
export interface GatewayConfig {
  readonly version: string;
  readonly hash: string;
  readonly gateway: { readonly environment: string };
}

export class WeftUp {
  readonly dir: string;
  /** `--data`: `<dir>/state`, shown as `state` (weft up runs in `dir`). */
  readonly data: string;
  readonly mesh: TestMesh;
  #up: RunningWeft | undefined;
  #pids: Record<Environment, number> | undefined;
  /** Every agent pid ever seen, for cleanup. */
  readonly #seen: number[] = [];

  private constructor(dir: string, mesh: TestMesh) {
    this.dir = dir;
    this.data = join(dir, 'state');
    this.mesh = mesh;
  }

  static async create(options: Parameters<typeof writeTestMesh>[1] = {}): Promise<WeftUp> {
    const dir = await tempDir('weft-e2e-up-');
    return new WeftUp(dir, await writeTestMesh(dir, options));
  }

  /** The control planes' pids from `weft up`'s progress lines (`control plane aws: ready (pid 123)`), latest each. */
  controlPlanePids(): Record<Environment, number> {
    const pids: Partial<Record<Environment, number>> = {};
    for (const [, cloud, pid] of this.up.stderr().matchAll(/control plane (\w+): ready \(pid (\d+)\)/g))
      pids[cloud as Environment] = Number(pid);
    return pids as Record<Environment, number>;
  }

  get up(): RunningWeft {
    if (!this.#up) throw new Error('weft up was not started');
    return this.#up;
  }

  get pids(): Record<Environment, number> {
    if (!this.#pids) throw new Error('weft up was not started');
    return this.#pids;
  }

  /** Runs `weft up` and resolves once its summary is out and its agents' pids are known. */
  async start(): Promise<RunningWeft> {
    const args = ['--api-port', '0', '--data', this.data, '--mesh', this.mesh.file];
    const up = await startWeft('up', args, { cwd: this.dir });
    // stderr (progress) and stdout (summary) are separate pipes: the last progress line may trail.
    for (let i = 0; i < 50 && !/azure-edge: ready/.test(up.stderr()); i++) await sleep(100);
    this.#up = up;
    this.#pids = agentPids(up.stderr());
    this.#seen.push(...Object.values(this.#pids));
    return up;
  }

  /** Records a pid started outside `weft up`, so cleanup kills it too. */
  track(pid: number): void {
    this.#seen.push(pid);
  }

  /** `weft ARGS --server <this API> --data <this data>`. */
  weft(args: readonly string[], options?: RunOptions) {
    return runWeft([...args, '--server', this.up.url, '--data', this.data], options);
  }

  config(env: Environment): Promise<GatewayConfig> {
    return curlJson<GatewayConfig>(`${this.mesh.admins[env]}/config`);
  }

  async configs(): Promise<Record<Environment, GatewayConfig>> {
    const all = await Promise.all(ENVIRONMENTS.map(async (e) => [e, await this.config(e)] as const));
    return Object.fromEntries(all) as Record<Environment, GatewayConfig>;
  }

  /** An operator's GET on the API, with the admin token. */
  api<T = Record<string, unknown>>(path: string): Promise<T> {
    return curlJson<T>(`${this.up.url}${path}`, '-H', `Authorization: Bearer ${this.up.token}`);
  }

  async cleanup(): Promise<void> {
    await killAll();
    for (const pid of this.#seen) if (alive(pid)) process.kill(pid, 'SIGKILL');
  }
}
