/**
 * The `relay` function on Google Cloud: a second Eventarc trigger on the
 * changes topic pushes each change event; the function signs this cloud's
 * writes with the Cloud KMS relay key and POSTs them to every peer's ingest.
 *
 * A function and not a Pub/Sub push straight to the peers: each relayed
 * event must be signed, one JWS per event with a key in Cloud KMS. The relay
 * never fails for a peer: one that is down is retried a few times here, then
 * left to anti-entropy, so one dead peer cannot make Pub/Sub redeliver to the
 * live ones. A message that holds no weft CloudEvent fails the push.
 *
 * @module
 */
import type { HttpFunction } from '@google-cloud/functions-framework';
import type { ApiLogger } from '../../shared/api/create-api.js';
import type { PlaneGetter } from './compile-function.js';
import { createGcpPushFunction, type PushAuthGetter, unwrapPubSub } from './push-delivery.js';

/** The name the function is registered (and deployed) under. */
export const GCP_RELAY_FUNCTION = 'weftRelay';

/** The plane's `relay` as an HTTP function for Eventarc's Pub/Sub pushes. */
export function createGcpRelayFunction(
  plane: PlaneGetter,
  authenticate: PushAuthGetter,
  logger?: ApiLogger,
): HttpFunction {
  return createGcpPushFunction(
    authenticate,
    async (delivery) => {
      const event = unwrapPubSub(delivery);
      const built = await plane();
      await built.relay([event]);
      return { relayed: built.replication !== undefined };
    },
    logger,
  );
}
