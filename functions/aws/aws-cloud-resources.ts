/**
 * The `CloudResources` port on AWS: EC2 instances and ECS tasks, read afresh
 * (an event is only a trigger; the resource's current state is the truth).
 *
 * - an instance: `ec2:DescribeInstances` with an `instance-id` filter (an id
 *   that no longer exists is left out rather than failing the call): its tags,
 *   `PrivateIpAddress` and `State`;
 * - a task: `ecs:DescribeTasks` with `include: ['TAGS']`, the cluster taken
 *   from the task ARN (`task/<cluster>/<id>`; an old short ARN is looked up
 *   in the `default` cluster): its tags, `lastStatus`/`desiredStatus` and the
 *   private IP of its ENI attachment (`privateIPv4Address`) or its
 *   containers' `networkInterfaces`;
 * - the tagged ones: `tag:GetResources` with a `TagFilters` on the service
 *   tag and `ResourceTypeFilters: ['ec2:instance', 'ecs:task']`, every page,
 *   then described as above.
 *
 * @module
 */
import { type EC2Client, type Instance, paginateDescribeInstances } from '@aws-sdk/client-ec2';
import { DescribeTasksCommand, type ECSClient, type Task } from '@aws-sdk/client-ecs';
import {
  paginateGetResources,
  type ResourceGroupsTaggingAPIClient,
} from '@aws-sdk/client-resource-groups-tagging-api';
import { UnavailableError } from '../../shared/model/errors.js';
import type { ObservedResource, ResourceState } from '../../shared/registration/observed-resource.js';
import type { CloudResources } from '../../shared/registration/registrar.js';
import { DEFAULT_TAG_PREFIX, tagKeys } from '../../shared/registration/tag-schema.js';

export interface AwsCloudResourcesOptions {
  readonly ec2: EC2Client;
  readonly ecs: ECSClient;
  readonly tagging: ResourceGroupsTaggingAPIClient;
  /** @default 'weft:' */
  readonly tagPrefix?: string;
}

/** The parts of an EC2 instance or ECS task ARN the readers need. */
export type AwsResourceArn =
  | { readonly kind: 'ec2-instance'; readonly arn: string; readonly instanceId: string }
  | { readonly kind: 'ecs-task'; readonly arn: string; readonly cluster: string; readonly taskId: string };

const ARN = /^arn:[a-z-]+:(ec2|ecs):[a-z0-9-]*:\d{12}:(instance|task)\/(.+)$/;

/** Parses an instance or task ARN; `undefined` for any other. */
export function parseAwsResourceArn(arn: string): AwsResourceArn | undefined {
  const m = ARN.exec(arn);
  if (!m) return undefined;
  const [, service, type, rest] = m;
  if (service === 'ec2' && type === 'instance' && /^i-[0-9a-f]{8,32}$/.test(rest!))
    return { kind: 'ec2-instance', arn, instanceId: rest! };
  if (service === 'ecs' && type === 'task') {
    const parts = rest!.split('/');
    if (parts.length === 1) return { kind: 'ecs-task', arn, cluster: 'default', taskId: parts[0]! };
    if (parts.length === 2) return { kind: 'ecs-task', arn, cluster: parts[0]!, taskId: parts[1]! };
  }
  return undefined;
}

const INSTANCE_STATES: Readonly<Record<string, ResourceState>> = {
  pending: 'pending',
  running: 'running',
  stopping: 'stopped',
  stopped: 'stopped',
  'shutting-down': 'terminated',
  terminated: 'terminated',
};
const TASK_PENDING = new Set(['PROVISIONING', 'PENDING', 'ACTIVATING']);
/** A page of ids per call: under the EC2 filter's and DescribeTasks' limits of 200 and 100. */
const BATCH = 100;

export class AwsCloudResources implements CloudResources {
  readonly #options: AwsCloudResourcesOptions;
  readonly #serviceTag: string;

  constructor(options: AwsCloudResourcesOptions) {
    this.#options = options;
    this.#serviceTag = tagKeys(options.tagPrefix ?? DEFAULT_TAG_PREFIX).service;
  }

  async listTagged(): Promise<ObservedResource[]> {
    const arns: string[] = [];
    const pages = paginateGetResources(
      { client: this.#options.tagging },
      {
        TagFilters: [{ Key: this.#serviceTag }],
        ResourceTypeFilters: ['ec2:instance', 'ecs:task'],
        ResourcesPerPage: 100,
      },
    );
    try {
      for await (const page of pages) {
        for (const r of page.ResourceTagMappingList ?? []) if (r.ResourceARN) arns.push(r.ResourceARN);
      }
    } catch (error) {
      throw unavailable('tag:GetResources', error);
    }
    return this.describe(arns);
  }

  /** One observation per id it can parse (others are not EC2 instances or ECS tasks: skipped). */
  async describe(ids: readonly string[]): Promise<ObservedResource[]> {
    const parsed = ids.map(parseAwsResourceArn).filter((p): p is AwsResourceArn => p !== undefined);
    const instances = parsed.filter((p) => p.kind === 'ec2-instance');
    const tasks = parsed.filter((p) => p.kind === 'ecs-task');
    return [...(await this.#describeInstances(instances)), ...(await this.#describeTasks(tasks))];
  }

  async #describeInstances(
    refs: readonly Extract<AwsResourceArn, { kind: 'ec2-instance' }>[],
  ): Promise<ObservedResource[]> {
    const found = new Map<string, Instance>();
    for (const batch of chunks(refs, BATCH)) {
      const pages = paginateDescribeInstances(
        { client: this.#options.ec2 },
        { Filters: [{ Name: 'instance-id', Values: batch.map((r) => r.instanceId) }] },
      );
      try {
        for await (const page of pages) {
          for (const r of page.Reservations ?? [])
            for (const i of r.Instances ?? []) if (i.InstanceId) found.set(i.InstanceId, i);
        }
      } catch (error) {
        throw unavailable('ec2:DescribeInstances', error);
      }
    }
    return refs.map((ref) => {
      const instance = found.get(ref.instanceId);
      if (!instance) return gone(ref);
      const tags = Object.fromEntries((instance.Tags ?? []).map((t) => [t.Key ?? '', t.Value ?? '']));
      return {
        provider: 'aws',
        id: ref.arn,
        kind: ref.kind,
        tags,
        ...(instance.PrivateIpAddress && { privateIp: instance.PrivateIpAddress }),
        state: INSTANCE_STATES[instance.State?.Name ?? ''] ?? 'pending',
      };
    });
  }

  async #describeTasks(
    refs: readonly Extract<AwsResourceArn, { kind: 'ecs-task' }>[],
  ): Promise<ObservedResource[]> {
    const found = new Map<string, Task>();
    const byCluster = new Map<string, (typeof refs)[number][]>();
    for (const ref of refs) byCluster.set(ref.cluster, [...(byCluster.get(ref.cluster) ?? []), ref]);
    for (const [cluster, inCluster] of byCluster) {
      for (const batch of chunks(inCluster, BATCH)) {
        try {
          const out = await this.#options.ecs.send(
            new DescribeTasksCommand({ cluster, tasks: batch.map((r) => r.arn), include: ['TAGS'] }),
          );
          // A task ECS no longer has is in `failures` (reason MISSING), or simply not returned.
          for (const task of out.tasks ?? [])
            if (task.taskArn) found.set(task.taskArn.split('/').pop()!, task);
        } catch (error) {
          // A cluster deleted with its tasks: they are gone.
          if ((error as Error).name === 'ClusterNotFoundException') continue;
          throw unavailable('ecs:DescribeTasks', error);
        }
      }
    }
    return refs.map((ref) => {
      const task = found.get(ref.taskId);
      if (!task) return gone(ref);
      const ip = taskPrivateIp(task);
      return {
        provider: 'aws',
        id: ref.arn,
        kind: ref.kind,
        tags: Object.fromEntries((task.tags ?? []).map((t) => [t.key ?? '', t.value ?? ''])),
        ...(ip && { privateIp: ip }),
        state: taskState(task),
      };
    });
  }
}

/** A running task ECS is stopping (`desiredStatus: STOPPED`) is stopped already: it leaves first. */
function taskState(task: Task): ResourceState {
  const last = task.lastStatus ?? '';
  if (last === 'RUNNING') return task.desiredStatus === 'STOPPED' ? 'stopped' : 'running';
  if (TASK_PENDING.has(last)) return 'pending';
  return 'stopped';
}

/** The task's private IPv4: its ENI attachment (awsvpc), else a container's network interface. */
export function taskPrivateIp(task: Pick<Task, 'attachments' | 'containers'>): string | undefined {
  for (const attachment of task.attachments ?? []) {
    const ip = attachment.details?.find((d) => d.name === 'privateIPv4Address')?.value;
    if (ip) return ip;
  }
  for (const container of task.containers ?? []) {
    const ip = container.networkInterfaces?.find((n) => n.privateIpv4Address)?.privateIpv4Address;
    if (ip) return ip;
  }
  return undefined;
}

function gone(ref: AwsResourceArn): ObservedResource {
  return { provider: 'aws', id: ref.arn, kind: ref.kind, tags: {}, state: 'terminated' };
}

function chunks<T>(items: readonly T[], size: number): T[][] {
  const out: T[][] = [];
  for (let i = 0; i < items.length; i += size) out.push(items.slice(i, i + size));
  return out;
}

function unavailable(action: string, error: unknown): UnavailableError {
  const name = (error as Error)?.name ?? 'Error';
  return new UnavailableError(`${action} failed (${name}): check the function role's permissions and retry`, {
    cause: error,
  });
}
