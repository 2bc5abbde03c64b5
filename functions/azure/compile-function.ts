/**
 * The `compile` and `sweep` functions on Azure Functions v4. An Event Grid
 * topic in the CloudEvents 1.0 schema triggers `weftCompile` with weft's own
 * CloudEvent as it was published; a timer triggers `weftSweep`. Thin: parse
 * the native event, call the control plane's use case.
 *
 * @module
 */
import azureFunctions, { type EventGridEvent, type InvocationContext } from '@azure/functions';
import { parseCloudEvent } from '../../shared/events/cloud-event.js';
import type { ControlPlane } from '../control-plane/compose-control-plane.js';
import { onFirstCall } from '../control-plane/startup.js';
import { type CompileOutcome, compileEvents, sweepChanges } from '../control-plane/use-cases.js';
import { composeAzureControlPlane } from './composition.js';

/** How often the sweep runs (NCRONTAB, with seconds): every minute. */
export const AZURE_SWEEP_SCHEDULE = '0 */1 * * * *';

/**
 * The Event Grid handler. Event Grid's CloudEvents schema hands the event
 * over as published; a malformed one throws, so Event Grid retries and then
 * dead-letters it.
 */
export function createAzureCompileHandler(plane: () => ControlPlane) {
  return async (event: EventGridEvent | unknown, context: InvocationContext): Promise<CompileOutcome> => {
    const outcome = await compileEvents(plane(), [parseCloudEvent(event)]);
    context.log(JSON.stringify({ msg: 'compile', ...outcome }));
    return outcome;
  };
}

/** The timer handler. */
export function createAzureSweepHandler(plane: () => ControlPlane) {
  return async (_timer: unknown, context: InvocationContext): Promise<void> => {
    const { published } = await sweepChanges(plane());
    context.log(JSON.stringify({ msg: 'sweep', published }));
  };
}

const deployed = onFirstCall(() => composeAzureControlPlane());

azureFunctions.app.eventGrid('weftCompile', { handler: createAzureCompileHandler(deployed) });
azureFunctions.app.timer('weftSweep', {
  schedule: AZURE_SWEEP_SCHEDULE,
  handler: createAzureSweepHandler(deployed),
});
