/**
 * The one bundle of weft's Google Cloud functions: every function is
 * registered here with functions-framework, and each is deployed from this
 * bundle with its own `--entry-point`. An instance runs one of them, so
 * what they share (the control plane, the push check, the registrar) is
 * composed on that function's first request, never at import.
 *
 * | entry point | trigger |
 * |---|---|
 * | `weftApi` | HTTP, public (operators and agents) |
 * | `weftIngest` | HTTP, public (peers sign what they relay): `/v1/replication/*` |
 * | `weftCompile` | Eventarc, Pub/Sub `messagePublished` on the changes topic |
 * | `weftRelay` | Eventarc, Pub/Sub `messagePublished` on the changes topic |
 * | `weftSweep` | Cloud Scheduler, HTTP with OIDC |
 * | `weftRegistrar` | Eventarc, Compute Engine audit logs (`instances.setLabels`, `.insert`, `.delete`) |
 * | `weftReconcile` | Cloud Scheduler, HTTP with OIDC |
 *
 * @module
 */
import { http } from '@google-cloud/functions-framework';
import { composeOnFirstCall, onFirstCall } from '../control-plane/startup.js';
import { GCP_FUNCTION_NAME, registerGcpApi } from './api-function.js';
import { createGcpCompileFunction, GCP_COMPILE_FUNCTION } from './compile-function.js';
import { composeGcpControlPlane } from './composition.js';
import { createGcpIngestFunction, GCP_INGEST_FUNCTION } from './ingest-function.js';
import { gcpPushAuthenticator } from './push-delivery.js';
import { composeGcpRegistrar, deployedGcpRegistrarPorts } from './registrar-composition.js';
import {
  createGcpReconcileFunction,
  createGcpRegistrarFunction,
  GCP_RECONCILE_FUNCTION,
  GCP_REGISTRAR_FUNCTION,
} from './registrar-function.js';
import { createGcpRelayFunction, GCP_RELAY_FUNCTION } from './relay-function.js';
import { createGcpSweepFunction, GCP_SWEEP_FUNCTION } from './sweep-function.js';

/** Every entry point the bundle registers, as deployed. */
export const GCP_FUNCTIONS = [
  GCP_FUNCTION_NAME,
  GCP_INGEST_FUNCTION,
  GCP_COMPILE_FUNCTION,
  GCP_RELAY_FUNCTION,
  GCP_SWEEP_FUNCTION,
  GCP_REGISTRAR_FUNCTION,
  GCP_RECONCILE_FUNCTION,
] as const;

const plane = onFirstCall(() => composeGcpControlPlane());
const api = composeOnFirstCall(async () => (await plane()).api);
const authenticate = onFirstCall(() => gcpPushAuthenticator(process.env));
const registrar = onFirstCall(() =>
  composeGcpRegistrar(process.env, deployedGcpRegistrarPorts(process.env, plane)),
);

registerGcpApi(api);
http(GCP_INGEST_FUNCTION, createGcpIngestFunction(api));
http(GCP_COMPILE_FUNCTION, createGcpCompileFunction(plane, authenticate));
http(GCP_RELAY_FUNCTION, createGcpRelayFunction(plane, authenticate));
http(GCP_SWEEP_FUNCTION, createGcpSweepFunction(plane, authenticate));
http(GCP_REGISTRAR_FUNCTION, createGcpRegistrarFunction(registrar, authenticate));
http(GCP_RECONCILE_FUNCTION, createGcpReconcileFunction(registrar, authenticate));
