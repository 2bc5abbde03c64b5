/**
 * A command run to completion, its output collected: what the tests' curl
 * and openssl clients share. Whatever the exit code, it resolves; each caller
 * decides what a failure means. It rejects only when the command could not
 * be started.
 *
 * @module
 */
import { spawn } from 'node:child_process';

/** Options of {@link runProcess}. */
export interface RunProcessOptions {
  readonly cwd?: string;
  /** @default this process's environment */
  readonly env?: NodeJS.ProcessEnv;
  /** Written to stdin, which then closes (a `-K -` config, a request). @default stdin left open */
  readonly input?: string;
  /** SIGKILL after this many milliseconds (the result then has `code: null`). @default no limit */
  readonly timeoutMs?: number;
  /** Each chunk of stdout as it arrives, for callers that read lines as they come. */
  readonly onStdout?: (chunk: string) => void;
}

/** How a command ended. */
export interface ProcessResult {
  /** The exit code; `null` when a signal ended it. */
  readonly code: number | null;
  readonly stdout: string;
  readonly stderr: string;
  /** stdout and stderr interleaved as they were written. */
  readonly output: string;
}

/** Runs `command args` and resolves once it has exited and its output is read. */
export function runProcess(
  command: string,
  args: readonly string[],
  options: RunProcessOptions = {},
): Promise<ProcessResult> {
  return new Promise((resolve, reject) => {
    const child = spawn(command, args, { cwd: options.cwd, env: options.env });
    let stdout = '';
    let stderr = '';
    let output = '';
    child.stdout.on('data', (d: Buffer) => {
      const chunk = d.toString();
      stdout += chunk;
      output += chunk;
      options.onStdout?.(chunk);
    });
    child.stderr.on('data', (d: Buffer) => {
      stderr += d;
      output += d;
    });
    child.on('error', reject);
    const timer =
      options.timeoutMs === undefined
        ? undefined
        : setTimeout(() => child.kill('SIGKILL'), options.timeoutMs);
    child.on('close', (code) => {
      clearTimeout(timer);
      resolve({ code, stdout, stderr, output });
    });
    if (options.input !== undefined) child.stdin.end(options.input);
  });
}
