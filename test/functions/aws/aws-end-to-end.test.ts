/**
 * AWS end to end on the emulators: the deployed composition (state and
 * join tokens in DynamoDB, here dynalite; snapshots, status and the CA's
 * state in S3, the CA's keys created in KMS and every signature made by
 * `kms:Sign`, changes on an EventBridge bus; moto for S3, KMS, EventBridge,
 * SQS and EC2), driven through the Lambda handlers with native events:
 *
 * 1. a PUT through the `api` handler (behind an HTTP API stand-in) puts a
 *    change event on the EventBridge bus;
 * 2. moto delivers EventBridge events to SQS, logs and other buses only,
 *    not to Lambda: the rule's target here is an SQS queue, and the test
 *    reads each delivered event from it and hands it to `compile`, as
 *    Lambda would;
 * 3. `compile` signs the snapshot through KMS (moto signs `MessageType: RAW`
 *    only, which is all weft sends it: every signed message is under 4 KiB)
 *    and stores it in S3, and a real `weft agent` process attests with a
 *    join token, verifies the snapshot and applies it;
 * 4. tags on an EC2 instance in moto and an `aws.tag` event make a Workload
 *    with the instance's private IP, in the agent's next snapshot; the
 *    instance terminated, the Workload is gone from the one after.
 */

import { readFileSync } from 'node:fs';
import {
  CreateTagsCommand,
  DescribeInstancesCommand,
  EC2Client,
  RunInstancesCommand,
  TerminateInstancesCommand,
} from '@aws-sdk/client-ec2';
import { ECSClient } from '@aws-sdk/client-ecs';
import {
  CreateEventBusCommand,
  EventBridgeClient,
  PutRuleCommand,
  PutTargetsCommand,
} from '@aws-sdk/client-eventbridge';
import { KMSClient, ListAliasesCommand } from '@aws-sdk/client-kms';
import { ResourceGroupsTaggingAPIClient } from '@aws-sdk/client-resource-groups-tagging-api';
import { CreateBucketCommand, ListObjectsV2Command, S3Client } from '@aws-sdk/client-s3';
import {
  CreateQueueCommand,
  DeleteMessageCommand,
  GetQueueAttributesCommand,
  ReceiveMessageCommand,
  SQSClient,
} from '@aws-sdk/client-sqs';
import type { EventBridgeEvent } from 'aws-lambda';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createAwsApiHandler } from '../../../functions/aws/api-handler.js';
import { createAwsCompileHandler } from '../../../functions/aws/compile-handler.js';
import { composeAwsControlPlane } from '../../../functions/aws/composition.js';
import { ensureTable } from '../../../functions/aws/dynamodb-state-store.js';
import { composeAwsRegistrar } from '../../../functions/aws/registrar-composition.js';
import { createAwsRegistrarHandler } from '../../../functions/aws/registrar-handler.js';
import type { ControlPlane } from '../../../functions/control-plane/compose-control-plane.js';
import { type EmbeddedDynamoDb, startEmbeddedDynamoDb } from '../../../functions/local/embedded-dynamodb.js';
import { WEFT_EVENT_SOURCE } from '../../../infra/aws/functions.js';
import {
  type AgentProcess,
  killAgents,
  startAgent,
  waitReady,
} from '../../agents/gateway/support/agent-process.js';
import { createTestOperators } from '../../support/api.js';
import { doc } from '../../support/distribution.js';
import { type HttpApiGateway, lambdaContext, startHttpApiGateway } from '../../support/http-api-gateway.js';
import { MOTO_ACCOUNT, MOTO_REGION, type Moto, startMoto } from '../../support/moto.js';
import { tempDir } from '../../support/temp-dir.js';

const TABLE = 'weft-e2e';
const BUCKET = 'weft-e2e-snapshots';
const BUS = 'weft-e2e';
const TD = 'aws-e2e.test';
const ENV = 'aws-east';
const GW = 'edge-1';

let moto: Moto;
let db: EmbeddedDynamoDb;
let sqs: SQSClient;
let queueUrl: string;
let plane: ControlPlane;
let gateway: HttpApiGateway;
let adminToken: string;
let agent: AgentProcess;
const logs: Record<string, unknown>[] = [];

beforeAll(async () => {
  [moto, db] = await Promise.all([startMoto(), startEmbeddedDynamoDb({})]);
  await ensureTable(db.client, TABLE);
  const s3 = new S3Client(moto.clientConfig);
  const kms = new KMSClient(moto.clientConfig);
  const eventBridge = new EventBridgeClient(moto.clientConfig);
  sqs = new SQSClient(moto.clientConfig);
  await s3.send(new CreateBucketCommand({ Bucket: BUCKET }));
  await eventBridge.send(new CreateEventBusCommand({ Name: BUS }));
  queueUrl = (await sqs.send(new CreateQueueCommand({ QueueName: 'weft-compile' }))).QueueUrl!;
  const { Attributes } = await sqs.send(
    new GetQueueAttributesCommand({ QueueUrl: queueUrl, AttributeNames: ['QueueArn'] }),
  );
  // The compile rule of the CDK construct, with the queue standing in for the Lambda target.
  await eventBridge.send(
    new PutRuleCommand({
      Name: 'weft-compile',
      EventBusName: BUS,
      EventPattern: JSON.stringify({
        source: [WEFT_EVENT_SOURCE],
        'detail-type': ['dev.weft.resource.changed'],
      }),
    }),
  );
  await eventBridge.send(
    new PutTargetsCommand({
      Rule: 'weft-compile',
      EventBusName: BUS,
      Targets: [{ Id: 'compile', Arn: Attributes!.QueueArn! }],
    }),
  );
  const operators = await createTestOperators();
  adminToken = operators.adminToken;
  plane = await composeAwsControlPlane(
    {
      ...operators.env,
      WEFT_TABLE_NAME: TABLE,
      WEFT_BUCKET_NAME: BUCKET,
      WEFT_EVENT_BUS_NAME: BUS,
      WEFT_KMS_ALIAS_PREFIX: 'alias/weft/e2e',
      WEFT_KMS_KEY_TAG: 'e2e',
    },
    {
      client: db.client,
      s3,
      kms,
      eventBridge,
      logger: { info: (e) => logs.push(e), warn: (e) => logs.push(e), error: (e) => logs.push(e) },
    },
  );
  gateway = await startHttpApiGateway([{ prefix: '/', handler: createAwsApiHandler(plane.api) }]);
}, 60_000);

afterAll(async () => {
  await killAgents();
  await gateway?.close();
  await plane?.close();
  await Promise.all([moto?.stop(), db?.close()]);
});

async function call(method: string, path: string, body?: unknown): Promise<{ status: number; body: string }> {
  const res = await fetch(`${gateway.url}${path}`, {
    method,
    headers: { authorization: `Bearer ${adminToken}`, 'content-type': 'application/json' },
    ...(body !== undefined && { body: JSON.stringify(body) }),
  });
  return { status: res.status, body: await res.text() };
}

/**
 * Reads every event the compile rule delivered to its queue and runs the
 * `compile` handler on each, as Lambda would; resolves with how many it ran.
 */
async function deliverToCompile(): Promise<number> {
  const compile = createAwsCompileHandler(() => plane);
  let delivered = 0;
  for (;;) {
    const { Messages = [] } = await sqs.send(
      new ReceiveMessageCommand({
        QueueUrl: queueUrl,
        MaxNumberOfMessages: 10,
        WaitTimeSeconds: delivered ? 0 : 1,
      }),
    );
    if (Messages.length === 0) return delivered;
    for (const message of Messages) {
      const event = JSON.parse(message.Body!) as EventBridgeEvent<string, unknown>;
      expect(event.source).toBe(WEFT_EVENT_SOURCE);
      await compile(event, lambdaContext('weft-compile'));
      await sqs.send(new DeleteMessageCommand({ QueueUrl: queueUrl, ReceiptHandle: message.ReceiptHandle! }));
      delivered++;
    }
  }
}

async function agentConfig(): Promise<{ version: string; text: string }> {
  const res = await agent.get('/config');
  return { version: JSON.parse(res.body).version as string, text: res.body };
}

describe('weft on AWS, on the emulators', () => {
  it('a PUT through the api handler reaches a real agent as a snapshot signed through KMS and stored in S3', async () => {
    const docs = [
      doc('Mesh', 'default', { trustDomain: TD, attestation: { joinToken: {} } }),
      doc('Environment', ENV, { provider: 'aws', region: 'us-east-1' }),
      doc('Gateway', GW, { environment: ENV, address: '127.0.1.1:15443' }),
      doc('Service', 'shop/orders', { ports: [{ port: 8080 }] }),
    ];
    for (const d of docs) {
      const { kind, metadata } = d as { kind: string; metadata: { name: string; namespace?: string } };
      const plural = {
        Mesh: 'meshes',
        Environment: 'environments',
        Gateway: 'gateways',
        Service: 'services',
      }[kind];
      const path = `/v1/${plural}/${metadata.namespace ? `${metadata.namespace}/` : ''}${metadata.name}`;
      const res = await call('PUT', path, d);
      expect(res.status, res.body).toBe(201);
    }
    expect(await deliverToCompile()).toBeGreaterThanOrEqual(docs.length);

    // The snapshot is in S3, and the CA's keys were created in KMS under the alias prefix.
    const s3 = new S3Client(moto.clientConfig);
    const stored = await s3.send(new ListObjectsV2Command({ Bucket: BUCKET, Prefix: 'snapshots/' }));
    expect(stored.Contents?.map((o) => o.Key)).toContain(`snapshots/${ENV}/${GW}.jws`);
    const aliases = await new KMSClient(moto.clientConfig).send(new ListAliasesCommand({}));
    const ours = aliases.Aliases?.map((a) => a.AliasName).filter((n) => n?.startsWith('alias/weft/e2e/'));
    expect(ours?.some((n) => n?.includes('aws-jwt-'))).toBe(true);
    expect(ours?.some((n) => n?.includes('aws-x509-'))).toBe(true);

    const minted = await call('POST', '/v1/join-tokens', { spiffeId: `spiffe://${TD}/gw/${ENV}/${GW}` });
    expect(minted.status, minted.body).toBe(201);
    agent = await startAgent({
      controlPlane: gateway.url,
      dataDir: await tempDir('weft-aws-agent-'),
      joinToken: JSON.parse(minted.body).token,
      environment: ENV,
      name: GW,
      pollInterval: '300ms',
    });
    await waitReady(agent, 30_000);
    const applied = await agentConfig();
    expect(applied.text).toContain('orders');
  }, 90_000);

  it('tags on an EC2 instance register a Workload with its private IP in the next snapshot; terminated, it goes', async () => {
    const ec2 = new EC2Client(moto.clientConfig);
    const registrar = createAwsRegistrarHandler(
      await composeAwsRegistrar(
        { WEFT_DEFAULT_ENVIRONMENT: ENV, AWS_REGION: MOTO_REGION },
        {
          plane,
          ec2,
          ecs: new ECSClient(moto.clientConfig),
          tagging: new ResourceGroupsTaggingAPIClient(moto.clientConfig),
          logger: { info: (e) => logs.push(e), warn: (e) => logs.push(e), error: (e) => logs.push(e) },
        },
      ),
    );
    const run = await ec2.send(
      new RunInstancesCommand({ ImageId: 'ami-12345678', MinCount: 1, MaxCount: 1 }),
    );
    const instanceId = run.Instances![0]!.InstanceId!;
    const described = await ec2.send(new DescribeInstancesCommand({ InstanceIds: [instanceId] }));
    const privateIp = described.Reservations![0]!.Instances![0]!.PrivateIpAddress!;
    expect(privateIp).toMatch(/^\d+\.\d+\.\d+\.\d+$/);
    await ec2.send(
      new CreateTagsCommand({
        Resources: [instanceId],
        Tags: [
          { Key: 'weft:service', Value: 'orders' },
          { Key: 'weft:namespace', Value: 'shop' },
          { Key: 'weft:port', Value: '8080' },
        ],
      }),
    );
    const arn = `arn:aws:ec2:${MOTO_REGION}:${MOTO_ACCOUNT}:instance/${instanceId}`;
    const before = (await agentConfig()).version;
    // AWS's documented "Tag Change on Resource" event, about this instance.
    await registrar(
      { ...fixture('tag-change-ec2-instance'), resources: [arn] },
      lambdaContext('weft-registrar'),
    );
    const workload = await call('GET', `/v1/workloads/shop/ec2-${instanceId}`);
    expect(workload.status, workload.body).toBe(200);
    expect(JSON.parse(workload.body).spec).toMatchObject({
      service: 'orders',
      environment: ENV,
      address: `${privateIp}:8080`,
    });

    expect(await deliverToCompile()).toBeGreaterThanOrEqual(1);
    await expect.poll(async () => (await agentConfig()).version, { timeout: 15_000 }).not.toBe(before);
    expect((await agentConfig()).text).toContain(`${privateIp}:8080`);

    await ec2.send(new TerminateInstancesCommand({ InstanceIds: [instanceId] }));
    const stateChange = fixture('ec2-instance-state-change');
    const withIp = (await agentConfig()).version;
    await registrar(
      { ...stateChange, resources: [arn], detail: { 'instance-id': instanceId, state: 'terminated' } },
      lambdaContext('weft-registrar'),
    );
    expect((await call('GET', `/v1/workloads/shop/ec2-${instanceId}`)).status).toBe(404);
    expect(await deliverToCompile()).toBeGreaterThanOrEqual(1);
    await expect.poll(async () => (await agentConfig()).version, { timeout: 15_000 }).not.toBe(withIp);
    expect((await agentConfig()).text).not.toContain(`${privateIp}:8080`);
  }, 90_000);
});

function fixture(name: string): EventBridgeEvent<string, unknown> {
  return JSON.parse(readFileSync(new URL(`fixtures/${name}.json`, import.meta.url), 'utf8'));
}
