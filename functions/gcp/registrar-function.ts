/**
 * The `registrar` function on Google Cloud: Eventarc triggers on Compute
 * Engine's Admin Activity audit logs (`v1.` and `beta.compute.instances.setLabels`,
 * `.insert`, `.delete`) push each entry ({@link instanceAuditEvent}). The
 * entry only names the instance: the handler reads it again (events arrive
 * late and out of order; the instance's current state is the truth), with
 * the labels a `setLabels` first entry sets, and hands it to the core
 * registrar. The `reconcile` function: a Cloud Scheduler job calls it on a
 * rate (its body is not read); it lists every labelled instance and repairs
 * what events missed.
 *
 * Bad labels are the registrar's to report, never a failed push (which
 * Eventarc would retry); a Compute or store call that fails fails the push,
 * so the event is retried.
 *
 * @module
 */
import type { HttpFunction } from '@google-cloud/functions-framework';
import type { ApiLogger } from '../../shared/api/create-api.js';
import {
  observeResources,
  type RegistrarDeps,
  type RegistrarGetter,
  reconcileResources,
  registrarGetter,
  skipped,
} from '../control-plane/registrar-use-cases.js';
import { instanceAuditEvent } from './gcp-audit-log.js';
import { createGcpPushFunction, type PushAuthGetter } from './push-delivery.js';

/** The names the functions are registered (and deployed) under. */
export const GCP_REGISTRAR_FUNCTION = 'weftRegistrar';
export const GCP_RECONCILE_FUNCTION = 'weftReconcile';

/**
 * The registrar as an HTTP function for Eventarc's audit-log pushes.
 *
 * @example
 * http(GCP_REGISTRAR_FUNCTION, createGcpRegistrarFunction({ registrar, resources }, () => authenticate));
 */
export function createGcpRegistrarFunction(
  deps: RegistrarDeps | RegistrarGetter,
  authenticate: PushAuthGetter,
  logger?: ApiLogger,
): HttpFunction {
  const get = registrarGetter(deps);
  return createGcpPushFunction(
    authenticate,
    async (delivery) => {
      const built = await get();
      const audit = instanceAuditEvent(delivery);
      if (!audit)
        return skipped(built, 'registrar event skipped: not a Compute Engine instance audit log', {
          type: delivery.event?.type,
          subject: delivery.event?.subject,
        });
      const [instance] = await built.resources.describe([audit.instance]);
      const labelled =
        audit.labels && instance && instance.state !== 'terminated'
          ? { ...instance, tags: audit.labels }
          : instance;
      return observeResources(built, labelled ? [labelled] : []);
    },
    logger,
  );
}

/** The reconcile as an HTTP function for Cloud Scheduler. */
export function createGcpReconcileFunction(
  deps: RegistrarDeps | RegistrarGetter,
  authenticate: PushAuthGetter,
  logger?: ApiLogger,
): HttpFunction {
  const get = registrarGetter(deps);
  return createGcpPushFunction(authenticate, async () => reconcileResources(await get()), logger);
}
