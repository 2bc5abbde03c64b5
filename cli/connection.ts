/**
 * Where the API is and which token to bring: flags, then environment, then
 * the local defaults (`weft serve` on 127.0.0.1:7070, its `admin-token` file).
 *
 * @module
 */
import { readFile } from 'node:fs/promises';
import { join, resolve } from 'node:path';
import { type CommandContext, type FlagValues, stringFlag } from './command.js';
import { UsageError } from './errors.js';

export const DEFAULT_SERVER = 'http://127.0.0.1:7070';
export const DEFAULT_DATA_DIR = '.weft';

/** Where the token came from, so a 401 can say what to change. */
export type TokenSource = 'flag' | 'env' | 'file' | 'none';

export interface Connection {
  /** The API's base URL, without a trailing slash. */
  readonly server: string;
  readonly token: string | undefined;
  readonly tokenSource: TokenSource;
  /** The admin-token file looked at (whether or not it was used). */
  readonly tokenFile: string;
}

/** The data directory: `--data`, `WEFT_DATA`, or `.weft` in the working directory. */
export function resolveDataDir(values: FlagValues, ctx: CommandContext): string {
  return resolve(ctx.cwd, stringFlag(values, 'data') || ctx.env.WEFT_DATA || DEFAULT_DATA_DIR);
}

/**
 * Resolves server and token. The token file is read only for a loopback
 * server: the local admin token must never travel to another machine just
 * because `--server` points there.
 *
 * @throws UsageError when `--server` is not an http(s) URL.
 */
export async function resolveConnection(
  values: FlagValues,
  ctx: CommandContext,
  command: string,
): Promise<Connection> {
  const cloud = stringFlag(values, 'cloud');
  if (cloud && stringFlag(values, 'server'))
    throw new UsageError('give --server URL or --cloud CLOUD, not both', command);
  const server = (
    (cloud && (await cloudServer(resolveDataDir(values, ctx), cloud, command))) ||
    stringFlag(values, 'server') ||
    ctx.env.WEFT_SERVER ||
    DEFAULT_SERVER
  ).replace(/\/+$/, '');
  if (!URL.canParse(server) || !/^https?:$/.test(new URL(server).protocol)) {
    throw new UsageError(
      `--server must be an http(s) URL such as ${DEFAULT_SERVER}, got "${server}"`,
      command,
    );
  }
  const tokenFile = join(resolveDataDir(values, ctx), 'admin-token');
  const flag = stringFlag(values, 'token');
  if (flag) return { server, token: flag, tokenSource: 'flag', tokenFile };
  if (ctx.env.WEFT_TOKEN) return { server, token: ctx.env.WEFT_TOKEN, tokenSource: 'env', tokenFile };
  if (isLoopback(new URL(server).hostname)) {
    const token = await readToken(tokenFile);
    if (token) return { server, token, tokenSource: 'file', tokenFile };
  }
  return { server, token: undefined, tokenSource: 'none', tokenFile };
}

async function readToken(file: string): Promise<string | undefined> {
  try {
    return (await readFile(file, 'utf8')).trim() || undefined;
  } catch {
    // No file (no `weft serve` here yet) is the same as no token: the API's 401 says what to do.
    return undefined;
  }
}

function isLoopback(hostname: string): boolean {
  return hostname === 'localhost' || hostname === '[::1]' || /^127\.\d+\.\d+\.\d+$/.test(hostname);
}

/**
 * `--cloud CLOUD`: that cloud's API URL in `DATA/federation.json` (the file
 * `weft up` and `weft ca init` write).
 *
 * @throws UsageError when there is no such file or cloud.
 */
async function cloudServer(dataDir: string, cloud: string, command: string): Promise<string> {
  const file = join(dataDir, 'federation.json');
  let clouds: { cloud?: string; url?: string }[] | undefined;
  try {
    clouds = (JSON.parse(await readFile(file, 'utf8')) as { clouds?: typeof clouds }).clouds;
  } catch {
    throw new UsageError(
      `--cloud needs a federated mesh: ${file} does not exist or is unreadable (start weft up, or pass --data)`,
      command,
    );
  }
  const url = clouds?.find((c) => c.cloud === cloud)?.url;
  if (!url) {
    const known = (clouds ?? []).map((c) => c.cloud).join(', ');
    throw new UsageError(`--cloud ${cloud}: ${file} lists ${known || 'no clouds'}`, command);
  }
  return url;
}
