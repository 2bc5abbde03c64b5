/**
 * The summary `weft serve` and `weft up` print once at start: where the API
 * is, the admin token (shown on purpose, here only), and lines to try.
 *
 * @module
 */
import { isAbsolute, relative, resolve } from 'node:path';
import type { CommandContext } from '../cli/command.js';
import { DEFAULT_DATA_DIR, DEFAULT_SERVER } from '../cli/connection.js';
import type { ControlPlane } from './control-plane.js';

/** A path as the operator would type it: relative when under the working directory. */
export function shownPath(path: string, cwd: string): string {
  const rel = relative(cwd, path);
  return rel && !rel.startsWith('..') && !isAbsolute(rel) ? rel : path;
}

/** Quotes a word for a POSIX shell when it needs it. */
export function shellQuote(word: string): string {
  return /^[A-Za-z0-9_./:@=-]+$/.test(word) ? word : `'${word.replaceAll("'", `'\\''`)}'`;
}

/** The block under the first line: URL (unless the first line said it), token, token file, data and log. */
export function connectionBlock(
  api: ControlPlane,
  dataDir: string,
  ctx: CommandContext,
  options: { readonly url: boolean },
): string[] {
  return [
    ...(options.url ? [`  API          ${api.url}`] : []),
    `  admin token  ${api.adminToken}`,
    `  token file   ${shownPath(api.adminTokenFile, ctx.cwd)} (mode 0600)`,
    `  data         ${shownPath(dataDir, ctx.cwd)} (state and keys; writes are logged to ${shownPath(api.logFile, ctx.cwd)})`,
  ];
}

/** curl and weft lines that work against this API as started, token read from its file. */
export function tryLines(api: ControlPlane, dataDir: string, ctx: CommandContext): string[] {
  const tokenFile = shellQuote(shownPath(api.adminTokenFile, ctx.cwd));
  return [
    `  curl ${api.url}/v1/services                    # 401: the API wants a token`,
    `  curl -H "Authorization: Bearer $(cat ${tokenFile})" ${api.url}/v1/services`,
    `  npx weft get services${cliFlags(api.url, dataDir, ctx)}`,
  ];
}

/** The flags a client in this directory needs to reach this API: none at the defaults. */
export function cliFlags(url: string, dataDir: string, ctx: CommandContext): string {
  const flags: string[] = [];
  if (url !== (ctx.env.WEFT_SERVER || DEFAULT_SERVER)) flags.push(`--server ${url}`);
  if (dataDir !== resolve(ctx.cwd, ctx.env.WEFT_DATA || DEFAULT_DATA_DIR)) {
    flags.push(`--data ${shellQuote(shownPath(dataDir, ctx.cwd))}`);
  }
  return flags.length > 0 ? ` ${flags.join(' ')}` : '';
}
