import { spawnSync } from 'node:child_process';
import { existsSync, readFileSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import { Match } from 'aws-cdk-lib/assertions';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { WEFT_ENV, WEFT_FUNCTIONS, type WeftFunction } from '../../../infra/aws/functions.js';
import { type Synthesized, synthWeftStack } from './synth.js';

type Name = WeftFunction['name'];
type Statement = {
  Effect: string;
  Action: string | string[];
  Resource: unknown;
  Condition?: Record<string, Record<string, unknown>>;
};
type Resources = Record<string, { Type: string; Properties: Record<string, unknown> }>;

let synth: Synthesized;
let resources: Resources;

beforeAll(() => {
  // One synth for the file, bundling the seven functions with esbuild: slow on a busy machine.
  synth = synthWeftStack();
  resources = synth.template.toJSON().Resources;
}, 180_000);

afterAll(() => rmSync(synth.outdir, { recursive: true, force: true }));

const ofType = (type: string) => Object.entries(resources).filter(([, r]) => r.Type === type);
const actionsOf = (s: Statement) => (Array.isArray(s.Action) ? s.Action : [s.Action]);
const resourcesOf = (s: Statement) => (Array.isArray(s.Resource) ? s.Resource : [s.Resource]);

/** Logical id of each function's role, by function name (matched on the description). */
function roleIds(): Record<Name, string> {
  const ids: Partial<Record<Name, string>> = {};
  for (const [, fn] of ofType('AWS::Lambda::Function')) {
    const spec = WEFT_FUNCTIONS.find((f) => f.description === fn.Properties.Description);
    if (!spec) continue;
    ids[spec.name] = (fn.Properties.Role as { 'Fn::GetAtt': [string, string] })['Fn::GetAtt'][0];
  }
  return ids as Record<Name, string>;
}

/** Every statement of every policy attached to the role. */
function statementsOf(roleId: string): Statement[] {
  const role = resources[roleId]!;
  const inline = (
    (role.Properties.Policies as { PolicyDocument: { Statement: Statement[] } }[]) ?? []
  ).flatMap((p) => p.PolicyDocument.Statement);
  const attached = ofType('AWS::IAM::Policy')
    .filter(([, p]) => (p.Properties.Roles as { Ref: string }[]).some((r) => r.Ref === roleId))
    .flatMap(([, p]) => (p.Properties.PolicyDocument as { Statement: Statement[] }).Statement);
  return [...inline, ...attached];
}

const LOGS = ['logs:CreateLogStream', 'logs:PutLogEvents'];
const TABLE = [
  'dynamodb:DeleteItem',
  'dynamodb:GetItem',
  'dynamodb:PutItem',
  'dynamodb:Query',
  'dynamodb:Scan',
  'dynamodb:UpdateItem',
];
const BUCKET = ['s3:DeleteObject', 's3:GetObject', 's3:ListBucket', 's3:PutObject'];
const REGISTRATION_STATUS = ['s3:GetObject', 's3:ListBucket', 's3:PutObject'];
const PUBLISH = ['events:PutEvents'];
const CA = [
  'kms:CreateAlias',
  'kms:CreateKey',
  'kms:DescribeKey',
  'kms:GetPublicKey',
  'kms:ScheduleKeyDeletion',
  'kms:Sign',
  'kms:TagResource',
];
const RELAY = ['kms:GetPublicKey', 'kms:Sign'];
const PLATFORM = ['ec2:DescribeInstances', 'ecs:DescribeTasks', 'tag:GetResources'];
const DLQ = ['sqs:SendMessage'];

/** The exact Allow actions of each function's role. */
const EXPECTED_ALLOW: Record<Name, string[]> = {
  api: [...LOGS, ...TABLE, ...BUCKET, ...PUBLISH, ...CA],
  ingest: [...LOGS, ...TABLE, ...BUCKET, ...PUBLISH, ...CA, ...RELAY],
  compile: [...LOGS, ...TABLE, ...BUCKET, ...CA, ...DLQ],
  sweep: [...LOGS, ...TABLE, ...BUCKET, ...PUBLISH, ...CA, ...RELAY],
  relay: [...LOGS, ...BUCKET, ...RELAY, ...DLQ],
  registrar: [...LOGS, ...TABLE, ...REGISTRATION_STATUS, ...PUBLISH, ...PLATFORM, ...DLQ],
  reconcile: [...LOGS, ...TABLE, ...REGISTRATION_STATUS, ...PUBLISH, ...PLATFORM],
};
const CA_DENY = ['kms:CreateAlias', 'kms:ScheduleKeyDeletion', 'kms:TagResource', 'kms:UntagResource'];
const OPENS_CA: Name[] = ['api', 'ingest', 'compile', 'sweep'];

/** The only statements allowed on `*`, and why. */
const STAR_ALLOWLIST: Record<string, string> = {
  'kms:CreateKey': 'a key being created has no ARN; conditioned on the request tag and P-256 SIGN_VERIFY',
  'kms:TagResource': 'tagging inside CreateKey needs a policy not restricted to particular keys',
  'ec2:DescribeInstances': 'EC2 Describe actions support no resource-level permissions',
  'tag:GetResources': 'the tagging API supports no resource-level permissions',
};

describe('WeftControlPlane resources', () => {
  it('creates exactly these resource types', () => {
    const counts: Record<string, number> = {};
    for (const r of Object.values(resources)) counts[r.Type] = (counts[r.Type] ?? 0) + 1;
    expect(counts).toEqual({
      'AWS::ApiGatewayV2::Api': 1,
      'AWS::ApiGatewayV2::Integration': 2,
      'AWS::ApiGatewayV2::Route': 3,
      'AWS::ApiGatewayV2::Stage': 1,
      'AWS::DynamoDB::Table': 1,
      'AWS::Events::EventBus': 1,
      'AWS::Events::Rule': 6,
      'AWS::IAM::Policy': 8,
      'AWS::IAM::Role': 8,
      'AWS::KMS::Alias': 1,
      'AWS::KMS::Key': 1,
      'AWS::Lambda::Function': 7,
      'AWS::Lambda::Permission': 9,
      'AWS::Logs::LogGroup': 8,
      'AWS::S3::Bucket': 2,
      'AWS::S3::BucketPolicy': 2,
      'AWS::SQS::Queue': 3,
      'AWS::SQS::QueuePolicy': 3,
      'AWS::Scheduler::Schedule': 2,
    });
  });

  it('has the seven functions on nodejs22.x, arm64, each with its own role and log group', () => {
    const functions = ofType('AWS::Lambda::Function');
    expect(functions.map(([, f]) => f.Properties.Description).sort()).toEqual(
      WEFT_FUNCTIONS.map((f) => f.description).sort(),
    );
    for (const [, fn] of functions) {
      const spec = WEFT_FUNCTIONS.find((f) => f.description === fn.Properties.Description)!;
      expect(fn.Properties).toMatchObject({
        Runtime: 'nodejs22.x',
        Architectures: ['arm64'],
        Handler: `index.${spec.handler}`,
        MemorySize: spec.memorySize ?? 512,
        Timeout: spec.timeout ?? 30,
        LoggingConfig: { LogFormat: 'JSON', LogGroup: { Ref: expect.any(String) } },
      });
      expect(Object.keys((fn.Properties.Environment as { Variables: object }).Variables).sort()).toEqual(
        // The root certificate only in a federated mesh (props.test.ts).
        Object.values(WEFT_ENV)
          .filter((name) => name !== WEFT_ENV.rootCert)
          .sort(),
      );
    }
    expect(new Set(Object.values(roleIds())).size).toBe(7);
    const logGroups = new Set(
      functions.map(([, f]) => (f.Properties.LoggingConfig as { LogGroup: { Ref: string } }).LogGroup.Ref),
    );
    expect(logGroups.size).toBe(7);
    synth.template.allResourcesProperties('AWS::Logs::LogGroup', { RetentionInDays: 30 });
  });

  it('passes the operator settings, peers and names as environment', () => {
    synth.template.hasResourceProperties('AWS::Lambda::Function', {
      Description: Match.stringLikeRegexp('^weft API'),
      Environment: {
        Variables: Match.objectLike({
          WEFT_OPERATOR_ISSUER: 'https://login.example.com/',
          WEFT_OPERATOR_AUDIENCE: 'weft',
          WEFT_OPERATOR_JWKS_URL: 'https://login.example.com/.well-known/jwks.json',
          WEFT_PEERS: '[]',
          WEFT_KMS_ALIAS_PREFIX: 'alias/weft/main',
          WEFT_KMS_KEY_TAG: 'main',
          WEFT_DEFAULT_ENVIRONMENT: { 'Fn::Join': ['', ['aws-', { Ref: 'AWS::Region' }]] },
          WEFT_RELAY_KEY_ARN: { 'Fn::GetAtt': [Match.stringLikeRegexp('RelayKey'), 'Arn'] },
        }),
      },
    });
  });

  it('bundles each function as ESM with the banner, the AWS SDK clients inside (nothing imported from the runtime)', () => {
    const assetDirs = ofType('AWS::Lambda::Function').map(([, f]) => {
      const key = (f.Properties.Code as { S3Key: string }).S3Key;
      return join(synth.outdir, `asset.${key.replace(/\.zip$/, '')}`);
    });
    for (const dir of assetDirs) {
      const bundle = readFileSync(join(dir, 'index.mjs'), 'utf8');
      expect(bundle.startsWith('import { createRequire as __weftRequire }')).toBe(true);
      expect(existsSync(join(dir, 'node_modules'))).toBe(false);
    }
    const api = readFileSync(join(assetDirs[0]!, 'index.mjs'), 'utf8');
    expect(api).not.toMatch(/from\s*"@aws-sdk\//);
    expect(api).toContain('GetObjectCommand');
  });

  it('keeps state in an on-demand table with PITR, TTL, deletion protection, retained', () => {
    synth.template.hasResource('AWS::DynamoDB::Table', {
      DeletionPolicy: 'Retain',
      UpdateReplacePolicy: 'Retain',
      Properties: {
        KeySchema: [
          { AttributeName: 'pk', KeyType: 'HASH' },
          { AttributeName: 'sk', KeyType: 'RANGE' },
        ],
        AttributeDefinitions: [
          { AttributeName: 'pk', AttributeType: 'S' },
          { AttributeName: 'sk', AttributeType: 'S' },
        ],
        BillingMode: 'PAY_PER_REQUEST',
        PointInTimeRecoverySpecification: { PointInTimeRecoveryEnabled: true },
        TimeToLiveSpecification: { AttributeName: 'expiresAt', Enabled: true },
        DeletionProtectionEnabled: true,
        SSESpecification: { SSEEnabled: true },
      },
    });
  });

  it('keeps objects in a private, encrypted, versioned, logged bucket, retained', () => {
    synth.template.hasResource('AWS::S3::Bucket', {
      DeletionPolicy: 'Retain',
      Properties: {
        VersioningConfiguration: { Status: 'Enabled' },
        PublicAccessBlockConfiguration: {
          BlockPublicAcls: true,
          BlockPublicPolicy: true,
          IgnorePublicAcls: true,
          RestrictPublicBuckets: true,
        },
        BucketEncryption: {
          ServerSideEncryptionConfiguration: [{ ServerSideEncryptionByDefault: { SSEAlgorithm: 'AES256' } }],
        },
        LoggingConfiguration: { DestinationBucketName: { Ref: Match.stringLikeRegexp('AccessLogs') } },
        LifecycleConfiguration: {
          Rules: [
            Match.objectLike({ NoncurrentVersionExpiration: { NoncurrentDays: 30 }, Status: 'Enabled' }),
          ],
        },
      },
    });
    // enforceSSL on both buckets: deny every request not over TLS.
    for (const [, policy] of ofType('AWS::S3::BucketPolicy')) {
      expect((policy.Properties.PolicyDocument as { Statement: Statement[] }).Statement).toContainEqual(
        expect.objectContaining({
          Effect: 'Deny',
          Action: 's3:*',
          Condition: { Bool: { 'aws:SecureTransport': 'false' } },
        }),
      );
    }
  });

  it('creates the relay key as a P-256 signing key with its alias, untagged for the CA', () => {
    synth.template.hasResource('AWS::KMS::Key', {
      DeletionPolicy: 'Retain',
      Properties: { KeySpec: 'ECC_NIST_P256', KeyUsage: 'SIGN_VERIFY', EnableKeyRotation: Match.absent() },
    });
    synth.template.hasResourceProperties('AWS::KMS::Alias', { AliasName: 'alias/weft/main/relay' });
    const [, key] = ofType('AWS::KMS::Key')[0]!;
    // The CA's ABAC grants match this tag: the relay key must not carry it.
    expect(JSON.stringify(key.Properties.Tags ?? [])).not.toContain('weft:control-plane');
    // Key policy: the account's default (root), nothing else.
    expect((key.Properties.KeyPolicy as { Statement: Statement[] }).Statement).toEqual([
      expect.objectContaining({ Action: 'kms:*', Effect: 'Allow', Resource: '*' }),
    ]);
  });

  it('routes the HTTP API: everything to api, /v1/replication/* to ingest, with access logs and throttling', () => {
    const routes = ofType('AWS::ApiGatewayV2::Route').map(([, r]) => r.Properties);
    const integrations = Object.fromEntries(ofType('AWS::ApiGatewayV2::Integration'));
    const target = (route: Record<string, unknown>) => {
      const ref = (route.Target as { 'Fn::Join': [string, [string, { Ref: string }]] })['Fn::Join'][1][1].Ref;
      const uri = integrations[ref]!.Properties.IntegrationUri as { 'Fn::GetAtt': [string, string] };
      const fn = resources[uri['Fn::GetAtt'][0]]!;
      return WEFT_FUNCTIONS.find((f) => f.description === fn.Properties.Description)!.name;
    };
    expect(Object.fromEntries(routes.map((r) => [r.RouteKey, target(r)]))).toEqual({
      'ANY /': 'api',
      'ANY /{proxy+}': 'api',
      'ANY /v1/replication/{proxy+}': 'ingest',
    });
    synth.template.hasResourceProperties('AWS::ApiGatewayV2::Integration', {
      IntegrationType: 'AWS_PROXY',
      PayloadFormatVersion: '2.0',
    });
    synth.template.hasResourceProperties('AWS::ApiGatewayV2::Stage', {
      StageName: '$default',
      AutoDeploy: true,
      DefaultRouteSettings: { ThrottlingRateLimit: 50, ThrottlingBurstLimit: 100 },
      AccessLogSettings: {
        DestinationArn: { 'Fn::GetAtt': [Match.stringLikeRegexp('ApiAccessLogs'), 'Arn'] },
        Format: Match.stringLikeRegexp('\\$context\\.requestId'),
      },
    });
  });

  it('routes changes on weft-main to compile and relay, and platform events to registrar', () => {
    const rules = ofType('AWS::Events::Rule').map(([, r]) => r.Properties);
    const targetName = (rule: Record<string, unknown>) => {
      const [t] = rule.Targets as { Arn: { 'Fn::GetAtt': [string] } }[];
      const fn = resources[t!.Arn['Fn::GetAtt'][0]]!;
      return WEFT_FUNCTIONS.find((f) => f.description === fn.Properties.Description)!.name;
    };
    const changed = { source: ['dev.weft.aws'], 'detail-type': ['dev.weft.resource.changed'] };
    const tag = (service: string, type: string) => ({
      source: ['aws.tag'],
      'detail-type': ['Tag Change on Resource'],
      detail: { service: [service], 'resource-type': [type], 'changed-tag-keys': [{ prefix: 'weft:' }] },
    });
    expect(
      rules.map((r) => ({
        bus: (r.EventBusName as { Ref?: string }).Ref ? 'weft' : r.EventBusName,
        pattern: r.EventPattern,
        target: targetName(r),
      })),
    ).toEqual(
      expect.arrayContaining([
        { bus: 'weft', pattern: changed, target: 'compile' },
        { bus: 'weft', pattern: changed, target: 'relay' },
        { bus: 'default', pattern: tag('ec2', 'instance'), target: 'registrar' },
        { bus: 'default', pattern: tag('ecs', 'task'), target: 'registrar' },
        {
          bus: 'default',
          pattern: { source: ['aws.ec2'], 'detail-type': ['EC2 Instance State-change Notification'] },
          target: 'registrar',
        },
        {
          bus: 'default',
          pattern: { source: ['aws.ecs'], 'detail-type': ['ECS Task State Change'] },
          target: 'registrar',
        },
      ]),
    );
    expect(rules).toHaveLength(6);
    for (const rule of rules) {
      expect((rule.Targets as object[])[0]).toMatchObject({
        DeadLetterConfig: { Arn: { 'Fn::GetAtt': [expect.stringMatching(/DeadLetters/), 'Arn'] } },
        RetryPolicy: { MaximumRetryAttempts: 8, MaximumEventAgeInSeconds: 7200 },
      });
    }
    synth.template.hasResourceProperties('AWS::Events::EventBus', { Name: 'weft-main' });
    synth.template.allResourcesProperties('AWS::SQS::Queue', {
      SqsManagedSseEnabled: true,
      MessageRetentionPeriod: 1_209_600,
    });
    for (const [, policy] of ofType('AWS::SQS::QueuePolicy')) {
      expect((policy.Properties.PolicyDocument as { Statement: Statement[] }).Statement).toContainEqual(
        expect.objectContaining({ Effect: 'Deny', Condition: { Bool: { 'aws:SecureTransport': 'false' } } }),
      );
    }
  });

  it('schedules sweep every minute and reconcile every 15 minutes through one narrow role', () => {
    const schedules = ofType('AWS::Scheduler::Schedule').map(([, s]) => s.Properties);
    const byTarget = Object.fromEntries(
      schedules.map((s) => {
        const target = s.Target as { Arn: { 'Fn::GetAtt': [string] }; RoleArn: { 'Fn::GetAtt': [string] } };
        const fn = resources[target.Arn['Fn::GetAtt'][0]]!;
        const name = WEFT_FUNCTIONS.find((f) => f.description === fn.Properties.Description)!.name;
        return [name, { expression: s.ScheduleExpression, role: target.RoleArn['Fn::GetAtt'][0] }];
      }),
    );
    expect(byTarget).toEqual({
      sweep: { expression: 'rate(1 minute)', role: expect.any(String) },
      reconcile: { expression: 'rate(15 minutes)', role: expect.any(String) },
    });
    const roleId = byTarget.sweep!.role;
    expect(byTarget.reconcile!.role).toBe(roleId);
    const ids = roleIds();
    expect(statementsOf(roleId)).toEqual([
      {
        Effect: 'Allow',
        Action: 'lambda:InvokeFunction',
        Resource: [
          { 'Fn::GetAtt': [expect.stringMatching(/Sweep/), 'Arn'] },
          { 'Fn::GetAtt': [expect.stringMatching(/Reconcile/), 'Arn'] },
        ],
      },
    ]);
    expect(resources[roleId]!.Properties.AssumeRolePolicyDocument).toMatchObject({
      Statement: [
        {
          Principal: { Service: 'scheduler.amazonaws.com' },
          Condition: { StringEquals: expect.any(Object) },
        },
      ],
    });
    expect(Object.values(ids)).not.toContain(roleId);
  });

  it('outputs the API URL, bus, table, bucket and relay key', () => {
    expect(Object.keys(synth.template.toJSON().Outputs).sort()).toEqual(
      ['ApiUrl', 'BucketName', 'EventBusName', 'RelayKeyArn', 'TableName'].sort(),
    );
  });
});

describe('WeftControlPlane IAM', () => {
  it('gives each function exactly the actions it needs', () => {
    const ids = roleIds();
    const actual = Object.fromEntries(
      Object.entries(ids).map(([name, id]) => [
        name,
        [
          ...new Set(
            statementsOf(id)
              .filter((s) => s.Effect === 'Allow')
              .flatMap(actionsOf),
          ),
        ].sort(),
      ]),
    );
    const expected = Object.fromEntries(
      Object.entries(EXPECTED_ALLOW).map(([name, actions]) => [name, [...new Set(actions)].sort()]),
    );
    expect(actual).toEqual(expected);
  });

  it('denies the CA functions any way to adopt or destroy the relay key', () => {
    const ids = roleIds();
    for (const [name, id] of Object.entries(ids)) {
      const denies = statementsOf(id).filter((s) => s.Effect === 'Deny');
      if (OPENS_CA.includes(name as Name)) {
        expect(denies).toEqual([
          {
            Sid: 'NeverTheRelayKey',
            Effect: 'Deny',
            Action: CA_DENY,
            Resource: { 'Fn::GetAtt': [expect.stringMatching(/RelayKey/), 'Arn'] },
          },
        ]);
      } else {
        expect(denies).toEqual([]);
      }
    }
  });

  it('conditions every CA key statement on the control-plane tag', () => {
    for (const name of OPENS_CA) {
      const kms = statementsOf(roleIds()[name]).filter(
        (s) => s.Effect === 'Allow' && actionsOf(s).some((a) => a.startsWith('kms:')) && !isRelayKeyGrant(s),
      );
      expect(kms.map((s) => (s as { Sid?: string }).Sid).sort()).toEqual(
        ['CreateCaKeys', 'DeleteLostCaKeys', 'NameCaKeys', 'TagCaKeysOnCreate', 'UseCaKeys'].sort(),
      );
      for (const s of kms) {
        if ((s as { Sid?: string }).Sid === 'NameCaKeys') {
          expect(JSON.stringify(s.Resource)).toContain(':alias/weft/main/*');
          continue;
        }
        const tags = { ...s.Condition?.StringEquals };
        expect(tags['aws:RequestTag/weft:control-plane'] ?? tags['aws:ResourceTag/weft:control-plane']).toBe(
          'main',
        );
      }
      const create = kms.find((s) => actionsOf(s).includes('kms:CreateKey'))!;
      expect(create.Condition?.StringEquals).toMatchObject({
        'kms:KeySpec': 'ECC_NIST_P256',
        'kms:KeyUsage': 'SIGN_VERIFY',
      });
    }
  });

  it('has no `*` action, no managed policy, and `*` resources only on the allowlist', () => {
    for (const [id, role] of ofType('AWS::IAM::Role')) {
      expect(role.Properties.ManagedPolicyArns).toBeUndefined();
      for (const s of statementsOf(id)) {
        for (const action of actionsOf(s)) expect(action).not.toMatch(/\*/);
        if (resourcesOf(s).includes('*')) {
          expect(actionsOf(s)).toHaveLength(1);
          expect(STAR_ALLOWLIST).toHaveProperty([actionsOf(s)[0]!]);
        }
      }
    }
  });
});

describe('cdk-nag AwsSolutions', () => {
  it('reports nothing unacknowledged, errors or warnings', () => {
    const nag = synth.report.pluginReports.find((r) => r.pluginName === 'AwsSolutions');
    expect(nag?.conclusion).toBe('success');
    expect(nag?.violations).toEqual([]);
  });

  it('acknowledges only findings with a written reason', () => {
    const nag = synth.report.pluginReports.find((r) => r.pluginName === 'AwsSolutions')!;
    const suppressed = nag.suppressedViolations ?? [];
    expect(new Set(suppressed.map((s) => s.ruleName.replace(/\[.*$/, '')))).toEqual(
      new Set(['AwsSolutions-IAM5', 'AwsSolutions-L1', 'AwsSolutions-APIG4']),
    );
    for (const s of suppressed) expect(s.reason.length, s.ruleName).toBeGreaterThanOrEqual(60);
  });
});

describe('cfn-lint', () => {
  it('finds nothing in the template', () => {
    // W3005: CDK makes each function DependsOn its role and the role's default policy; the role
    // part repeats the GetAtt dependency. Harmless, and the policy part is what matters.
    const lint = spawnSync('cfn-lint', ['--ignore-checks', 'W3005', '--', synth.templatePath], {
      encoding: 'utf8',
    });
    expect(lint.error).toBeUndefined();
    expect(lint.stdout + lint.stderr).toBe('');
    expect(lint.status).toBe(0);
  }, 120_000);
});

function isRelayKeyGrant(s: Statement): boolean {
  return JSON.stringify(s.Resource).includes('RelayKey');
}
