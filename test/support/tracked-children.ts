/**
 * Long-running children a test starts (`weft serve`, `weft up`, `weft
 * agent`): each tracked until it exits, stopped by a signal that resolves
 * with its exit code, and killed by `afterAll` if still running. Also the
 * environment a `weft` child gets.
 *
 * @module
 */
import type { ChildProcess } from 'node:child_process';

/** This process's environment without any WEFT_* that would leak in, plus `extra`. */
export function childEnv(extra: NodeJS.ProcessEnv = {}): NodeJS.ProcessEnv {
  const env = { ...process.env };
  for (const name of Object.keys(env)) if (name.startsWith('WEFT_')) delete env[name];
  return { ...env, ...extra };
}

/** One tracked child. */
export interface TrackedChild {
  /** Resolves with the exit code once the process is gone. */
  readonly exited: Promise<number | null>;
  /** Sends `signal` unless the child is gone already; resolves as {@link exited}. */
  stop(signal: NodeJS.Signals): Promise<number | null>;
}

/** A set of children that one `killAll` ends. */
export interface ChildGroup {
  track(child: ChildProcess): TrackedChild;
  /** SIGKILLs every tracked child still running; resolves once all have exited. For `afterAll`. */
  killAll(): Promise<void>;
}

export function childGroup(): ChildGroup {
  const running = new Set<ChildProcess>();
  return {
    track(child) {
      running.add(child);
      const exited = new Promise<number | null>((resolve) =>
        child.on('exit', (code) => {
          running.delete(child);
          resolve(code);
        }),
      );
      return {
        exited,
        stop(signal) {
          if (child.exitCode === null && child.signalCode === null) child.kill(signal);
          return exited;
        },
      };
    },
    async killAll() {
      await Promise.all(
        [...running].map(
          (child) =>
            new Promise<void>((resolve) => {
              child.once('exit', () => resolve());
              child.kill('SIGKILL');
            }),
        ),
      );
    },
  };
}
