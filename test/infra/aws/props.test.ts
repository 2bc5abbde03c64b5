import { rmSync } from 'node:fs';
import { App, RemovalPolicy, Stack } from 'aws-cdk-lib';
import { Match } from 'aws-cdk-lib/assertions';
import * as kms from 'aws-cdk-lib/aws-kms';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { WeftControlPlane } from '../../../infra/aws/weft-control-plane.js';
import { OPERATOR, type Synthesized, synthWeftStack } from './synth.js';

const PEER = {
  cloud: 'gcp',
  url: 'https://weft.gcp.example.com',
  keys: [{ kty: 'EC', crv: 'P-256', kid: 'r1', x: 'x', y: 'y' }],
};

/** A federated mesh's root: only its shape matters to the construct. */
const ROOT_PEM = '-----BEGIN CERTIFICATE-----\nMIIB\n-----END CERTIFICATE-----\n';

describe('WeftControlPlane props', () => {
  let synth: Synthesized;

  beforeAll(() => {
    // Props change no bundle: skip esbuild here (the bundles are tested in weft-control-plane.test.ts).
    synth = synthWeftStack(
      {
        name: 'prod-eu',
        peers: [PEER],
        defaultEnvironment: 'aws-eu',
        deletionProtection: false,
        removalPolicy: RemovalPolicy.DESTROY,
        tracing: true,
        dataKey: undefined,
        rootCertPem: ROOT_PEM,
      },
      { bundle: false },
    );
  }, 180_000);

  afterAll(() => rmSync(synth.outdir, { recursive: true, force: true }));

  it('names the bus, aliases and tag after props.name and passes peers as JSON', () => {
    synth.template.hasResourceProperties('AWS::Events::EventBus', { Name: 'weft-prod-eu' });
    synth.template.hasResourceProperties('AWS::KMS::Alias', { AliasName: 'alias/weft/prod-eu/relay' });
    synth.template.allResourcesProperties('AWS::Lambda::Function', {
      TracingConfig: { Mode: 'Active' },
      Environment: {
        Variables: Match.objectLike({
          WEFT_PEERS: JSON.stringify([PEER]),
          WEFT_DEFAULT_ENVIRONMENT: 'aws-eu',
          WEFT_KMS_ALIAS_PREFIX: 'alias/weft/prod-eu',
          WEFT_KMS_KEY_TAG: 'prod-eu',
          WEFT_ROOT_CERT: ROOT_PEM,
        }),
      },
    });
  });

  it('drops deletion protection and retention when asked', () => {
    synth.template.hasResource('AWS::DynamoDB::Table', {
      DeletionPolicy: 'Delete',
      Properties: Match.objectLike({ DeletionProtectionEnabled: false }),
    });
    synth.template.hasResource('AWS::S3::Bucket', { DeletionPolicy: 'Delete' });
  });

  it('stays cdk-nag clean with tracing on (X-Ray writes on `*` acknowledged)', () => {
    const nag = synth.report.pluginReports.find((r) => r.pluginName === 'AwsSolutions');
    expect(nag?.violations).toEqual([]);
  });
});

describe('WeftControlPlane with a customer managed key', () => {
  it('encrypts table, bucket and queues with it and grants its use', () => {
    const app = new App({ context: { 'aws:cdk:bundling-stacks': [] } });
    const stack = new Stack(app, 'Cmk');
    const dataKey = new kms.Key(stack, 'DataKey', { enableKeyRotation: true });
    const cp = new WeftControlPlane(stack, 'main', { ...OPERATOR, dataKey });
    const json = app.synth().getStackByName('Cmk').template as {
      Resources: Record<string, { Type: string; Properties: Record<string, unknown> }>;
    };
    const keyRef = { 'Fn::GetAtt': [stack.getLogicalId(dataKey.node.defaultChild as kms.CfnKey), 'Arn'] };
    const types = Object.values(json.Resources);
    expect(types.find((r) => r.Type === 'AWS::DynamoDB::Table')?.Properties.SSESpecification).toEqual({
      KMSMasterKeyId: keyRef,
      SSEEnabled: true,
      SSEType: 'KMS',
    });
    expect(JSON.stringify(types.filter((r) => r.Type === 'AWS::SQS::Queue'))).toContain('KmsMasterKeyId');
    const apiPolicy = JSON.stringify(
      types.filter(
        (r) => r.Type === 'AWS::IAM::Policy' && JSON.stringify(r.Properties.Roles).includes('ApiRole'),
      ),
    );
    expect(apiPolicy).toContain('kms:Decrypt');
    expect(cp.bucket.encryptionKey).toBe(dataKey);
  });
});

describe('WeftControlPlane validation', () => {
  it('refuses a name that cannot name a bus or an alias', () => {
    const stack = new Stack(new App(), 'S');
    expect(() => new WeftControlPlane(stack, 'Main Plane', OPERATOR)).toThrow(TypeError);
    expect(() => new WeftControlPlane(stack, 'x', { ...OPERATOR, name: 'UPPER' })).toThrow(/props.name/);
    expect(() => new WeftControlPlane(stack, 'y', { ...OPERATOR, rootCertPem: 'root' })).toThrow(
      /rootCertPem must be a PEM certificate/,
    );
  });

  it('names every bad operator setting and peer at once', () => {
    const stack = new Stack(new App(), 'S');
    expect(
      () =>
        new WeftControlPlane(stack, 'main', {
          operatorIssuer: 'http://login.example.com',
          operatorAudience: '',
          operatorJwksUrl: 'jwks',
          peers: [{ cloud: 'gcp', url: 'ftp://x', keys: [{}] }],
        }),
    ).toThrow(
      /operatorIssuer must be an https URL; operatorJwksUrl must be an https URL; operatorAudience is required; peers\[0\]\.url must be an https URL; peers\[0\]\.keys must be JWKs with kid/,
    );
  });
});
