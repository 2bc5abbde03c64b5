/**
 * Attestation rules: how a Mesh maps proof of where an agent runs (a join
 * token, an AWS role, a GCP project and service account, an Azure managed
 * identity) to ONE Gateway or Service SPIFFE ID. The Mesh spec embeds
 * {@link attestationRulesSchema}; the attestors in `attestation/` apply it.
 *
 * @module
 */
import * as z from 'zod';
import { isDuration } from './duration.js';
import { type FieldIssue, UnauthenticatedError } from './errors.js';
import { DNS1123_LABEL, parseSpiffeId } from './names.js';

const MAX_RULES = 256;
const label = DNS1123_LABEL.source.slice(1, -1);
const MESH_IDENTITY_PATH = new RegExp(`^/(gw/${label}/${label}|ns/${label}/svc/${label})$`);

/** True for `spiffe://<td>/gw/<environment>/<gateway>` and `spiffe://<td>/ns/<namespace>/svc/<service>`. */
export function isMeshIdentity(id: string): boolean {
  const parsed = parseSpiffeId(id);
  return parsed !== undefined && MESH_IDENTITY_PATH.test(parsed.path);
}

const spiffeId = z
  .string()
  .max(2048)
  .refine(
    isMeshIdentity,
    'must be a Gateway (spiffe://<td>/gw/<env>/<gw>) or Service (spiffe://<td>/ns/<ns>/svc/<svc>) SPIFFE ID',
  );
const uuid = z
  .string()
  .regex(/^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/, 'must be a lowercase GUID');

const awsRule = z
  .strictObject({
    accountId: z.string().regex(/^\d{12}$/, 'must be a 12-digit AWS account ID'),
    roleArn: z
      .string()
      .regex(
        /^arn:aws(-cn|-us-gov)?:iam::\d{12}:role\/([\w+=,.@-]+\/)*[\w+=,.@-]{1,64}$/,
        'must be an IAM role ARN',
      )
      .optional(),
    roleName: z
      .string()
      .regex(/^[\w+=,.@-]{1,64}$/, 'must be an IAM role name')
      .optional(),
    spiffeId,
  })
  .refine((r) => !(r.roleArn && r.roleName), {
    message: 'give roleArn or roleName, not both',
    path: ['roleName'],
  })
  .refine((r) => !r.roleArn || r.roleArn.split(':')[4] === r.accountId, {
    message: 'roleArn must be in accountId',
    path: ['roleArn'],
  });

const gcpRule = z.strictObject({
  projectId: z.string().regex(/^[a-z][a-z0-9-]{4,28}[a-z0-9]$/, 'must be a GCP project ID'),
  serviceAccount: z.email().max(254).optional().describe('Service account email; any when omitted.'),
  spiffeId,
});

const azureRule = z.strictObject({
  tenantId: uuid,
  objectId: uuid
    .optional()
    .describe('Managed identity object (principal) ID; any in the tenant when omitted.'),
  spiffeId,
});

/** The `attestation` block of a Mesh spec. A method without rules is refused. */
export const attestationRulesSchema = z.strictObject({
  joinToken: z
    .strictObject({
      maxTtl: z
        .string()
        .refine(isDuration, 'must be a duration such as 10m')
        .optional()
        .describe('1s to 24h. Default: 1h'),
    })
    .optional()
    .describe('Present: one-time join tokens may be issued and used.'),
  aws: z.array(awsRule).max(MAX_RULES).optional(),
  gcp: z.array(gcpRule).max(MAX_RULES).optional(),
  azure: z.array(azureRule).max(MAX_RULES).optional(),
});

/** The parsed `attestation` block of a Mesh spec. */
export type AttestationRules = z.infer<typeof attestationRulesSchema>;
/** AWS: an account, optionally one role (by ARN or name). */
export type AwsAttestationRule = z.infer<typeof awsRule>;
/** GCP: a project, optionally one service account. */
export type GcpAttestationRule = z.infer<typeof gcpRule>;
/** Azure: a tenant, optionally one managed identity. */
export type AzureAttestationRule = z.infer<typeof azureRule>;

/** Issues for a Mesh-level check: every rule's SPIFFE ID must be in the Mesh's trust domain. */
export function checkRulesTrustDomain(
  rules: AttestationRules,
  trustDomain: string,
  base = '/spec/attestation',
): FieldIssue[] {
  const issues: FieldIssue[] = [];
  for (const method of ['aws', 'gcp', 'azure'] as const) {
    for (const [i, rule] of (rules[method] ?? []).entries()) {
      if (parseSpiffeId(rule.spiffeId)?.trustDomain !== trustDomain) {
        issues.push({
          pointer: `${base}/${method}/${i}/spiffeId`,
          detail: `must be in trust domain ${trustDomain}`,
        });
      }
    }
  }
  return issues;
}

/**
 * The one SPIFFE ID the matching rules grant. The most specific rules win
 * (a rule naming a role beats one naming only the account); if those still
 * disagree, the proof is refused rather than guessed.
 *
 * @throws UnauthenticatedError when nothing matches or the match is ambiguous.
 */
export function resolveSpiffeId(
  what: string,
  matches: readonly { readonly spiffeId: string; readonly specificity: number }[],
): string {
  if (matches.length === 0) throw new UnauthenticatedError(`no attestation rule in the Mesh admits ${what}`);
  const top = Math.max(...matches.map((m) => m.specificity));
  const ids = new Set(matches.filter((m) => m.specificity === top).map((m) => m.spiffeId));
  if (ids.size > 1) {
    throw new UnauthenticatedError(`attestation rules for ${what} are ambiguous: ${[...ids].join(', ')}`);
  }
  return [...ids][0]!;
}
