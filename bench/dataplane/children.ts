/**
 * Child processes the benchmark owns: spawned, waited on with a deadline,
 * and always stopped (SIGTERM, then SIGKILL after a grace period), so a
 * failed run leaves nothing behind. Also: waiting for a TCP port to accept.
 *
 * @module
 */
import { type ChildProcess, type SpawnOptions, spawn } from 'node:child_process';
import { connect } from 'node:net';
import { createInterface } from 'node:readline';

/** A spawned child, its stdout read as lines. */
export interface Child {
  readonly process: ChildProcess;
  readonly pid: number;
  /** Resolves with the first stdout line from now on that `match` accepts; rejects at `timeoutMs` or when the child exits. */
  waitForLine<T>(match: (line: string) => T | undefined, timeoutMs: number): Promise<T>;
  /** SIGTERM, then SIGKILL after `graceMs`; resolves once the child is gone. */
  stop(graceMs?: number): Promise<void>;
}

const live = new Set<Child>();

/** Stops every child still running (for a Ctrl-C in the middle of a run). */
export async function stopEveryChild(): Promise<void> {
  await Promise.all([...live].map((c) => c.stop(2_000)));
}

/** Spawns `command`; stderr goes to ours with `label` in front. */
export function startChild(
  label: string,
  command: string,
  args: readonly string[],
  options: SpawnOptions = {},
): Child {
  const child = spawn(command, args, { stdio: ['pipe', 'pipe', 'pipe'], ...options });
  if (child.pid === undefined) throw new Error(`${label}: could not spawn ${command}`);
  const lines: string[] = [];
  const waiters = new Set<() => void>();
  createInterface({ input: child.stdout! }).on('line', (line) => {
    lines.push(line);
    for (const w of waiters) w();
  });
  createInterface({ input: child.stderr! }).on('line', (line) => console.error(`[${label}] ${line}`));
  const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
  child.on('error', (error) => console.error(`[${label}] ${error.message}`));
  const handle: Child = {
    process: child,
    pid: child.pid,
    waitForLine<T>(match: (line: string) => T | undefined, timeoutMs: number) {
      return new Promise<T>((resolve, reject) => {
        let seen = lines.length;
        const check = () => {
          for (; seen < lines.length; seen++) {
            const found = match(lines[seen]!);
            if (found !== undefined) return done(() => resolve(found));
          }
        };
        const timer = setTimeout(
          () => done(() => reject(new Error(`${label}: no answer in ${timeoutMs} ms`))),
          timeoutMs,
        );
        const gone = () => done(() => reject(new Error(`${label} exited (code ${child.exitCode})`)));
        const done = (then: () => void) => {
          clearTimeout(timer);
          waiters.delete(check);
          child.off('exit', gone);
          then();
        };
        waiters.add(check);
        child.once('exit', gone);
        check();
      });
    },
    async stop(graceMs = 5_000) {
      if (child.exitCode !== null || child.signalCode !== null) return;
      child.kill('SIGTERM');
      const timer = setTimeout(() => child.kill('SIGKILL'), graceMs);
      await exited;
      clearTimeout(timer);
    },
  };
  live.add(handle);
  void exited.then(() => live.delete(handle));
  return handle;
}

/** Resolves once `127.0.0.1:port` accepts a TCP connection; rejects after `timeoutMs`. */
export async function waitForPort(port: number, timeoutMs = 10_000): Promise<void> {
  const until = Date.now() + timeoutMs;
  for (;;) {
    const ok = await new Promise<boolean>((resolve) => {
      const socket = connect({ host: '127.0.0.1', port }, () => {
        socket.destroy();
        resolve(true);
      });
      socket.on('error', () => resolve(false));
    });
    if (ok) return;
    if (Date.now() > until) throw new Error(`nothing listens on 127.0.0.1:${port} after ${timeoutMs} ms`);
    await new Promise((r) => setTimeout(r, 50));
  }
}
