/**
 * The `compile` function on AWS: an EventBridge rule on
 * `detail-type: dev.weft.resource.changed` invokes it with one event, whose
 * `detail` is the whole CloudEvent (structured mode, so nothing of the
 * envelope is lost crossing EventBridge). The `sweep` function: an
 * EventBridge Scheduler schedule invokes it on a rate; it republishes what
 * the bus missed and runs anti-entropy with the peer clouds. Both are thin:
 * parse the native event, call the control plane's use case, map the result back.
 *
 * @module
 */
import middy from '@middy/core';
import type { EventBridgeEvent, ScheduledEvent } from 'aws-lambda';
import { parseCloudEvent } from '../../shared/events/cloud-event.js';
import type { ControlPlane } from '../control-plane/compose-control-plane.js';
import { onFirstCall } from '../control-plane/startup.js';
import {
  type CompileOutcome,
  compileEvents,
  type SweepOutcome,
  sweepAll,
} from '../control-plane/use-cases.js';
import { composeAwsControlPlane } from './composition.js';

/** The plane a handler runs on: built once per cold start, maybe asynchronously. */
export type PlaneGetter = () => ControlPlane | Promise<ControlPlane>;

/**
 * Wraps the plane's `compile` as a middy handler for one EventBridge event.
 * A malformed envelope throws (ValidationError), so EventBridge retries and
 * then dead-letters it rather than dropping it silently.
 *
 * @example
 * export const handler = createAwsCompileHandler(() => plane);
 */
export function createAwsCompileHandler(plane: PlaneGetter) {
  return middy<EventBridgeEvent<string, unknown>, CompileOutcome>().handler(async (event) => {
    return compileEvents(await plane(), [parseCloudEvent(event.detail)]);
  });
}

/** Wraps the outbox sweep and anti-entropy as a middy handler for a scheduled event. */
export function createAwsSweepHandler(plane: PlaneGetter) {
  return middy<ScheduledEvent, SweepOutcome>().handler(async () => sweepAll(await plane()));
}

const deployed = onFirstCall(() => composeAwsControlPlane());

/** The deployed compile function: the plane composed from the environment on the first invocation. */
export const compileHandler = createAwsCompileHandler(deployed);
/** The deployed sweep function. */
export const sweepHandler = createAwsSweepHandler(deployed);
