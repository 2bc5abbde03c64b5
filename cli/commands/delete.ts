/**
 * `weft delete KIND NAME`: remove one resource (the API keeps a versioned
 * tombstone, so the delete travels to every cloud like any other write).
 *
 * @module
 */
import { KIND_INFO } from '../../shared/model/kinds.js';
import { ApiClient } from '../api-client.js';
import type { Command } from '../command.js';
import { resolveConnection } from '../connection.js';
import { EXIT } from '../errors.js';
import { kindArg } from '../kind-arg.js';
import { nameArg, namespaceFlag } from '../namespace-flag.js';
import { type ActionResult, formatAction } from '../output/actions.js';
import { apiPath, findResource, listHint } from '../resources.js';

export const deleteCommand: Command = {
  name: 'delete',
  usage: 'delete KIND NAME [-n NAMESPACE] [flags]',
  description: [
    'Without -n, a namespaced resource is looked up in every namespace; the name must be',
    'unique there, or the command asks for -n.',
  ].join('\n'),
  flags: [['-n, --namespace NS', 'the namespace of the resource']],
  examples: ['weft delete service orders -n shop', 'weft delete route orders', 'weft delete env azure'],
  options: { namespace: { type: 'string', short: 'n' } },
  positionals: { min: 2, max: 2 },
  connects: true,

  async run({ values, positionals }, ctx) {
    const kind = kindArg(positionals[0]!, 'delete');
    const name = nameArg(positionals[1]!, 'delete');
    let namespace = namespaceFlag(values, 'delete');
    const client = new ApiClient(await resolveConnection(values, ctx, 'delete'));
    if (KIND_INFO[kind].namespaced && namespace === undefined) {
      namespace = (await findResource(client, kind, name, undefined)).metadata.namespace;
    }
    const path = apiPath(kind, KIND_INFO[kind].namespaced ? namespace : undefined, name);
    const result = await client.request<ActionResult>('DELETE', path, { notFoundHint: listHint(kind) });
    ctx.out(formatAction(result));
    return EXIT.ok;
  },
};
