/**
 * The `relay` function on Azure: a second Event Grid subscription on the
 * changes topic posts each change event to the `weftRelay` webhook; the
 * function signs this cloud's writes with the Key Vault relay key and POSTs
 * them to every peer's ingest.
 *
 * A function and not an Event Grid webhook straight to the peers: each
 * relayed event must be signed, one JWS per event with a key in Key Vault,
 * and a subscription can only add static headers. The relay never fails for
 * a peer: one that is down is retried a few times here, then left to
 * anti-entropy, so one dead peer cannot make Event Grid redeliver to the
 * live ones. An event that is not a weft CloudEvent fails the delivery.
 *
 * @module
 */
import type { ApiLogger } from '../../shared/api/create-api.js';
import { parseCloudEvent } from '../../shared/events/cloud-event.js';
import type { PlaneGetter } from './compile-function.js';
import { type AzureHttpHandler, createEventGridHandler, type PushAuthGetter } from './event-grid-delivery.js';

/** The name the function is registered (and deployed) under. */
export const AZURE_RELAY_FUNCTION = 'weftRelay';
/** The webhook's route below the host's `api/` prefix. */
export const AZURE_RELAY_ROUTE = 'events/relay';

/**
 * The plane's `relay` as the webhook of the changes topic.
 *
 * @example
 * app.http(AZURE_RELAY_FUNCTION, { route: AZURE_RELAY_ROUTE, methods: [...WEBHOOK_METHODS],
 *   handler: createAzureRelayHandler(() => plane, () => authenticate) });
 */
export function createAzureRelayHandler(
  plane: PlaneGetter,
  authenticate: PushAuthGetter,
  logger?: ApiLogger,
): AzureHttpHandler {
  return createEventGridHandler(
    authenticate,
    async ({ events }) => {
      const parsed = events.map(parseCloudEvent);
      const built = await plane();
      await built.relay(parsed);
      return { relayed: built.replication !== undefined };
    },
    logger,
  );
}
