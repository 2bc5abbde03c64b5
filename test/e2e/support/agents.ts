/**
 * `weft agent` started directly (no `weft up`), on the data directory
 * `weft up` left in `DATA/agents/<env>`: what an operator does after a
 * reboot while the control plane is still down. Tracked, so `afterAll`
 * leaves none behind.
 *
 * @module
 */
import { type ChildProcess, spawn } from 'node:child_process';
import { tmpdir } from 'node:os';
import { WEFT_BIN } from '../../cli/weft-process.js';

export interface DirectAgent {
  readonly child: ChildProcess;
  /** The `ready` log line. */
  readonly ready: Record<string, unknown>;
  stop(): Promise<number | null>;
}

const running = new Set<ChildProcess>();

/** Starts `weft agent` and resolves with its `ready` line. */
export function startDirectAgent(args: {
  environment: string;
  name: string;
  controlPlane: string;
  dataDir: string;
  adminAddress: string;
}): Promise<DirectAgent> {
  const env = { ...process.env };
  for (const name of Object.keys(env)) if (name.startsWith('WEFT_')) delete env[name];
  const child = spawn(
    process.execPath,
    [
      ...[WEFT_BIN, 'agent', '--environment', args.environment, '--name', args.name],
      ...['--control-plane', args.controlPlane, '--data', args.dataDir, '--admin-address', args.adminAddress],
    ],
    { cwd: tmpdir(), env, stdio: ['ignore', 'pipe', 'pipe'] },
  );
  running.add(child);
  const exited = new Promise<number | null>((resolve) =>
    child.on('exit', (code) => {
      running.delete(child);
      resolve(code);
    }),
  );
  let output = '';
  child.stderr!.on('data', (d: Buffer) => (output += d));
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`agent not ready:\n${output}`)), 30_000);
    child.stdout!.on('data', (d: Buffer) => {
      output += d;
      const line = output.split('\n').find((l) => l.includes('"msg":"ready"'));
      if (!line) return;
      clearTimeout(timer);
      resolve({
        child,
        ready: JSON.parse(line) as Record<string, unknown>,
        stop: () => {
          if (child.exitCode === null && child.signalCode === null) child.kill('SIGTERM');
          return exited;
        },
      });
    });
    void exited.then((code) => reject(new Error(`agent exited with ${code}:\n${output}`)));
  });
}

/** Kills every agent still running. For `afterAll`. */
export async function killDirectAgents(): Promise<void> {
  await Promise.all(
    [...running].map(
      (child) =>
        new Promise<void>((resolve) => {
          child.once('exit', () => resolve());
          child.kill('SIGKILL');
        }),
    ),
  );
}
