/**
 * The GCP composition root: the API over the state store `WEFT_STATE_BACKEND`
 * selects, wired once per cold start from the function's environment.
 * Operator auth reads the same variables as on AWS (`WEFT_OPERATOR_ISSUER`,
 * `WEFT_OPERATOR_AUDIENCE`, `WEFT_OPERATOR_JWKS_URL` or `WEFT_OPERATOR_JWKS`,
 * `WEFT_OPERATOR_ROLE_CLAIM`).
 *
 * @module
 */
import { Firestore } from '@google-cloud/firestore';
import type { ApiLogger } from '../../shared/api/create-api.js';
import type { Api } from '../../shared/api/types.js';
import type { ControlPlane } from '../control-plane/compose-control-plane.js';
import {
  type CloudPorts,
  composeCloudControlPlane,
  type Env,
  type StateStoreFactory,
} from '../control-plane/startup.js';
import { FirestoreStateStore } from './firestore-state-store.js';

/**
 * The stores `WEFT_STATE_BACKEND` may select. Firestore (the default) uses the
 * function's own project and credentials; `WEFT_FIRESTORE_COLLECTION` names
 * the collection (default `weft-state`).
 */
export const GCP_STATE_BACKENDS: Readonly<Record<string, StateStoreFactory>> = {
  firestore: (config) => {
    const collection = config.optional('WEFT_FIRESTORE_COLLECTION');
    return new FirestoreStateStore({ firestore: new Firestore(), ...(collection && { collection }) });
  },
};

export interface GcpCompositionOptions {
  /** @default the backend `WEFT_STATE_BACKEND` selects (default `firestore`) from {@link GCP_STATE_BACKENDS} */
  readonly createStore?: StateStoreFactory;
  /** @default JSON lines on the console (Cloud Logging) */
  readonly logger?: ApiLogger;
  /** The adapters that have landed (key, blobs, bus). @default none: identity and distribution off */
  readonly ports?: CloudPorts;
}

/**
 * Builds the control plane from `env` through `composeControlPlane`. Does no I/O.
 * Identity and distribution stay off until this cloud's key and blob
 * adapters land and are passed as `ports`.
 *
 * @throws ConfigurationError naming every missing or malformed variable.
 */
export function composeGcpControlPlane(
  env: Env = process.env,
  options: GcpCompositionOptions = {},
): ControlPlane {
  return composeCloudControlPlane(env, {
    cloud: 'gcp',
    where: 'weft on GCP',
    backends: GCP_STATE_BACKENDS,
    defaultBackend: 'firestore',
    createStore: options.createStore,
    logger: options.logger,
    ports: options.ports,
  });
}

/**
 * Builds the API from `env`: the control plane's HTTP edge. Does no I/O.
 *
 * @throws ConfigurationError naming every missing or malformed variable.
 * @example
 * const api = composeGcpApi(process.env, { createStore: () => new MemoryStateStore() });
 */
export function composeGcpApi(env: Env = process.env, options: GcpCompositionOptions = {}): Api {
  return composeGcpControlPlane(env, options).api;
}
