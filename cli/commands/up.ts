/**
 * `weft up` (and `npm start`): the local mesh on one machine. Today that is
 * the control plane plus the demo mesh; gateway agents join the same stack
 * later, started after the API and stopped before it.
 *
 * @module
 */
import { fileURLToPath } from 'node:url';
import { ApiClient } from '../api-client.js';
import { applyManifests } from '../apply-manifests.js';
import { portFlag } from '../args.js';
import { type Command, type CommandContext, stringFlag } from '../command.js';
import { resolveDataDir } from '../connection.js';
import { connectionBlock, shownPath, tryLines } from '../local/banner.js';
import type { ControlPlane } from '../local/control-plane.js';
import { LocalStack, shutDown, stopSignal } from '../local/stack.js';
import { readManifests } from '../manifests.js';
import { countActions, formatAction } from '../output/actions.js';
import { DEFAULT_API_PORT } from './serve.js';

/** The demo mesh, found next to the code so `weft up` works from any directory. */
const DEMO_MESH = fileURLToPath(new URL('../../examples/demo-mesh.yaml', import.meta.url));

export const upCommand: Command = {
  name: 'up',
  summary: 'Run the local mesh: the API plus the demo mesh (what npm start runs)',
  usage: 'up [--data DIR] [--api-port N]',
  description: [
    'Starts the control plane on the embedded store in DIR and applies',
    'examples/demo-mesh.yaml (again on every start: unchanged documents stay as they',
    'are, edited demo resources are set back). Ctrl-C stops it; state stays in DIR.',
  ].join('\n'),
  flags: [
    ['--data DIR', 'state, keys and admin token (env WEFT_DATA; default .weft)'],
    ['--api-port N', `port of the API (default ${DEFAULT_API_PORT}; 0 picks a free one)`],
  ],
  examples: ['weft up', 'npm start', 'weft up --data /tmp/weft --api-port 8080'],
  options: { data: { type: 'string' }, 'api-port': { type: 'string' } },
  positionals: { min: 0, max: 0 },
  connects: false,

  async run({ values }, ctx) {
    const port = portFlag(stringFlag(values, 'api-port'), 'api-port', 'up', DEFAULT_API_PORT);
    const dataDir = resolveDataDir(values, ctx);
    const stopped = stopSignal();
    const { startControlPlane } = await import('../local/control-plane.js');
    const stack = new LocalStack();
    try {
      const api = stack.add(
        await startControlPlane({ dataDir, host: '127.0.0.1', port, onError: (l) => ctx.err(l) }),
      );
      const applied = await applyDemo(api, ctx);
      ctx.out(
        [
          'weft is up: the control plane runs locally (gateway agents are not part of it yet).',
          ...connectionBlock(api, dataDir, ctx, { url: true }),
          '',
          ...applied,
          '',
          'Try:',
          ...tryLines(api, dataDir, ctx),
          '',
          `Ctrl-C stops weft; state stays in ${shownPath(dataDir, ctx.cwd)}.`,
        ].join('\n'),
      );
    } catch (error) {
      await stack.close();
      throw error;
    }
    await stopped;
    const code = await shutDown(stack, (l) => ctx.err(l));
    ctx.out(`weft stopped; state stays in ${shownPath(dataDir, ctx.cwd)}.`);
    return code;
  },
};

/** Applies the demo mesh through the API, like any operator would, and says what changed. */
async function applyDemo(api: ControlPlane, ctx: CommandContext): Promise<string[]> {
  const file = shownPath(DEMO_MESH, ctx.cwd);
  const manifests = await readManifests([file], ctx);
  const client = new ApiClient({
    server: api.url,
    token: api.adminToken,
    tokenSource: 'file',
    tokenFile: api.adminTokenFile,
  });
  const { results } = await applyManifests(client, manifests, false);
  // Unchanged documents are only counted: a restart prints one line, not the whole mesh again.
  const changed = results.filter((r) => r.action !== 'unchanged');
  return [
    `Applied ${file} (${countActions(results)})${changed.length > 0 ? ':' : '.'}`,
    ...changed.map((r) => `  ${formatAction(r)}`),
  ];
}
