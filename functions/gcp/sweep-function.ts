/**
 * The `sweep` function on Google Cloud: a Cloud Scheduler job calls it over
 * HTTP on a rate, with an OIDC token of the push service account (its body is
 * not read). It republishes what the bus missed and runs anti-entropy with
 * the peer clouds; a peer that cannot be reached is in the outcome, not a
 * failure (the next run tries again).
 *
 * @module
 */
import type { HttpFunction } from '@google-cloud/functions-framework';
import type { ApiLogger } from '../../shared/api/create-api.js';
import { sweepAll } from '../control-plane/use-cases.js';
import type { PlaneGetter } from './compile-function.js';
import { createGcpPushFunction, type PushAuthGetter } from './push-delivery.js';

/** The name the function is registered (and deployed) under. */
export const GCP_SWEEP_FUNCTION = 'weftSweep';

/** The outbox sweep and anti-entropy as an HTTP function for Cloud Scheduler. */
export function createGcpSweepFunction(
  plane: PlaneGetter,
  authenticate: PushAuthGetter,
  logger?: ApiLogger,
): HttpFunction {
  return createGcpPushFunction(authenticate, async () => sweepAll(await plane()), logger);
}
