/**
 * `weft get KIND [NAME]`: show resources as a table, YAML or JSON.
 *
 * @module
 */
import { KIND_INFO } from '../../shared/model/kinds.js';
import { ApiClient } from '../api-client.js';
import { booleanFlag, type Command, stringFlag } from '../command.js';
import { resolveConnection } from '../connection.js';
import { EXIT, UsageError } from '../errors.js';
import { kindArg } from '../kind-arg.js';
import { nameArg, namespaceFlag } from '../namespace-flag.js';
import { renderResourceTable } from '../output/columns.js';
import { apiPath, findResource, type ResourceList } from '../resources.js';

const OUTPUTS = ['table', 'yaml', 'json'] as const;
type Output = (typeof OUTPUTS)[number];

export const getCommand: Command = {
  name: 'get',
  usage: 'get KIND [NAME] [-n NAMESPACE | -A] [-l SELECTOR] [-o table|yaml|json] [flags]',
  description: [
    'KIND is a kind, its plural or a short name: meshes, environments (env), gateways (gw),',
    'services (svc), workloads (wl), accesspolicies (ap), routes (rt).',
    'Without -n, namespaced kinds are listed across all namespaces, and a NAME is looked',
    'up in every namespace (it must be unique). -o yaml prints documents that',
    '`weft apply -f -` takes back.',
  ].join('\n'),
  flags: [
    ['-n, --namespace NS', 'only this namespace'],
    ['-A, --all-namespaces', 'every namespace (the default without -n)'],
    ['-l, --selector SELECTOR', 'label selector, e.g. app=web,tier!=db,env in (prod,stage)'],
    ['-o, --output FORMAT', 'table (default), yaml or json'],
  ],
  examples: [
    'weft get services',
    'weft get svc orders -n shop -o yaml',
    'weft get routes -l team=payments -o json',
    'weft get env',
  ],
  options: {
    namespace: { type: 'string', short: 'n' },
    'all-namespaces': { type: 'boolean', short: 'A' },
    selector: { type: 'string', short: 'l' },
    output: { type: 'string', short: 'o' },
  },
  positionals: { min: 1, max: 2 },
  connects: true,

  async run({ values, positionals }, ctx) {
    const kind = kindArg(positionals[0]!, 'get');
    const name = positionals[1] === undefined ? undefined : nameArg(positionals[1], 'get');
    const output = outputFlag(stringFlag(values, 'output'));
    const selector = stringFlag(values, 'selector');
    if (name && selector !== undefined) throw new UsageError('give a NAME or -l SELECTOR, not both', 'get');
    const { namespaced, plural } = KIND_INFO[kind];
    const all = booleanFlag(values, 'all-namespaces');
    const namespace = namespaceFlag(values, 'get');
    if (all && namespace !== undefined) throw new UsageError('give -n NAMESPACE or -A, not both', 'get');
    const client = new ApiClient(await resolveConnection(values, ctx, 'get'));

    if (name) {
      const doc = await findResource(client, kind, name, namespace);
      if (output !== 'table') ctx.out(await render(output, [doc], doc));
      else ctx.out(renderResourceTable(kind, [doc], { namespaceColumn: namespaced }));
      return EXIT.ok;
    }

    const scope = namespaced ? namespace : undefined;
    const list = await client.request<ResourceList>('GET', apiPath(kind, scope), {
      query: { labelSelector: selector },
    });
    if (output === 'json') {
      ctx.out(await render(output, list.items, list));
    } else if (list.items.length === 0) {
      // On stderr, so `-o yaml` into a file or a pipe stays empty.
      ctx.err(
        `No ${plural} found${scope ? ` in namespace ${scope}` : ''}${selector ? ` matching ${selector}` : ''}.`,
      );
    } else if (output === 'yaml') {
      ctx.out(await render(output, list.items, list));
    } else {
      ctx.out(renderResourceTable(kind, list.items, { namespaceColumn: scope === undefined }));
    }
    return EXIT.ok;
  },
};

/**
 * `-o yaml` as documents, `-o json` as `value`. The YAML library loads only
 * for `-o yaml`: it is the largest import `weft get` would otherwise make.
 */
async function render(output: 'yaml' | 'json', docs: readonly unknown[], value: unknown): Promise<string> {
  const { toJson, toYaml } = await import('../output/documents.js');
  return (output === 'yaml' ? toYaml(docs) : toJson(value)).trimEnd();
}

function outputFlag(value: string | undefined): Output {
  if (value === undefined) return 'table';
  if ((OUTPUTS as readonly string[]).includes(value)) return value as Output;
  throw new UsageError(`unknown output format "${value}": use table, yaml or json`, 'get');
}
