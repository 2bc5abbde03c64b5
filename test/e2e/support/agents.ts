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
import { childEnv, childGroup } from '../../support/tracked-children.js';

export interface DirectAgent {
  readonly child: ChildProcess;
  /** The `ready` log line. */
  readonly ready: Record<string, unknown>;
  stop(): Promise<number | null>;
}

const children = childGroup();

/** Starts `weft agent` and resolves with its `ready` line. */
export function startDirectAgent(args: {
  environment: string;
  name: string;
  controlPlane: string;
  dataDir: string;
  adminAddress: string;
}): Promise<DirectAgent> {
  const child = spawn(
    process.execPath,
    [
      ...[WEFT_BIN, 'agent', '--environment', args.environment, '--name', args.name],
      ...['--control-plane', args.controlPlane, '--data', args.dataDir, '--admin-address', args.adminAddress],
    ],
    { cwd: tmpdir(), env: childEnv(), stdio: ['ignore', 'pipe', 'pipe'] },
  );
  const { exited, stop } = children.track(child);
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
        stop: () => stop('SIGTERM'),
      });
    });
    void exited.then((code) => reject(new Error(`agent exited with ${code}:\n${output}`)));
  });
}

/** Kills every agent still running. For `afterAll`. */
export const killDirectAgents = (): Promise<void> => children.killAll();
