/**
 * The composition root of the `registrar` and `reconcile` functions on
 * Azure: the core registrar over the control plane (see `registrarOver`),
 * tags under the prefix `weft:` as on AWS (`weft:service`, `weft:port`,
 * `weft:namespace`, `weft:environment`, `weft:weight`), and the ARM reader
 * of the resource group's virtual machines.
 *
 * | variable | |
 * |---|---|
 * | `WEFT_AZURE_SUBSCRIPTION_ID` | the subscription of the resource group (required) |
 * | `WEFT_AZURE_RESOURCE_GROUP` | the resource group whose VMs are registered (required) |
 * | `WEFT_DEFAULT_ENVIRONMENT` | the Environment of a VM without a `weft:environment` tag (default none: that tag is required) |
 * | `AZURE_CLIENT_ID` | the user-assigned managed identity ARM is read as (default the system-assigned one) |
 * | and what `composeAzureControlPlane` reads | `WEFT_TABLE_NAME`, `WEFT_EVENT_GRID_ENDPOINT`, ... |
 *
 * @module
 */
import type { TokenCredential } from '@azure/identity';
import type { ApiLogger } from '../../shared/api/create-api.js';
import type { ControlPlane } from '../control-plane/compose-control-plane.js';
import {
  type RegistrarDeps,
  type RegistrarPorts,
  readDefaultEnvironment,
  registrarOver,
} from '../control-plane/registrar-use-cases.js';
import { consoleJsonLogger, type Env, EnvConfig } from '../control-plane/startup.js';
import { ArmCloudResources } from './arm-cloud-resources.js';
import { composeAzureControlPlane, managedIdentityCredential } from './composition.js';

/** Azure tags take `:` in keys, as AWS tags do. */
export const AZURE_TAG_PREFIX = 'weft:';

/** What the registrar needs that the environment does not say. */
export interface AzureRegistrarPorts extends RegistrarPorts {
  /** Gets ARM tokens. @default the function's managed identity (`AZURE_CLIENT_ID`) */
  readonly credential?: TokenCredential;
  /** How ARM is called. @default globalThis.fetch */
  readonly fetch?: typeof fetch;
  /** @default https://management.azure.com */
  readonly armEndpoint?: string;
  /** @default JSON lines on the console (Application Insights) */
  readonly logger?: ApiLogger;
}

/** The registrar's own configuration. */
export interface AzureRegistrarConfig {
  readonly subscriptionId: string;
  readonly resourceGroup: string;
  readonly defaultEnvironment?: string;
  readonly clientId?: string;
}

const GUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;
const RESOURCE_GROUP = /^[-\w.()]{0,89}[-\w()]$/;

/**
 * Reads `WEFT_AZURE_SUBSCRIPTION_ID`, `WEFT_AZURE_RESOURCE_GROUP`,
 * `WEFT_DEFAULT_ENVIRONMENT` and `AZURE_CLIENT_ID`. Does no I/O.
 *
 * @throws ConfigurationError naming what is missing or malformed.
 */
export function readAzureRegistrarConfig(env: Env): AzureRegistrarConfig {
  const config = new EnvConfig(env);
  const subscriptionId = config.require(
    'WEFT_AZURE_SUBSCRIPTION_ID',
    'is not set: the subscription whose resource group’s VMs are registered',
  );
  if (subscriptionId && !GUID.test(subscriptionId))
    config.invalid(
      'WEFT_AZURE_SUBSCRIPTION_ID',
      `must be a subscription ID (a GUID), got ${JSON.stringify(subscriptionId)}`,
    );
  const resourceGroup = config.require(
    'WEFT_AZURE_RESOURCE_GROUP',
    'is not set: the resource group whose VMs are registered',
  );
  if (resourceGroup && !RESOURCE_GROUP.test(resourceGroup))
    config.invalid(
      'WEFT_AZURE_RESOURCE_GROUP',
      `must be a resource group name, got ${JSON.stringify(resourceGroup)}`,
    );
  const defaultEnvironment = readDefaultEnvironment(config);
  const clientId = config.optional('AZURE_CLIENT_ID');
  config.check('the weft registrar on Azure');
  return {
    subscriptionId,
    resourceGroup,
    ...(defaultEnvironment && { defaultEnvironment }),
    ...(clientId && { clientId }),
  };
}

/**
 * Builds the registrar and the ARM reader.
 *
 * @throws ConfigurationError naming what is wrong in `env` (before any I/O).
 * @example
 * const deps = await composeAzureRegistrar(process.env, { plane, credential, fetch: arm.fetch });
 */
export async function composeAzureRegistrar(env: Env, ports: AzureRegistrarPorts): Promise<RegistrarDeps> {
  const config = readAzureRegistrarConfig(env);
  const logger = ports.logger ?? consoleJsonLogger({ cloud: 'azure', fn: 'registrar' });
  const registrar = await registrarOver('azure', AZURE_TAG_PREFIX, ports, {
    defaultEnvironment: config.defaultEnvironment,
    logger,
  });
  const resources = new ArmCloudResources({
    subscriptionId: config.subscriptionId,
    resourceGroup: config.resourceGroup,
    credential: ports.credential ?? managedIdentityCredential(config.clientId),
    tagPrefix: AZURE_TAG_PREFIX,
    ...(ports.fetch && { fetch: ports.fetch }),
    ...(ports.armEndpoint && { armEndpoint: ports.armEndpoint }),
  });
  return { registrar, resources, logger };
}

/**
 * The ports of the deployed functions: the plane composed from `env` (or
 * the one `plane` gives, shared with the other functions of the app),
 * whose state and blob stores the registrar reads.
 *
 * @throws ConfigurationError naming every missing variable (before any I/O).
 */
export function deployedAzureRegistrarPorts(
  env: Env,
  plane: () => ControlPlane | Promise<ControlPlane> = () => composeAzureControlPlane(env),
): AzureRegistrarPorts {
  readAzureRegistrarConfig(env); // its errors first, before the plane starts any I/O
  return { plane: plane() };
}
