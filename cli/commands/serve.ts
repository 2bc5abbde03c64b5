/**
 * `weft serve`: the local API host alone, on the embedded store.
 *
 * @module
 */

import { connectionBlock, shownPath, tryLines } from '../../local-mesh/banner.js';
import { LocalStack, shutDown, stopSignal } from '../../process/stack.js';
import { portFlag } from '../args.js';
import { type Command, type CommandContext, type FlagValues, stringFlag } from '../command.js';
import { resolveDataDir } from '../connection.js';
import { UsageError } from '../errors.js';

export const DEFAULT_API_PORT = 7070;

export const serveCommand: Command = {
  name: 'serve',
  usage: 'serve [--port N] [--host H] [--data DIR] [--mesh DIR --cloud CLOUD]',
  description: [
    'Serves the weft HTTP API on the embedded store in DIR, resuming what it holds.',
    'Each start writes a fresh admin token to DIR/admin-token (mode 0600), which',
    '`weft apply/get/delete` on this machine pick up. Ctrl-C stops it; state stays in DIR.',
    '',
    'With --mesh (a federated mesh `weft ca init` made) it is one cloud of several: its data',
    'in MESH/CLOUD, its address and peers from MESH/federation.json, its CA on the mesh root,',
    'and the admin token in MESH/admin-token, valid at every cloud. It relays its writes to',
    'its peers and repairs from them (docs/replication.md). Azure keeps its state in Azure',
    'Tables on an azurite this process runs (MESH/azure/azurite), where azurite is installed.',
  ].join('\n'),
  flags: [
    [
      '--port N',
      `port to listen on (default ${DEFAULT_API_PORT}, or the federation file's; 0 picks a free one)`,
    ],
    ['--host H', "address to listen on (default 127.0.0.1, or the federation file's)"],
    ['--data DIR', 'state, keys and admin token (env WEFT_DATA; default .weft, or MESH/CLOUD)'],
    ['--mesh DIR', 'a federated mesh made by `weft ca init`; needs --cloud'],
    ['--cloud CLOUD', 'which cloud of the mesh this control plane is: aws, gcp, azure or onprem'],
    ['--anti-entropy-interval D', 'how often to compare with each peer (default 30s)'],
  ],
  examples: [
    'weft serve',
    'weft serve --port 8080 --data /tmp/weft',
    'weft serve --mesh .weft-mesh --cloud gcp',
  ],
  options: {
    port: { type: 'string' },
    host: { type: 'string' },
    data: { type: 'string' },
    mesh: { type: 'string' },
    cloud: { type: 'string' },
    'anti-entropy-interval': { type: 'string' },
  },
  positionals: { min: 0, max: 0 },
  connects: false,

  async run({ values }, ctx) {
    const mesh = await meshFlags(values, ctx);
    const port = portFlag(stringFlag(values, 'port'), 'port', 'serve', mesh?.port ?? DEFAULT_API_PORT);
    const host = stringFlag(values, 'host') || mesh?.host || '127.0.0.1';
    const dataDir = stringFlag(values, 'data') || !mesh ? resolveDataDir(values, ctx) : mesh.dataDir;
    const stopped = stopSignal();
    // Loaded here, not at the top: the embedded store and its SDK are heavy,
    // and `weft get` should not pay for them.
    const { startControlPlane } = await import('../../local-mesh/control-plane.js');
    const stack = new LocalStack();
    const api = stack.add(
      await startControlPlane({
        dataDir,
        host,
        port,
        onError: (l) => ctx.err(l),
        ...(mesh && { federated: await mesh.federated(dataDir) }),
      }),
    );
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

/** `--mesh DIR --cloud C`: where this cloud of a federated mesh lives and listens, and its federation. */
async function meshFlags(values: FlagValues, ctx: CommandContext) {
  const meshFlag = stringFlag(values, 'mesh');
  const cloud = stringFlag(values, 'cloud');
  if (!meshFlag) {
    if (cloud)
      throw new UsageError('--cloud names a cloud of a federated mesh: give --mesh DIR too', 'serve');
    return undefined;
  }
  const { PROVIDERS } = await import('../../shared/model/specs.js');
  if (!cloud || !(PROVIDERS as readonly string[]).includes(cloud))
    throw new UsageError(`--mesh needs --cloud, one of ${PROVIDERS.join(', ')}`, 'serve');
  const provider = cloud as (typeof PROVIDERS)[number];
  const { resolve, join } = await import('node:path');
  const { readFile } = await import('node:fs/promises');
  const { parseDuration, isDuration } = await import('../../shared/model/duration.js');
  const dir = resolve(ctx.cwd, meshFlag);
  const federationFile = join(dir, 'federation.json');
  const interval = stringFlag(values, 'anti-entropy-interval') ?? '30s';
  if (!isDuration(interval) || parseDuration(interval) < 100)
    throw new UsageError(
      `--anti-entropy-interval must be a duration of 100ms or more, got "${interval}"`,
      'serve',
    );
  const file = await readFile(federationFile, 'utf8').catch(() => {
    throw new UsageError(
      `${federationFile} does not exist: make the mesh with \`weft ca init --mesh ${meshFlag}\``,
      'serve',
    );
  });
  const listed = (JSON.parse(file) as { clouds?: { cloud: string; url: string }[] }).clouds?.find(
    (c) => c.cloud === cloud,
  );
  if (!listed) throw new UsageError(`${federationFile} lists no cloud ${cloud}`, 'serve');
  const url = new URL(listed.url);
  return {
    dataDir: join(dir, cloud),
    host: url.hostname,
    port: Number(url.port),
    async federated(dataDir: string) {
      const { loadFederation, rootCertFile } = await import('../../functions/local/federation.js');
      return {
        cloud: provider,
        federation: await loadFederation(federationFile, provider, dataDir),
        caRoot: { certPem: await readFile(rootCertFile(join(dir, 'root')), 'utf8') },
        operatorDir: dir,
        antiEntropyIntervalMs: parseDuration(interval),
      };
    },
  };
}
