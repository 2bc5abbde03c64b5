/**
 * The local control plane as `weft serve` and `weft up` run it: the API host
 * on the embedded store (or, for one cloud of a federated mesh, that cloud's
 * own adapter where an emulator is installed: Azure Tables on azurite), with
 * its write log in `DATA/api.log` so the terminal keeps one readable summary.
 *
 * @module
 */
import { createWriteStream } from 'node:fs';
import { mkdir } from 'node:fs/promises';
import { join } from 'node:path';
import { CliError, EXIT } from '../cli/errors.js';
import { type CloudStateStore, startCloudStateStore } from '../functions/local/cloud-state-store.js';
import { type LocalHostOptions, startLocalHost } from '../functions/local/host.js';
import type { Running } from '../process/stack.js';
import type { ApiLogger } from '../shared/api/create-api.js';

export interface ControlPlaneOptions {
  readonly dataDir: string;
  readonly host: string;
  readonly port: number;
  /** One cloud of a federated mesh (`weft ca init`): its cloud, peers, root and shared operator key. */
  readonly federated?: Pick<
    LocalHostOptions,
    'cloud' | 'federation' | 'caRoot' | 'operatorDir' | 'antiEntropyIntervalMs'
  >;
  /** Where unexpected API errors are echoed besides the log file. */
  readonly onError: (line: string) => void;
}

export interface ControlPlane extends Running {
  readonly url: string;
  readonly adminToken: string;
  readonly adminTokenFile: string;
  readonly logFile: string;
}

/**
 * Starts the API host on `dataDir`, resuming whatever state it holds.
 *
 * @throws CliError (exit 1) when the port is taken or the data directory is in use.
 */
export async function startControlPlane(options: ControlPlaneOptions): Promise<ControlPlane> {
  await mkdir(options.dataDir, { recursive: true, mode: 0o700 });
  const logFile = join(options.dataDir, 'api.log');
  const log = createWriteStream(logFile, { flags: 'a', mode: 0o600 });
  const write = (level: string, event: Record<string, unknown>) =>
    log.write(`${JSON.stringify({ time: new Date().toISOString(), level, ...event })}\n`);
  const logger: ApiLogger = {
    info: (event) => write('info', event),
    warn: (event) => write('warn', event),
    error: (event) => {
      write('error', event);
      // A webhook that found no agent is routine (the agent polls anyway): the log has it, the terminal does not.
      if (event.msg !== 'webhook') options.onError(JSON.stringify({ level: 'error', ...event }));
    },
  };
  let host: Awaited<ReturnType<typeof startLocalHost>>;
  let state: CloudStateStore | undefined;
  try {
    const cloud = options.federated?.cloud;
    state = cloud && (await startCloudStateStore({ cloud, dataDir: options.dataDir, logger }));
    host = await startLocalHost({
      dataDir: options.dataDir,
      host: options.host,
      port: options.port,
      logger,
      ...options.federated,
      ...(state && { store: state.store, joinTokens: state.joinTokens }),
    });
  } catch (cause) {
    // Let go of the emulator's files, or a fixed retry finds them locked.
    await state?.close().catch(() => {});
    log.end();
    throw startError(cause, options);
  }
  return {
    name: options.federated?.cloud ? `API (${options.federated.cloud})` : 'API',
    url: host.url,
    adminToken: host.adminToken,
    adminTokenFile: host.adminTokenFile,
    logFile,
    async close() {
      try {
        await host.close();
      } finally {
        // After the host: compiles in flight read the store.
        await state?.close();
      }
      await new Promise<void>((resolve) => log.end(resolve));
    },
  };
}

function startError(cause: unknown, { host, port, dataDir }: ControlPlaneOptions): CliError {
  const code = (cause as NodeJS.ErrnoException).code;
  const message = (cause as Error).message ?? String(cause);
  let text: string;
  if (code === 'EADDRINUSE') {
    text = `${host}:${port} is already in use: is weft already running? Stop it, or pick another port`;
  } else if (code === 'EADDRNOTAVAIL') {
    text = `cannot listen on ${host}: no such local address`;
  } else if (code === 'EACCES') {
    text = `not allowed to listen on ${host}:${port} or to write ${dataDir}: pick a port above 1023 or another --data`;
  } else if (/lock/i.test(message)) {
    text = `${dataDir} is in use by another weft process: stop it, or pass another --data`;
  } else {
    text = `cannot start the local API on ${dataDir}: ${message.split('\n')[0]}`;
  }
  return new CliError(text, EXIT.failed, [], { cause });
}
