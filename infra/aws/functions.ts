/**
 * weft's Lambda functions on AWS: one table that the CDK construct deploys
 * from and `npm run bench -- functions` bundles and measures, so the two
 * never disagree about what a function is.
 *
 * @module
 */

/** One Lambda function: its source entry and exported handler. */
export interface WeftFunction {
  /** The function's short name (construct id, log group, bench row). */
  readonly name: 'api' | 'ingest' | 'compile' | 'sweep' | 'relay' | 'registrar' | 'reconcile';
  /** Source file, relative to the project root. */
  readonly entry: string;
  /** Named export of `entry` that Lambda calls. */
  readonly handler: string;
  /** What it does, for the construct's descriptions and the README. */
  readonly description: string;
  /** @default 512 */
  readonly memorySize?: number;
  /** Seconds. @default 30 */
  readonly timeout?: number;
}

export const WEFT_FUNCTIONS: readonly WeftFunction[] = [
  {
    name: 'api',
    entry: 'functions/aws/api-handler.ts',
    handler: 'handler',
    description: 'weft API: resources, identity, snapshots, status (API Gateway HTTP API)',
  },
  {
    name: 'ingest',
    entry: 'functions/aws/ingest-handler.ts',
    handler: 'handler',
    description: 'weft ingest: relay events, digests and records from peer clouds (/v1/replication/*)',
  },
  {
    name: 'compile',
    entry: 'functions/aws/compile-handler.ts',
    handler: 'compileHandler',
    description: 'weft compile: signed snapshots for the gateways a change touches (EventBridge rule)',
    timeout: 120,
  },
  {
    name: 'sweep',
    entry: 'functions/aws/compile-handler.ts',
    handler: 'sweepHandler',
    description: 'weft sweep: republishes unpublished writes, anti-entropy with peers (Scheduler)',
    timeout: 120,
  },
  {
    name: 'relay',
    entry: 'functions/aws/relay-handler.ts',
    handler: 'handler',
    description: 'weft relay: signs this cloud’s writes and posts them to peer clouds (EventBridge rule)',
    timeout: 60,
  },
  {
    name: 'registrar',
    entry: 'functions/aws/registrar-handler.ts',
    handler: 'handler',
    description: 'weft registrar: Workloads from EC2 and ECS tags and state changes (EventBridge rules)',
  },
  {
    name: 'reconcile',
    entry: 'functions/aws/registrar-handler.ts',
    handler: 'reconcileHandler',
    description:
      'weft reconcile: repairs tag registrations through the Resource Groups Tagging API (Scheduler)',
    timeout: 120,
  },
];

/**
 * Environment variables the functions read (functions/aws/composition.ts
 * checks them all at a cold start and names every one missing).
 */
export const WEFT_ENV = {
  table: 'WEFT_TABLE_NAME',
  bucket: 'WEFT_BUCKET_NAME',
  bus: 'WEFT_EVENT_BUS_NAME',
  /** KMS alias prefix under which the CA's keys are created on first use: `alias/weft/<id>`. */
  kmsAliasPrefix: 'WEFT_KMS_ALIAS_PREFIX',
  /** Value of the `weft:control-plane` tag on keys the CA creates (what IAM conditions match). */
  kmsKeyTag: 'WEFT_KMS_KEY_TAG',
  /** ARN of the relay key the construct creates. */
  relayKey: 'WEFT_RELAY_KEY_ARN',
  /** Peer clouds as JSON: `[{"cloud","url","keys":[JWK with kid]}]`; unset or `[]`: no replication. */
  peers: 'WEFT_PEERS',
  /** The Environment a tag-registered Workload is in when it has no `weft:environment` tag. */
  defaultEnvironment: 'WEFT_DEFAULT_ENVIRONMENT',
  operatorIssuer: 'WEFT_OPERATOR_ISSUER',
  operatorAudience: 'WEFT_OPERATOR_AUDIENCE',
  operatorJwksUrl: 'WEFT_OPERATOR_JWKS_URL',
} as const;

/** The EventBridge `source` of events weft publishes in this cloud (`aws.*` is AWS's own). */
export const WEFT_EVENT_SOURCE = 'dev.weft.aws';
/** The tag whose value marks a KMS key (and other resources) as this control plane's. */
export const WEFT_CONTROL_PLANE_TAG = 'weft:control-plane';

/**
 * How every function is bundled (esbuild, locally: no Docker), the same for
 * `cdk synth` and the bench. The AWS SDK v3 is taken from the nodejs22.x
 * runtime, not bundled: the runtime ships it, and bundling the five clients
 * the functions use would put most bundles past 300 KB minified.
 */
export const WEFT_BUNDLING = {
  format: 'esm',
  target: 'node22',
  platform: 'node',
  minify: true,
  sourcemap: false,
  external: ['@aws-sdk/*'],
  mainFields: ['module', 'main'],
  /** ESM output with CommonJS dependencies inside needs `require` and `__dirname`. */
  banner:
    "import { createRequire as __weftRequire } from 'node:module'; const require = __weftRequire(import.meta.url);",
} as const;

/** The Lambda runtime: nodejs20.x functions can no longer be created. */
export const WEFT_RUNTIME = 'nodejs22.x';
