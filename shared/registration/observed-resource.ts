/**
 * A cloud resource as a registrar sees it, whichever cloud it is in, and the
 * Workload it should be (docs/registration.md §2): a pure function of the
 * resource, so an event, a retry and a reconcile all arrive at the same
 * document.
 *
 * @module
 */
import { createHash } from 'node:crypto';
import { API_VERSION } from '../model/kinds.js';
import type { Provider } from '../model/specs.js';
import { type RegistrationTags, readRegistrationTags, type TagSchemaOptions } from './tag-schema.js';

/** Where a resource is in its life; only `running` is registered. */
export type ResourceState = 'running' | 'pending' | 'stopped' | 'terminated';

/** What a cloud edge reads about one resource (and, for one the cloud no longer has, `terminated`). */
export interface ObservedResource {
  readonly provider: Provider;
  /** The cloud's id of the resource: an ARN on AWS, a resource path on GCP and Azure. */
  readonly id: string;
  /** `ec2-instance`, `ecs-task`, and the other clouds' kinds as they come. */
  readonly kind: string;
  readonly tags: Readonly<Record<string, string>>;
  readonly privateIp?: string;
  readonly state: ResourceState;
}

/** The label every registered Workload carries; its value is `<provider>-tags`. */
export const REGISTERED_BY = 'weft.dev/registered-by';
/** The annotation holding the id of the resource a Workload was registered for. */
export const RESOURCE_ANNOTATION = 'weft.dev/resource';

/** The value of {@link REGISTERED_BY} a provider's registrar writes. */
export const registeredBy = (provider: Provider) => `${provider}-tags`;

/** The Workload document (as `PUT` takes it) a resource should be. */
export interface WorkloadDocument {
  readonly apiVersion: typeof API_VERSION;
  readonly kind: 'Workload';
  readonly metadata: {
    readonly name: string;
    readonly namespace: string;
    readonly labels: Readonly<Record<string, string>>;
    readonly annotations: Readonly<Record<string, string>>;
  };
  readonly spec: {
    readonly service: string;
    readonly environment: string;
    readonly address: string;
    readonly weight?: number;
    readonly sourceAddresses: readonly string[];
  };
}

/** What a resource should be registered as. */
export type DesiredWorkload =
  | { readonly kind: 'present'; readonly document: WorkloadDocument; readonly tags: RegistrationTags }
  /** Not (or no longer) a Workload: a registered one goes. */
  | { readonly kind: 'absent'; readonly reason: string }
  /** Its tags (or its address) are wrong: reported; what is registered stays. */
  | { readonly kind: 'invalid'; readonly reasons: readonly string[] };

const SHORT_KIND: Readonly<Record<string, string>> = { 'ec2-instance': 'ec2', 'ecs-task': 'ecs' };
const IPV4 = /^(25[0-5]|2[0-4]\d|1\d\d|[1-9]?\d)(\.(25[0-5]|2[0-4]\d|1\d\d|[1-9]?\d)){3}$/;
const IPV6 = /^[0-9a-fA-F:.]{2,45}$/;

/**
 * The Workload's name: a DNS label from the resource's kind and the last
 * part of its id (`ec2-i-0abc…`, `ecs-<task id>`), with a hash of the whole
 * id when that would be longer than 63 characters.
 *
 * @example
 * workloadName({ kind: 'ec2-instance', id: 'arn:aws:ec2:us-east-1:123456789012:instance/i-0abc' }); // 'ec2-i-0abc'
 */
export function workloadName(resource: Pick<ObservedResource, 'kind' | 'id'>): string {
  const clean = (s: string) =>
    s
      .toLowerCase()
      .replace(/[^a-z0-9-]+/g, '-')
      .replace(/^-+|-+$/g, '');
  const kind = clean(SHORT_KIND[resource.kind] ?? resource.kind) || 'resource';
  const last = clean(resource.id.split(/[/:]/).pop() ?? '') || 'x';
  const name = `${kind}-${last}`;
  if (name.length <= 63) return name;
  const hash = createHash('sha256').update(`${resource.kind}\u0000${resource.id}`).digest('hex').slice(0, 10);
  return `${name.slice(0, 52).replace(/-+$/, '')}-${hash}`;
}

/**
 * What `resource` should be: present (its Workload document), absent, or
 * invalid. A resource not running, or with no tag under the prefix, is
 * absent; a running one with tags that do not parse, or no address, is invalid.
 */
export function desiredWorkload(resource: ObservedResource, options: TagSchemaOptions = {}): DesiredWorkload {
  if (resource.state !== 'running') return { kind: 'absent', reason: `the resource is ${resource.state}` };
  const reading = readRegistrationTags(resource.tags, options);
  if (reading.kind === 'none') return { kind: 'absent', reason: 'the resource has no weft tags' };
  const reasons = reading.kind === 'invalid' ? [...reading.reasons] : [];
  const ip = resource.privateIp;
  if (ip === undefined) reasons.push('the resource has no private IP address');
  else if (!IPV4.test(ip) && !(ip.includes(':') && IPV6.test(ip)))
    reasons.push(`the private IP address ${JSON.stringify(ip.slice(0, 45))} is not an IP address`);
  if (reading.kind === 'invalid' || reasons.length > 0) return { kind: 'invalid', reasons };
  const { tags } = reading;
  const host = ip!.includes(':') ? `[${ip}]` : ip!;
  return {
    kind: 'present',
    tags,
    document: {
      apiVersion: API_VERSION,
      kind: 'Workload',
      metadata: {
        name: workloadName(resource),
        namespace: tags.namespace,
        labels: { [REGISTERED_BY]: registeredBy(resource.provider) },
        annotations: { [RESOURCE_ANNOTATION]: resource.id },
      },
      spec: {
        service: tags.service,
        environment: tags.environment,
        address: `${host}:${tags.port}`,
        ...(tags.weight !== undefined && { weight: tags.weight }),
        sourceAddresses: [ip!],
      },
    },
  };
}
