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

export { WEFT_CONTROL_PLANE_TAG, WEFT_ENV, WEFT_EVENT_SOURCE } from '../../functions/aws/environment.js';

/**
 * How every function is bundled (esbuild, locally: no Docker), the same for
 * `cdk synth` and the bench. The AWS SDK v3 clients are bundled, not taken
 * from the nodejs22.x runtime: `npm run bench -- functions` measured a cold
 * import about twice as fast bundled (esbuild keeps only what is used, in
 * one file, where the runtime's copy is many CommonJS files loaded one by
 * one), and the version deployed is then the version tested. The price is
 * size: see bench/results/functions.json and the README.
 */
export const WEFT_BUNDLING = {
  format: 'esm',
  target: 'node22',
  platform: 'node',
  minify: true,
  sourcemap: false,
  external: [] as string[],
  mainFields: ['module', 'main'],
  /** ESM output with CommonJS dependencies inside needs `require`. */
  banner:
    "import { createRequire as __weftRequire } from 'node:module'; const require = __weftRequire(import.meta.url);",
} as const;

/** The Lambda runtime: nodejs20.x functions can no longer be created. */
export const WEFT_RUNTIME = 'nodejs22.x';
