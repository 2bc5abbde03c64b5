/**
 * `weft ca`: a federated mesh's identity (docs/replication.md, "Federated
 * identity"). `init` makes the mesh root and, for each cloud, its CA with
 * an intermediate signed by that root, its relay key and the federation
 * file that `weft serve --mesh` reads. `csr`, `sign` and `install` are the
 * three steps of one intermediate, for a rotation, or for a cloud whose
 * keys live elsewhere than the root: `csr` and `install` work on a data
 * directory on this machine (`--root-cert` given) or through a cloud's API
 * (`--server` or `--cloud`), where the CA state and keys are the cloud's.
 *
 * @module
 */
import { existsSync } from 'node:fs';
import { readFile } from 'node:fs/promises';
import { join, resolve } from 'node:path';
import { ApiClient } from '../api-client.js';
import { type Command, type CommandContext, type FlagValues, stringFlag, stringsFlag } from '../command.js';
import { resolveConnection, resolveDataDir } from '../connection.js';
import { EXIT, InputError, UsageError } from '../errors.js';
import { flagFields } from '../problem-message.js';

const CLOUDS = ['aws', 'gcp', 'azure', 'onprem'] as const;
type Cloud = (typeof CLOUDS)[number];
/** Where `init` puts each cloud's API unless told: one port each on loopback. */
const DEFAULT_URLS: Readonly<Record<string, string>> = {
  aws: 'http://127.0.0.1:7070',
  gcp: 'http://127.0.0.1:7071',
  azure: 'http://127.0.0.1:7072',
};

export const caCommand: Command = {
  name: 'ca',
  usage: 'ca init|csr|sign|install [flags]',
  description: [
    'init --mesh DIR --trust-domain TD [--cloud NAME[=URL]]...',
    '    The mesh root in DIR/root (its key stays there: keep it offline), and for each cloud',
    '    (default aws, gcp and azure on 127.0.0.1:7070-7072) DIR/NAME with its own CA on that root',
    '    and its relay key, and DIR/federation.json. Run again: it keeps what exists.',
    'csr --data DIR --cloud NAME --root-cert FILE        print a CSR for a new intermediate',
    'sign --root DIR --cloud NAME --csr FILE            print the intermediate the root signs',
    'install --data DIR --cloud NAME --root-cert FILE --cert FILE',
    '    install it: it issues from now on; the old one stays trusted until it expires.',
    '',
    'csr and install work on the data directory DIR on this machine when --root-cert is given,',
    "and otherwise through a cloud's API (its CA state and keys stay in the cloud), as an admin:",
    "csr --server URL [--token T]                        the cloud's CSR (POST /v1/ca/intermediate-csr)",
    'install --server URL [--token T] --cert FILE       install it (PUT /v1/ca/intermediate)',
    "    or --cloud NAME --data MESH for the cloud's URL in MESH/federation.json, as other commands.",
  ].join('\n'),
  flags: [
    ['--mesh DIR', 'init: where the federated mesh lives'],
    ['--trust-domain TD', 'init: the mesh trust domain, e.g. weft.demo'],
    ['--cloud NAME[=URL]', 'the cloud: aws, gcp, azure or onprem (init: repeatable, with its API URL)'],
    ['--data DIR', "csr, install: the cloud's data directory (through the API: DATA/admin-token)"],
    ['--root DIR', 'sign: the root directory (root.pem and its key)'],
    ['--root-cert FILE', "csr, install: the mesh root's certificate (on this machine)"],
    ['--csr FILE', 'sign: the CSR'],
    ['--cert FILE', 'install: the signed intermediate'],
    ['--server URL', "csr, install: through this cloud's API (env WEFT_SERVER)"],
    ['--token TOKEN', 'csr, install through the API: an admin token (env WEFT_TOKEN)'],
  ],
  examples: [
    'weft ca init --mesh .weft-mesh --trust-domain weft.demo',
    'weft ca csr --data .weft-mesh/aws --cloud aws --root-cert .weft-mesh/root/root.pem > aws.csr',
    'weft ca sign --root .weft-mesh/root --cloud aws --csr aws.csr > aws.pem',
    'weft ca install --data .weft-mesh/aws --cloud aws --root-cert .weft-mesh/root/root.pem --cert aws.pem',
    'weft ca csr --server https://api.aws.example --token "$ADMIN" > aws.csr',
    'weft ca install --server https://api.aws.example --token "$ADMIN" --cert aws.pem',
  ],
  options: {
    mesh: { type: 'string' },
    'trust-domain': { type: 'string' },
    cloud: { type: 'string', multiple: true },
    data: { type: 'string' },
    root: { type: 'string' },
    'root-cert': { type: 'string' },
    csr: { type: 'string' },
    cert: { type: 'string' },
    server: { type: 'string' },
    token: { type: 'string' },
  },
  positionals: { min: 1, max: 1 },
  connects: false,

  async run({ values, positionals }, ctx) {
    const fed = await import('../../functions/local/federation.js');
    const path = (flag: string) => resolve(ctx.cwd, need(values, flag, positionals[0]!));
    switch (positionals[0]) {
      case 'init': {
        const dir = path('mesh');
        const trustDomain = need(values, 'trust-domain', 'init');
        const clouds = cloudsOf(values);
        const { created } = await fed.initRoot(join(dir, 'root'), trustDomain);
        ctx.err(
          `${created ? 'made' : 'kept'} the mesh root: ${join(dir, 'root', 'root.pem')} (its key: keep it offline)`,
        );
        const listed = [];
        for (const { cloud, url } of clouds) {
          const relayKey = await fed.prepareCloud({
            rootDir: join(dir, 'root'),
            cloudDir: join(dir, cloud),
            cloud,
          });
          listed.push({ cloud, url, relayKey });
          ctx.err(`${cloud}: CA on the root, intermediate installed, relay key ${relayKey.kid} (${url})`);
        }
        await fed.writeFederationFile(join(dir, 'federation.json'), { trustDomain, clouds: listed });
        ctx.out(join(dir, 'federation.json'));
        return EXIT.ok;
      }
      case 'csr': {
        if (!onThisMachine(values, 'csr')) return csrThroughApi(values, ctx);
        const ca = await fed.openCloudCa(path('data'), oneCloud(values), await read(path('root-cert')));
        ctx.out((await ca.intermediateCsr(oneCloud(values))).trimEnd());
        return EXIT.ok;
      }
      case 'sign':
        ctx.out((await fed.signWithRoot(path('root'), oneCloud(values), await read(path('csr')))).trimEnd());
        return EXIT.ok;
      case 'install': {
        if (!onThisMachine(values, 'install'))
          return installThroughApi(values, ctx, await read(path('cert')));
        const cloud = oneCloud(values);
        const ca = await fed.openCloudCa(path('data'), cloud, await read(path('root-cert')));
        await ca.installIntermediate(cloud, await read(path('cert')));
        ctx.err(
          `${cloud}: the new intermediate issues from now on; the old one stays trusted until it expires`,
        );
        return EXIT.ok;
      }
      default:
        throw new UsageError(`unknown ca action "${positionals[0]}"; use init, csr, sign or install`, 'ca');
    }
  },
};

interface IntermediateCsr {
  readonly provider: string;
  readonly csr: string;
}

interface InstalledIntermediate {
  readonly provider: string;
  readonly notAfter: string;
  readonly sequence: number;
}

async function csrThroughApi(values: FlagValues, ctx: CommandContext): Promise<number> {
  const client = await apiClient(values, ctx, 'csr');
  const { provider, csr } = await client.request<IntermediateCsr>('POST', '/v1/ca/intermediate-csr');
  ctx.out(csr.trimEnd());
  ctx.err(`${provider}: sign it with weft ca sign --root DIR --cloud ${provider} --csr FILE`);
  return EXIT.ok;
}

async function installThroughApi(
  values: FlagValues,
  ctx: CommandContext,
  certificate: string,
): Promise<number> {
  const client = await apiClient(values, ctx, 'install');
  const installed = await client.request<InstalledIntermediate>('PUT', '/v1/ca/intermediate', {
    json: { certificate },
    locateField: flagFields({ '/certificate': '--cert' }),
  });
  ctx.err(
    `${installed.provider}: the new intermediate (until ${installed.notAfter}) issues from now on; ` +
      `the old one stays trusted until it expires (bundle sequence ${installed.sequence})`,
  );
  return EXIT.ok;
}

/**
 * Whether `csr` or `install` works on a data directory here (`--root-cert`
 * given) rather than through a cloud's API (`--server`, `--cloud` or WEFT_SERVER).
 *
 * @throws UsageError when both or neither are asked for.
 */
function onThisMachine(values: FlagValues, action: string): boolean {
  const local = stringFlag(values, 'root-cert') !== undefined;
  const api = stringFlag(values, 'server') !== undefined || stringFlag(values, 'token') !== undefined;
  if (local && api)
    throw new UsageError(
      `ca ${action}: give --server (through the cloud's API) or --root-cert (a data directory here), not both`,
      'ca',
    );
  return local;
}

/** The cloud's API, as the connection flags say: `--server`, or `--cloud` in DATA/federation.json. */
async function apiClient(values: FlagValues, ctx: CommandContext, action: string): Promise<ApiClient> {
  const server = stringFlag(values, 'server');
  const cloud = stringsFlag(values, 'cloud').length > 0 ? oneCloud(values) : undefined;
  if (!server && !cloud && !ctx.env.WEFT_SERVER)
    throw new UsageError(
      `ca ${action} needs --server URL (through a cloud's API) or --root-cert FILE with --data and --cloud (on this machine)`,
      'ca',
    );
  if (!server && cloud && !existsSync(join(resolveDataDir(values, ctx), 'federation.json')))
    throw new UsageError(
      `ca ${action} --cloud ${cloud}: ${join(resolveDataDir(values, ctx), 'federation.json')} does not exist; ` +
        `give --root-cert FILE for a data directory here, or --server URL for the cloud's API`,
      'ca',
    );
  const connection = { ...values, cloud };
  return new ApiClient(await resolveConnection(connection, ctx, 'ca'));
}

function need(values: FlagValues, flag: string, action: string): string {
  const value = stringFlag(values, flag) ?? stringsFlag(values, flag)[0];
  if (!value) throw new UsageError(`ca ${action} needs --${flag}`, 'ca');
  return value;
}

function isCloud(name: string): name is Cloud {
  return (CLOUDS as readonly string[]).includes(name);
}

function oneCloud(values: FlagValues): Cloud {
  const [cloud, ...more] = stringsFlag(values, 'cloud');
  if (!cloud || more.length > 0 || !isCloud(cloud))
    throw new UsageError(`give one --cloud: ${CLOUDS.join(', ')}`, 'ca');
  return cloud;
}

function cloudsOf(values: FlagValues): { cloud: Cloud; url: string }[] {
  const given = stringsFlag(values, 'cloud');
  const names = given.length > 0 ? given : ['aws', 'gcp', 'azure'];
  return names.map((entry) => {
    const [cloud = '', url] = entry.split(/=(.*)/s);
    if (!isCloud(cloud))
      throw new UsageError(`--cloud ${entry}: the cloud is one of ${CLOUDS.join(', ')}`, 'ca');
    const address = url || DEFAULT_URLS[cloud];
    if (!address || !URL.canParse(address))
      throw new UsageError(
        `--cloud ${entry}: give its API URL, as in --cloud ${cloud}=http://127.0.0.1:7073`,
        'ca',
      );
    return { cloud, url: address };
  });
}

async function read(file: string): Promise<string> {
  try {
    return await readFile(file, 'utf8');
  } catch (cause) {
    throw new InputError(`cannot read ${file}: ${(cause as Error).message}`, { cause });
  }
}
