/**
 * The AWS composition root: the whole control plane over DynamoDB (state,
 * join tokens, used proofs, rate limits), S3 (snapshots, status, the CA's
 * public state, replication bookkeeping), EventBridge (changes) and KMS
 * (every private key), wired once per cold start from the Lambda's
 * environment. Every function (api, ingest, compile, sweep, relay,
 * registrar, reconcile) composes the same plane and calls its part.
 *
 * | variable | |
 * |---|---|
 * | `WEFT_TABLE_NAME` | the DynamoDB table (required) |
 * | `WEFT_BUCKET_NAME` | the S3 bucket (required) |
 * | `WEFT_EVENT_BUS_NAME` | the EventBridge bus changes are published on (required) |
 * | `WEFT_KMS_ALIAS_PREFIX` | `alias/weft/<id>`: the CA's keys are created under it on first use (required) |
 * | `WEFT_KMS_KEY_TAG` | the `weft:control-plane` tag value those keys carry, which IAM matches (required) |
 * | `WEFT_RELAY_KEY_ARN` | the KMS key relay events are signed with (required with peers) |
 * | `WEFT_PEERS` | the peer clouds as JSON `[{"cloud","url","keys":[JWK with kid]}]` (default none) |
 * | `WEFT_ROOT_CERT` | a federated mesh's root certificate, PEM (default: the CA keeps its own root in KMS) |
 * | `WEFT_OPERATOR_ISSUER`, `WEFT_OPERATOR_AUDIENCE` | operator tokens' `iss` and `aud` (required) |
 * | `WEFT_OPERATOR_JWKS_URL` or `WEFT_OPERATOR_JWKS` | their keys: an https URL, or the JWKS as JSON (one is required) |
 * | `WEFT_OPERATOR_ROLE_CLAIM` | the claim holding `admin` or `viewer` (default `role`) |
 *
 * A test injects what it runs instead (a client per service, a key ring, a
 * CA opener); each injected part makes its variable optional.
 *
 * @module
 */
import { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { EventBridgeClient } from '@aws-sdk/client-eventbridge';
import { KMSClient } from '@aws-sdk/client-kms';
import { S3Client } from '@aws-sdk/client-s3';
import type { Api } from '../../shared/api/types.js';
import type { RelayPeer } from '../../shared/replication/federation.js';
import {
  assembleCloudPlane,
  type CloudCompositionOptions,
  cloudCaOpener,
  readFederation,
  readRootCert,
  requiredUnless,
} from '../control-plane/cloud-config.js';
import type { ControlPlane } from '../control-plane/compose-control-plane.js';
import { consoleJsonLogger, type Env, EnvConfig, operatorAuthFromEnv } from '../control-plane/startup.js';
import { DynamoDbJoinTokenStore } from './dynamodb-join-token-store.js';
import { DynamoDbRateLimiter } from './dynamodb-rate-limiter.js';
import { DynamoDbReplayCache } from './dynamodb-replay-cache.js';
import { DynamoDbStateStore } from './dynamodb-state-store.js';
import { EventBridgeEventBus } from './eventbridge-event-bus.js';
import { KmsKeyRing } from './kms-key-ring.js';
import { KmsSigner } from './kms-signer.js';
import { S3BlobStore } from './s3-blob-store.js';

/** What a caller (a test, a custom build) may hand in instead of what the environment names. */
export interface AwsCompositionOptions extends CloudCompositionOptions {
  /** @default a client for the Lambda's own region and role */
  readonly client?: DynamoDBClient;
  /** @default a client for the Lambda's own region and role */
  readonly s3?: S3Client;
  /** @default a client for the Lambda's own region and role */
  readonly kms?: KMSClient;
  /** @default a client for the Lambda's own region and role */
  readonly eventBridge?: EventBridgeClient;
}

/** The AWS environment, read and checked at once, before anything is built. */
export interface AwsConfig {
  readonly tableName: string;
  readonly bucketName?: string;
  readonly busName?: string;
  readonly kmsAliasPrefix?: string;
  readonly kmsKeyTag?: string;
  readonly relayKeyArn?: string;
  readonly peers: readonly RelayPeer[];
  readonly rootCertPem?: string;
  readonly auth: ReturnType<typeof operatorAuthFromEnv>;
}

/**
 * Reads the environment (see the module comment). Does no I/O.
 *
 * @throws ConfigurationError naming every missing or malformed variable.
 */
export function readAwsConfig(env: Env, options: AwsCompositionOptions = {}): AwsConfig {
  const config = new EnvConfig(env);
  const need = (name: string, detail: string, injected: unknown) =>
    requiredUnless(config, name, detail, injected);
  const tableName = config.require('WEFT_TABLE_NAME', 'is not set: the DynamoDB table that holds the state');
  const bucketName = need(
    'WEFT_BUCKET_NAME',
    'is not set: the S3 bucket for snapshots and status',
    options.blobs,
  );
  const busName = need('WEFT_EVENT_BUS_NAME', 'is not set: the EventBridge bus changes go on', options.bus);
  const injectedKeys = options.keys ?? options.openCa;
  const kmsAliasPrefix = need(
    'WEFT_KMS_ALIAS_PREFIX',
    'is not set: the KMS alias prefix of the CA keys',
    injectedKeys,
  );
  if (kmsAliasPrefix && !/^alias\/[A-Za-z0-9/_-]{1,200}$/.test(kmsAliasPrefix))
    config.invalid(
      'WEFT_KMS_ALIAS_PREFIX',
      `must look like alias/weft/<id>, got ${JSON.stringify(kmsAliasPrefix)}`,
    );
  const kmsKeyTag = need(
    'WEFT_KMS_KEY_TAG',
    'is not set: the weft:control-plane tag of the CA keys',
    injectedKeys,
  );
  const { peers, relayKey: relayKeyArn } = readFederation(
    config,
    {
      name: 'WEFT_RELAY_KEY_ARN',
      detail: 'is not set: the KMS key relay events to the peers are signed with',
    },
    options,
  );
  const rootCertPem = readRootCert(config);
  const auth = operatorAuthFromEnv(config);
  config.check('weft on AWS');
  return {
    tableName,
    ...(bucketName && { bucketName }),
    ...(busName && { busName }),
    ...(kmsAliasPrefix && { kmsAliasPrefix }),
    ...(kmsKeyTag && { kmsKeyTag }),
    ...(relayKeyArn && { relayKeyArn }),
    peers,
    ...(rootCertPem && { rootCertPem }),
    auth,
  };
}

/**
 * Builds the control plane from `env` through `composeControlPlane`. The
 * one I/O at a cold start is reading the relay key's public half (its
 * `kid`), and only with peers.
 *
 * @throws ConfigurationError naming every missing or malformed variable (synchronously, before any I/O).
 */
export function composeAwsControlPlane(
  env: Env = process.env,
  options: AwsCompositionOptions = {},
): Promise<ControlPlane> {
  const config = readAwsConfig(env, options);
  const { tableName } = config;
  const client = options.client ?? new DynamoDBClient({});
  const logger = options.logger ?? consoleJsonLogger({ cloud: 'aws' });
  const kms = options.kms ?? new KMSClient({});
  const blobs =
    options.blobs ?? new S3BlobStore({ client: options.s3 ?? new S3Client({}), bucket: config.bucketName! });
  const bus =
    options.bus ??
    new EventBridgeEventBus({
      client: options.eventBridge ?? new EventBridgeClient({}),
      busName: config.busName!,
    });
  const openCa = cloudCaOpener(
    'aws',
    options,
    blobs,
    () => new KmsKeyRing({ client: kms, aliasPrefix: config.kmsAliasPrefix!, keyTag: config.kmsKeyTag! }),
    config.rootCertPem,
  );
  return assembleCloudPlane({
    cloud: 'aws',
    store: new DynamoDbStateStore({ client, tableName }),
    auth: config.auth,
    logger,
    openCa,
    joinTokens: new DynamoDbJoinTokenStore({ client, tableName }),
    replayCache: new DynamoDbReplayCache({ client, tableName }),
    rateLimiter: (name, limit) => new DynamoDbRateLimiter({ client, tableName, name, ...limit }),
    blobs,
    bus,
    peers: config.peers,
    relaySigner: () => new KmsSigner({ client: kms, keyId: config.relayKeyArn! }),
    injected: options,
  });
}

/**
 * Builds the API from `env`: the control plane's HTTP edge.
 *
 * @throws ConfigurationError naming every missing or malformed variable.
 */
export async function composeAwsApi(
  env: Env = process.env,
  options: AwsCompositionOptions = {},
): Promise<Api> {
  return (await composeAwsControlPlane(env, options)).api;
}
