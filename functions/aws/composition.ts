/**
 * The AWS composition root: the API over DynamoDB, wired once per cold start
 * from the Lambda's environment.
 *
 * | variable | |
 * |---|---|
 * | `WEFT_TABLE_NAME` | the DynamoDB table (required) |
 * | `WEFT_OPERATOR_ISSUER`, `WEFT_OPERATOR_AUDIENCE` | operator tokens' `iss` and `aud` (required) |
 * | `WEFT_OPERATOR_JWKS_URL` or `WEFT_OPERATOR_JWKS` | their keys: an https URL, or the JWKS as JSON (one is required) |
 * | `WEFT_OPERATOR_ROLE_CLAIM` | the claim holding `admin` or `viewer` (default `role`) |
 *
 * @module
 */
import { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { type ApiLogger, createApi } from '../../shared/api/create-api.js';
import { createOperatorAuthenticator } from '../../shared/api/operator-auth.js';
import { consoleJsonLogger, type Env, EnvConfig, operatorAuthFromEnv } from '../../shared/api/startup.js';
import type { Api } from '../../shared/api/types.js';
import { HybridLogicalClock } from '../../shared/state/hlc.js';
import { DynamoDbStateStore } from './dynamodb-state-store.js';

export interface AwsCompositionOptions {
  /** @default a client for the Lambda's own region and role */
  readonly client?: DynamoDBClient;
  /** @default JSON lines on the console (CloudWatch Logs) */
  readonly logger?: ApiLogger;
}

/**
 * Builds the API from `env`. Does no I/O: the table and the JWKS are first
 * touched by the first request.
 *
 * @throws ConfigurationError naming every missing or malformed variable.
 * @example
 * export const handler = createAwsApiHandler(composeOnFirstCall(() => composeAwsApi()));
 */
export function composeAwsApi(env: Env = process.env, options: AwsCompositionOptions = {}): Api {
  const config = new EnvConfig(env);
  const tableName = config.require('WEFT_TABLE_NAME', 'is not set: the DynamoDB table that holds the state');
  const auth = operatorAuthFromEnv(config);
  config.check('weft on AWS');
  return createApi({
    store: new DynamoDbStateStore({ client: options.client ?? new DynamoDBClient({}), tableName }),
    hlc: new HybridLogicalClock('aws'),
    authenticate: createOperatorAuthenticator(auth),
    logger: options.logger ?? consoleJsonLogger({ cloud: 'aws' }),
  });
}
