/**
 * `weft serve`: the local API host alone, on the embedded store.
 *
 * @module
 */

import { connectionBlock, shownPath, tryLines } from '../../local-mesh/banner.js';
import { LocalStack, shutDown, stopSignal } from '../../process/stack.js';
import { portFlag } from '../args.js';
import { type Command, stringFlag } from '../command.js';
import { resolveDataDir } from '../connection.js';

export const DEFAULT_API_PORT = 7070;

export const serveCommand: Command = {
  name: 'serve',
  usage: 'serve [--port N] [--host H] [--data DIR]',
  description: [
    'Serves the weft HTTP API on the embedded store in DIR, resuming what it holds.',
    'Each start writes a fresh admin token to DIR/admin-token (mode 0600), which',
    '`weft apply/get/delete` on this machine pick up. Ctrl-C stops it; state stays in DIR.',
  ].join('\n'),
  flags: [
    ['--port N', `port to listen on (default ${DEFAULT_API_PORT}; 0 picks a free one)`],
    ['--host H', 'address to listen on (default 127.0.0.1)'],
    ['--data DIR', 'state, keys and admin token (env WEFT_DATA; default .weft)'],
  ],
  examples: ['weft serve', 'weft serve --port 8080 --data /tmp/weft'],
  options: { port: { type: 'string' }, host: { type: 'string' }, data: { type: 'string' } },
  positionals: { min: 0, max: 0 },
  connects: false,

  async run({ values }, ctx) {
    const port = portFlag(stringFlag(values, 'port'), 'port', 'serve', DEFAULT_API_PORT);
    const host = stringFlag(values, 'host') || '127.0.0.1';
    const dataDir = resolveDataDir(values, ctx);
    const stopped = stopSignal();
    // Loaded here, not at the top: the embedded store and its SDK are heavy,
    // and `weft get` should not pay for them.
    const { startControlPlane } = await import('../../local-mesh/control-plane.js');
    const stack = new LocalStack();
    const api = stack.add(await startControlPlane({ dataDir, host, port, onError: (l) => ctx.err(l) }));
    ctx.out(
      [
        `weft API listening on ${api.url}`,
        ...connectionBlock(api, dataDir, ctx, { url: false }),
        '',
        'Try:',
        ...tryLines(api, dataDir, ctx),
        '',
        `Ctrl-C stops the API; state stays in ${shownPath(dataDir, ctx.cwd)}.`,
      ].join('\n'),
    );
    await stopped;
    const code = await shutDown(stack, (l) => ctx.err(l));
    ctx.out(`weft API stopped; state stays in ${shownPath(dataDir, ctx.cwd)}.`);
    return code;
  },
};
