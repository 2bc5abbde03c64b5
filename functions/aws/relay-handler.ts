/**
 * The `relay` function on AWS: the same EventBridge rule pattern as
 * `compile` (`dev.weft.resource.changed` from `dev.weft.aws`) invokes it
 * with one change event; it signs this cloud's write with the KMS relay key
 * and POSTs it to every peer's ingest.
 *
 * A Lambda and not EventBridge API destinations: each relayed event must be
 * signed, one JWS per event with a key in KMS, and an API destination can
 * only forward the event with a static header. The relay never throws: a
 * peer that is down is retried a few times here, then left to anti-entropy,
 * so one dead peer cannot make EventBridge redeliver to the live ones.
 *
 * @module
 */
import middy from '@middy/core';
import type { EventBridgeEvent } from 'aws-lambda';
import { parseCloudEvent } from '../../shared/events/cloud-event.js';
import { onFirstCall } from '../control-plane/startup.js';
import type { PlaneGetter } from './compile-handler.js';
import { composeAwsControlPlane } from './composition.js';

/**
 * Wraps the plane's `relay` as a middy handler for one EventBridge event.
 * A malformed envelope throws, so EventBridge dead-letters it.
 */
export function createAwsRelayHandler(plane: PlaneGetter) {
  return middy<EventBridgeEvent<string, unknown>, { relayed: boolean }>().handler(async (event) => {
    const cloudEvent = parseCloudEvent(event.detail);
    const built = await plane();
    await built.relay([cloudEvent]);
    return { relayed: built.replication !== undefined };
  });
}

/** The deployed relay function. */
export const handler = createAwsRelayHandler(onFirstCall(() => composeAwsControlPlane()));
