/**
 * The IAM statements of weft's functions that CDK's `grant*` methods cannot
 * write: the CA's keys, which the CA itself creates in KMS (so no construct
 * exists to grant on), and the platform reads of the registrar. Every
 * statement whose resource is `*` or a wildcard ARN says here why.
 *
 * @module
 */
import { Aws } from 'aws-cdk-lib';
import * as iam from 'aws-cdk-lib/aws-iam';
import { WEFT_CONTROL_PLANE_TAG } from './functions.js';

/** Where the CA's keys live: what {@link caKeyStatements} scopes its grants to. */
export interface CaKeyScope {
  /** The alias prefix the CA names its keys under, without a trailing slash: `alias/weft/<name>`. */
  readonly aliasPrefix: string;
  /** The value of the `weft:control-plane` tag the CA puts on every key it creates. */
  readonly tagValue: string;
  /** The relay key: the CA's statements must never reach it, whatever tags it is given later. */
  readonly relayKeyArn: string;
}

/** Every KMS key of this account and region: the ABAC statements narrow it by tag. */
export const KEYS_IN_ACCOUNT = `arn:${Aws.PARTITION}:kms:${Aws.REGION}:${Aws.ACCOUNT_ID}:key/*`;

/**
 * What a function that opens the CA (api, compile, sweep, ingest) needs: the
 * CA creates its root, intermediate and JWT-SVID keys itself on first use and
 * on rotation (KMS asymmetric keys do not rotate, so each rotation is a new
 * key with a new name), so the keys do not exist at deploy time and are
 * authorized by their tag (ABAC), not by ARN.
 */
export function caKeyStatements(scope: CaKeyScope): iam.PolicyStatement[] {
  const requestTag = { [`aws:RequestTag/${WEFT_CONTROL_PLANE_TAG}`]: scope.tagValue };
  const resourceTag = { [`aws:ResourceTag/${WEFT_CONTROL_PLANE_TAG}`]: scope.tagValue };
  const signingKey = { 'kms:KeySpec': 'ECC_NIST_P256', 'kms:KeyUsage': 'SIGN_VERIFY' };
  return [
    new iam.PolicyStatement({
      sid: 'CreateCaKeys',
      // kms:CreateKey authorizes no resource (the key does not exist yet), so `*` is the only
      // resource IAM accepts; the conditions allow only P-256 signing keys carrying our tag.
      actions: ['kms:CreateKey'],
      resources: ['*'],
      conditions: { StringEquals: { ...requestTag, ...signingKey } },
    }),
    new iam.PolicyStatement({
      sid: 'TagCaKeysOnCreate',
      // Tagging inside CreateKey needs kms:TagResource in a policy "that isn't restricted to
      // particular KMS keys" (KMS developer guide, tag-permissions), hence `*`; only our tag value.
      actions: ['kms:TagResource'],
      resources: ['*'],
      conditions: { StringEquals: requestTag },
    }),
    new iam.PolicyStatement({
      sid: 'NameCaKeys',
      // CreateAlias is authorized on the alias and on the key: aliases only under our prefix...
      actions: ['kms:CreateAlias'],
      resources: [`arn:${Aws.PARTITION}:kms:${Aws.REGION}:${Aws.ACCOUNT_ID}:${scope.aliasPrefix}/*`],
    }),
    new iam.PolicyStatement({
      sid: 'UseCaKeys',
      // ...and keys only with our tag (ABAC: the keys' ARNs are not known at deploy time).
      actions: ['kms:CreateAlias', 'kms:DescribeKey', 'kms:GetPublicKey', 'kms:Sign'],
      resources: [KEYS_IN_ACCOUNT],
      conditions: { StringEquals: resourceTag },
    }),
    new iam.PolicyStatement({
      sid: 'DeleteLostCaKeys',
      // Two cold starts may create the same key at once; the loser of the CreateAlias race
      // schedules its key for deletion. Only our tagged P-256 signing keys, never others.
      actions: ['kms:ScheduleKeyDeletion'],
      resources: [KEYS_IN_ACCOUNT],
      conditions: { StringEquals: { ...resourceTag, ...signingKey } },
    }),
    new iam.PolicyStatement({
      sid: 'NeverTheRelayKey',
      // kms:TagResource on `*` could put our tag on the relay key and so reach it through the
      // statements above: an explicit deny keeps the CA's functions away from it.
      effect: iam.Effect.DENY,
      actions: ['kms:CreateAlias', 'kms:ScheduleKeyDeletion', 'kms:TagResource', 'kms:UntagResource'],
      resources: [scope.relayKeyArn],
    }),
  ];
}

/** What registrar and reconcile read of EC2, ECS and the tagging API. */
export function platformReadStatements(): iam.PolicyStatement[] {
  return [
    new iam.PolicyStatement({
      sid: 'DescribeInstances',
      // EC2 Describe* actions support no resource-level permissions: `*` is the only resource.
      actions: ['ec2:DescribeInstances'],
      resources: ['*'],
    }),
    new iam.PolicyStatement({
      sid: 'DescribeTasks',
      actions: ['ecs:DescribeTasks'],
      resources: [`arn:${Aws.PARTITION}:ecs:${Aws.REGION}:${Aws.ACCOUNT_ID}:task/*`],
    }),
    new iam.PolicyStatement({
      sid: 'FindTaggedResources',
      // tag:GetResources searches the account and supports no resource-level permissions.
      actions: ['tag:GetResources'],
      resources: ['*'],
    }),
  ];
}
