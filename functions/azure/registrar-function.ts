/**
 * The `registrar` function on Azure: an Event Grid subscription on the
 * resource group's system topic posts Azure Resource Manager's
 * `Microsoft.Resources.ResourceWriteSuccess` and `ResourceDeleteSuccess`
 * events to the `weftRegistrar` webhook, filtered on `data.operationName`:
 * `Microsoft.Resources/tags/write` (the tags API, whose `resourceUri` is
 * `<resource id>/providers/Microsoft.Resources/tags/default`),
 * `Microsoft.Compute/virtualMachines/write` and `.../delete` (and, when the
 * subscription takes them, `Microsoft.Resources/tags/delete` and the VM's
 * power actions: {@link REGISTRAR_OPERATIONS}). An event only
 * names the VM: the handler reads it again (events arrive late and out of
 * order; the VM's current state is the truth) and hands it to the core
 * registrar. The `reconcile` function: a timer every 15 minutes lists every
 * tagged VM and repairs what events missed.
 *
 * Bad tags are the registrar's to report, never a failed delivery (which
 * Event Grid would retry); an ARM or store call that fails fails the
 * delivery, so the event is retried.
 *
 * @module
 */
import type { InvocationContext, Timer } from '@azure/functions';
import type { ApiLogger } from '../../shared/api/create-api.js';
import {
  observeResources,
  type RegistrarDeps,
  type RegistrarGetter,
  type RegistrarOutcome,
  reconcileResources,
  registrarGetter,
  skipped,
} from '../control-plane/registrar-use-cases.js';
import { azureVmId } from './arm-cloud-resources.js';
import {
  type AzureHttpHandler,
  createEventGridHandler,
  type DeliveredEvent,
  type PushAuthGetter,
} from './event-grid-delivery.js';

/** The names the functions are registered (and deployed) under. */
export const AZURE_REGISTRAR_FUNCTION = 'weftRegistrar';
export const AZURE_RECONCILE_FUNCTION = 'weftReconcile';
/** The webhook's route below the host's `api/` prefix. */
export const AZURE_REGISTRAR_ROUTE = 'events/registrar';
/** How often the reconcile runs (NCRONTAB, with seconds): every 15 minutes. */
export const AZURE_RECONCILE_SCHEDULE = '0 */15 * * * *';

/**
 * The event types the registrar takes. A VM's power changes are actions
 * (`ResourceActionSuccess`), not writes: without them a deallocated VM stays
 * registered until the next reconcile.
 */
export const REGISTRAR_EVENT_TYPES = [
  'Microsoft.Resources.ResourceWriteSuccess',
  'Microsoft.Resources.ResourceDeleteSuccess',
  'Microsoft.Resources.ResourceActionSuccess',
] as const;
/**
 * The operations among them that change what a VM registers as: its tags
 * (set, or all deleted through the tags API), the VM itself, and its power.
 */
export const REGISTRAR_OPERATIONS = [
  'Microsoft.Resources/tags/write',
  'Microsoft.Resources/tags/delete',
  'Microsoft.Compute/virtualMachines/write',
  'Microsoft.Compute/virtualMachines/delete',
  'Microsoft.Compute/virtualMachines/start/action',
  'Microsoft.Compute/virtualMachines/restart/action',
  'Microsoft.Compute/virtualMachines/powerOff/action',
  'Microsoft.Compute/virtualMachines/deallocate/action',
] as const;

const TYPES = new Set<string>(REGISTRAR_EVENT_TYPES.map((t) => t.toLowerCase()));
const OPERATIONS = new Set<string>(REGISTRAR_OPERATIONS.map((o) => o.toLowerCase()));
const TAGS_SUFFIX = /\/providers\/microsoft\.resources\/tags\/default$/i;

/**
 * The VM an event is about (its id, lowercased); `undefined` for any other
 * event (another type or operation, a resource that is no VM: a
 * subscription matching too much), which the registrar logs and skips.
 */
export function vmIdOfEvent(event: DeliveredEvent): string | undefined {
  const type = typeof event.type === 'string' ? event.type.toLowerCase() : '';
  const data = (typeof event.data === 'object' && event.data !== null ? event.data : {}) as Record<
    string,
    unknown
  >;
  const operation = typeof data.operationName === 'string' ? data.operationName.toLowerCase() : '';
  if (!TYPES.has(type) || !OPERATIONS.has(operation)) return undefined;
  // The power actions' resourceUri is the VM's; the tags API's is the tags scope below it.
  const uri =
    typeof data.resourceUri === 'string'
      ? data.resourceUri
      : typeof event.subject === 'string'
        ? event.subject
        : '';
  return azureVmId(uri.replace(TAGS_SUFFIX, ''));
}

/**
 * The registrar as the webhook of the resource group's system topic.
 *
 * @example
 * app.http(AZURE_REGISTRAR_FUNCTION, { route: AZURE_REGISTRAR_ROUTE, methods: [...WEBHOOK_METHODS],
 *   handler: createAzureRegistrarHandler({ registrar, resources }, () => authenticate) });
 */
export function createAzureRegistrarHandler(
  deps: RegistrarDeps | RegistrarGetter,
  authenticate: PushAuthGetter,
  logger?: ApiLogger,
): AzureHttpHandler {
  const get = registrarGetter(deps);
  return createEventGridHandler(
    authenticate,
    async ({ events }) => {
      const built = await get();
      const ids = [...new Set(events.map(vmIdOfEvent).filter((id): id is string => id !== undefined))];
      if (ids.length === 0)
        return skipped(built, 'registrar event skipped: no virtual machine write, delete or tag write', {
          types: events.map((e) => e.type),
          subjects: events.map((e) => e.subject),
        });
      return observeResources(built, await built.resources.describe(ids));
    },
    logger,
  );
}

/** The reconcile as the timer's handler. */
export function createAzureReconcileHandler(deps: RegistrarDeps | RegistrarGetter) {
  const get = registrarGetter(deps);
  return async (_timer: Timer, context: InvocationContext): Promise<RegistrarOutcome> => {
    const outcome = await reconcileResources(await get());
    context.log(JSON.stringify({ msg: 'reconcile', resources: outcome.resources.length, ...outcome.counts }));
    return outcome;
  };
}
