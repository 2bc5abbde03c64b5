/**
 * `WeftControlPlane`: weft's whole control plane on AWS as one construct. An
 * HTTP API, an EventBridge bus with its rules, two schedules, a DynamoDB
 * table, an S3 bucket, the relay key in KMS and the seven functions of
 * `functions.ts`, each with its own role holding only what it uses.
 *
 * @module
 */
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { Aws, Duration, RemovalPolicy, Tags } from 'aws-cdk-lib';
import * as apigw from 'aws-cdk-lib/aws-apigateway';
import * as apigwv2 from 'aws-cdk-lib/aws-apigatewayv2';
import { HttpLambdaIntegration } from 'aws-cdk-lib/aws-apigatewayv2-integrations';
import * as dynamodb from 'aws-cdk-lib/aws-dynamodb';
import * as events from 'aws-cdk-lib/aws-events';
import * as targets from 'aws-cdk-lib/aws-events-targets';
import * as iam from 'aws-cdk-lib/aws-iam';
import * as kms from 'aws-cdk-lib/aws-kms';
import * as lambda from 'aws-cdk-lib/aws-lambda';
import * as nodejs from 'aws-cdk-lib/aws-lambda-nodejs';
import * as logs from 'aws-cdk-lib/aws-logs';
import * as s3 from 'aws-cdk-lib/aws-s3';
import * as scheduler from 'aws-cdk-lib/aws-scheduler';
import { LambdaInvoke } from 'aws-cdk-lib/aws-scheduler-targets';
import type * as sqs from 'aws-cdk-lib/aws-sqs';
import * as cxapi from 'aws-cdk-lib/cx-api';
import { Construct } from 'constructs';
import { REGISTRATION_STATUS_PREFIX } from '../../shared/registration/registration-status.js';
import { WEFT_FUNCTION_ACCESS, type WeftFunctionAccess } from './access.js';
import {
  WEFT_BUNDLING,
  WEFT_CONTROL_PLANE_TAG,
  WEFT_ENV,
  WEFT_EVENT_SOURCE,
  WEFT_FUNCTIONS,
  WEFT_RUNTIME,
  type WeftFunction,
} from './functions.js';
import { caKeyStatements, platformReadStatements } from './iam-statements.js';
import { checkName, checkProps, type WeftControlPlaneProps } from './props.js';

export type { WeftControlPlaneProps, WeftPeer } from './props.js';

import { acknowledgeNagFindings } from './nag-acknowledgments.js';
import { deadLetterQueue, registrarRules } from './parts.js';

const REPO_ROOT = join(dirname(fileURLToPath(import.meta.url)), '..', '..');

/**
 * The weft control plane on AWS.
 *
 * @example
 * new WeftControlPlane(stack, 'main', {
 *   operatorIssuer: 'https://login.example.com/',
 *   operatorAudience: 'weft',
 *   operatorJwksUrl: 'https://login.example.com/.well-known/jwks.json',
 * });
 */
export class WeftControlPlane extends Construct {
  /** The API's base URL (`https://<id>.execute-api.<region>.amazonaws.com/`). */
  readonly apiUrl: string;
  readonly httpApi: apigwv2.HttpApi;
  readonly bus: events.EventBus;
  readonly table: dynamodb.Table;
  readonly bucket: s3.Bucket;
  readonly relayKey: kms.Key;
  /** The name: bus `weft-<name>`, tag value of `weft:control-plane`. */
  readonly name: string;
  /** `alias/weft/<name>`: the relay key's alias and the CA's keys' aliases are under it. */
  readonly aliasPrefix: string;
  /** The functions by their `functions.ts` name. */
  readonly functions: Readonly<Record<WeftFunction['name'], nodejs.NodejsFunction>>;

  constructor(scope: Construct, id: string, props: WeftControlPlaneProps) {
    super(scope, id);
    // Server access logs by bucket policy, not by the ACL this flag's old default grants, whatever
    // the app's cdk.json says (set before any child exists, as context must be).
    this.node.setContext(cxapi.S3_SERVER_ACCESS_LOGS_USE_BUCKET_POLICY, true);
    const name = checkName(props.name ?? id.toLowerCase());
    checkProps(props);
    this.name = name;
    const removalPolicy = props.removalPolicy ?? RemovalPolicy.RETAIN;
    const logRetention = props.logRetention ?? logs.RetentionDays.ONE_MONTH;
    const aliasPrefix = `alias/weft/${name}`;
    this.aliasPrefix = aliasPrefix;

    this.table = new dynamodb.Table(this, 'State', {
      partitionKey: { name: 'pk', type: dynamodb.AttributeType.STRING },
      sortKey: { name: 'sk', type: dynamodb.AttributeType.STRING },
      billingMode: dynamodb.BillingMode.PAY_PER_REQUEST,
      pointInTimeRecoverySpecification: { pointInTimeRecoveryEnabled: true },
      timeToLiveAttribute: 'expiresAt',
      deletionProtection: props.deletionProtection ?? true,
      removalPolicy,
      ...(props.dataKey
        ? { encryption: dynamodb.TableEncryption.CUSTOMER_MANAGED, encryptionKey: props.dataKey }
        : { encryption: dynamodb.TableEncryption.AWS_MANAGED }),
    });

    const accessLogs = new s3.Bucket(this, 'AccessLogs', {
      // Server access logs can only be delivered to an SSE-S3 bucket.
      encryption: s3.BucketEncryption.S3_MANAGED,
      blockPublicAccess: s3.BlockPublicAccess.BLOCK_ALL,
      enforceSSL: true,
      objectOwnership: s3.ObjectOwnership.BUCKET_OWNER_ENFORCED,
      lifecycleRules: [{ expiration: Duration.days(90) }],
      removalPolicy,
    });
    this.bucket = new s3.Bucket(this, 'StateBucket', {
      ...(props.dataKey
        ? { encryption: s3.BucketEncryption.KMS, encryptionKey: props.dataKey, bucketKeyEnabled: true }
        : { encryption: s3.BucketEncryption.S3_MANAGED }),
      blockPublicAccess: s3.BlockPublicAccess.BLOCK_ALL,
      enforceSSL: true,
      versioned: true,
      objectOwnership: s3.ObjectOwnership.BUCKET_OWNER_ENFORCED,
      serverAccessLogsBucket: accessLogs,
      serverAccessLogsPrefix: 'state/',
      lifecycleRules: [
        {
          noncurrentVersionExpiration: props.noncurrentVersionExpiration ?? Duration.days(30),
          abortIncompleteMultipartUploadAfter: Duration.days(1),
        },
      ],
      removalPolicy,
    });

    this.relayKey = new kms.Key(this, 'RelayKey', {
      description: `weft ${name}: signs relay events and peer tokens (ES256)`,
      keySpec: kms.KeySpec.ECC_NIST_P256,
      keyUsage: kms.KeyUsage.SIGN_VERIFY,
      alias: `${aliasPrefix}/relay`,
      removalPolicy,
    });

    this.bus = new events.EventBus(this, 'Bus', { eventBusName: `weft-${name}` });

    const environment: Record<string, string> = {
      [WEFT_ENV.table]: this.table.tableName,
      [WEFT_ENV.bucket]: this.bucket.bucketName,
      [WEFT_ENV.bus]: this.bus.eventBusName,
      [WEFT_ENV.kmsAliasPrefix]: aliasPrefix,
      [WEFT_ENV.kmsKeyTag]: name,
      [WEFT_ENV.relayKey]: this.relayKey.keyArn,
      [WEFT_ENV.peers]: JSON.stringify(props.peers ?? []),
      [WEFT_ENV.defaultEnvironment]: props.defaultEnvironment ?? `aws-${Aws.REGION}`,
      [WEFT_ENV.operatorIssuer]: props.operatorIssuer,
      [WEFT_ENV.operatorAudience]: props.operatorAudience,
      [WEFT_ENV.operatorJwksUrl]: props.operatorJwksUrl,
      ...(props.rootCertPem && { [WEFT_ENV.rootCert]: props.rootCertPem }),
    };
    const projectRoot = props.projectRoot ?? REPO_ROOT;
    const caStatements = caKeyStatements({ aliasPrefix, tagValue: name, relayKeyArn: this.relayKey.keyArn });
    const deadLetters: Partial<Record<WeftFunction['name'], sqs.Queue>> = {};
    const functions: Partial<Record<WeftFunction['name'], nodejs.NodejsFunction>> = {};

    for (const spec of WEFT_FUNCTIONS) {
      const access: WeftFunctionAccess = WEFT_FUNCTION_ACCESS[spec.name];
      const label = capitalize(spec.name);
      const logGroup = new logs.LogGroup(this, `${label}Logs`, { retention: logRetention, removalPolicy });
      const role = new iam.Role(this, `${label}Role`, {
        assumedBy: new iam.ServicePrincipal('lambda.amazonaws.com'),
        description: `weft ${name}: the ${spec.name} function`,
      });
      // The log permissions written out (not AWSLambdaBasicExecutionRole, which logs anywhere).
      logGroup.grantWrite(role);
      const dlq = access.deadLetters
        ? deadLetterQueue(this, `${label}DeadLetters`, props.dataKey)
        : undefined;
      if (dlq) deadLetters[spec.name] = dlq;
      const fn = new nodejs.NodejsFunction(this, `${label}Function`, {
        entry: join(projectRoot, spec.entry),
        handler: spec.handler,
        description: spec.description,
        runtime: runtimeNamed(WEFT_RUNTIME),
        architecture: lambda.Architecture.ARM_64,
        memorySize: spec.memorySize ?? 512,
        timeout: Duration.seconds(spec.timeout ?? 30),
        role,
        logGroup,
        loggingFormat: lambda.LoggingFormat.JSON,
        tracing: props.tracing ? lambda.Tracing.ACTIVE : lambda.Tracing.DISABLED,
        environment,
        projectRoot,
        depsLockFilePath: join(projectRoot, 'package-lock.json'),
        // Failures after Lambda's own async retries land in the same queue as undeliverable events.
        ...(dlq && { deadLetterQueue: dlq }),
        bundling: {
          format: nodejs.OutputFormat.ESM,
          target: WEFT_BUNDLING.target,
          minify: WEFT_BUNDLING.minify,
          sourceMap: WEFT_BUNDLING.sourcemap,
          externalModules: [...WEFT_BUNDLING.external],
          mainFields: [...WEFT_BUNDLING.mainFields],
          banner: WEFT_BUNDLING.banner,
          logLevel: nodejs.LogLevel.WARNING,
          // esbuild is a devDependency: bundle here, never in Docker.
          forceDockerBundling: false,
        },
      });
      if (access.table) {
        this.table.grant(
          role,
          'dynamodb:GetItem',
          'dynamodb:PutItem',
          'dynamodb:UpdateItem',
          'dynamodb:DeleteItem',
          'dynamodb:Query',
          'dynamodb:Scan',
        );
      }
      if (access.bucket) {
        const all = access.bucket === 'all';
        role.addToPrincipalPolicy(
          new iam.PolicyStatement({
            actions: all
              ? ['s3:GetObject', 's3:PutObject', 's3:DeleteObject']
              : ['s3:GetObject', 's3:PutObject'],
            resources: [this.bucket.arnForObjects(all ? '*' : `${REGISTRATION_STATUS_PREFIX}*`)],
          }),
        );
        // Also what makes a missing object a 404, not a 403.
        role.addToPrincipalPolicy(
          new iam.PolicyStatement({ actions: ['s3:ListBucket'], resources: [this.bucket.bucketArn] }),
        );
      }
      if (props.dataKey && (access.table || access.bucket)) props.dataKey.grantEncryptDecrypt(role);
      if (access.publish) this.bus.grantPutEventsTo(role);
      if (access.ca) for (const statement of caStatements) role.addToPrincipalPolicy(statement);
      if (access.relayKey) this.relayKey.grant(role, 'kms:Sign', 'kms:GetPublicKey');
      if (access.platform)
        for (const statement of platformReadStatements()) role.addToPrincipalPolicy(statement);
      functions[spec.name] = fn;
    }
    this.functions = functions as Record<WeftFunction['name'], nodejs.NodejsFunction>;
    const fn = this.functions;

    this.httpApi = new apigwv2.HttpApi(this, 'Api', {
      apiName: `weft-${name}`,
      description: `weft ${name}: the control plane API`,
      createDefaultStage: false,
    });
    const apiIntegration = new HttpLambdaIntegration('ApiIntegration', fn.api);
    this.httpApi.addRoutes({ path: '/', methods: [apigwv2.HttpMethod.ANY], integration: apiIntegration });
    // `/{proxy+}` carries /healthz, /v1/... and everything else the API answers.
    this.httpApi.addRoutes({
      path: '/{proxy+}',
      methods: [apigwv2.HttpMethod.ANY],
      integration: apiIntegration,
    });
    this.httpApi.addRoutes({
      path: '/v1/replication/{proxy+}',
      methods: [apigwv2.HttpMethod.ANY],
      integration: new HttpLambdaIntegration('IngestIntegration', fn.ingest),
    });
    const apiLogs = new logs.LogGroup(this, 'ApiAccessLogs', { retention: logRetention, removalPolicy });
    const stage = new apigwv2.HttpStage(this, 'DefaultStage', {
      httpApi: this.httpApi,
      stageName: '$default',
      autoDeploy: true,
      throttle: props.throttle ?? { rateLimit: 50, burstLimit: 100 },
      accessLogSettings: {
        destination: new apigwv2.LogGroupLogDestination(apiLogs),
        format: apigw.AccessLogFormat.custom(JSON.stringify(ACCESS_LOG_FIELDS)),
      },
    });
    this.apiUrl = stage.url;

    const changed = { source: [WEFT_EVENT_SOURCE], detailType: ['dev.weft.resource.changed'] };
    const retry = { retryAttempts: 8, maxEventAge: Duration.hours(2) };
    new events.Rule(this, 'CompileRule', {
      eventBus: this.bus,
      description: 'weft: a changed resource recompiles the snapshots it touches',
      eventPattern: changed,
      targets: [new targets.LambdaFunction(fn.compile, { deadLetterQueue: deadLetters.compile, ...retry })],
    });
    // One rule for every peer: the relay function fans out itself. EventBridge API destinations
    // cannot do it: each relayed event must be signed, per event, as a JWS with the KMS relay
    // key, and an API destination can only add static headers from a connection.
    new events.Rule(this, 'RelayRule', {
      eventBus: this.bus,
      description: 'weft: a changed resource is signed and relayed to every peer cloud',
      eventPattern: changed,
      targets: [new targets.LambdaFunction(fn.relay, { deadLetterQueue: deadLetters.relay, ...retry })],
    });
    registrarRules(
      this,
      new targets.LambdaFunction(fn.registrar, { deadLetterQueue: deadLetters.registrar, ...retry }),
    );

    const schedulerRole = new iam.Role(this, 'SchedulerRole', {
      description: `weft ${name}: EventBridge Scheduler invoking sweep and reconcile`,
      assumedBy: new iam.ServicePrincipal('scheduler.amazonaws.com', {
        conditions: {
          StringEquals: {
            'aws:SourceAccount': Aws.ACCOUNT_ID,
            'aws:SourceArn': `arn:${Aws.PARTITION}:scheduler:${Aws.REGION}:${Aws.ACCOUNT_ID}:schedule-group/default`,
          },
        },
      }),
    });
    // The two functions themselves, not also `<arn>:*` (versions, aliases) as LambdaInvoke would grant.
    schedulerRole.addToPrincipalPolicy(
      new iam.PolicyStatement({
        actions: ['lambda:InvokeFunction'],
        resources: [fn.sweep.functionArn, fn.reconcile.functionArn],
      }),
    );
    const scheduleRole = schedulerRole.withoutPolicyUpdates();
    new scheduler.Schedule(this, 'SweepSchedule', {
      description: 'weft: republish unpublished writes, anti-entropy with peers',
      schedule: scheduler.ScheduleExpression.rate(props.sweepInterval ?? Duration.minutes(1)),
      // A missed sweep is repaired by the next one: no retries.
      target: new LambdaInvoke(fn.sweep, {
        role: scheduleRole,
        retryAttempts: 0,
        maxEventAge: Duration.minutes(1),
      }),
    });
    new scheduler.Schedule(this, 'ReconcileSchedule', {
      description: 'weft: repair tag registrations through the Resource Groups Tagging API',
      schedule: scheduler.ScheduleExpression.rate(props.reconcileInterval ?? Duration.minutes(15)),
      target: new LambdaInvoke(fn.reconcile, {
        role: scheduleRole,
        retryAttempts: 2,
        maxEventAge: Duration.minutes(10),
      }),
    });

    // Everything carries the control-plane tag but KMS keys: on a key that tag is what grants the
    // CA's functions Sign and ScheduleKeyDeletion (ABAC), and the relay key is not the CA's.
    Tags.of(this).add(WEFT_CONTROL_PLANE_TAG, name, { excludeResourceTypes: ['AWS::KMS::Key'] });
    acknowledgeNagFindings(this, { tracing: props.tracing ?? false });
  }
}

/** HTTP API access log fields (`$context` variables of HTTP APIs, JSON lines). */
const ACCESS_LOG_FIELDS = {
  requestId: '$context.requestId',
  ip: '$context.identity.sourceIp',
  requestTime: '$context.requestTime',
  httpMethod: '$context.httpMethod',
  routeKey: '$context.routeKey',
  path: '$context.path',
  status: '$context.status',
  protocol: '$context.protocol',
  responseLength: '$context.responseLength',
  integrationLatency: '$context.integrationLatency',
  integrationError: '$context.integrationErrorMessage',
};

function runtimeNamed(name: string): lambda.Runtime {
  const runtime = lambda.Runtime.ALL.find((r) => r.name === name);
  if (!runtime || runtime.family !== lambda.RuntimeFamily.NODEJS) {
    throw new TypeError(`WEFT_RUNTIME ${name} is not a Node.js runtime aws-cdk-lib knows`);
  }
  return runtime;
}

function capitalize(word: string): string {
  return word.charAt(0).toUpperCase() + word.slice(1);
}
