/**
 * Whether an agent `weft up` starts needs a join token. A join token is a
 * one-time credential, and an agent with a valid X.509-SVID in its data
 * directory ignores one (leaving it unspent but alive until it expires), so
 * `weft up` mints a token only when the directory holds no SVID for this
 * gateway that stays valid a while yet: the first start, or a restart after
 * the SVID ran out while weft was down.
 *
 * @module
 */
import { X509Certificate } from 'node:crypto';
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import type { ApiClient } from '../cli/api-client.js';

/** An SVID closer to expiry than this gets a fresh token: the agent could not rotate it in time. */
const MIN_REMAINING_MS = 60_000;

/** How long a join token `weft up` mints lives: enough to start, short enough to be useless later. */
export const JOIN_TOKEN_TTL = '10m';

/**
 * True when `dir` holds the agent's key, its trust bundle and an X.509-SVID
 * for `spiffeId` valid for at least another minute. Only a hint: the agent
 * checks the chain itself, and `weft up` retries with a token if it refuses.
 */
export async function hasUsableSvid(dir: string, spiffeId: string, now = Date.now()): Promise<boolean> {
  const [chain, key, bundle] = await Promise.all(
    ['svid.pem', 'svid-key.pem', 'bundle.json'].map((f) =>
      readFile(join(dir, f), 'utf8').catch(() => undefined),
    ),
  );
  if (!chain || !key || !bundle) return false;
  try {
    const leaf = new X509Certificate(chain);
    const uris = (leaf.subjectAltName ?? '').split(', ').filter((n) => n.startsWith('URI:'));
    return uris.includes(`URI:${spiffeId}`) && Date.parse(leaf.validTo) - now > MIN_REMAINING_MS;
  } catch {
    return false;
  }
}

/** Mints a one-time join token for `spiffeId` through the API, as an admin would. */
export async function mintJoinToken(client: ApiClient, spiffeId: string): Promise<string> {
  const { token } = await client.request<{ token: string }>('POST', '/v1/join-tokens', {
    json: { spiffeId, ttl: JOIN_TOKEN_TTL },
  });
  return token;
}

/** The trust domain of the stored Mesh `default`, which every gateway's SPIFFE ID is under. */
export async function trustDomainOf(client: ApiClient): Promise<string> {
  const mesh = await client.request<{ spec: { trustDomain: string } }>('GET', '/v1/meshes/default', {
    notFoundHint: 'the mesh file must hold a Mesh named default',
  });
  return mesh.spec.trustDomain;
}
