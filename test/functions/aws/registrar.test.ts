/**
 * The registrar and reconcile functions on moto: real EC2, ECS and tagging
 * APIs through the real SDK, events shaped as AWS documents them
 * (fixtures/), Workloads in a control plane over the in-memory store.
 *
 * What moto does differently, and how this file meets it:
 * - tagging `GetResources` needs `ResourceTypeFilters` (the reader always sends them);
 * - `DescribeTasks` moves a task one step along RUNNING → DEACTIVATING →
 *   STOPPING → … → STOPPED on every call: the ECS task model is set to
 *   manual progression, so a task stays RUNNING until `StopTask`;
 * - task ARNs are the old short form (`task/<id>`) unless the account
 *   setting `taskLongArnFormat` is on, as it is in every AWS account today: it is turned on;
 * - the task's ENI attachment has type `ElasticNetworkInterface` (AWS's event says `eni`) and its
 *   containers no `networkInterfaces`: the reader takes `privateIPv4Address` from any attachment;
 * - `DescribeTasks` of a task it never had returns neither the task nor a `failures` entry
 *   (AWS: reason MISSING): the reader treats both as gone;
 * - a container definition needs `cpu` and `memory`, a task `securityGroups`, or RunTask fails with a 500.
 */
import { readFileSync } from 'node:fs';
import {
  CreateTagsCommand,
  DeleteTagsCommand,
  DescribeSubnetsCommand,
  EC2Client,
  RunInstancesCommand,
  StopInstancesCommand,
  TerminateInstancesCommand,
} from '@aws-sdk/client-ec2';
import {
  CreateClusterCommand,
  ECSClient,
  PutAccountSettingCommand,
  RegisterTaskDefinitionCommand,
  RunTaskCommand,
  StopTaskCommand,
} from '@aws-sdk/client-ecs';
import { ResourceGroupsTaggingAPIClient } from '@aws-sdk/client-resource-groups-tagging-api';
import type { Context, EventBridgeEvent } from 'aws-lambda';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { AwsCloudResources } from '../../../functions/aws/aws-cloud-resources.js';
import {
  createAwsReconcileHandler,
  createAwsRegistrarHandler,
  resourceArnsOf,
} from '../../../functions/aws/registrar-handler.js';
import { composeControlPlane } from '../../../functions/control-plane/compose-control-plane.js';
import { createApi } from '../../../shared/api/create-api.js';
import { HybridLogicalClock } from '../../../shared/model/hlc.js';
import { Registrar } from '../../../shared/registration/registrar.js';
import { MemoryBlobStore } from '../../../shared/storage/memory-blob-store.js';
import { MemoryStateStore } from '../../../shared/storage/memory-state-store.js';
import { createTestOperators } from '../../support/api.js';
import { MOTO_ACCOUNT, MOTO_REGION, type Moto, startMoto } from '../../support/moto.js';

type Event = EventBridgeEvent<string, unknown>;
const context = { functionName: 'weft-registrar', awsRequestId: 'req-1' } as Context;
const fixture = (name: string) =>
  JSON.parse(readFileSync(new URL(`fixtures/${name}.json`, import.meta.url), 'utf8')) as Event;
const TAGS = [
  { Key: 'weft:service', Value: 'orders' },
  { Key: 'weft:namespace', Value: 'shop' },
  { Key: 'weft:port', Value: '8080' },
];

/** AWS's documented tag-change event, about `arn` instead of its example resource. */
function tagChange(arn: string): Event {
  const event = fixture(arn.includes(':ecs:') ? 'tag-change-ecs-task' : 'tag-change-ec2-instance');
  return { ...event, region: MOTO_REGION, account: MOTO_ACCOUNT, resources: [arn] };
}

function instanceStateChange(arn: string, state: string): Event {
  const event = fixture('ec2-instance-state-change');
  const id = arn.split('/').pop();
  return { ...event, resources: [arn], detail: { 'instance-id': id, state } };
}

let moto: Moto;
let ec2: EC2Client;
let ecs: ECSClient;
let tagging: ResourceGroupsTaggingAPIClient;

beforeAll(async () => {
  moto = await startMoto();
  ec2 = new EC2Client(moto.clientConfig);
  ecs = new ECSClient(moto.clientConfig);
  tagging = new ResourceGroupsTaggingAPIClient(moto.clientConfig);
});
afterAll(() => moto?.stop());
beforeEach(async () => {
  await moto.reset();
  const res = await fetch(`${moto.endpoint}/moto-api/state-manager/set-transition`, {
    method: 'POST',
    body: JSON.stringify({
      model_name: 'ecs::task',
      transition: { progression: 'manual', times: 1_000_000 },
    }),
  });
  expect(res.ok).toBe(true);
});

async function setup() {
  const store = new MemoryStateStore();
  const blobs = new MemoryBlobStore();
  const { authenticate, viewerToken } = await createTestOperators();
  const plane = composeControlPlane({ cloud: 'aws', store, authenticate });
  await plane.resources.put({
    apiVersion: 'weft.dev/v1',
    kind: 'Environment',
    metadata: { name: 'aws' },
    spec: { provider: 'aws', region: MOTO_REGION },
  });
  await plane.resources.put({
    apiVersion: 'weft.dev/v1',
    kind: 'Service',
    metadata: { name: 'orders', namespace: 'shop' },
    spec: { ports: [{ port: 8080 }] },
  });
  const registrar = new Registrar({
    provider: 'aws',
    writer: plane.resources,
    workloads: store,
    blobs,
    tags: { defaultEnvironment: 'aws' },
  });
  const deps = { registrar, resources: new AwsCloudResources({ ec2, ecs, tagging }) };
  const handler = createAwsRegistrarHandler(deps);
  const reconcile = createAwsReconcileHandler(() => deps);
  const api = createApi({ store, hlc: new HybridLogicalClock('aws'), authenticate, registration: { blobs } });
  const status = async () => {
    const res = await api({
      method: 'GET',
      path: '/v1/registration',
      query: {},
      headers: { authorization: `Bearer ${viewerToken}` },
    });
    return JSON.parse(res.body).providers[0];
  };
  const workload = async (name: string) => {
    const doc = (await plane.resources.get({ kind: 'Workload', namespace: 'shop', name }))?.resource;
    return doc?.kind === 'Workload' ? doc.spec : undefined;
  };
  return { handler: (e: Event) => handler(e, context), reconcile, registrar, workload, status };
}

async function runInstance(tags = TAGS) {
  const run = await ec2.send(
    new RunInstancesCommand({ ImageId: 'ami-12c6146b', MinCount: 1, MaxCount: 1, InstanceType: 't3.micro' }),
  );
  const instance = run.Instances![0]!;
  if (tags.length > 0)
    await ec2.send(new CreateTagsCommand({ Resources: [instance.InstanceId!], Tags: tags }));
  return {
    id: instance.InstanceId!,
    ip: instance.PrivateIpAddress!,
    arn: `arn:aws:ec2:${MOTO_REGION}:${MOTO_ACCOUNT}:instance/${instance.InstanceId}`,
    name: `ec2-${instance.InstanceId}`,
  };
}

describe('AWS registrar (EventBridge events, moto)', () => {
  it('registers an EC2 instance from its tags with its real private IP; a tag change updates it, removing the tags deletes it', async () => {
    const { handler, workload } = await setup();
    const vm = await runInstance();
    const outcome = await handler(tagChange(vm.arn));
    expect(outcome).toMatchObject({ resources: [vm.arn], counts: { registered: 1 } });
    expect(await workload(vm.name)).toEqual({
      service: 'orders',
      environment: 'aws',
      address: `${vm.ip}:8080`,
      sourceAddresses: [vm.ip],
    });

    await ec2.send(
      new CreateTagsCommand({ Resources: [vm.id], Tags: [{ Key: 'weft:port', Value: '9090' }] }),
    );
    expect((await handler(tagChange(vm.arn))).counts).toMatchObject({ updated: 1 });
    expect((await workload(vm.name))?.address).toBe(`${vm.ip}:9090`);
    // The same event delivered twice writes nothing.
    expect((await handler(tagChange(vm.arn))).counts).toMatchObject({ unchanged: 1 });

    await ec2.send(new DeleteTagsCommand({ Resources: [vm.id], Tags: TAGS.map(({ Key }) => ({ Key })) }));
    expect((await handler(tagChange(vm.arn))).counts).toMatchObject({ removed: 1 });
    expect(await workload(vm.name)).toBeUndefined();
  });

  it('deletes the Workload of a stopped, a terminated and a vanished instance on their state-change events', async () => {
    const { handler, workload, registrar } = await setup();
    const stopped = await runInstance();
    const terminated = await runInstance();
    await handler(tagChange(stopped.arn));
    await handler(tagChange(terminated.arn));
    expect(await workload(stopped.name)).toBeDefined();

    await ec2.send(new StopInstancesCommand({ InstanceIds: [stopped.id] }));
    expect((await handler(instanceStateChange(stopped.arn, 'stopped'))).counts).toMatchObject({ removed: 1 });
    await ec2.send(new TerminateInstancesCommand({ InstanceIds: [terminated.id] }));
    expect((await handler(instanceStateChange(terminated.arn, 'terminated'))).counts).toMatchObject({
      removed: 1,
    });
    expect(await workload(stopped.name)).toBeUndefined();
    expect(await workload(terminated.name)).toBeUndefined();

    // Long terminated, DescribeInstances no longer knows it: gone, so deleted.
    const vanished = `arn:aws:ec2:${MOTO_REGION}:${MOTO_ACCOUNT}:instance/i-0123456789abcdef0`;
    await registrar.observe([
      {
        provider: 'aws',
        id: vanished,
        kind: 'ec2-instance',
        tags: { 'weft:service': 'orders', 'weft:namespace': 'shop', 'weft:port': '80' },
        privateIp: '10.1.2.3',
        state: 'running',
      },
    ]);
    expect(await workload('ec2-i-0123456789abcdef0')).toBeDefined();
    expect((await handler(instanceStateChange(vanished, 'terminated'))).counts).toMatchObject({ removed: 1 });
    expect(await workload('ec2-i-0123456789abcdef0')).toBeUndefined();
  });

  it('registers an ECS task (tags with include TAGS, IP from its ENI) and deletes it when the task stops', async () => {
    const { handler, workload } = await setup();
    await ecs.send(new PutAccountSettingCommand({ name: 'taskLongArnFormat', value: 'enabled' }));
    await ecs.send(new CreateClusterCommand({ clusterName: 'shop' }));
    await ecs.send(
      new RegisterTaskDefinitionCommand({
        family: 'orders',
        networkMode: 'awsvpc',
        requiresCompatibilities: ['FARGATE'],
        cpu: '256',
        memory: '512',
        containerDefinitions: [{ name: 'app', image: 'nginx', cpu: 256, memory: 512 }],
      }),
    );
    const subnet = (await ec2.send(new DescribeSubnetsCommand({}))).Subnets![0]!.SubnetId!;
    const run = await ecs.send(
      new RunTaskCommand({
        cluster: 'shop',
        taskDefinition: 'orders',
        launchType: 'FARGATE',
        networkConfiguration: { awsvpcConfiguration: { subnets: [subnet], securityGroups: [] } },
        tags: TAGS.map((t) => ({ key: t.Key, value: t.Value })),
      }),
    );
    const task = run.tasks![0]!;
    const arn = task.taskArn!;
    expect(arn).toMatch(/:task\/shop\/[0-9a-f-]+$/);
    const ip = task.attachments![0]!.details!.find((d) => d.name === 'privateIPv4Address')!.value!;
    const name = `ecs-${arn.split('/').pop()}`;

    expect((await handler(tagChange(arn))).counts).toMatchObject({ registered: 1 });
    expect((await workload(name))?.address).toBe(`${ip}:8080`);

    await ecs.send(new StopTaskCommand({ cluster: 'shop', task: arn }));
    const stoppedEvent = fixture('ecs-task-state-change');
    const detail = {
      ...(stoppedEvent.detail as object),
      taskArn: arn,
      lastStatus: 'STOPPED',
      desiredStatus: 'STOPPED',
    };
    expect(resourceArnsOf({ ...stoppedEvent, detail })).toEqual([arn, expect.any(String)]);
    expect((await handler({ ...stoppedEvent, resources: [arn], detail })).counts).toMatchObject({
      removed: 1,
    });
    expect(await workload(name)).toBeUndefined();
  });

  it('counts a bad tag in GET /v1/registration and does not throw', async () => {
    const { handler, status, workload } = await setup();
    const vm = await runInstance([...TAGS.slice(0, 2), { Key: 'weft:port', Value: '70000' }]);
    await expect(handler(tagChange(vm.arn))).resolves.toMatchObject({ counts: { rejected: 1 } });
    expect(await workload(vm.name)).toBeUndefined();
    expect(await status()).toMatchObject({
      provider: 'aws',
      totals: { rejected: 1 },
      recent: [{ type: 'rejected', resource: vm.arn, reason: expect.stringContaining('weft:port="70000"') }],
    });
  });

  it('skips an event about neither an instance nor a task', async () => {
    const { handler } = await setup();
    const other = { ...fixture('tag-change-ec2-instance'), resources: ['arn:aws:s3:::a-bucket'] };
    await expect(handler(other)).resolves.toEqual({ resources: [], counts: {} });
  });

  it('reconcile finds a tagged instance whose event was never delivered (GetResources with ResourceTypeFilters)', async () => {
    const { reconcile, workload, status } = await setup();
    const vm = await runInstance();
    await runInstance([{ Key: 'Name', Value: 'not-ours' }]);
    const outcome = await reconcile(fixture('scheduler-reconcile'), context);
    expect(outcome.counts).toMatchObject({ registered: 1 });
    expect((await workload(vm.name))?.address).toBe(`${vm.ip}:8080`);
    expect((await status()).lastReconcile).toMatchObject({ resources: 1, puts: 1, deletes: 0 });
    // Its instance terminated with the event lost: the next reconcile deletes the Workload.
    await ec2.send(new TerminateInstancesCommand({ InstanceIds: [vm.id] }));
    expect((await reconcile({}, context)).counts).toMatchObject({ removed: 1 });
    expect(await workload(vm.name)).toBeUndefined();
  });
});
