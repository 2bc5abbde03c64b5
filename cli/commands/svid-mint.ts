/**
 * `weft svid mint --spiffe-id ID`: an operator's JWT-SVID for a Gateway or
 * Service, straight from the API (`POST /v1/svid/jwt/mint`, admin only), as
 * `spire-server jwt mint` does. It exists so a person can call through the
 * mesh as a service without attesting, and so the lines `weft up` prints
 * mint a fresh token every time they run: only the token goes to stdout.
 *
 * @module
 */
import { isDuration } from '../../shared/model/duration.js';
import { ApiClient } from '../api-client.js';
import type { CommandContext } from '../command.js';
import { type FlagValues, stringFlag } from '../command.js';
import { resolveConnection } from '../connection.js';
import { EXIT, UsageError } from '../errors.js';
import { flagFields } from '../problem-message.js';

/** What `POST /v1/svid/jwt/mint` answers. */
interface MintedJwtSvid {
  readonly token: string;
  readonly spiffeId: string;
  readonly audience: string;
  readonly expiresAt: string;
}

/** The flags `svid mint` adds to `svid`, with their help lines. */
export const MINT_OPTIONS = {
  'spiffe-id': { type: 'string' },
  audience: { type: 'string' },
  ttl: { type: 'string' },
} as const;

export const MINT_FLAGS = [
  ['--spiffe-id ID', 'mint: the identity, e.g. spiffe://weft.demo/ns/shop/svc/frontend'],
  ['--audience AUD', 'mint: the aud claim (default spiffe://<td>/gateways, what gateways accept)'],
  ['--ttl DURATION', "mint: 30s, 2m... (default and maximum: the Mesh's jwtSvidTtl, 5m)"],
] as const;

/** Runs `svid mint`: prints the token alone on stdout. */
export async function mintJwtSvid(values: FlagValues, ctx: CommandContext): Promise<number> {
  const spiffeId = stringFlag(values, 'spiffe-id');
  if (!spiffeId) throw new UsageError('svid mint needs --spiffe-id', 'svid');
  const audience = stringFlag(values, 'audience');
  const ttl = stringFlag(values, 'ttl');
  if (ttl !== undefined && !isDuration(ttl))
    throw new UsageError(`--ttl must be a duration such as 30s, 2m or 5m, got "${ttl}"`, 'svid');
  const client = new ApiClient(await resolveConnection(values, ctx, 'svid'));
  const minted = await client.request<MintedJwtSvid>('POST', '/v1/svid/jwt/mint', {
    json: { spiffeId, ...(audience && { audience }), ...(ttl && { ttl }) },
    // The body is made of flags: a refusal names the flag, not the JSON field.
    locateField: flagFields({ '/spiffeId': '--spiffe-id', '/audience': '--audience', '/ttl': '--ttl' }),
  });
  ctx.out(minted.token);
  return EXIT.ok;
}
