/**
 * The `compile` function on Google Cloud: an Eventarc trigger on the changes
 * topic (`weft-changes`) pushes each Pub/Sub message as a
 * `google.cloud.pubsub.topic.v1.messagePublished` CloudEvent whose
 * `data.message.data` is the base64 of weft's own CloudEvent in structured
 * mode. Thin: check the push ({@link createGcpPushFunction}), unwrap the
 * message, call the control plane's use case. A message that holds no weft
 * CloudEvent fails the push, so Pub/Sub retries and then dead-letters it.
 *
 * @module
 */
import type { HttpFunction } from '@google-cloud/functions-framework';
import type { ApiLogger } from '../../shared/api/create-api.js';
import type { ControlPlane } from '../control-plane/compose-control-plane.js';
import { compileEvents } from '../control-plane/use-cases.js';
import { createGcpPushFunction, type PushAuthGetter, unwrapPubSub } from './push-delivery.js';

export { type PubSubMessageData, unwrapPubSub } from './push-delivery.js';

/** The name the function is registered (and deployed) under. */
export const GCP_COMPILE_FUNCTION = 'weftCompile';

/** The plane a function runs on: built once per cold start, maybe asynchronously. */
export type PlaneGetter = () => ControlPlane | Promise<ControlPlane>;

/**
 * The plane's `compile` as an HTTP function for Eventarc's Pub/Sub pushes.
 *
 * @example
 * http(GCP_COMPILE_FUNCTION, createGcpCompileFunction(() => plane, () => authenticate));
 */
export function createGcpCompileFunction(
  plane: PlaneGetter,
  authenticate: PushAuthGetter,
  logger?: ApiLogger,
): HttpFunction {
  return createGcpPushFunction(
    authenticate,
    async (delivery) => compileEvents(await plane(), [unwrapPubSub(delivery)]),
    logger,
  );
}
