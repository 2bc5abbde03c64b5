/**
 * Runs the real `weft` executable as child processes, the way an operator
 * does: one-shot commands, and `weft serve` / `weft up` kept running until a
 * test stops them. Every long-running child is tracked so `afterAll` can
 * make sure none outlives the suite.
 */
import { type ChildProcess, spawn } from 'node:child_process';
import { tmpdir } from 'node:os';
import { fileURLToPath } from 'node:url';
import { runProcess } from '../support/run-process.js';
import { childEnv, childGroup } from '../support/tracked-children.js';

export const WEFT_BIN = fileURLToPath(new URL('../../bin/weft.js', import.meta.url));
export const DEMO_MESH = fileURLToPath(new URL('../../examples/demo-mesh.yaml', import.meta.url));

export interface WeftResult {
  readonly code: number | null;
  readonly stdout: string;
  readonly stderr: string;
}

export interface RunOptions {
  readonly env?: Record<string, string>;
  readonly input?: string;
  readonly cwd?: string;
}

/** Runs `weft ...args` to completion. */
export async function runWeft(args: readonly string[], options: RunOptions = {}): Promise<WeftResult> {
  const { code, stdout, stderr } = await runProcess(process.execPath, [WEFT_BIN, ...args], {
    cwd: options.cwd ?? tmpdir(),
    env: childEnv(options.env),
    input: options.input ?? '',
  });
  return { code, stdout, stderr };
}

/** Non-empty lines of some output. */
export function lines(text: string): string[] {
  return text.split('\n').filter((l) => l.trim() !== '');
}

const children = childGroup();

/** A `weft serve` or `weft up` that printed its summary and is serving. */
export interface RunningWeft {
  readonly child: ChildProcess;
  readonly url: string;
  /** The admin token as the summary showed it. */
  readonly token: string;
  /** stdout so far (the summary, then whatever follows). */
  stdout(): string;
  stderr(): string;
  /** Sends `signal` and resolves with the exit code once the process is gone. */
  stop(signal?: NodeJS.Signals): Promise<number | null>;
  /** Types a line into its stdin (`weft up` takes `stop gcp`, `start gcp`). */
  type(line: string): void;
}

/**
 * Starts `weft <command> ...args` and resolves once its summary is out
 * (the line with `Ctrl-C` ends it).
 */
export function startWeft(
  command: 'serve' | 'up',
  args: readonly string[],
  options: RunOptions = {},
): Promise<RunningWeft> {
  const child = spawn(process.execPath, [WEFT_BIN, command, ...args], {
    cwd: options.cwd ?? tmpdir(),
    env: childEnv(options.env),
    stdio: ['pipe', 'pipe', 'pipe'],
  });
  const { exited, stop } = children.track(child);
  child.stdin!.on('error', () => {});
  let stdout = '';
  let stderr = '';
  return new Promise((resolve, reject) => {
    const timer = setTimeout(
      () => reject(new Error(`weft ${command} did not start:\n${stdout}\n${stderr}`)),
      45_000,
    );
    child.stderr!.on('data', (d: Buffer) => (stderr += d));
    child.stdout!.on('data', (d: Buffer) => {
      stdout += d;
      if (!stdout.includes('Ctrl-C')) return;
      clearTimeout(timer);
      const url = /https?:\/\/[^\s/]+/.exec(stdout)?.[0];
      const token = /admin token\s+(\S+)/.exec(stdout)?.[1];
      if (!url || !token) return reject(new Error(`no URL or token in:\n${stdout}`));
      resolve({
        child,
        url,
        token,
        stdout: () => stdout,
        stderr: () => stderr,
        stop: (signal = 'SIGINT') => stop(signal),
        type: (line) => child.stdin!.write(`${line}\n`),
      });
    });
    void exited.then((code) => {
      clearTimeout(timer);
      reject(new Error(`weft ${command} exited with ${code} before it was ready:\n${stdout}\n${stderr}`));
    });
  });
}

/** Kills whatever `startWeft` started and is still running. For `afterAll`. */
export const killAll = (): Promise<void> => children.killAll();
