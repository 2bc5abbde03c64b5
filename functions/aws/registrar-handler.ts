/**
 * The `registrar` function on AWS: EventBridge rules deliver tag changes on
 * EC2 instances and ECS tasks (`aws.tag`, "Tag Change on Resource"), instance
 * state changes (`aws.ec2`, "EC2 Instance State-change Notification") and
 * task state changes (`aws.ecs`, "ECS Task State Change"). Each event only
 * names the resource: the handler reads it again (events arrive late and out
 * of order; the resource's current state is the truth) and hands it to the
 * core registrar. The `reconcile` function: an EventBridge Scheduler
 * schedule invokes it (its payload is ignored); it lists every tagged
 * resource and repairs what events missed.
 *
 * Bad tags are the registrar's to report, never thrown (a thrown error makes
 * Lambda retry the event); an AWS or store call that fails is thrown, so the
 * event is retried.
 *
 * @module
 */
import middy from '@middy/core';
import type { EventBridgeEvent } from 'aws-lambda';
import * as z from 'zod';
import {
  observeResources,
  type RegistrarDeps,
  type RegistrarGetter,
  type RegistrarOutcome,
  reconcileResources,
  registrarGetter,
  skipped,
} from '../control-plane/registrar-use-cases.js';
import { onFirstCall } from '../control-plane/startup.js';
import { parseAwsResourceArn } from './aws-cloud-resources.js';
import { composeAwsRegistrar, deployedRegistrarPorts } from './registrar-composition.js';

export type { RegistrarOutcome } from '../control-plane/registrar-use-cases.js';

/** What the handlers run on: built once per cold start. */
export type AwsRegistrarDeps = RegistrarDeps;
export type AwsRegistrarGetter = RegistrarGetter;

const eventSchema = z.object({
  source: z.string(),
  'detail-type': z.string(),
  resources: z.array(z.string()).optional(),
  detail: z.record(z.string(), z.unknown()).optional(),
});

/**
 * The ARNs of the EC2 instances and ECS tasks an event is about; `[]` for
 * an event that is about neither (a rule matching too much), which is
 * logged and skipped.
 */
export function resourceArnsOf(input: unknown): string[] {
  const parsed = eventSchema.safeParse(input);
  if (!parsed.success) return [];
  const { source, resources = [], detail = {} } = parsed.data;
  const type = parsed.data['detail-type'];
  const candidates =
    source === 'aws.tag' && type === 'Tag Change on Resource'
      ? resources
      : source === 'aws.ec2' && type === 'EC2 Instance State-change Notification'
        ? resources
        : source === 'aws.ecs' && type === 'ECS Task State Change'
          ? [detail.taskArn, ...resources]
          : [];
  const arns = candidates.filter(
    (a): a is string => typeof a === 'string' && parseAwsResourceArn(a) !== undefined,
  );
  return [...new Set(arns)];
}

/**
 * The registrar as a middy handler for one EventBridge event.
 *
 * @example
 * export const handler = createAwsRegistrarHandler({ registrar, resources: new AwsCloudResources({ ec2, ecs, tagging }) });
 */
export function createAwsRegistrarHandler(deps: AwsRegistrarDeps | AwsRegistrarGetter) {
  const get = registrarGetter(deps);
  return middy<EventBridgeEvent<string, unknown>, RegistrarOutcome>().handler(async (event) => {
    const built = await get();
    const arns = resourceArnsOf(event);
    if (arns.length === 0)
      return skipped(built, 'registrar event skipped: no EC2 instance or ECS task in it', {
        source: event?.source,
      });
    return observeResources(built, await built.resources.describe(arns));
  });
}

/** The reconcile as a middy handler for a scheduled invocation (the payload is not read). */
export function createAwsReconcileHandler(deps: AwsRegistrarDeps | AwsRegistrarGetter) {
  const get = registrarGetter(deps);
  return middy<unknown, RegistrarOutcome>().handler(async () => reconcileResources(await get()));
}

const deployed = onFirstCall(() => composeAwsRegistrar(process.env, deployedRegistrarPorts(process.env)));

/** The deployed registrar function (EventBridge rules). */
export const handler = createAwsRegistrarHandler(deployed);
/** The deployed reconcile function (EventBridge Scheduler). */
export const reconcileHandler = createAwsReconcileHandler(deployed);
