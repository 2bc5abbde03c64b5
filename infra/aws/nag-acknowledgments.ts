/**
 * The cdk-nag AwsSolutions findings the control plane acknowledges, each on
 * the narrowest construct it applies to, each with its reason. cdk-nag 3
 * runs as a CDK validation plugin, so these are `Validations.acknowledge`s;
 * docs/deploy-aws.md lists the same.
 *
 * @module
 */
import { type CfnElement, Stack, Validations } from 'aws-cdk-lib';
import type { IConstruct } from 'constructs';
import { REGISTRATION_STATUS_PREFIX } from '../../shared/registration/registration-status.js';
import { WEFT_FUNCTION_ACCESS } from './access.js';
import { WEFT_FUNCTIONS, WEFT_RUNTIME } from './functions.js';
import type { WeftControlPlane } from './weft-control-plane.js';

/** The AwsSolutions rule id in the form `Validations.acknowledge` matches. */
const rule = (id: string) => `AwsSolutions::AwsSolutions-${id}`;

/** Reasons, by finding: exported for the test that checks every acknowledgment has one. */
export const NAG_REASONS = {
  runtime:
    `The functions run ${WEFT_RUNTIME}, the runtime weft is built and tested for (functions.ts ` +
    'WEFT_RUNTIME, DESIGN.md section 6); a newer Node.js runtime is adopted there, deliberately, not by the linter.',
  apiAuth:
    'The API authenticates every request itself: operators with OIDC JWTs (issuer, audience and JWKS ' +
    'passed as environment), agents with attestation and JWT-SVIDs, peer clouds with JWS signed by ' +
    'their relay keys. A JWT authorizer could cover only the first, and /healthz and /v1/bundle are public by design.',
  bucketObjects:
    'The state bucket holds only weft objects (snapshots, status, CA public state, replication bookkeeping) ' +
    'whose keys are named at run time; object actions are Get/Put/Delete only, on this one bucket.',
  star:
    'Actions that authorize no resource: kms:CreateKey (the key does not exist yet) and kms:TagResource ' +
    'inside CreateKey (KMS requires a policy not restricted to particular keys), both conditioned on the ' +
    'weft:control-plane request tag and on P-256 SIGN_VERIFY; ec2:DescribeInstances and tag:GetResources ' +
    '(no resource-level permissions); X-Ray PutTraceSegments/PutTelemetryRecords when tracing is on.',
  registrationStatus:
    'The registrar gets and puts only its status documents, one per provider, under registration/ in ' +
    'the state bucket; their names depend on the providers it registers.',
  caAliases:
    'The CA names the keys it creates (root, intermediate, JWT-SVID, and each rotation) at run time under ' +
    'this control plane’s alias prefix only.',
  caKeys:
    'ABAC: the CA creates its keys at run time, so no ARN exists at deploy time; every statement on ' +
    'key/* is conditioned on aws:ResourceTag/weft:control-plane equal to this control plane’s name.',
  ecsTasks:
    'ECS task ARNs are created by ECS at run time in any cluster; DescribeTasks is limited to tasks of ' +
    'this account and region and only reads.',
} as const;

/** Acknowledges exactly the findings the construct produces, per role and function. */
export function acknowledgeNagFindings(cp: WeftControlPlane, options: { readonly tracing: boolean }): void {
  const bucketArn = `<${logicalId(cp.bucket.node.defaultChild)}.Arn>`;
  for (const spec of WEFT_FUNCTIONS) {
    const access = WEFT_FUNCTION_ACCESS[spec.name];
    const fn = cp.functions[spec.name];
    Validations.of(fn).acknowledge({ id: rule('L1'), reason: NAG_REASONS.runtime });
    const role = fn.role;
    if (!role) continue;
    const on = Validations.of(role);
    const iam5 = (resource: string, reason: string) =>
      on.acknowledge({ id: rule(`IAM5[Resource::${resource}]`), reason });
    if (access.bucket === 'all') iam5(`${bucketArn}/*`, NAG_REASONS.bucketObjects);
    if (access.bucket === 'registration') {
      iam5(`${bucketArn}/${REGISTRATION_STATUS_PREFIX}*`, NAG_REASONS.registrationStatus);
    }
    if (access.ca || access.platform || options.tracing) iam5('*', NAG_REASONS.star);
    if (access.ca) {
      iam5(
        `arn:<AWS::Partition>:kms:<AWS::Region>:<AWS::AccountId>:${cp.aliasPrefix}/*`,
        NAG_REASONS.caAliases,
      );
      iam5('arn:<AWS::Partition>:kms:<AWS::Region>:<AWS::AccountId>:key/*', NAG_REASONS.caKeys);
    }
    if (access.platform) {
      iam5('arn:<AWS::Partition>:ecs:<AWS::Region>:<AWS::AccountId>:task/*', NAG_REASONS.ecsTasks);
    }
  }
  // Only routes raise APIG4; acknowledged on the API, it covers each route beneath it.
  Validations.of(cp.httpApi).acknowledge({ id: rule('APIG4'), reason: NAG_REASONS.apiAuth });
}

function logicalId(element: IConstruct | undefined): string {
  return Stack.of(element!).getLogicalId(element as CfnElement);
}
