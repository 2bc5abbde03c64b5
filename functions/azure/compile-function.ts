/**
 * The `compile` and `sweep` functions on Azure Functions v4. An Event Grid
 * subscription on the changes topic (CloudEvents 1.0 schema, one event per
 * delivery) posts each of weft's CloudEvents, as published, to the
 * `weftCompile` webhook ({@link createEventGridHandler}: handshake, Entra
 * ID token, body); a timer fires `weftSweep` every minute, which
 * republishes what the bus missed and runs anti-entropy with the peer
 * clouds. Thin: parse the delivery, call the control plane's use case.
 *
 * @module
 */
import type { InvocationContext, Timer } from '@azure/functions';
import type { ApiLogger } from '../../shared/api/create-api.js';
import { parseCloudEvent } from '../../shared/events/cloud-event.js';
import type { ControlPlane } from '../control-plane/compose-control-plane.js';
import { compileEvents, type SweepOutcome, sweepAll } from '../control-plane/use-cases.js';
import { type AzureHttpHandler, createEventGridHandler, type PushAuthGetter } from './event-grid-delivery.js';

/** The names the functions are registered (and deployed) under. */
export const AZURE_COMPILE_FUNCTION = 'weftCompile';
export const AZURE_SWEEP_FUNCTION = 'weftSweep';
/** The webhook's route below the host's `api/` prefix (the event subscription posts here). */
export const AZURE_COMPILE_ROUTE = 'events/compile';
/** How often the sweep runs (NCRONTAB, with seconds): every minute. */
export const AZURE_SWEEP_SCHEDULE = '0 */1 * * * *';

/** The plane a function runs on: built once per cold start, maybe asynchronously. */
export type PlaneGetter = () => ControlPlane | Promise<ControlPlane>;

/**
 * The plane's `compile` as the webhook of the changes topic. An event that
 * is not a weft CloudEvent fails the delivery (422), so Event Grid retries
 * and then dead-letters it.
 *
 * @example
 * app.http(AZURE_COMPILE_FUNCTION, { route: AZURE_COMPILE_ROUTE, methods: [...WEBHOOK_METHODS],
 *   handler: createAzureCompileHandler(() => plane, () => authenticate) });
 */
export function createAzureCompileHandler(
  plane: PlaneGetter,
  authenticate: PushAuthGetter,
  logger?: ApiLogger,
): AzureHttpHandler {
  return createEventGridHandler(
    authenticate,
    async ({ events }) => compileEvents(await plane(), events.map(parseCloudEvent)),
    logger,
  );
}

/** The outbox sweep and anti-entropy as the timer's handler. */
export function createAzureSweepHandler(plane: PlaneGetter) {
  return async (_timer: Timer, context: InvocationContext): Promise<SweepOutcome> => {
    const outcome = await sweepAll(await plane());
    context.log(JSON.stringify({ msg: 'sweep', published: outcome.published, peers: outcome.peers.length }));
    return outcome;
  };
}
