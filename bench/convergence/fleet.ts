/**
 * The benchmark's gateway agents: the first {@link MAX_PROCESSES} as real
 * `weft agent` processes (what an operator runs), the rest as control loops
 * hosted a few hundred to a process (`worker.ts`). Agents are only ever
 * added: the 10-gateway mesh grows to 100, then 1,000, with the same agents
 * still running, so nothing is started twice.
 *
 * @module
 */
import { type ChildProcess, fork, spawn } from 'node:child_process';
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import type { BenchGateway } from './mesh.js';
import type { Operator } from './operator.js';
import type { AppliedQuery, StartBatch } from './worker.js';

/** Real processes: each costs ~120 MB and a second or two of CPU to start, so fifty is plenty to be honest. */
export const MAX_PROCESSES = 50;
/** Control loops per worker process. */
const LOOPS_PER_WORKER = 320;
const WEFT_BIN = fileURLToPath(new URL('../../bin/weft.js', import.meta.url));
const WORKER = fileURLToPath(new URL('./worker.ts', import.meta.url));

export class Fleet {
  readonly #processes: ChildProcess[] = [];
  readonly #workers: ChildProcess[] = [];
  #loops = 0;

  constructor(
    private readonly controlPlaneUrl: string,
    private readonly dataRoot: string,
    private readonly operator: Operator,
  ) {}

  get counts() {
    return { processes: this.#processes.length, loops: this.#loops, workers: this.#workers.length };
  }

  /** Starts agents for `gateways` and resolves once every one has an identity and is syncing. */
  async add(gateways: readonly BenchGateway[]): Promise<void> {
    const room = Math.max(0, MAX_PROCESSES - this.#processes.length);
    const asProcesses = gateways.slice(0, room);
    const asLoops = gateways.slice(room);
    const queue = [...asProcesses];
    const starter = async () => {
      for (let g = queue.shift(); g; g = queue.shift()) this.#processes.push(await this.#spawn(g));
    };
    // Four at a time: starting is CPU-bound (tsx, key generation) on a 2-CPU machine.
    await Promise.all([...Array.from({ length: 4 }, starter), this.#addLoops(asLoops)]);
  }

  async #spawn(g: BenchGateway): Promise<ChildProcess> {
    const env = { ...process.env, WEFT_JOIN_TOKEN: await this.operator.joinToken(g.spiffeId) };
    const child = spawn(
      process.execPath,
      [
        WEFT_BIN,
        'agent',
        '--environment',
        g.environment,
        '--name',
        g.name,
        '--control-plane',
        this.controlPlaneUrl,
      ].concat(['--data', join(this.dataRoot, g.name), '--admin-address', g.adminAddress]),
      { env, stdio: ['ignore', 'pipe', 'inherit'] },
    );
    return new Promise((resolve, reject) => {
      let out = '';
      const onData = (d: Buffer) => {
        out += d;
        if (!out.includes('"msg":"ready"')) return;
        // Keep draining, so the agent never blocks on a full pipe.
        child.stdout!.off('data', onData).on('data', () => {});
        resolve(child);
      };
      child.stdout!.on('data', onData);
      child.once('exit', (code) => reject(new Error(`agent ${g.name} exited with ${code}:\n${out}`)));
    });
  }

  async #addLoops(gateways: readonly BenchGateway[]): Promise<void> {
    const batches: BenchGateway[][] = [];
    for (let i = 0; i < gateways.length; i += LOOPS_PER_WORKER)
      batches.push(gateways.slice(i, i + LOOPS_PER_WORKER));
    await Promise.all(batches.map((batch) => this.#startWorker(batch)));
  }

  async #startWorker(batch: readonly BenchGateway[]): Promise<void> {
    const agents = await Promise.all(
      batch.map(async (g) => ({ ...g, joinToken: await this.operator.joinToken(g.spiffeId) })),
    );
    const worker = fork(WORKER, [], {
      execArgv: ['--import', 'tsx', '--max-old-space-size=4096'],
      stdio: ['ignore', 'inherit', 'inherit', 'ipc'],
    });
    this.#workers.push(worker);
    const message: StartBatch = {
      type: 'start',
      controlPlaneUrl: this.controlPlaneUrl,
      dataRoot: this.dataRoot,
      agents,
    };
    await new Promise<void>((resolve, reject) => {
      worker.once('message', (m: { type: string; error?: string }) =>
        m.type === 'started' ? resolve() : reject(new Error(`worker failed: ${m.error}`)),
      );
      worker.once('exit', (code) => reject(new Error(`worker exited with ${code}`)));
      worker.send(message);
    });
    this.#loops += batch.length;
  }

  /**
   * How many control loops applied `version` and when the last of them did
   * (epoch ms): what convergence would be without the status reports.
   */
  async loopsApplied(version: string): Promise<{ count: number; lastAt: number }> {
    const answers = await Promise.all(
      this.#workers.map(
        (w) =>
          new Promise<{ count: number; lastAt: number }>((resolve) => {
            w.once('message', resolve);
            w.send({ type: 'applied', version } satisfies AppliedQuery);
          }),
      ),
    );
    return {
      count: answers.reduce((n, a) => n + a.count, 0),
      lastAt: Math.max(0, ...answers.map((a) => a.lastAt)),
    };
  }

  /** Resident memory of every agent process and worker, summed, in MiB (Linux /proc). */
  async rssMiB(): Promise<number> {
    let kib = 0;
    for (const c of [...this.#processes, ...this.#workers]) {
      const status = await readFile(`/proc/${c.pid}/status`, 'utf8').catch(() => '');
      kib += Number(/VmRSS:\s+(\d+)/.exec(status)?.[1] ?? 0);
    }
    return Math.round(kib / 1024);
  }

  /** Stops every agent: SIGTERM to the processes, `stop` to the workers; waits for all. */
  async close(): Promise<void> {
    const exited = (c: ChildProcess) =>
      c.exitCode !== null || c.signalCode !== null
        ? Promise.resolve()
        : new Promise((r) => c.once('exit', r));
    for (const p of this.#processes) p.kill('SIGTERM');
    for (const w of this.#workers) if (w.connected) w.send({ type: 'stop' });
    await Promise.all([...this.#processes, ...this.#workers].map(exited));
  }
}
