/**
 * The `compile` and `sweep` functions on Google Cloud. Eventarc delivers
 * each Pub/Sub message as a CloudEvent (`...pubsub.topic.v1.messagePublished`)
 * whose `data.message.data` is the base64 of weft's own CloudEvent in
 * structured mode; Cloud Scheduler publishes to the sweep topic on a rate.
 * Thin: unwrap the message, call the control plane's use case.
 *
 * @module
 */
import { cloudEvent, type CloudEvent as GcpCloudEvent } from '@google-cloud/functions-framework';
import { type CloudEvent, parseCloudEvent } from '../../shared/events/cloud-event.js';
import { MalformedError } from '../../shared/model/errors.js';
import type { ControlPlane } from '../control-plane/compose-control-plane.js';
import { onFirstCall } from '../control-plane/startup.js';
import { compileEvents, sweepChanges } from '../control-plane/use-cases.js';
import { composeGcpControlPlane } from './composition.js';

export const GCP_COMPILE_FUNCTION = 'weftCompile';
export const GCP_SWEEP_FUNCTION = 'weftSweep';

/** The Pub/Sub message Eventarc wraps. */
export interface PubSubMessageData {
  readonly message?: { readonly data?: string; readonly messageId?: string };
  readonly subscription?: string;
}

/**
 * weft's CloudEvent inside a Pub/Sub push. A malformed one throws, so the
 * subscription retries and then dead-letters it.
 */
export function unwrapPubSub(event: GcpCloudEvent<PubSubMessageData>): CloudEvent {
  const data = event.data?.message?.data;
  if (!data) throw new MalformedError('the Pub/Sub message has no data: expected a weft CloudEvent');
  let parsed: unknown;
  try {
    parsed = JSON.parse(Buffer.from(data, 'base64').toString('utf8'));
  } catch (error) {
    throw new MalformedError('the Pub/Sub message data is not a JSON CloudEvent', { cause: error });
  }
  return parseCloudEvent(parsed);
}

/** Registers both functions; `plane` defaults to the deployment's own, composed on first use. */
export function registerGcpCompile(
  plane: () => ControlPlane = onFirstCall(() => composeGcpControlPlane()),
): void {
  cloudEvent<PubSubMessageData>(GCP_COMPILE_FUNCTION, async (event: GcpCloudEvent<PubSubMessageData>) => {
    await compileEvents(plane(), [unwrapPubSub(event)]);
  });
  cloudEvent(GCP_SWEEP_FUNCTION, async () => {
    await sweepChanges(plane());
  });
}

registerGcpCompile();
