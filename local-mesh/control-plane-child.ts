/**
 * One cloud's control plane as `weft up` runs a federated mesh: a real
 * child process (`node bin/weft.js serve --mesh DIR --cloud C`), exactly
 * what an operator would start, so it can be stopped, killed and started
 * again while the other clouds keep running. Its output goes to
 * `DIR/<cloud>/serve.log`; it is ready once its `/healthz` answers. Like the
 * agents it has its own process group (Ctrl-C reaches `weft up` alone) and
 * the exit-with-parent guard.
 *
 * @module
 */
import { spawn } from 'node:child_process';
import { open } from 'node:fs/promises';
import { join } from 'node:path';
import { CliError, EXIT } from '../cli/errors.js';
import type { Running } from '../process/stack.js';
import { GUARD, killGroup, supervise, WEFT_BIN } from './agent-child.js';
import { readLogFrom } from './log-file.js';

export interface ControlPlaneChildOptions {
  readonly meshDir: string;
  readonly cloud: string;
  /** Its API URL, as the federation file has it. */
  readonly url: string;
  /** @default 30s */
  readonly antiEntropyInterval?: string;
  readonly onUnexpectedExit: (code: number | null, signal: NodeJS.Signals | null) => void;
  readonly signal?: AbortSignal;
  /** @default 60 s */
  readonly readyTimeoutMs?: number;
}

export interface ControlPlaneChild extends Running {
  readonly cloud: string;
  readonly url: string;
  readonly pid: number;
  readonly logFile: string;
  kill(): void;
}

/** Starts the control plane and resolves once it answers `/healthz`. */
export async function startControlPlaneChild(o: ControlPlaneChildOptions): Promise<ControlPlaneChild> {
  const logFile = join(o.meshDir, o.cloud, 'serve.log');
  const log = await open(logFile, 'a', 0o600);
  const from = (await log.stat()).size;
  const child = spawn(
    process.execPath,
    [
      ...['--import', GUARD, WEFT_BIN, 'serve', '--mesh', o.meshDir, '--cloud', o.cloud],
      ...['--anti-entropy-interval', o.antiEntropyInterval ?? '30s'],
    ],
    { env: process.env, detached: true, stdio: ['ignore', log.fd, log.fd] },
  );
  await log.close();
  // A control plane stops its bus, its sweeps and its store: more than an agent's grace under load.
  const { exited, stop, stopping } = supervise(child, 20_000);
  const name = `control plane ${o.cloud}`;
  const ready = await untilHealthy(o.url, exited, o.readyTimeoutMs ?? 60_000, o.signal).catch(
    async (error) => {
      await stop();
      throw error;
    },
  );
  if (ready !== 'ready') {
    await stop();
    const last = (await readLogFrom(logFile, from))
      .split('\n')
      .filter((l) => l.startsWith('error: '))
      .at(-1);
    const what = ready === 'exited' ? 'exited before it was ready' : 'was not ready in time';
    throw new CliError(
      `${name} ${what}: ${last?.slice(7) ?? 'no error printed'} (log: ${logFile})`,
      EXIT.failed,
    );
  }
  void exited.then(({ code, signal }) => stopping() || o.onUnexpectedExit(code, signal));
  return {
    name,
    cloud: o.cloud,
    url: o.url,
    pid: child.pid!,
    logFile,
    kill: () => killGroup(child),
    async close() {
      const { code, signal } = await stop();
      if (code !== 0 && signal !== 'SIGTERM') throw new Error(`exited with ${code ?? signal}`);
    },
  };
}

async function untilHealthy(
  url: string,
  exited: Promise<unknown>,
  timeoutMs: number,
  signal: AbortSignal | undefined,
): Promise<'ready' | 'exited' | 'timeout'> {
  let gone = false;
  void exited.then(() => (gone = true));
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    signal?.throwIfAborted();
    if (gone) return 'exited';
    const ok = await fetch(`${url}/healthz`, { signal: AbortSignal.timeout(1000) }).then(
      (r) => r.ok,
      () => false,
    );
    if (ok) return 'ready';
    if (Date.now() >= deadline) return 'timeout';
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
}
