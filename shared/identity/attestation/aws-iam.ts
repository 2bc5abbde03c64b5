/**
 * AWS attestation by a presigned `sts:GetCallerIdentity` request (the method
 * of Vault's and SPIRE's `aws_iam`): the agent signs the request with its
 * role credentials but does not send it; the control plane sends it to STS,
 * and STS, by answering, vouches for the role. The agent never hands over
 * its credentials, and the signature binds the mesh's audience header.
 *
 * @module
 */
import * as z from 'zod';
import { type AttestationRules, resolveSpiffeId } from '../../model/attestation-rules.js';
import { UnauthenticatedError, UnavailableError } from '../../model/errors.js';
import type { AttestationResult, Attestor } from './attestor.js';
import { parseProof } from './attestor.js';
import {
  AUDIENCE_HEADER,
  FORWARDED_HEADERS,
  parseAmzDate,
  parseSigV4Authorization,
  principalFromResponse,
  stsEndpoint,
} from './aws-sts.js';
import type { ReplayCache } from './replay-cache.js';

/** Configuration of {@link AwsIamAttestor}, fixed at start-up. */
export interface AwsIamAttestorOptions {
  /** What the agent must sign in `X-Weft-Audience`, e.g. `spiffe://acme.test`. */
  readonly audience: string;
  readonly replayCache: ReplayCache;
  /** @default globalThis.fetch */
  readonly fetch?: typeof globalThis.fetch;
  /** Oldest signature accepted (STS itself allows 15 minutes). @default 15 minutes */
  readonly maxAgeMs?: number;
  /** @default 5 seconds */
  readonly timeoutMs?: number;
  /** @default Date.now */
  readonly now?: () => number;
}

const proofSchema = z.strictObject({
  url: z.string().max(2048),
  method: z.literal('POST').optional(),
  headers: z
    .record(z.string().regex(/^[A-Za-z0-9-]{1,64}$/), z.string().regex(/^[\t\x20-\x7e]{0,8192}$/))
    .refine((h) => Object.keys(h).length <= 16, 'too many'),
  body: z.string().max(1024),
});

const FUTURE_SKEW_MS = 5 * 60_000;

/** Attests an agent by its AWS IAM role. */
export class AwsIamAttestor implements Attestor {
  readonly method = 'aws_iam' as const;
  readonly #o: AwsIamAttestorOptions;

  constructor(options: AwsIamAttestorOptions) {
    if (!options.audience) throw new TypeError('AwsIamAttestor needs an audience');
    this.#o = options;
  }

  async attest(proof: unknown, rules: AttestationRules): Promise<AttestationResult> {
    const p = parseProof(proofSchema, proof, this.method);
    if (!rules.aws?.length) throw new UnauthenticatedError('AWS attestation is not enabled in the Mesh');
    const endpoint = stsEndpoint(p.url);
    const headers = new Map<string, string>();
    for (const [name, value] of Object.entries(p.headers)) {
      const lower = name.toLowerCase();
      if (headers.has(lower)) throw new UnauthenticatedError(`header ${lower} appears twice`);
      if (FORWARDED_HEADERS.has(lower)) headers.set(lower, value);
    }
    const auth = parseSigV4Authorization(headers.get('authorization'));
    if (auth.service !== 'sts') throw new UnauthenticatedError('the request is not signed for STS');
    for (const required of ['host', 'x-amz-date', AUDIENCE_HEADER]) {
      if (!auth.signedHeaders.includes(required))
        throw new UnauthenticatedError(`${required} must be signed`);
    }
    const unforwarded = auth.signedHeaders.find((h) => h !== 'host' && !headers.has(h));
    if (unforwarded) throw new UnauthenticatedError(`signed header ${unforwarded} is missing or not allowed`);
    if (headers.get(AUDIENCE_HEADER) !== this.#o.audience) {
      throw new UnauthenticatedError('the proof was made for another audience');
    }
    const body = new URLSearchParams(p.body);
    const params = [...body.keys()].sort().join(',');
    if (
      params !== 'Action,Version' ||
      body.get('Action') !== 'GetCallerIdentity' ||
      body.get('Version') !== '2011-06-15'
    ) {
      throw new UnauthenticatedError('the proof must be an sts:GetCallerIdentity request');
    }
    const now = (this.#o.now ?? Date.now)();
    const signedAt = parseAmzDate(headers.get('x-amz-date'));
    const maxAgeMs = this.#o.maxAgeMs ?? 15 * 60_000;
    if (Number.isNaN(signedAt) || signedAt > now + FUTURE_SKEW_MS)
      throw new UnauthenticatedError('bad X-Amz-Date');
    if (now - signedAt > maxAgeMs) throw new UnauthenticatedError('the signed request has expired');
    if (
      !(await this.#o.replayCache.claim(`aws_iam:${auth.signature}`, signedAt + maxAgeMs + FUTURE_SKEW_MS))
    ) {
      throw new UnauthenticatedError('the signed request was already used');
    }
    const xml = await this.#send(endpoint, headers, p.body);
    const principal = principalFromResponse(xml);
    const matches = rules.aws
      .filter((r) => r.accountId === principal.accountId)
      .filter((r) => !r.roleName || r.roleName === principal.roleName)
      .filter((r) => !r.roleArn || sameRole(r.roleArn, principal.roleArn))
      .map((r) => ({ spiffeId: r.spiffeId, specificity: r.roleArn || r.roleName ? 1 : 0 }));
    return {
      method: this.method,
      spiffeId: resolveSpiffeId(principal.roleArn, matches),
      selectors: [
        `aws_iam:account:${principal.accountId}`,
        `aws_iam:role:${principal.roleArn}`,
        `aws_iam:session:${principal.sessionName}`,
      ],
    };
  }

  async #send(endpoint: string, headers: Map<string, string>, body: string): Promise<string> {
    let response: Response;
    try {
      response = await (this.#o.fetch ?? globalThis.fetch)(endpoint, {
        method: 'POST',
        headers: Object.fromEntries(headers),
        body,
        redirect: 'error',
        signal: AbortSignal.timeout(this.#o.timeoutMs ?? 5000),
      });
    } catch (error) {
      throw new UnavailableError('AWS STS could not be reached', { cause: error });
    }
    const text = (await response.text()).slice(0, 65_536);
    if (response.status >= 500) throw new UnavailableError(`AWS STS answered HTTP ${response.status}`);
    if (response.status !== 200)
      throw new UnauthenticatedError(`AWS STS refused the signed request (HTTP ${response.status})`);
    return text;
  }
}

/** A rule's role ARN may carry a path; an assumed-role ARN never does: compare partition, account and name. */
function sameRole(ruleArn: string, callerArn: string): boolean {
  const [rp, ra, rn] = [ruleArn.split(':')[1], ruleArn.split(':')[4], ruleArn.split('/').at(-1)];
  const [cp, ca, cn] = [callerArn.split(':')[1], callerArn.split(':')[4], callerArn.split('/').at(-1)];
  return rp === cp && ra === ca && rn === cn;
}
