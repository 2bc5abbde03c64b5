/**
 * `weft apply -f FILE|DIR|-`: create or update resources from documents.
 *
 * @module
 */
import { ApiClient } from '../api-client.js';
import { applyManifests } from '../apply-manifests.js';
import { booleanFlag, type Command, stringsFlag } from '../command.js';
import { resolveConnection } from '../connection.js';
import { EXIT, UsageError } from '../errors.js';
import { readManifests } from '../manifests.js';
import { formatAction } from '../output/actions.js';

export const applyCommand: Command = {
  name: 'apply',
  summary: 'Create or update resources from YAML or JSON documents',
  usage: 'apply -f FILE|DIR|- [--dry-run] [flags]',
  description: [
    'Sends every document in one request. The API checks them all (schemas, names,',
    'references between them) before it writes any: a batch lands whole or not at all.',
    'A directory applies each *.yaml, *.yml and *.json file in it, in name order.',
  ].join('\n'),
  flags: [
    ['-f, --filename FILE|DIR|-', 'documents to apply; - reads stdin; repeat for more'],
    ['--dry-run', 'validate and show what would change, writing nothing'],
  ],
  examples: [
    'weft apply -f examples/demo-mesh.yaml',
    'weft apply -f manifests/ --dry-run',
    'weft get services -n shop -o yaml | weft apply -f -',
  ],
  options: {
    filename: { type: 'string', short: 'f', multiple: true },
    'dry-run': { type: 'boolean' },
  },
  positionals: { min: 0, max: 0 },
  connects: true,

  async run({ values }, ctx) {
    const paths = stringsFlag(values, 'filename');
    if (paths.length === 0) throw new UsageError('weft apply needs -f FILE, DIR or - (stdin)', 'apply');
    // Read and parse first: a file that does not parse needs no server to say so.
    const manifests = await readManifests(paths, ctx);
    const client = new ApiClient(await resolveConnection(values, ctx, 'apply'));
    const answer = await applyManifests(client, manifests, booleanFlag(values, 'dry-run'));
    for (const result of answer.results) ctx.out(formatAction(result, answer.dryRun));
    return EXIT.ok;
  },
};
