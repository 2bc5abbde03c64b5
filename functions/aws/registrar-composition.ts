/**
 * The composition root of the `registrar` and `reconcile` functions: the
 * core registrar over the control plane's `ResourceWriter` (so every write
 * is published like the API's), the state store (to find the Workloads it
 * owns), the blob store (its status document) and the EC2, ECS and tagging
 * clients.
 *
 * | variable | |
 * |---|---|
 * | `WEFT_DEFAULT_ENVIRONMENT` | the Environment of a resource without a `weft:environment` tag (default none: that tag is required) |
 * | `AWS_REGION` | the region whose instances and tasks are read (set by Lambda) |
 * | and what `composeAwsControlPlane` reads | `WEFT_TABLE_NAME`, `WEFT_BUCKET_NAME`, ... |
 *
 * @module
 */
import { EC2Client } from '@aws-sdk/client-ec2';
import { ECSClient } from '@aws-sdk/client-ecs';
import { ResourceGroupsTaggingAPIClient } from '@aws-sdk/client-resource-groups-tagging-api';
import type { ApiLogger } from '../../shared/api/create-api.js';
import {
  type RegistrarPorts,
  readDefaultEnvironment,
  registrarOver,
} from '../control-plane/registrar-use-cases.js';
import { consoleJsonLogger, type Env, EnvConfig } from '../control-plane/startup.js';
import { AwsCloudResources } from './aws-cloud-resources.js';
import { composeAwsControlPlane } from './composition.js';
import type { AwsRegistrarDeps } from './registrar-handler.js';

/** What the registrar needs that the environment does not say. */
export interface AwsRegistrarPorts extends RegistrarPorts {
  /** @default a client for the Lambda's own region and role */
  readonly ec2?: EC2Client;
  /** @default a client for the Lambda's own region and role */
  readonly ecs?: ECSClient;
  /** @default a client for the Lambda's own region and role */
  readonly tagging?: ResourceGroupsTaggingAPIClient;
  /** @default JSON lines on the console (CloudWatch Logs) */
  readonly logger?: ApiLogger;
}

/** The registrar's own configuration. */
export interface AwsRegistrarConfig {
  readonly defaultEnvironment?: string;
  readonly region?: string;
}

/**
 * Reads `WEFT_DEFAULT_ENVIRONMENT` and `AWS_REGION`. Does no I/O.
 *
 * @throws ConfigurationError when the default environment is not a DNS label.
 */
export function readAwsRegistrarConfig(env: Env): AwsRegistrarConfig {
  const config = new EnvConfig(env);
  const defaultEnvironment = readDefaultEnvironment(config);
  const region = config.optional('AWS_REGION');
  config.check('the weft registrar on AWS');
  return { ...(defaultEnvironment && { defaultEnvironment }), ...(region && { region }) };
}

/**
 * Builds the registrar and the AWS resource reader.
 *
 * @throws ConfigurationError naming what is wrong in `env` (before any I/O).
 * @example
 * const deps = await composeAwsRegistrar(process.env, { plane, workloads: store, blobs });
 */
export async function composeAwsRegistrar(env: Env, ports: AwsRegistrarPorts): Promise<AwsRegistrarDeps> {
  const config = readAwsRegistrarConfig(env);
  const clientConfig = config.region ? { region: config.region } : {};
  const logger = ports.logger ?? consoleJsonLogger({ cloud: 'aws', fn: 'registrar' });
  const registrar = await registrarOver('aws', 'weft:', ports, {
    defaultEnvironment: config.defaultEnvironment,
    logger,
  });
  const resources = new AwsCloudResources({
    ec2: ports.ec2 ?? new EC2Client(clientConfig),
    ecs: ports.ecs ?? new ECSClient(clientConfig),
    tagging: ports.tagging ?? new ResourceGroupsTaggingAPIClient(clientConfig),
  });
  return { registrar, resources, logger };
}

/**
 * The ports of the deployed functions: the plane composed from `env`, whose
 * state and blob stores the registrar reads.
 *
 * @throws ConfigurationError naming every missing variable (before any I/O).
 */
export function deployedRegistrarPorts(env: Env): AwsRegistrarPorts {
  readAwsRegistrarConfig(env); // its errors first, before the plane starts any I/O
  return { plane: composeAwsControlPlane(env) };
}
