/**
 * DynamoDB on one machine: dynalite (DynamoDB's API on LevelDB) in this
 * process, so `weft up` and the tests drive the very adapter the AWS
 * deployment uses, with no cloud account and no Docker.
 *
 * @module
 */
import { chmod, mkdir } from 'node:fs/promises';
import type { Server } from 'node:http';
import { createRequire } from 'node:module';
import type { AddressInfo } from 'node:net';
import { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import dynalite from 'dynalite';
import { UnavailableError } from '../../shared/model/errors.js';

// The SDK warns on Node 20 that releases after January 2027 need Node 22. The
// embedded store runs on the user's own Node, where that warning only adds
// noise to `npm start`; the clouds run nodejs22.x.
process.env.AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED ??= 'true';

export interface EmbeddedDynamoDbOptions {
  /** LevelDB directory, created if missing. @default in memory */
  readonly dataDir?: string;
  /** @default '127.0.0.1' */
  readonly host?: string;
  /** @default 0 (a free port) */
  readonly port?: number;
}

export interface EmbeddedDynamoDb {
  /** `http://host:port` */
  readonly endpoint: string;
  /** A client pointed at it (region `local`, dummy credentials). Destroyed by `close`. */
  readonly client: DynamoDBClient;
  /** Stops the server and closes LevelDB, so `dataDir` can be opened again. Idempotent. */
  close(): Promise<void>;
}

/**
 * Starts dynalite in process.
 *
 * @throws UnavailableError when `dataDir` is held by another store (another `weft up`).
 * @throws Error (`EADDRINUSE`) when the port is taken.
 * @example
 * const db = await startEmbeddedDynamoDb({ dataDir: '.weft/state' });
 * await ensureTable(db.client, 'weft');
 * const store = new DynamoDbStateStore({ client: db.client, tableName: 'weft' });
 * await db.close();
 */
export async function startEmbeddedDynamoDb(
  options: EmbeddedDynamoDbOptions = {},
): Promise<EmbeddedDynamoDb> {
  const { dataDir, host = '127.0.0.1', port = 0 } = options;
  if (dataDir !== undefined) await probeDataDir(dataDir);
  // Tables go ACTIVE at once: nothing here gains from DynamoDB's provisioning delay.
  const server = dynalite({ path: dataDir, createTableMs: 0, deleteTableMs: 0, updateTableMs: 0 });
  try {
    await listen(server, port, host);
  } catch (error) {
    // dynalite closes LevelDB only when a listening server closes: listen anywhere to let go of dataDir.
    await listen(server, 0, '127.0.0.1')
      .then(() => closeServer(server))
      .catch(() => {});
    throw error;
  }
  const endpoint = `http://${host.includes(':') ? `[${host}]` : host}:${(server.address() as AddressInfo).port}`;
  const client = new DynamoDBClient({
    endpoint,
    region: 'local',
    credentials: { accessKeyId: 'local', secretAccessKey: 'local' },
    // A local server that fails once will fail again: report it fast.
    maxAttempts: 2,
  });
  let closing: Promise<void> | undefined;
  return {
    endpoint,
    client,
    close() {
      closing ??= (async () => {
        client.destroy();
        await closeServer(server);
      })();
      return closing;
    },
  };
}

/**
 * Opens and closes the LevelDB directory once before dynalite does: dynalite
 * throws from a callback, killing the process, on the first request to a store
 * it could not open, so a held directory must be found here.
 */
async function probeDataDir(dataDir: string): Promise<void> {
  // The mesh's whole state: private, as the rest of `.weft` is (and tightened where an older weft left it 0755).
  await mkdir(dataDir, { recursive: true, mode: 0o700 });
  await chmod(dataDir, 0o700);
  // dynalite's own `level`, so the probe opens the directory exactly as it will.
  const { Level } = createRequire(createRequire(import.meta.url).resolve('dynalite'))('level') as {
    Level: new (location: string) => { open(): Promise<void>; close(): Promise<void> };
  };
  const db = new Level(dataDir);
  try {
    await db.open();
  } catch (error) {
    throw new UnavailableError(
      `cannot open the state directory ${dataDir}: another weft process may be using it; stop it or choose another data directory`,
      { cause: error },
    );
  }
  await db.close();
}

function listen(server: Server, port: number, host: string): Promise<void> {
  return new Promise((resolve, reject) => {
    server.once('error', reject);
    server.listen(port, host, () => {
      server.off('error', reject);
      resolve();
    });
  });
}

function closeServer(server: Server): Promise<void> {
  return new Promise((resolve, reject) => server.close((err) => (err ? reject(err) : resolve())));
}
