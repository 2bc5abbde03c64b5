/**
 * Azurite's Table service as a child process on a free loopback port, in
 * memory, for tests that drive the real Azure Tables SDK against a real
 * server.
 *
 * @module
 */
import { type ChildProcess, spawn } from 'node:child_process';
import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';
import type { TableClient } from '@azure/data-tables';
import { azuriteTables } from '../../functions/local/embedded-azurite.js';
import { freePort } from './free-port.js';

export interface Azurite {
  readonly endpoint: string;
  readonly connectionString: string;
  /** A client for `tableName`, retrying nothing: a local server that fails once fails again. */
  client(tableName: string): TableClient;
  /** Kills the process and waits for it to exit. Idempotent. */
  stop(): Promise<void>;
}

/**
 * Starts azurite's Table service and resolves once it listens.
 *
 * @example
 * const azurite = await startAzurite();
 * afterAll(() => azurite.stop());
 */
export async function startAzurite(): Promise<Azurite> {
  const main = join(
    dirname(createRequire(import.meta.url).resolve('azurite/package.json')),
    'dist/src/table/main.js',
  );
  // The free port is found first and may be taken before azurite binds it: try again then.
  for (let attempt = 1; ; attempt++) {
    const port = await freePort();
    const child = spawn(
      process.execPath,
      [
        main,
        ...['--tableHost', '127.0.0.1', '--tablePort', String(port)],
        '--inMemoryPersistence',
        '--skipApiVersionCheck', // the SDK may speak a newer API version than this azurite
        '--disableTelemetry', // no network here, and nothing to report
        '--loose',
        '--silent', // no access log: the tests read stdout only for the start line
      ],
      { stdio: ['ignore', 'pipe', 'pipe'] },
    );
    try {
      await started(child);
    } catch (error) {
      if (attempt < 3 && /EADDRINUSE/.test(String(error))) continue;
      throw error;
    }
    const tables = azuriteTables('127.0.0.1', port, 0);
    const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
    return {
      ...tables,
      async stop() {
        if (child.exitCode === null && child.signalCode === null) child.kill('SIGTERM');
        await exited;
      },
    };
  }
}

/** Resolves on azurite's "successfully started" line; rejects with its output if it exits or hangs. */
function started(child: ChildProcess): Promise<void> {
  return new Promise((resolve, reject) => {
    let output = '';
    const timer = setTimeout(() => {
      child.kill('SIGKILL');
      reject(new Error(`azurite did not start within 20 s:\n${output}`));
    }, 20_000);
    const onData = (chunk: Buffer) => {
      output += chunk;
      if (output.includes('successfully started')) {
        clearTimeout(timer);
        // Keep draining the pipes, or a chatty child would block on a full one.
        child.stdout?.resume();
        resolve();
      }
    };
    child.stdout?.on('data', onData);
    child.stderr?.on('data', (chunk: Buffer) => {
      output += chunk;
    });
    child.once('exit', (code, signal) => {
      clearTimeout(timer);
      reject(new Error(`azurite exited (${signal ?? code}) before it listened:\n${output}`));
    });
  });
}
