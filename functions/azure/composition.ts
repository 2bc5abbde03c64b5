/**
 * The Azure composition root: the API over the state store `WEFT_STATE_BACKEND`
 * selects, wired once per cold start from the function's environment.
 * Operator auth reads the same variables as on AWS (`WEFT_OPERATOR_ISSUER`,
 * `WEFT_OPERATOR_AUDIENCE`, `WEFT_OPERATOR_JWKS_URL` or `WEFT_OPERATOR_JWKS`,
 * `WEFT_OPERATOR_ROLE_CLAIM`).
 *
 * @module
 */
import { TableClient } from '@azure/data-tables';
import type { ApiLogger } from '../../shared/api/create-api.js';
import type { Api } from '../../shared/api/types.js';
import type { ControlPlane } from '../control-plane/compose-control-plane.js';
import {
  type CloudPorts,
  composeCloudControlPlane,
  type Env,
  type StateStoreFactory,
} from '../control-plane/startup.js';
import { AzureTableStateStore } from './table-state-store.js';

/**
 * The stores `WEFT_STATE_BACKEND` may select. Azure Tables (the default) reads
 * `WEFT_TABLES_CONNECTION_STRING` (or the Functions host's
 * `AzureWebJobsStorage`) and `WEFT_TABLE_NAME` (default `weftstate`).
 */
export const AZURE_STATE_BACKENDS: Readonly<Record<string, StateStoreFactory>> = {
  tables: (config) => {
    const connection =
      config.optional('WEFT_TABLES_CONNECTION_STRING') ??
      config.require('AzureWebJobsStorage', 'is not set (nor WEFT_TABLES_CONNECTION_STRING)');
    const table = config.optional('WEFT_TABLE_NAME') ?? 'weftstate';
    return new AzureTableStateStore({ client: TableClient.fromConnectionString(connection, table) });
  },
};

export interface AzureCompositionOptions {
  /** @default the backend `WEFT_STATE_BACKEND` selects (default `tables`) from {@link AZURE_STATE_BACKENDS} */
  readonly createStore?: StateStoreFactory;
  /** @default JSON lines on the console (Application Insights) */
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
export function composeAzureControlPlane(
  env: Env = process.env,
  options: AzureCompositionOptions = {},
): ControlPlane {
  return composeCloudControlPlane(env, {
    cloud: 'azure',
    where: 'weft on Azure',
    backends: AZURE_STATE_BACKENDS,
    defaultBackend: 'tables',
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
 * const api = composeAzureApi(process.env, { createStore: () => new MemoryStateStore() });
 */
export function composeAzureApi(env: Env = process.env, options: AzureCompositionOptions = {}): Api {
  return composeAzureControlPlane(env, options).api;
}
