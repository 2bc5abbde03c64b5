/**
 * The one Function App of weft on Azure (v4 programming model): every
 * function is registered here, and `infra/azure/bundle.ts` ships this entry
 * as the app's `main`. All seven run in the same instances, so they share
 * one control plane, one delivery check and one registrar, each composed on
 * the first invocation that needs it, never at import.
 *
 * | function | trigger |
 * |---|---|
 * | `weftApi` | HTTP, anonymous (operators and agents authenticate themselves): every path but the ones below |
 * | `weftIngest` | HTTP, anonymous (peers sign what they relay): `v1/replication/*` |
 * | `weftCompile` | Event Grid webhook `events/compile`: the changes topic, CloudEvents schema |
 * | `weftRelay` | Event Grid webhook `events/relay`: the changes topic, CloudEvents schema |
 * | `weftRegistrar` | Event Grid webhook `events/registrar`: the resource group's system topic |
 * | `weftSweep` | timer, every minute |
 * | `weftReconcile` | timer, every 15 minutes |
 *
 * @module
 */
import azureFunctions from '@azure/functions';
import { composeOnFirstCall, onFirstCall } from '../control-plane/startup.js';
import {
  AZURE_API_FUNCTION,
  AZURE_API_METHODS,
  AZURE_API_ROUTE,
  createAzureApiHandler,
} from './api-function.js';
import {
  AZURE_COMPILE_FUNCTION,
  AZURE_COMPILE_ROUTE,
  AZURE_SWEEP_FUNCTION,
  AZURE_SWEEP_SCHEDULE,
  createAzureCompileHandler,
  createAzureSweepHandler,
} from './compile-function.js';
import { composeAzureControlPlane } from './composition.js';
import { azurePushAuthenticator, WEBHOOK_METHODS } from './event-grid-delivery.js';
import { AZURE_INGEST_FUNCTION, AZURE_INGEST_ROUTE, createAzureIngestHandler } from './ingest-function.js';
import { composeAzureRegistrar, deployedAzureRegistrarPorts } from './registrar-composition.js';
import {
  AZURE_RECONCILE_FUNCTION,
  AZURE_RECONCILE_SCHEDULE,
  AZURE_REGISTRAR_FUNCTION,
  AZURE_REGISTRAR_ROUTE,
  createAzureReconcileHandler,
  createAzureRegistrarHandler,
} from './registrar-function.js';
import { AZURE_RELAY_FUNCTION, AZURE_RELAY_ROUTE, createAzureRelayHandler } from './relay-function.js';

/** Every function the app registers, as deployed. */
export const AZURE_FUNCTIONS = [
  AZURE_API_FUNCTION,
  AZURE_INGEST_FUNCTION,
  AZURE_COMPILE_FUNCTION,
  AZURE_RELAY_FUNCTION,
  AZURE_REGISTRAR_FUNCTION,
  AZURE_SWEEP_FUNCTION,
  AZURE_RECONCILE_FUNCTION,
] as const;

const { app } = azureFunctions;
const plane = onFirstCall(() => composeAzureControlPlane());
const api = composeOnFirstCall(async () => (await plane()).api);
const authenticate = onFirstCall(() => azurePushAuthenticator(process.env));
const registrar = onFirstCall(() =>
  composeAzureRegistrar(process.env, deployedAzureRegistrarPorts(process.env, plane)),
);
const webhook = { methods: [...WEBHOOK_METHODS], authLevel: 'anonymous' as const };

app.http(AZURE_API_FUNCTION, {
  methods: [...AZURE_API_METHODS],
  authLevel: 'anonymous',
  route: AZURE_API_ROUTE,
  handler: createAzureApiHandler(api),
});
app.http(AZURE_INGEST_FUNCTION, {
  methods: [...AZURE_API_METHODS],
  authLevel: 'anonymous',
  route: AZURE_INGEST_ROUTE,
  handler: createAzureIngestHandler(api),
});
app.http(AZURE_COMPILE_FUNCTION, {
  ...webhook,
  route: AZURE_COMPILE_ROUTE,
  handler: createAzureCompileHandler(plane, authenticate),
});
app.http(AZURE_RELAY_FUNCTION, {
  ...webhook,
  route: AZURE_RELAY_ROUTE,
  handler: createAzureRelayHandler(plane, authenticate),
});
app.http(AZURE_REGISTRAR_FUNCTION, {
  ...webhook,
  route: AZURE_REGISTRAR_ROUTE,
  handler: createAzureRegistrarHandler(registrar, authenticate),
});
app.timer(AZURE_SWEEP_FUNCTION, { schedule: AZURE_SWEEP_SCHEDULE, handler: createAzureSweepHandler(plane) });
app.timer(AZURE_RECONCILE_FUNCTION, {
  schedule: AZURE_RECONCILE_SCHEDULE,
  handler: createAzureReconcileHandler(registrar),
});
