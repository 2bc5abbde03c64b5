/**
 * The composition root of the `registrar` and `reconcile` functions on
 * Google Cloud: the core registrar over the control plane (see
 * `registrarOver`) and the Compute Engine reader.
 *
 * Labels carry the tag schema (`shared/registration/tag-schema.ts`) under
 * the prefix `weft-` (`weft-service`, `weft-port`, `weft-namespace`,
 * `weft-environment`, `weft-weight`): Google Cloud label keys take no `:`.
 * The values need no mapping: every value the schema accepts (a DNS label, a
 * whole number) is a valid label value, and a label value the schema refuses
 * (one with `_`, say) is reported as a bad label, as on the other clouds.
 *
 * | variable | |
 * |---|---|
 * | `GOOGLE_CLOUD_PROJECT` | the project whose instances are read (required) |
 * | `WEFT_GCP_REGION` | the reconcile lists only this region's zones (default every zone of the project) |
 * | `WEFT_DEFAULT_ENVIRONMENT` | the Environment of an instance without a `weft-environment` label (default none: that label is required) |
 * | and what `composeGcpControlPlane` reads | `WEFT_BUCKET_NAME`, `WEFT_PUBSUB_TOPIC`, ... |
 *
 * @module
 */
import type { ApiLogger } from '../../shared/api/create-api.js';
import type { ControlPlane } from '../control-plane/compose-control-plane.js';
import {
  type RegistrarDeps,
  type RegistrarPorts,
  readDefaultEnvironment,
  registrarOver,
} from '../control-plane/registrar-use-cases.js';
import { consoleJsonLogger, type Env, EnvConfig } from '../control-plane/startup.js';
import { composeGcpControlPlane } from './composition.js';
import { GCP_LABEL_PREFIX, GcpCloudResources } from './gcp-cloud-resources.js';

/** What the registrar needs that the environment does not say. */
export interface GcpRegistrarPorts extends RegistrarPorts {
  /** How the Compute API is called. @default globalThis.fetch */
  readonly fetch?: typeof fetch;
  /** An access token for the Compute API. @default Application Default Credentials */
  readonly token?: () => Promise<string>;
  /** @default https://compute.googleapis.com/compute/v1 */
  readonly computeUrl?: string;
  /** @default JSON lines on the console (Cloud Logging) */
  readonly logger?: ApiLogger;
}

/** The registrar's own configuration. */
export interface GcpRegistrarConfig {
  readonly project: string;
  readonly region?: string;
  readonly defaultEnvironment?: string;
}

const REGION = /^[a-z]+-[a-z]+[0-9]+$/;

/**
 * Reads `GOOGLE_CLOUD_PROJECT`, `WEFT_GCP_REGION` and `WEFT_DEFAULT_ENVIRONMENT`. Does no I/O.
 *
 * @throws ConfigurationError naming what is missing or malformed.
 */
export function readGcpRegistrarConfig(env: Env): GcpRegistrarConfig {
  const config = new EnvConfig(env);
  const project = config.require(
    'GOOGLE_CLOUD_PROJECT',
    'is not set: the project whose Compute Engine instances are registered',
  );
  // Instances are known by the project's id, as the audit logs' `resource.labels.project_id` name it.
  if (/^\d+$/.test(project))
    config.invalid('GOOGLE_CLOUD_PROJECT', `must be the project's id, not its number (${project})`);
  const region = config.optional('WEFT_GCP_REGION');
  if (region !== undefined && !REGION.test(region))
    config.invalid('WEFT_GCP_REGION', `must be a region such as europe-west1, got ${JSON.stringify(region)}`);
  const defaultEnvironment = readDefaultEnvironment(config);
  config.check('the weft registrar on Google Cloud');
  return { project, ...(region && { region }), ...(defaultEnvironment && { defaultEnvironment }) };
}

/**
 * Builds the registrar and the Compute Engine reader.
 *
 * @throws ConfigurationError naming what is wrong in `env` (before any I/O).
 * @example
 * const deps = await composeGcpRegistrar(process.env, { plane, fetch: compute.fetch, token: async () => 't' });
 */
export async function composeGcpRegistrar(env: Env, ports: GcpRegistrarPorts): Promise<RegistrarDeps> {
  const config = readGcpRegistrarConfig(env);
  const logger = ports.logger ?? consoleJsonLogger({ cloud: 'gcp', fn: 'registrar' });
  const registrar = await registrarOver('gcp', GCP_LABEL_PREFIX, ports, {
    defaultEnvironment: config.defaultEnvironment,
    logger,
  });
  const resources = new GcpCloudResources({
    project: config.project,
    ...(config.region && { region: config.region }),
    labelPrefix: GCP_LABEL_PREFIX,
    ...(ports.token && { token: ports.token }),
    ...(ports.fetch && { fetch: ports.fetch }),
    ...(ports.computeUrl && { baseUrl: ports.computeUrl }),
  });
  return { registrar, resources, logger };
}

/**
 * The ports of the deployed functions: the plane composed from `env` (or
 * the one `plane` gives, shared with the other functions of the bundle),
 * whose state and blob stores the registrar reads.
 *
 * @throws ConfigurationError naming every missing variable (before any I/O).
 */
export function deployedGcpRegistrarPorts(
  env: Env,
  plane: () => ControlPlane | Promise<ControlPlane> = () => composeGcpControlPlane(env),
): GcpRegistrarPorts {
  readGcpRegistrarConfig(env); // its errors first, before the plane starts any I/O
  return { plane: plane() };
}
