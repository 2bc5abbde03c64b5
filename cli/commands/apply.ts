/**
 * `weft apply -f FILE|DIR|-`: create or update resources from documents.
 *
 * @module
 */

import { isDuration, parseDuration } from '../../shared/model/duration.js';
import { ApiClient } from '../api-client.js';
import { applyManifests } from '../apply-manifests.js';
import { booleanFlag, type Command, stringFlag, stringsFlag } from '../command.js';
import { resolveConnection } from '../connection.js';
import { EXIT, UsageError } from '../errors.js';
import { readManifests } from '../manifests.js';
import { formatAction } from '../output/actions.js';
import { versionToWaitFor, waitForConvergence } from '../wait-convergence.js';

export const applyCommand: Command = {
  name: 'apply',
  usage: 'apply -f FILE|DIR|- [--dry-run] [--wait [--timeout 2m]] [flags]',
  description: [
    'Sends every document in one request. The API checks them all (schemas, names,',
    'references between them) before it writes any: a batch lands whole or not at all.',
    'A directory applies each *.yaml, *.yml and *.json file in it, in name order.',
  ].join('\n'),
  flags: [
    ['-f, --filename FILE|DIR|-', 'documents to apply; - reads stdin; repeat for more'],
    ['--dry-run', 'validate and show what would change, writing nothing'],
    ['--wait', 'wait until every gateway the change targets has applied it'],
    ['--timeout DURATION', 'how long --wait waits (default 2m); then exit 1 naming the laggards'],
  ],
  examples: [
    'weft apply -f examples/demo-mesh.yaml',
    'weft apply -f manifests/ --dry-run',
    'weft get services -n shop -o yaml | weft apply -f -',
    'weft apply -f policy.yaml --wait --timeout 30s',
  ],
  options: {
    filename: { type: 'string', short: 'f', multiple: true },
    'dry-run': { type: 'boolean' },
    wait: { type: 'boolean' },
    timeout: { type: 'string' },
  },
  positionals: { min: 0, max: 0 },
  connects: true,

  async run({ values }, ctx) {
    const paths = stringsFlag(values, 'filename');
    if (paths.length === 0) throw new UsageError('weft apply needs -f FILE, DIR or - (stdin)', 'apply');
    const wait = booleanFlag(values, 'wait');
    const timeout = stringFlag(values, 'timeout') ?? '2m';
    if (!isDuration(timeout))
      throw new UsageError(`--timeout ${timeout} is not a duration such as 30s or 2m`, 'apply');
    if (wait && booleanFlag(values, 'dry-run'))
      throw new UsageError('--wait and --dry-run do not go together', 'apply');
    // Read and parse first: a file that does not parse needs no server to say so.
    const manifests = await readManifests(paths, ctx);
    const client = new ApiClient(await resolveConnection(values, ctx, 'apply'));
    const answer = await applyManifests(client, manifests, booleanFlag(values, 'dry-run'));
    for (const result of answer.results) ctx.out(formatAction(result, answer.dryRun));
    const version = wait ? versionToWaitFor(answer.results) : undefined;
    if (version) await waitForConvergence(client, version, ctx, { timeoutMs: parseDuration(timeout) });
    return EXIT.ok;
  },
};
