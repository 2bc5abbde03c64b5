/**
 * The AWS composition root: the control plane over DynamoDB, wired once per cold start
 * from the Lambda's environment.
 *
 * | variable | |
 * |---|---|
 * | `WEFT_TABLE_NAME` | the DynamoDB table (required) |
 * | `WEFT_OPERATOR_ISSUER`, `WEFT_OPERATOR_AUDIENCE` | operator tokens' `iss` and `aud` (required) |
 * | `WEFT_OPERATOR_JWKS_URL` or `WEFT_OPERATOR_JWKS` | their keys: an https URL, or the JWKS as JSON (one is required) |
 * | `WEFT_OPERATOR_ROLE_CLAIM` | the claim holding `admin` or `viewer` (default `role`) |
 *
 * Workload identity is off here for now, and says so once per cold start: a
 * Lambda has no disk that keeps a CA's private keys safe and shared, and
 * concurrent cold starts cannot safely create one CA. The keys belong in KMS
 * (`Signer` on `kms:Sign`), which a later cloud issue wires. Until then the
 * identity paths answer 404 saying why; a caller that has a CA (a test, a
 * custom build) passes `openCa`, and join tokens then live in the state
 * table (`DynamoDbJoinTokenStore`).
 *
 * @module
 */
import { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import type { ApiLogger } from '../../shared/api/create-api.js';
import { createOperatorAuthenticator } from '../../shared/api/operator-auth.js';
import type { Api } from '../../shared/api/types.js';
import type { MeshCa } from '../../shared/identity/ca.js';
import { type ControlPlane, composeControlPlane } from '../control-plane/compose-control-plane.js';
import {
  type CloudPorts,
  consoleJsonLogger,
  type Env,
  EnvConfig,
  operatorAuthFromEnv,
} from '../control-plane/startup.js';
import { DynamoDbJoinTokenStore } from './dynamodb-join-token-store.js';
import { DynamoDbStateStore } from './dynamodb-state-store.js';

export interface AwsCompositionOptions {
  /** @default a client for the Lambda's own region and role */
  readonly client?: DynamoDBClient;
  /** @default JSON lines on the console (CloudWatch Logs) */
  readonly logger?: ApiLogger;
  /**
   * Opens the mesh CA of a trust domain; turns workload identity on, issuing as provider `aws`.
   * @default none: identity is off until the KMS signer lands (see the module comment)
   */
  readonly openCa?: (trustDomain: string) => Promise<MeshCa>;
  /** The adapters that have landed (blobs, bus). @default none: distribution off */
  readonly ports?: Omit<CloudPorts, 'openCa' | 'joinTokens'>;
}

/** What a cold start logs when it serves no identity. */
export const AWS_IDENTITY_OFF =
  'workload identity is off on AWS: CA keys belong in KMS, which a later release wires; ' +
  '/v1/bundle, /v1/join-tokens, /v1/attest and /v1/svid/* answer 404';

/**
 * Builds the control plane from `env` through `composeControlPlane`. Does no
 * I/O: the table and the JWKS are first touched by the first request.
 *
 * @throws ConfigurationError naming every missing or malformed variable.
 */
export function composeAwsControlPlane(
  env: Env = process.env,
  options: AwsCompositionOptions = {},
): ControlPlane {
  const config = new EnvConfig(env);
  const tableName = config.require('WEFT_TABLE_NAME', 'is not set: the DynamoDB table that holds the state');
  const auth = operatorAuthFromEnv(config);
  config.check('weft on AWS');
  const client = options.client ?? new DynamoDBClient({});
  const logger = options.logger ?? consoleJsonLogger({ cloud: 'aws' });
  if (!options.openCa) logger.info({ msg: AWS_IDENTITY_OFF });
  return composeControlPlane({
    cloud: 'aws',
    store: new DynamoDbStateStore({ client, tableName }),
    authenticate: createOperatorAuthenticator(auth),
    logger,
    ...options.ports,
    ...(options.openCa && {
      openCa: options.openCa,
      joinTokens: new DynamoDbJoinTokenStore({ client, tableName }),
    }),
  });
}

/**
 * Builds the API from `env`: the control plane's HTTP edge.
 *
 * @throws ConfigurationError naming every missing or malformed variable.
 * @example
 * export const handler = createAwsApiHandler(composeOnFirstCall(() => composeAwsApi()));
 */
export function composeAwsApi(env: Env = process.env, options: AwsCompositionOptions = {}): Api {
  return composeAwsControlPlane(env, options).api;
}
