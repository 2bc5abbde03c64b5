/**
 * `weft token create --spiffe-id ID [--ttl 10m]`: a one-time join token with
 * which an agent attests as that identity (`weft agent --join-token`).
 *
 * @module
 */

import { isDuration } from '../../shared/model/duration.js';
import { ApiClient } from '../api-client.js';
import { type Command, stringFlag } from '../command.js';
import { resolveConnection } from '../connection.js';
import { EXIT, UsageError } from '../errors.js';
import { flagFields } from '../problem-message.js';

interface JoinToken {
  readonly token: string;
  readonly spiffeId: string;
  readonly expiresAt: string;
}

export const tokenCommand: Command = {
  name: 'token',
  usage: 'token create --spiffe-id ID [--ttl DURATION] [flags]',
  description: [
    'Asks the API for a join token bound to one SPIFFE ID. It works once, expires after',
    'TTL (default 10m, at most what the Mesh allows), and is stored only as a hash. Only',
    'the token is printed on stdout, so it can be captured: T=$(weft token create ...).',
  ].join('\n'),
  flags: [
    ['--spiffe-id ID', 'the identity the token attests as, e.g. spiffe://weft.demo/gw/aws/aws-edge'],
    ['--ttl DURATION', 'how long it stays usable: 30s, 10m, 1h (default 10m)'],
  ],
  examples: [
    'weft token create --spiffe-id spiffe://weft.demo/gw/aws/aws-edge',
    'weft token create --spiffe-id spiffe://weft.demo/ns/shop/svc/frontend --ttl 1h',
  ],
  options: { 'spiffe-id': { type: 'string' }, ttl: { type: 'string' } },
  positionals: { min: 1, max: 1 },
  connects: true,

  async run({ values, positionals }, ctx) {
    if (positionals[0] !== 'create')
      throw new UsageError(`unknown token action "${positionals[0]}"; use create`, 'token');
    const spiffeId = stringFlag(values, 'spiffe-id');
    if (!spiffeId) throw new UsageError('token create needs --spiffe-id', 'token');
    const ttl = stringFlag(values, 'ttl');
    if (ttl !== undefined && !isDuration(ttl))
      throw new UsageError(`--ttl must be a duration such as 30s, 10m or 1h, got "${ttl}"`, 'token');
    const client = new ApiClient(await resolveConnection(values, ctx, 'token'));
    const created = await client.request<JoinToken>('POST', '/v1/join-tokens', {
      json: { spiffeId, ...(ttl && { ttl }) },
      // The body is made of flags: a refusal names the flag, not the JSON field.
      locateField: flagFields({ '/spiffeId': '--spiffe-id', '/ttl': '--ttl' }),
    });
    ctx.out(created.token);
    ctx.err(`join token for ${created.spiffeId}, usable once until ${created.expiresAt}`);
    return EXIT.ok;
  },
};
