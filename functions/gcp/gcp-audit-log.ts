/**
 * The Compute Engine audit-log events the registrar's Eventarc triggers
 * deliver (`google.cloud.audit.log.v1.written`, Admin Activity): the
 * LogEntry is the CloudEvent's data, its `protoPayload` the AuditLog, with
 * `methodName` one of `v1.` or `beta.compute.instances.setLabels`,
 * `.insert`, `.delete` and `resourceName`
 * `projects/{p}/zones/{z}/instances/{name}`.
 *
 * A Compute operation writes two entries: `operation.first` when it starts
 * (with the request) and `operation.last` when it is done. The labels a
 * `setLabels` sets are in the request of its first entry, when the instance
 * may not show them yet, so they are taken from there; for every other entry
 * (insert, delete, a last entry, a failed call, a split entry) the instance
 * is read again.
 *
 * @module
 */
import * as z from 'zod';
import { gceInstanceId } from './gcp-cloud-resources.js';
import type { PushDelivery } from './push-delivery.js';

/** The type of an Eventarc audit-log event. */
export const AUDIT_LOG_WRITTEN = 'google.cloud.audit.log.v1.written';

/** The methods the registrar's triggers match (in `v1.` and `beta.`). */
export const INSTANCE_METHODS = ['setLabels', 'insert', 'delete'] as const;
export type InstanceMethod = (typeof INSTANCE_METHODS)[number];

/** What an entry says about one instance. */
export interface InstanceAuditEvent {
  /** `projects/{p}/zones/{z}/instances/{name}`, the project by id. */
  readonly instance: string;
  readonly method: InstanceMethod;
  /** The labels a `setLabels` sets, from its first entry; absent when the instance must be read for them. */
  readonly labels?: Readonly<Record<string, string>>;
}

const METHOD = /^(?:v1|beta)\.compute\.instances\.(setLabels|insert|delete)$/;
const RESOURCE = /^projects\/([^/]+)\/zones\/([^/]+)\/instances\/([^/]+)$/;

const logEntrySchema = z.looseObject({
  protoPayload: z.looseObject({
    serviceName: z.string().optional(),
    methodName: z.string(),
    resourceName: z.string(),
    status: z.looseObject({ code: z.number().optional() }).optional(),
    request: z
      .looseObject({
        labels: z.array(z.looseObject({ key: z.string(), value: z.string().optional() })).optional(),
      })
      .optional(),
  }),
  resource: z.looseObject({ labels: z.record(z.string(), z.string()).optional() }).optional(),
  operation: z.looseObject({ first: z.boolean().optional(), last: z.boolean().optional() }).optional(),
  split: z.unknown().optional(),
});

/**
 * The instance an audit-log event is about; `undefined` for any other event
 * (another type, service, method or resource: a trigger matching too much),
 * which the registrar logs and skips.
 */
export function instanceAuditEvent(
  delivery: Pick<PushDelivery, 'event' | 'data'>,
): InstanceAuditEvent | undefined {
  if (delivery.event?.type !== AUDIT_LOG_WRITTEN) return undefined;
  const parsed = logEntrySchema.safeParse(delivery.data);
  if (!parsed.success) return undefined;
  const { protoPayload: payload, resource, operation } = parsed.data;
  if (payload.serviceName !== undefined && payload.serviceName !== 'compute.googleapis.com') return undefined;
  const method = METHOD.exec(payload.methodName)?.[1] as InstanceMethod | undefined;
  const path = RESOURCE.exec(payload.resourceName);
  if (!method || !path) return undefined;
  // The entry may name the project by number; the LogEntry's resource names it by id, as the instance does.
  const project = resource?.labels?.project_id ?? path[1]!;
  const instance = gceInstanceId(project, resource?.labels?.zone ?? path[2]!, path[3]!);
  const requested =
    method === 'setLabels' &&
    operation?.first === true &&
    !payload.status?.code &&
    parsed.data.split === undefined &&
    payload.request !== undefined;
  if (!requested) return { instance, method };
  // setLabels replaces every label; proto3 JSON leaves out an empty list and an empty value.
  const labels = Object.fromEntries((payload.request?.labels ?? []).map((l) => [l.key, l.value ?? '']));
  return { instance, method, labels };
}
