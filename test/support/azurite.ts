/**
 * Azurite's Table and Blob services as child processes on free loopback
 * ports, in memory, for tests that drive the real Azure SDKs against a real
 * server. Each service is a process of its own, as azurite ships them
 * (`dist/src/table/main.js`, `dist/src/blob/main.js`).
 *
 * @module
 */
import { type ChildProcess, spawn } from 'node:child_process';
import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';
import type { TableClient } from '@azure/data-tables';
import { BlobServiceClient, type ContainerClient } from '@azure/storage-blob';
import { azuriteTables } from '../../functions/local/embedded-azurite.js';
import { freePort } from './free-port.js';

const require = createRequire(import.meta.url);

export interface Azurite {
  readonly endpoint: string;
  readonly connectionString: string;
  /** A client for `tableName`, retrying nothing: a local server that fails once fails again. */
  client(tableName: string): TableClient;
  /** Kills the process and waits for it to exit. Idempotent. */
  stop(): Promise<void>;
}

export interface AzuriteBlob {
  /** `http://127.0.0.1:<port>/devstoreaccount1` */
  readonly endpoint: string;
  readonly connectionString: string;
  /**
   * A client for container `name` (not created: call `createIfNotExists()`),
   * trying each request once: a local server that fails once fails again.
   */
  container(name: string): ContainerClient;
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
  const { port, stop } = await spawnAzurite('table');
  return { ...azuriteTables('127.0.0.1', port, 0), stop };
}

/**
 * Starts azurite's Blob service and resolves once it listens.
 *
 * @example
 * const azurite = await startAzuriteBlob();
 * const container = azurite.container('weft');
 * await container.createIfNotExists();
 */
export async function startAzuriteBlob(): Promise<AzuriteBlob> {
  const { port, stop } = await spawnAzurite('blob');
  const { EMULATOR_ACCOUNT_NAME: account, EMULATOR_ACCOUNT_KEY: key } =
    require('azurite/dist/src/common/utils/constants.js') as {
      EMULATOR_ACCOUNT_NAME: string;
      EMULATOR_ACCOUNT_KEY: Buffer;
    };
  const endpoint = `http://127.0.0.1:${port}/${account}`;
  const connectionString = `DefaultEndpointsProtocol=http;AccountName=${account};AccountKey=${key.toString('base64')};BlobEndpoint=${endpoint};`;
  const service = BlobServiceClient.fromConnectionString(connectionString, { retryOptions: { maxTries: 1 } });
  return { endpoint, connectionString, container: (name) => service.getContainerClient(name), stop };
}

/** What differs between azurite's services: the entry point, the flag prefix and the line that says it listens. */
const SERVICES = {
  table: { main: 'dist/src/table/main.js', flag: 'table', started: 'successfully started' },
  blob: { main: 'dist/src/blob/main.js', flag: 'blob', started: 'successfully listens' },
} as const;

/** Spawns one azurite service on a free port, in memory; resolves with the port and how to stop it. */
async function spawnAzurite(
  service: keyof typeof SERVICES,
): Promise<{ port: number; stop(): Promise<void> }> {
  const { main, flag, started } = SERVICES[service];
  const entry = join(dirname(require.resolve('azurite/package.json')), main);
  // The free port is found first and may be taken before azurite binds it: try again then.
  for (let attempt = 1; ; attempt++) {
    const port = await freePort();
    const child = spawn(
      process.execPath,
      [
        entry,
        ...[`--${flag}Host`, '127.0.0.1', `--${flag}Port`, String(port)],
        '--inMemoryPersistence',
        '--skipApiVersionCheck', // the SDK may speak a newer API version than this azurite
        '--disableTelemetry', // no network here, and nothing to report
        '--loose',
        '--silent', // no access log: the tests read stdout only for the start line
      ],
      { stdio: ['ignore', 'pipe', 'pipe'] },
    );
    try {
      await listening(child, started);
    } catch (error) {
      if (attempt < 3 && /EADDRINUSE/.test(String(error))) continue;
      throw error;
    }
    const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
    return {
      port,
      async stop() {
        if (child.exitCode === null && child.signalCode === null) child.kill('SIGTERM');
        await exited;
      },
    };
  }
}

/** Resolves on azurite's `started` line; rejects with its output if it exits or hangs. */
function listening(child: ChildProcess, started: string): Promise<void> {
  return new Promise((resolve, reject) => {
    let output = '';
    const timer = setTimeout(() => {
      child.kill('SIGKILL');
      reject(new Error(`azurite did not start within 20 s:\n${output}`));
    }, 20_000);
    const onData = (chunk: Buffer) => {
      output += chunk;
      if (output.includes(started)) {
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
