/**
 * Azure Tables on one machine: azurite's Table service (the Azure Storage
 * emulator, a devDependency) in this process, on disk, so `weft serve --mesh
 * --cloud azure` drives the very adapter the Azure deployment uses.
 *
 * In process rather than as a child: `weft up` already runs each cloud as a
 * process of its own, and azurite's `TableServer` listens on a free port
 * (port 0, no race), logs nothing and sends no telemetry unless told to, and
 * saves its LokiJS file when closed. LokiJS also saves every 5 s while
 * running, so a killed process loses at most the last 5 s of writes (which a
 * federated mesh's anti-entropy brings back from the peers).
 *
 * @module
 */
import { chmod, mkdir, readFile, rm, writeFile } from 'node:fs/promises';
import type { Server } from 'node:http';
import { createRequire } from 'node:module';
import type { AddressInfo } from 'node:net';
import { join } from 'node:path';
import { TableClient } from '@azure/data-tables';
import { UnavailableError } from '../../shared/model/errors.js';

/** Azurite's well-known development account (public, the same in every install). */
const ACCOUNT = 'devstoreaccount1';
const KEY = 'Eby8vdM02xNOcqFlqUwJPLlmEtlCDXJ1OUzFT50uSRZ6IFsuFq2UVErCz4I6tq/K1SZFPTOtr/KBHBeksoGMGw==';

/**
 * How a client reaches an azurite Tables server at `host:port`: its
 * endpoint, connection string (azurite's well-known dev account) and a
 * `TableClient` per table. The test harness's azurite uses it too.
 */
export function azuriteTables(host: string, port: number, maxRetries: number) {
  const endpoint = `http://${host}:${port}/${ACCOUNT}`;
  const connectionString = `DefaultEndpointsProtocol=http;AccountName=${ACCOUNT};AccountKey=${KEY};TableEndpoint=${endpoint};`;
  return {
    endpoint,
    connectionString,
    client: (tableName: string) =>
      TableClient.fromConnectionString(connectionString, tableName, {
        allowInsecureConnection: true,
        retryOptions: { maxRetries },
      }),
  };
}
/** The file azurite keeps its tables in, inside `dataDir`. */
export const AZURITE_TABLE_DB = '__azurite_db_table__.json';
const LOCK_FILE = 'weft.lock';

export interface EmbeddedAzuriteOptions {
  /** Where azurite keeps its tables, created if missing. */
  readonly dataDir: string;
  /** @default '127.0.0.1' */
  readonly host?: string;
  /** @default 0 (a free port) */
  readonly port?: number;
}

export interface EmbeddedAzurite {
  /** `http://host:port/devstoreaccount1` */
  readonly endpoint: string;
  readonly connectionString: string;
  /** A client for `tableName` over plain HTTP, retrying once: a local server that fails twice fails again. */
  client(tableName: string): TableClient;
  /** Stops the server, saves the tables to `dataDir` and lets go of it. Idempotent. */
  close(): Promise<void>;
}

/** The parts of azurite 3's `TableServer` (CommonJS, untyped) used here. */
interface TableServer {
  readonly httpServer: Server;
  start(): Promise<void>;
  close(): Promise<void>;
  /** Closes the LokiJS store (saving it); what `close` does after the server stops. */
  afterClose(): Promise<void>;
}
type TableConfiguration = new (
  host: string,
  port: number,
  keepAliveTimeout: number | undefined,
  metadataDBPath: string,
  enableDebugLog: boolean,
  enableAccessLog: boolean,
  accessLogWriteStream: undefined,
  debugLogFilePath: undefined,
  loose: boolean,
  skipApiVersionCheck: boolean,
) => unknown;

interface AzuriteModules {
  readonly TableServer: new (config: unknown) => TableServer;
  readonly TableConfiguration: TableConfiguration;
}

/** Directories this process holds, which its own pid in a lock file does not tell apart from a stale one. */
const held = new Set<string>();

/**
 * Starts azurite's Table service in process on `dataDir`.
 *
 * @returns `undefined` when azurite is not installed (an install without devDependencies).
 * @throws UnavailableError when another weft process holds `dataDir`.
 * @example
 * const azurite = await startEmbeddedAzurite({ dataDir: '.weft-mesh/azure/azurite' });
 * const client = azurite && azurite.client('weftstate');
 */
export async function startEmbeddedAzurite(
  options: EmbeddedAzuriteOptions,
): Promise<EmbeddedAzurite | undefined> {
  const modules = loadAzurite();
  if (!modules) return undefined;
  const { dataDir, host = '127.0.0.1', port = 0 } = options;
  // The mesh's whole state: private, as the rest of the data directory is.
  await mkdir(dataDir, { recursive: true, mode: 0o700 });
  await chmod(dataDir, 0o700);
  const unlock = await lock(dataDir);
  const config = new modules.TableConfiguration(
    host,
    port,
    undefined,
    join(dataDir, AZURITE_TABLE_DB),
    false, // no debug log
    false, // no access log
    undefined,
    undefined,
    true, // loose: accept what the SDK sends that azurite does not model
    true, // skip the API version check: the SDK may speak a newer version than this azurite
  );
  const server = new modules.TableServer(config);
  try {
    await server.start();
  } catch (error) {
    // The store may have opened (and started autosaving) before listen failed.
    await server.afterClose().catch(() => {});
    await unlock();
    throw error;
  }
  const address = server.httpServer.address() as AddressInfo;
  const hostname = address.address.includes(':') ? `[${address.address}]` : address.address;
  const tables = azuriteTables(hostname, address.port, 1);
  let closing: Promise<void> | undefined;
  return {
    ...tables,
    close() {
      closing ??= (async () => {
        const stopped = server.httpServer.listening
          ? new Promise<void>((resolve) => server.httpServer.once('close', () => resolve()))
          : Promise.resolve();
        try {
          await server.close();
          await stopped;
        } finally {
          await unlock();
        }
      })();
      return closing;
    },
  };
}

/** azurite's Table service classes, or `undefined` when the package is not installed. */
function loadAzurite(): AzuriteModules | undefined {
  const require = createRequire(import.meta.url);
  try {
    require.resolve('azurite/package.json');
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'MODULE_NOT_FOUND') return undefined;
    throw error;
  }
  // azurite has no exports map and no programmatic entry: its table CLI (`dist/src/table/main.js`) uses these two.
  const load = <T>(path: string) => (require(`azurite/dist/src/table/${path}`) as { default: T }).default;
  return {
    TableServer: load<AzuriteModules['TableServer']>('TableServer'),
    TableConfiguration: load<TableConfiguration>('TableConfiguration'),
  };
}

/**
 * Takes `dataDir` for this process: LokiJS has no lock of its own, and a
 * second azurite on the same file would overwrite the first's tables when it
 * saves. A lock file whose process is gone is stale and taken over.
 */
async function lock(dataDir: string): Promise<() => Promise<void>> {
  const file = join(dataDir, LOCK_FILE);
  for (let attempt = 1; ; attempt++) {
    try {
      await writeFile(file, `${process.pid}\n`, { flag: 'wx', mode: 0o600 });
      held.add(file);
      return async () => {
        held.delete(file);
        await rm(file, { force: true });
      };
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code !== 'EEXIST') throw error;
    }
    const pid = Number((await readFile(file, 'utf8').catch(() => '')).trim());
    if (attempt > 2 || held.has(file) || (pid !== process.pid && alive(pid))) {
      throw new UnavailableError(
        `cannot lock the Azure Tables directory ${dataDir}: another weft process${pid ? ` (pid ${pid})` : ''} is using it; stop it or choose another data directory`,
      );
    }
    await rm(file, { force: true });
  }
}

function alive(pid: number): boolean {
  if (!Number.isInteger(pid) || pid <= 0) return false;
  try {
    process.kill(pid, 0);
    return true;
  } catch (error) {
    return (error as NodeJS.ErrnoException).code === 'EPERM';
  }
}
